"""Classifying a watched folder: every picture already in it once, then each new one when it is whole, for
the command line (`resnet-gui watch`) and the window.

Each batch's rows are appended to the CSV, whole and fsynced, as `classify --resume` appends them, so a
watch stopped in any way (Ctrl+C, a crash, kill -9) goes on when started again without classifying a file
twice. With a sorted output a picture is copied (or moved) into `OUT/<label>/`, `OUT/_unsure/` or
`OUT/_unfamiliar/`, never over another file: placed first, recorded in the CSV next, and only then, when
moving, removed from the watched folder, so a crash leaves at worst a copy too many, never a lost picture
(and a copy left by a crash is recognised by its bytes, not made twice). When moving, whatever is in the
folder is new, whatever the CSV says: a microscope that names its files `image0001.png` in every session
writes the same names again.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from resnet_gui.core.atomic_write import check_writable
from resnet_gui.core.errors import UserError
from resnet_gui.core.images.placing import (
    UNFAMILIAR_FOLDER,
    UNSURE_FOLDER,
    folder_inside,
    folder_name_for,
    place_file,
)
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction
from resnet_gui.core.inference.results_csv import CsvResultAppender
from resnet_gui.core.live.arrivals import (
    AFTER_CLOSE_SECONDS,
    RESCAN_SECONDS,
    SETTLE_SECONDS,
    FolderArrivals,
    follow,
)


@dataclass
class WatchSettings:
    folder: str
    csv: str | None = None
    sort_into: str | None = None
    move: bool = False
    recursive: bool = False
    settle: float = SETTLE_SECONDS
    after_close: float = AFTER_CLOSE_SECONDS
    rescan: float = RESCAN_SECONDS


@dataclass
class WatchedBatch:
    """One batch as it was recorded: its rows, and where each sorted picture went (path -> destination)."""

    predictions: list[Prediction]
    placed: dict[str, Path] = field(default_factory=dict)
    failed_to_place: dict[str, str] = field(default_factory=dict)  # path -> why


def sorted_folder(prediction: Prediction) -> str | None:
    """The folder of the sorted output a prediction goes into; None for a file that could not be read."""
    if not prediction.ok:
        return None
    if prediction.unfamiliar:
        return UNFAMILIAR_FOLDER
    if prediction.unsure:
        return UNSURE_FOLDER
    return folder_name_for(prediction.best.label)


class WatchedFolderClassification:
    """Classify `settings.folder` with `bundle` as pictures arrive: `run()` until `cancelled()` (or, with
    `stop_after_idle`, that many seconds with nothing new), calling `on_batch` with each recorded batch and
    `on_status` with a sentence whenever what it waits for changes."""

    def __init__(self, settings: WatchSettings, bundle, options: PredictOptions, predictor=None):
        folder = Path(settings.folder)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"{folder} is a file, not a folder: watch the folder the pictures are written into.")
        if not folder.exists():
            raise UserError(f"{folder} does not exist: name the folder the pictures are written into.")
        if settings.move and not settings.sort_into:
            raise UserError("--move moves the pictures into the sorted folders: name them with --sort-into OUT.")
        if settings.csv:
            check_writable(settings.csv, "the CSV file")
        self.settings = settings
        self.bundle = bundle
        if predictor is None:  # else one made already: a start without torch (inference/ready_start.py)
            from resnet_gui.core.inference.predictor import Predictor

            predictor = Predictor(bundle, options)
        self.predictor = predictor
        self.csv = CsvResultAppender(settings.csv, self.predictor.top_k) if settings.csv else None
        self.already = len(self.csv.done) if self.csv is not None else 0
        self.out = Path(settings.sort_into) if settings.sort_into else None
        if self.out is not None:
            self.out.mkdir(parents=True, exist_ok=True)
        self.arrivals = FolderArrivals(folder, recursive=settings.recursive, settle=settings.settle,
                                       after_close=settings.after_close, rescan=settings.rescan,
                                       is_done=self.csv.is_done if self.csv is not None and not settings.move
                                       else None,
                                       ignore=[self.out] if self.out is not None else [])
        self.counts: Counter[str] = Counter()  # verdict -> pictures, this session
        self.classified = self.failed = 0
        self._folders: dict[str, Path] = {}

    def run(self, on_batch: Callable[[WatchedBatch], None] | None = None, *,
            cancelled: Callable[[], bool] = lambda: False, on_status: Callable[[str], None] | None = None,
            stop_after_idle: float | None = None, wait: float = 0.5) -> None:
        def handle(paths: list[Path]) -> None:
            batch = self._classify(paths)
            if batch.predictions and on_batch is not None:
                on_batch(batch)

        try:
            follow(self.arrivals, handle, self.predictor.batch_size, cancelled=cancelled, on_status=on_status,
                   stop_after_idle=stop_after_idle, wait=wait)
        finally:
            if self.csv is not None:
                self.csv.close()

    def _classify(self, paths: list[Path]) -> WatchedBatch:
        seen = {os.fspath(p): _stat_key(p) for p in paths}
        kept: list[Prediction] = []
        for batch in self.predictor.predict(paths):
            for prediction in batch:
                changed = _stat_key(prediction.path) != seen[prediction.path]
                # A file written again while it was read, or one that could not be read (it may still be
                # being written, by a writer that paused): looked at once more, after a full settle.
                if (changed or not prediction.ok) and self.arrivals.again(prediction.path):
                    continue
                kept.append(prediction)
        recorded = WatchedBatch(kept)
        if self.out is not None:
            self._place(recorded)
        if self.csv is not None:
            self.csv.write_batch(kept)
        if self.settings.move:
            for path in recorded.placed:
                Path(path).unlink(missing_ok=True)
        self.classified += len(kept)
        self.failed += sum(not p.ok for p in kept)
        self.counts.update(p.verdict for p in kept if p.ok)
        return recorded

    def _place(self, batch: WatchedBatch) -> None:
        for prediction in batch.predictions:
            name = sorted_folder(prediction)
            if name is None:
                continue
            try:
                if name not in self._folders:
                    self._folders[name] = folder_inside(self.out, name)
                batch.placed[prediction.path] = place_file(Path(prediction.path), self._folders[name],
                                                           move=self.settings.move, reuse_same=True)
            except OSError as exc:
                batch.failed_to_place[prediction.path] = exc.strerror or str(exc)
            except UserError as exc:
                batch.failed_to_place[prediction.path] = str(exc)


def _stat_key(path: str | os.PathLike) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_size, info.st_mtime_ns
