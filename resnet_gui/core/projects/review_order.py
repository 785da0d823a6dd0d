"""The review orders that need more than a sort by one number, and the line that says why a picture is where
it is.

"diverse" puts first the pictures least like those already labelled and least like each other: greedy
k-centre (each next picture is the one farthest from every labelled or already placed picture) on a
sketch of what the model sees, so one batch does not hold twenty copies of one doubt. "mixed" does the same
among the most doubtful pictures only, then goes on by doubt. The sketch is the run's pooled features,
made unit length and projected to SKETCH_SIZE numbers by a fixed random matrix (distances between pictures
survive such a projection closely: Johnson-Lindenstrauss), kept with each prediction as float16 (64 bytes a
picture, where ResNet-50's features would take 8 KB). No torch here: numpy and the project's rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

SKETCH_SIZE = 32
SPREAD_ORDERS = ("diverse", "mixed")
# "diverse" places this many pictures by k-centre, the rest by doubt: each placed picture costs a pass over
# every candidate, and a review reads the first few hundred.
SPREAD_FIRST = 400
# "mixed" spreads out the most doubtful quarter of the review, at least this many (the rest by doubt).
MIXED_POOL = 80
# at most this many labelled pictures as the starting centres (an even sample of more): a pass costs each
MAX_CENTRES = 4000


def sketch(features: np.ndarray) -> list[bytes | None]:
    """A row's sketch (float16 bytes) for each row of pooled features [N, D]; None for a row of NaN."""
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or not len(features):
        return []
    # the same matrix for every run of a model width, so sketches of one run compare with each other
    projection = np.random.default_rng(features.shape[1]).standard_normal((features.shape[1], SKETCH_SIZE))
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    projected = unit @ projection.astype(np.float32)
    projected /= np.maximum(np.linalg.norm(projected, axis=1, keepdims=True), 1e-12)
    finite = np.isfinite(projected).all(axis=1)
    return [row.astype(np.float16).tobytes() if ok else None for row, ok in zip(projected, finite, strict=True)]


def unsketch(blobs: Sequence[bytes]) -> np.ndarray:
    """[N, SKETCH_SIZE] float32 from stored sketches."""
    if not blobs:
        return np.zeros((0, SKETCH_SIZE), dtype=np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float16).reshape(len(blobs), -1).astype(np.float32)


def _nearest(points: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """Each point's distance to its nearest centre (infinite with no centres)."""
    nearest = np.full(len(points), np.inf, dtype=np.float32)
    squared = (points * points).sum(1)
    for start in range(0, len(centres), 1024):
        block = centres[start:start + 1024]
        distances = squared[:, None] - 2 * points @ block.T + (block * block).sum(1)[None, :]
        nearest = np.minimum(nearest, distances.min(1))
    return np.sqrt(np.maximum(nearest, 0))


def k_centre(points: np.ndarray, centres: np.ndarray, count: int) -> tuple[list[int], list[float]]:
    """Greedy k-centre: `count` indices of `points`, each the one farthest from `centres` and from those picked
    before it, with that distance. Ties (and the first pick with no centres) go to the lowest index, so
    points given most doubtful first are picked most doubtful first among equals."""
    if len(centres) > MAX_CENTRES:
        centres = centres[np.linspace(0, len(centres) - 1, MAX_CENTRES).astype(int)]
    nearest = _nearest(points, centres)
    picked, distances = [], []
    for _ in range(min(count, len(points))):
        index = int(np.argmax(nearest))
        if nearest[index] < 0:  # every point picked
            break
        picked.append(index)
        distances.append(float(nearest[index]) if np.isfinite(nearest[index]) else float("inf"))
        step = points - points[index]
        nearest = np.minimum(nearest, np.sqrt((step * step).sum(1)))
        nearest[picked] = -1.0
    return picked, distances


def spread_order(kind: str, sketches: Sequence[bytes | None],
                 labelled: Sequence[bytes]) -> tuple[list[int], dict[int, float]]:
    """The review's order for "diverse" or "mixed" over candidates given most doubtful first (their sketches,
    None where the run kept none): the indices in order, and for each spread-out one its distance to the
    nearest labelled or earlier picture. Candidates without a sketch keep their place by doubt at the end."""
    have = [i for i, s in enumerate(sketches) if s is not None]
    pool = have if kind == "diverse" else have[:max(MIXED_POOL, len(have) // 4)]
    if not pool:
        return list(range(len(sketches))), {}
    picked, distances = k_centre(unsketch([sketches[i] for i in pool]), unsketch(list(labelled)), SPREAD_FIRST)
    first = [pool[i] for i in picked]
    placed = set(first)
    return first + [i for i in range(len(sketches)) if i not in placed], dict(zip(first, distances, strict=True))


def why_here(order: str, top_k: list[tuple[int, float]], names: dict[int, str], *,
             distance: float | None = None, rank_in_class: int | None = None) -> str:
    """One line on why a picture is where the review order put it: its doubt, and for the spread-out orders
    how unlike it is, for the per-class order which of its predicted class it is."""
    if not top_k:
        return ""
    best = f"{top_k[0][1]:.0%} {names.get(top_k[0][0], '?')}"
    doubt = f"{best} vs {top_k[1][1]:.0%} {names.get(top_k[1][0], '?')}" if len(top_k) > 1 else best
    if order == "random":
        return f"random pick; the model says {doubt}"
    if order in ("diverse", "mixed") and distance is not None:
        unlike = "the first picked" if not np.isfinite(distance) else f"distance {distance:.2f} of at most 2"
        among = "among the most doubtful, " if order == "mixed" else ""
        return f"{among}unlike the labelled and earlier pictures ({unlike}); doubt: {doubt}"
    if order == "quota" and rank_in_class is not None:
        return f"no. {rank_in_class} in doubt of those predicted {names.get(top_k[0][0], '?')}; doubt: {doubt}"
    return f"doubt: {doubt}"
