"""Classification figures from a confusion matrix: accuracy, per-class precision, recall, F1."""

from __future__ import annotations

from collections.abc import Sequence

import torch


def confusion_matrix(targets: torch.Tensor, predictions: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[true, predicted] counts."""
    flat = targets.long() * num_classes + predictions.long()
    return torch.bincount(flat, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def summarize(matrix: torch.Tensor | Sequence[Sequence[int]], classes: Sequence[str]) -> dict:
    """Accuracy, per-class precision / recall / F1 / support and the matrix as lists."""
    m = torch.as_tensor(matrix, dtype=torch.float64)
    total = m.sum().item()
    correct = m.diag()
    predicted = m.sum(0)
    actual = m.sum(1)
    per_class = {}
    for i, name in enumerate(classes):
        precision = (correct[i] / predicted[i]).item() if predicted[i] > 0 else 0.0
        recall = (correct[i] / actual[i]).item() if actual[i] > 0 else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual[i].item())}
    return {
        "accuracy": correct.sum().item() / total if total else 0.0,
        "samples": int(total),
        "per_class": per_class,
        "confusion_matrix": [[int(v) for v in row] for row in m.tolist()],
        "classes": list(classes),
    }
