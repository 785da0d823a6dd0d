"""Is a picture like anything the model was trained on? An out-of-distribution score with a threshold.

Confidence is not familiarity: a model trained on grey digits calls a cat
photo "8, 100%". Two scores are measured against each other on this app's
data (benchmarks/unfamiliar.py, RESULTS.md):

- energy (Liu et al., 2020): -logsumexp of the logits; it needs nothing but a
  threshold;
- Mahalanobis distance (Lee et al., 2018) of the pooled features (the input
  of `fc`) to the nearest class mean, under one covariance shared by the
  classes. Means and covariance come from the training pictures (seen without
  augmentation), the covariance shrunk towards a multiple of the identity as
  Ledoit and Wolf (2004) estimate it, because a 512- or 2048-wide feature has
  more dimensions than a lab has pictures.

Either way the threshold is set on the validation pictures, which the fit
never saw, so that `FAMILIAR_SHARE` of them stay familiar. A higher score is
less familiar. What is stored in a checkpoint is a plain dict of tensors and
numbers (loadable with weights_only=True).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

from resnet_gui.core.trust import familiarity_scores as numpy_scores

FAMILIAR_SHARE = 0.95  # of validation pictures kept familiar by the threshold
METHODS = ("mahalanobis", "energy")
DEFAULT_METHOD = "mahalanobis"  # separates better here: benchmarks/RESULTS.md, "Unfamiliar pictures"
# Training pictures read for the class means and the covariance, spread over the classes. The covariance is
# shrunk (Ledoit-Wolf) because it has more dimensions than pictures anyway. Fits on 250, 500, 1,000 and 3,000
# pictures separated strangers equally well (AUROC within 0.006 on two sets: benchmarks/familiarity_fit_size.py,
# RESULTS.md), and the pass is most of a short run's finishing.
MAX_FIT_PICTURES = 500


@contextmanager
def capture_features(model: nn.Module):
    """Within the block, every forward of `model` also leaves its pooled features (the input of `fc`,
    float32 [N, D]) in the yielded list."""
    features: list[torch.Tensor] = []
    handle = model.fc.register_forward_hook(lambda module, inputs, output: features.append(inputs[0].float()))
    try:
        yield features
    finally:
        handle.remove()


def energy(logits: torch.Tensor) -> torch.Tensor:
    """[N, C] -> [N]: higher for logits that are small everywhere (nothing recognised)."""
    return torch.from_numpy(numpy_scores.energy(logits.detach().float().cpu().numpy()))


def ledoit_wolf(centred: torch.Tensor) -> torch.Tensor:
    """The shrunk covariance of rows already centred: (1 - s) S + s mu I, with s as Ledoit and Wolf
    estimate it (the formula scikit-learn's `ledoit_wolf` uses)."""
    x = centred.double()
    n, d = x.shape
    sample = x.T @ x / n
    mu = torch.trace(sample) / d
    distance = ((sample - mu * torch.eye(d, dtype=x.dtype)) ** 2).sum()
    spread = ((x ** 2).sum(1) ** 2).sum() / n ** 2 - (sample ** 2).sum() / n
    shrinkage = 1.0 if distance <= 0 else float(torch.clamp(spread / distance, 0.0, 1.0))
    return (1 - shrinkage) * sample + shrinkage * mu * torch.eye(d, dtype=x.dtype)


def fit_mahalanobis(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, torch.Tensor]:
    """Class means and the precision (inverse shared covariance) of pooled features."""
    features = features.double()
    means = torch.zeros(num_classes, features.shape[1], dtype=torch.float64)
    present = torch.zeros(num_classes, dtype=torch.bool)
    for c in range(num_classes):
        mine = features[labels == c]
        if len(mine):
            means[c] = mine.mean(0)
            present[c] = True
    covariance = ledoit_wolf(features - means[labels])
    if float(torch.trace(covariance)) <= 1e-12:
        # One picture per class (4 classes x 2 pictures, half kept for validation): every picture is its class
        # mean, the within-class covariance is zero, and inverting it stopped the run after its epoch. The
        # spread of all the features, the same in every direction, is the best guess so few pictures allow.
        spread = float(features.var(dim=0, unbiased=False).mean()) if len(features) > 1 else 0.0
        covariance = max(spread, 1e-6) * torch.eye(len(covariance), dtype=covariance.dtype)
    precision = torch.linalg.inv(covariance + 1e-9 * torch.trace(covariance) / len(covariance)
                                 * torch.eye(len(covariance), dtype=covariance.dtype))
    return {"means": means[present].float(), "precision": precision.float()}


def mahalanobis(features: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """[N, D] -> [N]: the squared distance to the nearest class mean."""
    return torch.from_numpy(numpy_scores.mahalanobis(*(t.detach().double().cpu().numpy()
                                                       for t in (features, means, precision))))


def scores(spec: dict[str, Any], logits: torch.Tensor, features: torch.Tensor | None) -> torch.Tensor:
    """The stored score of each picture (higher: less familiar), as familiarity_scores computes it for both
    runtimes."""
    return torch.from_numpy(numpy_scores.familiarity_scores(spec, _as_array(logits), _as_array(features)))


def _as_array(tensor: torch.Tensor | None):
    return None if tensor is None else tensor.detach().float().cpu().numpy()


def threshold_for(validation_scores: torch.Tensor, share: float = FAMILIAR_SHARE) -> float:
    """The score at or below which `share` of the validation pictures lie."""
    ordered = torch.sort(validation_scores.double()).values
    index = min(len(ordered) - 1, max(0, int(torch.ceil(torch.tensor(share * len(ordered))).item()) - 1))
    return float(ordered[index])


def fit_familiarity(method: str, *, val_logits: torch.Tensor, val_features: torch.Tensor,
                    train_features: torch.Tensor | None = None, train_labels: torch.Tensor | None = None,
                    num_classes: int | None = None) -> dict[str, Any]:
    """What a checkpoint stores: the method, its parameters and the threshold from validation."""
    if method not in METHODS:
        raise ValueError(f"unknown familiarity method {method!r}")
    spec: dict[str, Any] = {"method": method, "familiar_share": FAMILIAR_SHARE, "samples": len(val_logits)}
    if method == "mahalanobis":
        spec.update(fit_mahalanobis(train_features, train_labels, num_classes or int(train_labels.max()) + 1))
        spec["fit_samples"] = len(train_features)
    spec["threshold"] = threshold_for(scores(spec, val_logits, val_features))
    return spec


def is_usable(spec: Any) -> bool:
    """A stored fit this version can apply (older checkpoints have none; another method is ignored)."""
    if not isinstance(spec, dict) or spec.get("method") not in METHODS or "threshold" not in spec:
        return False
    return spec["method"] == "energy" or ("means" in spec and "precision" in spec)


def auroc(familiar: torch.Tensor, unfamiliar: torch.Tensor) -> float:
    """How well scores separate two sets: the chance a random unfamiliar picture scores above a random
    familiar one (ties count half)."""
    a, b = familiar.double()[:, None], unfamiliar.double()[None, :]
    return float(((b > a).double() + 0.5 * (b == a).double()).mean())
