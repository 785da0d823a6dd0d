"""Likely mislabelled pictures: confident learning (cleanlab) on out-of-sample probabilities.

The probabilities come from quick models, cross-validated: a logistic regression on each picture's
features (the model's pooled features when a checkpoint is given, else the picture itself shrunk to 8 x 8),
fitted on the other folds, so no picture is scored by a model that saw its label. cleanlab's
`find_label_issues` picks the pictures whose given label disagrees with what the rest of the data says,
ranked by the probability of their given label, lowest first. No torch.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np

from resnet_gui.core.audit.findings import MISLABELLED, AuditPicture, Finding

MAX_FOLDS = 5


def out_of_sample_probabilities(features: np.ndarray, labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """[N, C] probabilities, each row from a model fitted without that picture (stratified k-fold)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    folds = int(min(MAX_FOLDS, np.bincount(labels).min()))
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=0.5))
    return cross_val_predict(model, features, labels, cv=StratifiedKFold(folds, shuffle=True, random_state=seed),
                             method="predict_proba")


def find_mislabelled(pictures: Sequence[AuditPicture], features: np.ndarray, *, source: str,
                     seed: int = 0) -> tuple[list[Finding], str | None]:
    """(findings, why the check could not run or None), most suspicious first.

    Rows of `features` with NaN (unreadable pictures) and classes with fewer than two readable pictures are
    left out: a class of one cannot be cross-validated."""
    from cleanlab.filter import find_label_issues

    usable = np.isfinite(features).all(axis=1)
    per_class = Counter(p.label for p, ok in zip(pictures, usable, strict=True) if ok)
    names = sorted(n for n, count in per_class.items() if count >= 2)
    if len(names) < 2:
        return [], "it needs two classes of at least two readable pictures each."
    index = {n: i for i, n in enumerate(names)}
    rows = [i for i, (p, ok) in enumerate(zip(pictures, usable, strict=True)) if ok and p.label in index]
    labels = np.array([index[pictures[i].label] for i in rows])
    probabilities = out_of_sample_probabilities(features[rows], labels, seed)
    # n_jobs=1: cleanlab would fork a pool of processes, and a fork of a process with the window's (or torch's)
    # threads can hang forever on a lock one of them held; one process takes 15 ms for 10,000 pictures
    ranked = find_label_issues(labels, probabilities, return_indices_ranked_by="self_confidence", n_jobs=1)
    findings = []
    for r in ranked:
        given = float(probabilities[r, labels[r]])
        best = int(np.argmax(probabilities[r]))
        picture = pictures[rows[r]]
        findings.append(Finding(
            MISLABELLED, f"filed under {picture.label} ({given:.0%}); looks like {names[best]} "
                         f"({probabilities[r, best]:.0%})", [picture],
            {"given": picture.label, "suggested": names[best], "given_probability": round(given, 4),
             "suggested_probability": round(float(probabilities[r, best]), 4), "features": source}))
    return findings, None
