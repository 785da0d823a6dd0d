"""How a project's labelled pictures are split into training and validation.

A picture's side is fixed at the first run that uses it and kept ever after, so each run is validated
on the pictures the run before it was validated on (and on the new ones): two runs can be compared.
New pictures are split per class (about `fraction` of every class validates), and with
`keep_specimens` a whole specimen (subfolder, slide, patient) goes to one side, so pictures of one
specimen never sit on both sides.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SplitCandidate:
    image_id: int
    class_id: int
    specimen: str | None
    side: str | None  # "train" or "val" when fixed by an earlier run


def split_pictures(pictures: Sequence[SplitCandidate], fraction: float, seed: int,
                   keep_specimens: bool = False) -> tuple[list[int], list[int]]:
    """(train image ids, val image ids): fixed sides kept, new pictures split per class."""
    groups: dict[object, list[SplitCandidate]] = defaultdict(list)
    for p in pictures:
        key = ("specimen", p.specimen) if keep_specimens and p.specimen else ("picture", p.image_id)
        groups[key].append(p)
    side: dict[int, str] = {p.image_id: p.side for p in pictures if p.side}
    totals = Counter(p.class_id for p in pictures)
    in_val = Counter(p.class_id for p in pictures if p.side == "val")
    open_groups: dict[int, list[list[SplitCandidate]]] = defaultdict(list)
    for members in groups.values():
        fixed = Counter(p.side for p in members if p.side)
        new = [p for p in members if not p.side]
        if not new:
            continue
        if fixed:  # a specimen already on one side brings its new pictures with it
            chosen = fixed.most_common(1)[0][0]
            for p in new:
                side[p.image_id] = chosen
                in_val[p.class_id] += chosen == "val"
            continue
        dominant = Counter(p.class_id for p in new).most_common(1)[0][0]
        open_groups[dominant].append(new)
    rng = np.random.default_rng(seed)
    for class_id in sorted(open_groups):
        candidates = open_groups[class_id]
        order = rng.permutation(len(candidates))
        total = totals[class_id]
        target = int(round(total * fraction))
        if total >= 2:
            target = min(max(target, 1), total - 1)  # every class on both sides when it can be
        else:
            target = 0
        for index in order:
            members = candidates[index]
            grown = in_val[class_id] + sum(p.class_id == class_id for p in members)
            to_val = in_val[class_id] < target and grown < total and (grown <= target or in_val[class_id] == 0)
            for p in members:
                side[p.image_id] = "val" if to_val else "train"
                in_val[p.class_id] += to_val
    train = sorted(i for i, s in side.items() if s == "train")
    val = sorted(i for i, s in side.items() if s == "val")
    return train, val
