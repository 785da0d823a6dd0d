"""A watched folder feeding a project: each picture written into the folder, once whole
(core/live/arrivals.py), is added as unlabelled and answered by the project's model (the pinned run, or the
newest with a model), so it waits in the review with its doubt when the user comes to label."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resnet_gui.core.live.arrivals import RESCAN_SECONDS, SETTLE_SECONDS, FolderArrivals, follow
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.schema import ProjectError
from resnet_gui.core.projects.training import RunPredictor


@dataclass
class Arrived:
    """One batch as the project took it: (path, predicted label or None, probability or None) per picture
    added, and the files passed over with why."""

    added: list[tuple[str, str | None, float | None]] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class ProjectWatch:
    """Watch `watched` for the project in `folder` until `cancelled()` (or `stop_after_idle` seconds with
    nothing new); `run_id` is the run that answers (None: the pinned run, or the newest with a model; a
    project without one only adds the pictures)."""

    def __init__(self, folder: str | os.PathLike, watched: str | os.PathLike, *, recursive: bool = False,
                 settle: float = SETTLE_SECONDS, rescan: float = RESCAN_SECONDS, device: str = "auto",
                 amp: bool = True, batch_size: int = 32):
        watched = Path(watched)
        if not watched.is_dir():
            raise ProjectError(f"{watched} is not a folder: watch the folder the pictures are written into.")
        self.folder, self.watched = folder, watched
        self.recursive, self.settle, self.rescan = recursive, settle, rescan
        self.device, self.amp, self.batch_size = device, amp, batch_size
        self.added = 0
        self.run_id: int | None = None

    def run(self, on_batch: Callable[[Arrived], None] | None = None, *, cancelled: Callable[[], bool] = lambda: False,
            on_status: Callable[[str], None] | None = None, stop_after_idle: float | None = None,
            wait: float = 0.5) -> None:
        with Project.open(self.folder) as project:
            run = project.model_run()
            answering = RunPredictor(project, run, device=self.device, amp=self.amp,
                                     batch_size=self.batch_size) if run is not None else None
            self.run_id = run.id if run is not None else None
            known = {os.fspath(p.path) for p in project.pictures(ProjectView("all"))}
            root = project.root.resolve()
            inside = root != self.watched.resolve() and root.is_relative_to(self.watched.resolve())
            arrivals = FolderArrivals(self.watched, recursive=self.recursive, settle=self.settle,
                                      rescan=self.rescan, is_done=known.__contains__,
                                      ignore=[root] if inside else [])

            def take(paths: list[Path]) -> None:
                batch = self._take(project, answering, arrivals, paths)
                known.update(path for path, _, _ in batch.added)
                if on_batch is not None and (batch.added or batch.skipped):
                    on_batch(batch)

            follow(arrivals, take, self.batch_size, cancelled=cancelled, on_status=on_status,
                   stop_after_idle=stop_after_idle, wait=wait)

    def _take(self, project: Project, answering: RunPredictor | None, arrivals: FolderArrivals,
              paths: list[Path]) -> Arrived:
        arrived = Arrived()
        answers = {}
        if answering is not None:
            for batch in answering.predictor.predict(paths):
                for prediction in batch:
                    # unreadable now: perhaps still being written by a writer that paused; looked at once more
                    if not prediction.ok and arrivals.again(prediction.path):
                        continue
                    answers[prediction.path] = prediction
            paths = [Path(p) for p in answers]
        report = project.add_images(paths)
        arrived.skipped = report.skipped
        added = set(report.added)
        mine = [(image_id, os.fspath(path)) for path in paths
                if (image_id := _image_id(project, path)) is not None and image_id in added]
        if answering is not None and mine:
            answering.store([image_id for image_id, _ in mine], [answers[path] for _, path in mine])
        for _, path in mine:
            answer = answers.get(path)
            best = answer.best if answer is not None and answer.ok else None
            arrived.added.append((path, best.label if best else None, best.prob if best else None))
        self.added += len(mine)
        return arrived


def _image_id(project: Project, path: Path) -> int | None:
    try:
        return project.image_id(path)
    except ProjectError:
        return None  # passed over (a copy of a picture already there, a name that is not text)
