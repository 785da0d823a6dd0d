"""What a classification gives back, and the rule for calling an answer "unsure". No torch here:
the window imports this before torch has loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


def is_unsure(confidence: float, unsure_below: float | None) -> bool:
    """The one rule, for the command line, the table, the chart and every export: an answer is unsure
    when a threshold is set and its best confidence is below it."""
    return unsure_below is not None and confidence < unsure_below


def unsure_threshold(asked: float | None, suggested: float | None) -> float | None:
    """The threshold a run uses: the one asked for (0: none), else the checkpoint's suggestion."""
    return suggested if asked is None else (asked or None)


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


def read_answers(names: list[str], indices: list[int], failures: list[tuple[int, str]],
                 probabilities: np.ndarray | None,
                 classes: list[str], top_k: int, unsure_below: float | None, *,
                 unfamiliar: np.ndarray | None = None, centre: np.ndarray | None = None,
                 thumbnails: dict[int, Any] | None = None, features: np.ndarray | None = None) -> list[Prediction]:
    """One batch's Predictions in the order of `names`: the decoded pictures at `indices` (their probabilities
    [N, C] float32, averaged over test-time views; None where none was decoded), the files that failed with
    why. `centre`: the centre crop's own probabilities, given with test-time augmentation. Whichever runtime
    computed them, a batch reads alike."""
    results: dict[int, Prediction] = {i: Prediction(names[i], [], reason) for i, reason in failures}
    if len(indices):
        finite = np.isfinite(probabilities).all(axis=1)
        best = np.argsort(-probabilities, axis=1, kind="stable")[:, :top_k]
        centre_best = centre.argmax(1) if centre is not None else None
        for row, position in enumerate(indices):
            if not finite[row]:
                results[position] = Prediction(names[position], [], "the model gave no usable answer (NaN)")
                continue
            guesses = [Guess(classes[c], int(c), float(probabilities[row, c])) for c in best[row]]
            without_tta = None
            if centre_best is not None:
                c = int(centre_best[row])
                without_tta = Guess(classes[c], c, float(centre[row, c]))
            results[position] = Prediction(
                names[position], guesses, None, is_unsure(guesses[0].prob, unsure_below),
                (thumbnails or {}).get(position), unfamiliar=bool(unfamiliar[row]) if unfamiliar is not None else False,
                without_tta=without_tta, features=features[row] if features is not None else None)
    return [results[i] for i in sorted(results)]
