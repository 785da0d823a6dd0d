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


def training_folder_warnings(data_dir, val_dir=None, *, cancelled: Callable[[], bool] | None = None
                             ) -> tuple[list[str], list[str]]:
    """The checks that need no model, on a folder about to be trained on, as the Train tab warns of them:
    (sentences, the files they are about). Without a validation folder the split is made at random, so a
    copy inside the folder may land on both sides: that is a leak to come."""
    from resnet_gui.core.audit.findings import IMBALANCE, SMALL_CLASS
    from resnet_gui.core.audit.pictures import class_folder_pictures, splits_of

    splits = splits_of(data_dir, val_dir)
    pictures, _ = class_folder_pictures(splits)
    report = check_pictures(pictures, options=CheckOptions(cheap_only=True), cancelled=cancelled)
    sentences, files = [], []
    leaks = report.of_kind(LEAKAGE)
    if leaks:
        shared = sum(p.split != "train" for f in leaks for p in f.pictures)
        sentences.append(f"{shared} validation picture(s) are copies of training pictures: the accuracy measured "
                         "on them would be too high. Remove one copy of each (hover for the files).")
    copies = report.of_kind(DUPLICATE)
    if copies:
        count = sum(len(f.pictures) - 1 for f in copies)
        where = "the split may put one copy on each side, and validation would be too kind" if "val" not in \
            splits else "each counts more than once"
        sentences.append(f"{count} picture(s) are copies of others in the same class: {where}.")
    two = report.of_kind(TWO_CLASSES)
    if two:
        sentences.append(f"{len(two)} picture(s) have a copy filed under another class: the model is taught both "
                         "answers. Keep the one in the right class.")
    small = report.of_kind(SMALL_CLASS)
    for split, need, what in (("train", "to learn from", "20"), ("val", "to validate with", "5"),
                              ("test", "to test with", "5")):
        named = [f"{f.details['class']} ({f.details['pictures']})" for f in small if f.details["split"] == split]
        if named:
            sentences.append(f"too few pictures {need} in {_listed(named)}: {what} or more each.")
    for finding in report.of_kind(IMBALANCE):
        sentences.append(f"{finding.text}: set Imbalance to Class-weighted loss, or add pictures to the small "
                         "classes.")
    for finding in leaks + copies + two:
        files += [p.path for p in finding.pictures]
    return sentences, files


def _listed(names: list[str], at_most: int = 6) -> str:
    if len(names) > at_most:
        return ", ".join(names[:at_most]) + f" and {len(names) - at_most} more"
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
