"""Copies: the same file twice (content hash), near copies (perceptual hash: re-encoded, resized, cropped
or shifted by a few pixels, brightened), confirmed by the model's features when a model was given; each
group of copies becomes one finding: leaking across the split, filed under two classes, or a duplicate.
No torch."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from resnet_gui.core.audit.findings import DUPLICATE, LEAKAGE, TWO_CLASSES, Finding
from resnet_gui.core.audit.pictures import PictureFacts

# Bits of 64 in which two perceptual hashes of copies may differ. Measured on planted copies (JPEG at quality
# 70, resized to 80%, cropped or shifted by 3-4 px of 96, brightened by 25%): 0-8 bits; distinct pictures 16
# and more, but look-alikes (half of each picture shared) from 8: so a hash match is only a candidate.
NEAR_BITS = 10
# A candidate is a copy when the two pictures at 16 x 16 grey (centred) have a cosine similarity of at least
# this: copies 0.954 and more, those look-alikes at most 0.78.
SAME_OUTLINE = 0.9
# ... and, when a model was given, when its pooled features agree as well.
SAME_FEATURES = 0.9
_BLOCK = 1024  # rows of hashes compared at once: 1024 x 10,000 distances is 10 MB


def near_pairs(hashes: np.ndarray, max_bits: int = NEAR_BITS) -> list[tuple[int, int, int]]:
    """(i, j, differing bits) for every pair i < j of 64-bit hashes that differ in at most `max_bits`."""
    hashes = np.asarray(hashes, dtype=np.uint64)
    pairs = []
    for start in range(0, len(hashes), _BLOCK):
        block = hashes[start:start + _BLOCK]
        bits = np.bitwise_count(block[:, None] ^ hashes[None, :])
        rows, cols = np.nonzero(bits <= max_bits)
        for r, c in zip(rows.tolist(), cols.tolist(), strict=True):
            i = start + r
            if c > i:
                pairs.append((i, c, int(bits[r, c])))
    return pairs


class _Groups:
    """Union-find over picture indices."""

    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, i: int, j: int) -> None:
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


def find_copies(facts: Sequence[PictureFacts], features: np.ndarray | None = None, *,
                max_bits: int = NEAR_BITS, same_features: float = SAME_FEATURES) -> list[Finding]:
    """One finding per group of copies among the readable pictures of `facts`.

    `features` ([N, D], rows in the order of `facts`, NaN for a picture the model could not read) confirm
    each near pair: a pair whose features differ is two pictures that only hash alike."""
    readable = [i for i, f in enumerate(facts) if f.error is None]
    groups = _Groups(len(facts))
    exact = set()
    by_content: dict[str, list[int]] = defaultdict(list)
    for i in readable:
        by_content[facts[i].sha256].append(i)
    for members in by_content.values():
        for other in members[1:]:
            groups.join(members[0], other)
            exact.add(other)
    unit = None
    if features is not None:
        norms = np.linalg.norm(features, axis=1, keepdims=True)
        unit = features / np.where(norms > 0, norms, 1)
    distance: dict[int, int] = {}
    hashes = np.array([facts[i].phash for i in readable], dtype=np.uint64)
    for a, b, bits in near_pairs(hashes, max_bits):
        i, j = readable[a], readable[b]
        if facts[i].sha256 != facts[j].sha256:
            if not float(facts[i].outline @ facts[j].outline) >= SAME_OUTLINE:
                continue
            if unit is not None and not float(unit[i] @ unit[j]) >= same_features:  # NaN: unread, no
                continue
        groups.join(i, j)
        root = groups.find(i)
        distance[root] = max(distance.get(root, 0), bits)
    members_of: dict[int, list[int]] = defaultdict(list)
    for i in readable:
        members_of[groups.find(i)].append(i)
    findings = []
    for _, members in sorted(members_of.items()):
        if len(members) < 2:
            continue
        pictures = [facts[i].picture for i in members]
        # the training copy first: it is the one a leak is measured against
        pictures.sort(key=lambda p: (p.split != "train", p.split, p.label, p.path))
        splits = sorted({p.split for p in pictures})
        labels = sorted({p.label for p in pictures})
        how = "exact copies" if all(facts[i].sha256 == facts[members[0]].sha256 for i in members) else \
            "near copies"
        details = {"copies": how, "splits": splits, "labels": labels,
                   "differing_bits": max((distance.get(groups.find(i), 0) for i in members), default=0)}
        names = ", ".join(f"{p.split}/{p.label}" for p in pictures)
        if len(splits) > 1:
            kind, text = LEAKAGE, f"{len(pictures)} {how} across the split ({names})"
        elif len(labels) > 1:
            kind, text = TWO_CLASSES, f"{len(pictures)} {how} under different classes ({names})"
        else:
            kind, text = DUPLICATE, f"{len(pictures)} {how} in {splits[0]}/{labels[0]}"
        if len(splits) > 1 and len(labels) > 1:
            text += "; filed under different classes too"
        findings.append(Finding(kind, text, pictures, details))
    return findings
