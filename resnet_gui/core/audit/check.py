"""The check of a set of pictures, from start to end: one pass over the files (hashes, sizes), the model's
features when a model is given, then every kind of finding. The command line (`audit`, `project audit`) and
the window call `check_pictures`; only the model's features need torch, and it is imported only for them."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from resnet_gui.core.audit.balance import counts_of, find_imbalance, find_oddities
from resnet_gui.core.audit.copies import find_copies
from resnet_gui.core.audit.findings import (
    DUPLICATE,
    KINDS,
    LEAKAGE,
    MISLABELLED,
    TWO_CLASSES,
    AuditPicture,
    AuditReport,
)
from resnet_gui.core.audit.labels import find_mislabelled
from resnet_gui.core.audit.pictures import learn_all

# Progress as (stage, done, total, seconds left or None): stage is "reading", "features" or "labels".
Progress = Callable[[str, int, int, float | None], None]


@dataclass(frozen=True)
class CheckOptions:
    cheap_only: bool = False  # the balance, oddity and copy checks without the quick models (the Train tab)
    device: str = "auto"
    batch_size: int = 32
    threads: int | None = None


def check_pictures(pictures: Sequence[AuditPicture], bundle=None, options: CheckOptions = CheckOptions(), *,
                   progress: Progress | None = None, cancelled: Callable[[], bool] | None = None) -> AuditReport:
    """Every finding about `pictures`; `bundle` (a loaded model) confirms near copies by its features and
    gives the quick models their features."""
    started = time.perf_counter()
    say = progress or (lambda *args: None)
    facts = learn_all(pictures, threads=options.threads, cancelled=cancelled,
                      progress=lambda done, total, left: say("reading", done, total, left))
    features = None
    if bundle is not None and not options.cheap_only:
        features = model_features(bundle, [f.picture.path for f in facts], options, say, cancelled)
    findings = find_copies(facts, features)
    checked = [LEAKAGE, TWO_CLASSES, DUPLICATE]
    not_checked = {}
    if not options.cheap_only:
        if features is not None:
            source = f"the features of {bundle.arch}"
        else:
            features = np.stack([f.pixels if f.pixels is not None else np.full(8 * 8 * 3, np.nan, np.float32)
                                 for f in facts]) if facts else np.zeros((0, 192), np.float32)
            source = "the pictures at 8 x 8 pixels (give a model for a better check)"
        say("labels", 0, 1, None)
        mislabelled, why = find_mislabelled([f.picture for f in facts], features, source=source)
        say("labels", 1, 1, None)
        findings += mislabelled
        if why is None:
            checked.append(MISLABELLED)
        else:
            not_checked[MISLABELLED] = why
    findings += find_imbalance(facts) + find_oddities(facts)
    checked += [k for k in KINDS if k not in checked and k not in not_checked and k != MISLABELLED]
    findings.sort(key=lambda f: KINDS.index(f.kind))  # stable: each kind keeps its own order
    return AuditReport(findings, counts_of(facts), len(facts), time.perf_counter() - started, checked, not_checked)


def model_features(bundle, paths: list[str], options: CheckOptions, say: Progress, cancelled) -> np.ndarray:
    from resnet_gui.core.inference.predictor import Predictor

    predictor = Predictor(bundle, device=options.device, batch_size=options.batch_size, tta=None,
                          check_familiarity=False, thumbnail_size=0)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        spent = time.perf_counter() - started
        say("features", done, total, spent / done * (total - done) if done else None)

    return predictor.features(paths, cancelled=cancelled, progress=progress)
