"""Balance and oddities: pictures per class and split, classes too small to learn or to validate, sizes and
shapes far from the rest, grey pictures among colour ones (or colour among grey), unreadable files. No torch."""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import numpy as np

from resnet_gui.core.audit.findings import (
    GREY_AMONG_COLOUR,
    IMBALANCE,
    ODD_SIZE,
    SMALL_CLASS,
    UNREADABLE,
    Finding,
)
from resnet_gui.core.audit.pictures import PictureFacts

MIN_TO_LEARN = 20  # training pictures below which a class is hard to learn
MIN_TO_VALIDATE = 5  # validation or test pictures below which a class's score means little
IMBALANCE_RATIO = 10  # largest class / smallest class
ODD_FACTOR = 4.0  # a picture whose area is this many times off the median, or whose shape ...
ODD_ASPECT = 2.0  # ... is this many times wider or taller than the median shape, is odd
MINORITY_SHARE = 0.2  # grey pictures among colour ones (or the reverse) are odd below this share


def counts_of(facts: Sequence[PictureFacts]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter] = defaultdict(Counter)
    for f in facts:
        counts[f.picture.split][f.picture.label] += 1
    return {split: dict(sorted(c.items())) for split, c in counts.items()}


def find_imbalance(facts: Sequence[PictureFacts]) -> list[Finding]:
    counts = counts_of([f for f in facts if f.error is None])
    findings = []
    classes = sorted({label for split in counts.values() for label in split})
    for label in classes:
        learn = counts.get("train", {}).get(label, 0)
        if learn < MIN_TO_LEARN:
            findings.append(Finding(SMALL_CLASS, f"{label} has {learn} training picture(s); {MIN_TO_LEARN} or "
                                    "more are needed to learn it", [], {"class": label, "split": "train",
                                                                        "pictures": learn}))
        for split in ("val", "test"):
            if split in counts and counts[split].get(label, 0) < MIN_TO_VALIDATE:
                n = counts[split].get(label, 0)
                findings.append(Finding(SMALL_CLASS, f"{label} has {n} {split} picture(s); its score there rests "
                                        f"on fewer than {MIN_TO_VALIDATE}", [], {"class": label, "split": split,
                                                                                 "pictures": n}))
    train = counts.get("train", {})
    if len(train) >= 2 and min(train.values()) > 0 and max(train.values()) / min(train.values()) >= IMBALANCE_RATIO:
        big, small = max(train, key=train.get), min(train, key=train.get)
        findings.append(Finding(IMBALANCE, f"{big} has {train[big]} training pictures, {small} only {train[small]}",
                                [], {"largest": big, "smallest": small, "ratio": round(train[big] / train[small], 1)}))
    return findings


def find_oddities(facts: Sequence[PictureFacts]) -> list[Finding]:
    readable = [f for f in facts if f.error is None and f.width and f.height]
    findings = []
    if len(readable) >= 5:
        area = np.log([f.width * f.height for f in readable])
        aspect = np.log([f.width / f.height for f in readable])
        typical_area, typical_aspect = float(np.median(area)), float(np.median(aspect))
        for f, a, s in zip(readable, area, aspect, strict=True):
            times = math.exp(abs(a - typical_area))
            wider = math.exp(abs(s - typical_aspect))
            if times >= ODD_FACTOR or wider >= ODD_ASPECT:
                findings.append(Finding(ODD_SIZE, f"{f.width} x {f.height} pixels, where most are about "
                                        f"{_typical(typical_area, typical_aspect)}", [f.picture],
                                        {"width": f.width, "height": f.height}))
        grey = [f for f in readable if f.grey]
        colour = [f for f in readable if not f.grey]
        minority, word = (grey, "grey") if len(grey) <= len(colour) else (colour, "in colour")
        if minority and len(minority) <= MINORITY_SHARE * len(readable):
            for f in minority:
                findings.append(Finding(GREY_AMONG_COLOUR, f"{word}, where {len(readable) - len(minority)} of "
                                        f"{len(readable)} are not", [f.picture], {"grey": f.grey}))
    for f in facts:
        if f.error is not None:
            findings.append(Finding(UNREADABLE, f.error, [f.picture], {}))
    return findings


def _typical(log_area: float, log_aspect: float) -> str:
    area, aspect = math.exp(log_area), math.exp(log_aspect)
    width = math.sqrt(area * aspect)
    return f"{round(width)} x {round(width / aspect)}"
