"""How unfamiliar each picture looks to a stored fit (core/trust/familiarity.py fits it), in numpy: one
implementation for PyTorch's forward pass and for a cached OpenVINO model started without torch
(inference/ready_start.py), so both runtimes mark the same pictures."""

from __future__ import annotations

from typing import Any

import numpy as np


def energy(logits: Any) -> np.ndarray:
    """[N, C] -> [N] float32: higher for logits that are small everywhere (nothing recognised)."""
    x = np.asarray(logits, dtype=np.float64)
    top = x.max(axis=1, keepdims=True)
    return -(top[:, 0] + np.log(np.exp(x - top).sum(axis=1))).astype(np.float32)


def mahalanobis(features: Any, means: Any, precision: Any) -> np.ndarray:
    """[N, D] -> [N] float32: the squared distance to the nearest class mean."""
    # (f - m) P (f - m) expanded, so no [N, C, D] difference is made (100 classes x 2048 features);
    # in float64, where the expansion's terms cancel without losing the small distances.
    f, m, p = (np.asarray(a, dtype=np.float64) for a in (features, means, precision))
    fp = f @ p
    distances = (fp * f).sum(1, keepdims=True) - 2 * fp @ m.T + ((m @ p) * m).sum(1)[None, :]
    return np.maximum(distances.min(axis=1), 0).astype(np.float32)


def familiarity_scores(spec: dict[str, Any], logits: Any, features: Any | None) -> np.ndarray:
    """The stored method's score of each picture (higher: less familiar), float32 [N]."""
    if spec["method"] == "energy":
        return energy(logits)
    return mahalanobis(features, spec["means"], spec["precision"])
