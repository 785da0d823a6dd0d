"""Training a project's model and letting it label the project's pictures.

A run trains on the labelled pictures with the split of `project_split`, writes its checkpoint to the
project's `models/` (a new file for every run, never one replaced), predicts its validation pictures
so the next run can be compared with it on the same pictures, and is recorded with its settings,
figures and history. Each step opens its own connection: these run on worker threads.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from resnet_gui.core.images.folders import FolderScan
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView, RunRecord
from resnet_gui.core.projects.review_order import sketch
from resnet_gui.core.projects.schema import ProjectError
from resnet_gui.core.projects.split import SplitCandidate, split_pictures
from resnet_gui.core.training.events import TrainingCallback, TrainResult
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer


@dataclass
class ProjectRun:
    run_id: int
    result: TrainResult
    comparison: dict[str, Any] | None  # this run and the one before it on the validation pictures they share


@dataclass
class PredictReport:
    run_id: int
    predicted: int
    failed: list[tuple[str, str]]  # (path, reason)
    missing: int


def _next_model_path(project: Project, run_id: int) -> Path:
    from resnet_gui.core.models.files import unique_model_path

    project.models_dir.mkdir(parents=True, exist_ok=True)
    return unique_model_path(project.models_dir / f"run-{run_id:04d}.pt")


@dataclass
class _PlannedRun:
    run_id: int
    settings: TrainSettings
    scan: FolderScan
    val: list[tuple[int, str]]  # (image id, file) of its validation pictures, predicted after training
    keep_specimens: bool
    from_run: int | None = None  # the run whose model it started from

    def record(self, settings: TrainSettings) -> dict:
        """The run's settings as the project keeps them: the Trainer's, and the project's own."""
        return settings.to_dict() | {"keep_specimens": self.keep_specimens, "from_run": self.from_run}


def train_project(folder: str | os.PathLike, settings: TrainSettings, *, keep_specimens: bool = False,
                  callbacks: Sequence[TrainingCallback] = (), cancelled: Callable[[], bool] | None = None,
                  skip_finishing: Callable[[], bool] | None = None,
                  device: str | None = None, resume: bool = False, from_run: int | None = None,
                  started: float | None = None) -> ProjectRun:
    """Train a new run on the project's labelled pictures; `settings` are the Train tab's (or train's).
    `resume`: go on instead with the newest run that stopped early (`Project.resumable_run`), with its own
    settings and split, from its last finished epoch. `from_run`: start from that run's model (its
    architecture, stem and input size) instead of the start `settings` name, with the labels of today and
    the stored split. `started`: when the user's run began (Trainer's), for a run of set minutes."""
    from resnet_gui.core.projects.run_lock import RunLock

    with Project.open(folder) as project:
        models = project.models_dir
    # held from before the run is recorded until it is finished: while it is, the run is alive
    with RunLock(models) as lock:
        with Project.open(folder) as project:
            if resume:
                planned = _resumed_run(project, lock.name)
            else:
                if from_run is not None:
                    settings = _continuing(project, settings, from_run)
                planned = _new_run(project, settings, keep_specimens, lock.name, from_run)
        return _train_planned(folder, planned, callbacks, cancelled, skip_finishing, device, started)


def _continuing(project: Project, settings: TrainSettings, run_id: int) -> TrainSettings:
    """The settings of a run that starts from run `run_id`'s model: its weights, and the model's shape."""
    run = project.run(run_id)
    if run.status == "running" or run.checkpoint is None or not run.checkpoint.is_file():
        why = "is still training" if run.status == "running" else "has no model file"
        raise ProjectError(f"Run {run_id} {why}, so there is nothing to continue from. Train from scratch, or "
                           "continue from another run (resnet-gui project status lists them).",
                           in_window=f"Run {run_id} {why}, so there is nothing to continue from. Train from "
                                     "scratch, or continue from another run.")
    shape = {key: run.settings[key] for key in ("arch", "small_input", "stem", "image_size") if key in run.settings}
    return replace(settings, weights=str(run.checkpoint), **shape)


def _new_run(project: Project, settings: TrainSettings, keep_specimens: bool, lock: str,
             from_run: int | None = None) -> _PlannedRun:
    settings = replace(settings, data_dir="", val_dir=None, resume=None, out=None, augment=list(settings.augment))
    settings.validate()
    pictures = project.training_pictures()
    skipped = [(str(path), "file not found") for _, path, _, _, _ in pictures if not path.is_file()]
    present = [p for p in pictures if p[1].is_file()]
    used = {class_id for _, _, class_id, _, _ in present}
    classes = [(c.id, c.name) for c in project.classes() if c.id in used]
    if len(classes) < 2:
        raise ProjectError("Label pictures of at least two classes before training (each class needs a few "
                           "pictures; ten or more train well).")
    train_ids, val_ids = split_pictures(
        [SplitCandidate(i, c, specimen, side) for i, _, c, specimen, side in present],
        settings.val_split, settings.seed, keep_specimens)
    if not val_ids:
        raise ProjectError("There are too few labelled pictures to keep some for validation. Label more "
                           "pictures (two or more per class).")
    labels = {i: c for i, _, c, _, _ in present}
    record = settings.to_dict() | {"keep_specimens": keep_specimens, "from_run": from_run}
    run_id = project.begin_run(record, classes, train_ids, val_ids, labels, lock=lock)
    settings.out = str(_next_model_path(project, run_id))
    settings.data_dir = str(project.root)
    project.plan_run_checkpoint(run_id, Path(settings.out))
    files = {i: str(path) for i, path, _, _, _ in present}
    position = {class_id: index for index, (class_id, _) in enumerate(classes)}
    scan = FolderScan(project.root, [name for _, name in classes],
                      [(files[i], position[labels[i]]) for i in train_ids],
                      [(files[i], position[labels[i]]) for i in val_ids], skipped)
    return _PlannedRun(run_id, settings, scan, [(i, files[i]) for i in val_ids], keep_specimens, from_run)


def _resumed_run(project: Project, lock: str) -> _PlannedRun:
    """The newest stopped run, set up to go on as it was: its settings, classes and split as recorded, the
    labels it was trained with, and its NAME.last.pt to start from."""
    from resnet_gui.core.models.files import last_path_for

    run = project.resumable_run()
    if run is None:
        raise ProjectError("The project has no stopped run to go on with: every run finished, or stopped before "
                           "its first epoch ended. Train a new run (resnet-gui project train without --resume).",
                           in_window="The project has no stopped run to go on with. Press Train for a new run.")
    record = dict(run.settings)
    keep_specimens = bool(record.pop("keep_specimens", False))
    from_run = record.pop("from_run", None)
    settings = TrainSettings.from_dict(record)
    settings.out = str(run.checkpoint)
    settings.resume = str(last_path_for(run.checkpoint))
    settings.data_dir = str(project.root)
    position = {class_id: index for index, (class_id, _) in enumerate(run.classes)}
    sides = {}
    for part in ("train", "val"):
        sides[part] = []
        for image_id, class_id in project.run_images(run.id, part):
            path = project.picture(image_id).path if class_id in position else None
            if path is not None:
                sides[part].append((image_id, str(path), position[class_id]))
    skipped = [(path, "file not found") for side in sides.values() for _, path, _ in side if not Path(path).is_file()]
    kept = {part: [row for row in rows if Path(row[1]).is_file()] for part, rows in sides.items()}
    scan = FolderScan(project.root, [name for _, name in run.classes], [(f, y) for _, f, y in kept["train"]],
                      [(f, y) for _, f, y in kept["val"]], skipped)
    project.restart_run(run.id, lock)
    return _PlannedRun(run.id, settings, scan, [(i, f) for i, f, _ in kept["val"]], keep_specimens, from_run)


def _train_planned(folder, planned: _PlannedRun, callbacks, cancelled, skip_finishing, device,
                   started: float | None = None) -> ProjectRun:
    settings, run_id = planned.settings, planned.run_id
    recorded = planned.record(settings)
    try:
        result = Trainer(settings, callbacks, cancelled, scan=planned.scan, skip_finishing=skip_finishing,
                         started=started).run()
    except BaseException:
        with Project.open(folder) as project:
            project.finish_run(run_id, "failed", None, {}, [], recorded)
        raise
    comparison = None
    with Project.open(folder) as project:
        metrics = dict(result.metrics)
        if result.calibration:
            metrics["unsure_below"] = result.calibration.get("unsure_below")
            metrics["temperature"] = result.calibration.get("temperature")
        if result.settings is not None:  # as the run resolved them: the input size and rate it trained with
            recorded = planned.record(result.settings)
        project.finish_run(run_id, result.stopped, result.best_path, metrics, result.history, recorded)
        if result.best_path:
            _predict(project, project.run(run_id), planned.val, device or settings.device, settings.amp)
            earlier = [r for r in project.runs() if r.id < run_id and r.status != "running"
                       and r.checkpoint is not None and r.checkpoint.is_file()]
            if earlier:
                comparison = project.compare_runs(run_id, earlier[-1].id)
    return ProjectRun(run_id, result, comparison)


def predict_project(folder: str | os.PathLike, run_id: int | None = None, *, device: str = "auto",
                    amp: bool = True, batch_size: int = 32, progress: Callable[[int, int], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> PredictReport:
    """Let a run (the newest with a model, by default) label the project's unlabelled pictures."""
    with Project.open(folder) as project:
        run = project.run(run_id) if run_id is not None else project.model_run()
        if run is None:
            raise ProjectError("The project has no trained model yet. Train one first: resnet-gui project train.",
                               in_window="The project has no trained model yet. Press Train first.")
        pictures = project.pictures(ProjectView("unlabelled"))
        present = [p for p in pictures if p.path.is_file()]
        done, failed = _predict(project, run, [(p.id, str(p.path)) for p in present], device, amp, progress=progress,
                                cancelled=cancelled, batch_size=batch_size)
        return PredictReport(run.id, done, failed, len(pictures) - len(present))


def _predict(project: Project, run: RunRecord, pictures: list[tuple[int, str]], device: str, amp: bool, *,
             progress: Callable[[int, int], None] | None = None, cancelled: Callable[[], bool] | None = None,
             batch_size: int = 32) -> tuple[int, list[tuple[str, str]]]:
    return RunPredictor(project, run, device=device, amp=amp, batch_size=batch_size).predict(
        pictures, progress=progress, cancelled=cancelled)


class RunPredictor:
    """A run's model, loaded once, storing its answers for the project's pictures (and each one's sketch, for
    the spread-out review orders)."""

    def __init__(self, project: Project, run: RunRecord, *, device: str = "auto", amp: bool = True,
                 batch_size: int = 32):
        from resnet_gui.core.inference.predictor import Predictor
        from resnet_gui.core.models.resnets import load_checkpoint_bundle

        if run.checkpoint is None or not run.checkpoint.is_file():
            raise ProjectError(f"The model of run {run.id} is missing ({run.checkpoint}). Train a new run.")
        bundle = load_checkpoint_bundle(run.checkpoint)
        self.ids = [class_id for class_id, _ in run.classes]
        if len(self.ids) != bundle.num_classes:
            raise ProjectError(f"The model of run {run.id} does not match the classes recorded for it.")
        self.project, self.run = project, run
        self.predictor = Predictor(bundle, device=device, amp=amp, top_k=min(5, len(self.ids)),
                                   batch_size=batch_size, keep_features=True)

    def predict(self, pictures: list[tuple[int, str]], *, progress: Callable[[int, int], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> tuple[int, list[tuple[str, str]]]:
        """Answer and store (image id, path) pictures: (how many were done, [(path, why not), ...])."""
        order = [image_id for image_id, _ in pictures]
        done, failed = 0, []
        for batch in self.predictor.predict([path for _, path in pictures], cancelled=cancelled):
            self.store(order[done:done + len(batch)], batch)
            failed += [(p.path, p.error) for p in batch if not p.ok]
            done += len(batch)
            if progress is not None:
                progress(done, len(order))
        return done, failed

    def store(self, image_ids: list[int], batch: list) -> None:
        """Keep the answers (Predictions of the pictures `image_ids`, in order) as the run's."""
        width = self.predictor.model.fc.in_features
        sketches = sketch(np.stack([p.features if p.features is not None else np.full(width, np.nan, dtype=np.float32)
                                    for p in batch]))
        self.project.store_predictions(self.run.id, [
            (image_id, [(self.ids[g.index], g.prob) for g in p.top_k] if p.ok else None, p.error, p.unfamiliar, s)
            for image_id, p, s in zip(image_ids, batch, sketches, strict=False)])
