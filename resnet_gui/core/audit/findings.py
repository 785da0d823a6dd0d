"""What a check of the data found, as plain records the command line, the report page and the window share.
No torch, no Qt."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

# The kinds of finding, in the order a report gives them (the most harmful first).
LEAKAGE = "leakage"  # the same picture, or a near copy, on both sides of a split
TWO_CLASSES = "two_classes"  # copies filed under different classes
DUPLICATE = "duplicate"  # copies inside one split, one class
MISLABELLED = "mislabelled"  # looks like another class than the one it is filed under
SMALL_CLASS = "small_class"
IMBALANCE = "imbalance"
ODD_SIZE = "odd_size"
GREY_AMONG_COLOUR = "grey_among_colour"
UNREADABLE = "unreadable"
KINDS = (LEAKAGE, TWO_CLASSES, DUPLICATE, MISLABELLED, SMALL_CLASS, IMBALANCE, ODD_SIZE, GREY_AMONG_COLOUR,
         UNREADABLE)

TITLES = {
    LEAKAGE: "Leaking across the split",
    TWO_CLASSES: "Copies under two classes",
    DUPLICATE: "Duplicates",
    MISLABELLED: "Likely mislabelled",
    SMALL_CLASS: "Classes too small",
    IMBALANCE: "Unbalanced classes",
    ODD_SIZE: "Odd sizes",
    GREY_AMONG_COLOUR: "Grey among colour",
    UNREADABLE: "Unreadable files",
}


@dataclass(frozen=True)
class AuditPicture:
    """One picture as the check knows it: where it is, which split and class it is filed under."""

    path: str
    split: str  # "train", "val" or "test"
    label: str


@dataclass
class Finding:
    """One thing found, with the pictures it is about (most telling first) and a line that says it."""

    kind: str
    text: str
    pictures: list[AuditPicture] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)  # figures: distance, scores, counts

    def to_dict(self) -> dict[str, Any]:
        return {"finding": self.kind, "text": self.text, "pictures": [asdict(p) for p in self.pictures],
                **self.details}


@dataclass
class AuditReport:
    findings: list[Finding]
    counts: dict[str, dict[str, int]]  # split -> class -> pictures
    pictures: int
    seconds: float
    checked: list[str]  # the kinds of check that ran
    not_checked: dict[str, str] = field(default_factory=dict)  # kind -> why not

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    def advice(self) -> list[str]:
        """One plain sentence per kind of finding: what was found and what to do about it."""
        by_kind = Counter(f.kind for f in self.findings)
        pictures = {kind: sum(len(f.pictures) for f in self.of_kind(kind)) for kind in by_kind}
        pictures[LEAKAGE] = sum(p.split != "train" for f in self.of_kind(LEAKAGE) for p in f.pictures)
        said = []
        for kind in KINDS:
            n = by_kind.get(kind, 0)
            if n:
                said.append(ADVICE[kind](n, pictures[kind]))
        for kind, why in self.not_checked.items():
            said.append(f"The check for {TITLES[kind].lower()} pictures did not run: {why}")
        if not self.findings:
            said.append(f"Nothing to fix was found in {self.pictures} picture(s).")
        return said

    def summary(self) -> dict[str, Any]:
        return {"summary": {"pictures": self.pictures, "seconds": round(self.seconds, 2),
                            "findings": dict(Counter(f.kind for f in self.findings)), "counts": self.counts,
                            "checked": self.checked, "not_checked": self.not_checked, "advice": self.advice()}}


ADVICE = {
    LEAKAGE: lambda n, p: (f"{p} picture(s) of validation or test have a copy in training: the accuracy measured "
                           "on them is too high. Keep each picture on one side only (delete or move the copy)."),
    TWO_CLASSES: lambda n, p: (f"{n} group(s) of copies are filed under two different classes: the model is "
                               "taught both answers. Keep one copy, in the right class."),
    DUPLICATE: lambda n, p: (f"{n} group(s) of copies ({p} pictures) sit in one split: each counts more than once. "
                             "Keep one picture of each group."),
    MISLABELLED: lambda n, p: (f"{n} picture(s) look more like another class than the one they are filed under: "
                               "look at them, most suspicious first, and move the ones that are wrong."),
    SMALL_CLASS: lambda n, p: (f"{n} class(es) have too few pictures to learn or to validate: add pictures to "
                               "them, or merge them with a neighbour."),
    IMBALANCE: lambda n, p: ("The classes are very unequal in size: train with --balance loss (the Train tab's "
                             "Imbalance: Class-weighted loss), or add pictures to the small classes."),
    ODD_SIZE: lambda n, p: (f"{n} picture(s) are far from the others in size or shape: check they belong here "
                            "(a whole slide among crops, a thumbnail among photos)."),
    GREY_AMONG_COLOUR: lambda n, p: (f"{n} picture(s) differ from the rest in being grey or in colour: a model can "
                                     "learn the colour instead of the content. Make them alike, or check them."),
    UNREADABLE: lambda n, p: (f"{n} file(s) cannot be read as pictures: training passes over them. Replace or "
                              "remove them."),
}
