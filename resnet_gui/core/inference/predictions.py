"""What a classification gives back, and the rule for calling an answer "unsure". No torch here:
the window imports this before torch has loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def is_unsure(confidence: float, unsure_below: float | None) -> bool:
    """The one rule, for the command line, the table, the chart and every export: an answer is unsure
    when a threshold is set and its best confidence is below it."""
    return unsure_below is not None and confidence < unsure_below


@dataclass(frozen=True)
class Guess:
    label: str
    index: int
    prob: float

    def to_dict(self) -> dict:
        return {"label": self.label, "index": self.index, "prob": round(self.prob, 6)}


@dataclass(frozen=True)
class Prediction:
    path: str
    top_k: list[Guess] = field(default_factory=list)
    error: str | None = None
    unsure: bool = False  # the best guess is below the confidence threshold; top_k still holds it
    # A small RGB picture (uint8 [h, w, 3]) for front ends that show one, made while decoding.
    thumbnail: Any = field(default=None, compare=False, repr=False)  # numpy uint8 [h, w, 3]
    # Unlike the pictures the model was trained on (its familiarity score is past the checkpoint's
    # threshold); top_k still holds the best guess.
    unfamiliar: bool = False
    # With test-time augmentation: the best guess of the centre crop alone, for "with and without" figures.
    without_tta: Guess | None = field(default=None, compare=False)
    # The centre view's pooled features (float32 [D]), when the Predictor was asked to keep them.
    features: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def best(self) -> Guess | None:
        return self.top_k[0] if self.top_k else None

    @property
    def verdict(self) -> str:
        """What a person should read: the label, 'unfamiliar', 'unsure', or '' for a file that failed.
        An unfamiliar picture is said so first: a confident answer about it means nothing."""
        if self.error is not None or not self.top_k:
            return ""
        if self.unfamiliar:
            return "unfamiliar"
        return "unsure" if self.unsure else self.top_k[0].label

    def to_dict(self) -> dict:
        return {"path": self.path, "top_k": [g.to_dict() for g in self.top_k], "error": self.error,
                "unsure": self.unsure, "unfamiliar": self.unfamiliar}
