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
        if actual[i] == 0:
            # A class with no test images has no recall or F1 to speak of: None ("n/a"), never a false 0.
            precision = (correct[i] / predicted[i]).item() if predicted[i] > 0 else None
            recall = f1 = None
        else:
            precision = (correct[i] / predicted[i]).item() if predicted[i] > 0 else 0.0
            recall = (correct[i] / actual[i]).item()
            f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
        per_class[name] = {"precision": precision, "recall": recall, "f1": f1, "support": int(actual[i].item())}
    return {
        "accuracy": correct.sum().item() / total if total else 0.0,
        "samples": int(total),
        "per_class": per_class,
        "confusion_matrix": [[int(v) for v in row] for row in m.tolist()],
        "classes": list(classes),
    }


def roc_curve(scores, positives) -> tuple[list[float], list[float], float]:
    """(false-positive rates, true-positive rates, area under the curve) for one class against the rest."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    p, n = positives.sum(), (~positives).sum()
    if p == 0 or n == 0:
        return [0.0, 1.0], [0.0, 1.0], float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]  # one point per distinct threshold
    tps = np.cumsum(positives)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / p]
    fpr = np.r_[0.0, fps / n]
    return fpr.tolist(), tpr.tolist(), float(np.trapezoid(tpr, fpr))


def precision_recall_curve(scores, positives) -> tuple[list[float], list[float], float]:
    """(recalls, precisions, average precision) for one class against the rest."""
    import numpy as np

    scores = np.asarray(scores, dtype=np.float64)
    positives = np.asarray(positives, dtype=bool)
    p = positives.sum()
    if p == 0:
        return [0.0, 1.0], [1.0, 0.0], float("nan")
    order = np.argsort(-scores, kind="mergesort")
    scores, positives = scores[order], positives[order]
    distinct = np.r_[np.nonzero(np.diff(scores))[0], len(scores) - 1]
    tps = np.cumsum(positives)[distinct]
    predicted = distinct + 1
    precision = tps / predicted
    recall = tps / p
    average_precision = float(np.sum(np.diff(np.r_[0.0, recall]) * precision))
    return np.r_[0.0, recall].tolist(), np.r_[1.0, precision].tolist(), average_precision


def one_vs_rest(probs, targets, classes: Sequence[str]) -> dict:
    """ROC and precision-recall curves with their areas, per class, and the macro means."""
    import numpy as np

    probs = np.asarray(probs, dtype=np.float64)
    targets = np.asarray(targets)
    curves = {}
    for i, name in enumerate(classes):
        fpr, tpr, auc = roc_curve(probs[:, i], targets == i)
        recall, precision, ap = precision_recall_curve(probs[:, i], targets == i)
        curves[name] = {"roc": {"fpr": fpr, "tpr": tpr, "auc": auc},
                        "pr": {"recall": recall, "precision": precision, "average_precision": ap}}
    aucs = [c["roc"]["auc"] for c in curves.values() if c["roc"]["auc"] == c["roc"]["auc"]]
    aps = [c["pr"]["average_precision"] for c in curves.values()
           if c["pr"]["average_precision"] == c["pr"]["average_precision"]]
    return {
        "curves": curves,
        "roc_auc": {name: c["roc"]["auc"] for name, c in curves.items()},
        "average_precision": {name: c["pr"]["average_precision"] for name, c in curves.items()},
        "macro_roc_auc": float(np.mean(aucs)) if aucs else float("nan"),
        "macro_average_precision": float(np.mean(aps)) if aps else float("nan"),
    }
