"""One classification run, for every front end: the command line in one process or many (torchrun) and the
window's Classify tab.

It is set up once here: the files found under the paths given, what a CSV already holds (resume), this
process's share of the rest, the Predictor (from one PredictOptions) and where the rows go. The front ends
only say it in their own words.

Where the rows go, by how the run was started:
- no CSV: nowhere but the caller (the window's table, the terminal);
- one process, a fresh CSV: a whole file, renamed into place when the run ends (an interrupted run leaves the
  old file as it was);
- one process, --resume: appended to the CSV a batch at a time, whole rows, fsynced;
- several processes: each appends to its own part file beside the CSV; the main process merges the parts
  into the CSV in discovery order at the end (a stopped run's parts are merged by the next --resume).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

from resnet_gui.core.errors import UserError
from resnet_gui.core.images.files import Discovery, discover
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction
from resnet_gui.core.inference.results_csv import (
    CsvResultAppender,
    CsvResultWriter,
    merge_parts,
    part_path,
    part_paths,
    remove_parts,
    same_file_key,
)
from resnet_gui.core.runtime.distributed import World, gather_to_main, share_from_main

NO_PICTURES = ("No images were found in the paths given. Supported: .jpg .jpeg .png .bmp .gif .tif .tiff .webp "
               ".avif (and .heic with pillow-heif).")


class ClassificationRun:
    """Classify the pictures under `paths` with `bundle`: `batches()` yields them a batch at a time and writes
    each to the CSV as it goes; `finish()` puts the CSV in place (and, with several processes, returns every
    process's rows on the main one). `predictor`: one made already (a start without torch: ready_start.py),
    else a Predictor of `bundle` with `options`."""

    def __init__(self, paths, bundle, options: PredictOptions, *, csv: str | os.PathLike | None = None,
                 resume: bool = False, world: World | None = None, found: Discovery | None = None,
                 predictor=None):
        if resume and not csv:
            raise UserError("--resume goes on with a CSV file: name it with --csv OUT.csv.")
        self.world = world or World()
        self.found = found if found is not None else discover(paths)
        self.bundle = bundle
        self.csv = Path(csv) if csv else None
        self.resume = resume
        if predictor is None:
            from resnet_gui.core.inference.predictor import Predictor  # torch: not for a start without it

            predictor = Predictor(bundle, options)
        self.predictor = predictor
        self.order = [str(f) for f in self.found.files]
        self.already: int | None = None  # with --resume: how many files the CSV holds already
        self.classified = self.failed = self.unfamiliar = 0
        self._writer: CsvResultWriter | None = None
        self._appender: CsvResultAppender | None = None
        self._mine_rows: list[Prediction] = []
        self.to_do = self._plan()
        self._started = time.perf_counter()

    # ------------------------------------------------------------------ setting up
    def _plan(self) -> list[Path]:
        top_k, files = self.predictor.top_k, self.found.files
        if not self.world.is_distributed:
            if self.csv is None:
                return list(files)
            if not self.resume:
                self._writer = CsvResultWriter(self.csv, top_k)
                return list(files)
            if part_paths(self.csv):  # a stopped multi-process run's parts: into OUT.csv first
                merge_parts(self.csv, top_k, self.order, keep_existing=True)
            self._appender = CsvResultAppender(self.csv, top_k)
            to_do = [f for f in files if not self._appender.is_done(f)]
            self.already = len(files) - len(to_do)
            return to_do
        done: set[str] = set()
        if self.csv is not None and self.world.is_main:  # before any process writes a part
            if self.resume:
                done = merge_parts(self.csv, top_k, self.order, keep_existing=True)
                self.already = len(done & set(self.order))
            else:
                remove_parts(self.csv)  # a stopped run's parts: this run starts afresh
        done = share_from_main(self.world, done)
        done_files = {same_file_key(name) for name in done}  # the file, however it was spelled
        to_do = [f for f in files if str(f) not in done and same_file_key(f) not in done_files]
        if self.csv is not None:
            self._appender = CsvResultAppender(part_path(self.csv, self.world.rank, self.world.size), top_k)
        return self.world.shard(to_do)

    @property
    def left(self) -> int:
        """Files still to classify in this whole run (every process's share), as the main process knows it."""
        return len(self.order) - (self.already or 0)

    # ------------------------------------------------------------------ running
    def batches(self, cancelled: Callable[[], bool] | None = None) -> Iterator[list[Prediction]]:
        """This process's share, a batch at a time, each written to the CSV before it is yielded."""
        try:
            for batch in self.predictor.predict(self.to_do, cancelled=cancelled):
                if self._appender is not None:
                    self._appender.write_batch(batch)
                if self._writer is not None:
                    for prediction in batch:
                        self._writer.write(prediction)
                self._count(batch)
                if self.world.is_distributed:
                    self._mine_rows.extend(replace(p, thumbnail=None) for p in batch)
                yield batch
        except BaseException:
            self.abort()
            raise

    def _count(self, batch: list[Prediction]) -> None:
        self.classified += len(batch)
        self.failed += sum(not p.ok for p in batch)
        self.unfamiliar += sum(p.unfamiliar for p in batch)

    def finish(self) -> list[Prediction] | None:
        """Put the CSV in place. With several processes: wait for all (every part is whole then) and return
        their rows in order on the main process, counted there; None on the others."""
        if self._appender is not None:
            self._appender.close()
            self._appender = None
        if self._writer is not None:
            self._writer.commit()
            self._writer = None
            remove_parts(self.csv)  # a stopped multi-process run's parts are older than this CSV
        if not self.world.is_distributed:
            return None
        shares = gather_to_main(self.world, self._mine_rows)
        if not self.world.is_main:
            return None
        rows = [p for share in shares for p in share]
        if self.csv is not None:
            merge_parts(self.csv, self.predictor.top_k, self.order, keep_existing=self.resume)
        self.classified = self.failed = self.unfamiliar = 0
        self._count(rows)
        return rows

    def abort(self) -> None:
        """Stopped on the way: a fresh CSV is not written; what was appended stays, to resume from."""
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
        if self._appender is not None:
            self._appender.close()
            self._appender = None

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self._started

    def summary(self) -> dict:
        """The run's figures, as `classify --json` ends with them."""
        seconds = self.seconds
        summary = {
            "unsure_below": self.predictor.unsure_below,
            "unfamiliar": self.unfamiliar if self.predictor.familiarity is not None else None,
            "tta": self.predictor.tta,
            "files": self.classified,
            "classified": self.classified - self.failed,
            "failed": self.failed,
            "skipped": len(self.found.skipped),
            "seconds": round(seconds, 3),
            "images_per_second": round(self.classified / seconds, 2) if seconds > 0 else None,
            "device": str(self.predictor.device),
            "runtime": self.predictor.runtime,
            "arch": self.bundle.arch,
        }
        if self.world.is_distributed:
            summary["processes"] = self.world.size
        return summary
