"""Fine-tuning a ResNet on a class folder, with events for any front end and cancel between batches.

The `Trainer` only sequences a run; the work is in plain functions beside it, as in torchvision's
reference recipe: setup.py (data, model, loaders, optimizer), loop.py (train_one_epoch, evaluate),
finishing.py (calibration, familiarity, golden samples) and resume.py (going on with a stopped run). It
reports through `TrainingCallback` hooks (events.py), every one a no-op by default, in the manner of
Lightning's callbacks: the command line's progress bar and the window's live plots are two consumers.
`TrainSettings` are the user's intent and are not changed: what the run chose on the way (input size,
stem, output path, learning rate) comes back in `TrainResult.settings`.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import torch

from resnet_gui.core.images.folders import FolderScan
from resnet_gui.core.models.checkpoints import CheckpointContents
from resnet_gui.core.models.files import MODEL_FILE, unique_model_path
from resnet_gui.core.runtime.allocator import release_freed_memory
from resnet_gui.core.runtime.distributed import World, end_process_group, start_process_group, world_from_environment
from resnet_gui.core.training.events import TrainingCallback, TrainResult
from resnet_gui.core.training.finishing import FinishingSkipped, finish_best
from resnet_gui.core.training.loop import one_epoch, start_clock, train_step
from resnet_gui.core.training.lr_finder import LRFinding, sweep
from resnet_gui.core.training.resume import restore_run, settings_for_run
from resnet_gui.core.training.saver import CheckpointSaver, OutputLock
from resnet_gui.core.training.schedules import make_scheduler
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.setup import PreparedRun, make_optimizer, set_up, train_mode


class Trainer:
    """Runs one training (or a resumed one) from `TrainSettings`; `cancelled` is polled between batches."""

    def __init__(
        self,
        settings: TrainSettings,
        callbacks: Sequence[TrainingCallback] = (),
        cancelled: Callable[[], bool] | None = None,
        scan: FolderScan | None = None,
        skip_finishing: Callable[[], bool] | None = None,
        started: float | None = None,
    ):
        """`scan`: the pictures to train on when they are not a class folder (a project's labelled
        pictures with their split); by default `settings.data_dir` is scanned.
        `skip_finishing`: polled while the best model is finished (calibration, the familiarity fit, golden
        samples); when it turns true the best checkpoint is kept as the epoch saved it, uncalibrated.
        `started`: when the user's run began, on time.perf_counter (the command line: before it imported
        torch), for a run of set minutes to count; by default when `run` is called."""
        self.settings = settings
        self.started = started
        self.callbacks = list(callbacks)
        self.cancelled = cancelled or (lambda: False)
        self.skip_finishing = skip_finishing or (lambda: False)
        self.scan = scan

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    def _set_up(self, s: TrainSettings, resumed: CheckpointContents | None, world: World) -> PreparedRun:
        return set_up(s, resumed, world, scan=self.scan, emit=self._emit, cancelled=self.cancelled)

    # ------------------------------------------------------------ the run
    def run(self) -> TrainResult:
        try:
            return self._run()
        finally:
            release_freed_memory()  # the memory kept between batches goes back to the system

    def _run(self) -> TrainResult:
        started = time.perf_counter() if self.started is None else self.started
        s, resumed = settings_for_run(self.settings)
        s.validate()
        world = world_from_environment()
        if not world.is_main:
            self.callbacks = []  # one process speaks for a multi-process run
        if not s.out:
            s = replace(s, out=MODEL_FILE if world.is_distributed else str(unique_model_path(MODEL_FILE)))
        start_process_group(world)
        try:
            if not world.is_main:
                return self._run_locked(s, resumed, world, started)
            with OutputLock(s.out):  # no other run writes this model meanwhile
                return self._run_locked(s, resumed, world, started)
        finally:
            end_process_group()

    def _run_locked(self, s: TrainSettings, resumed: CheckpointContents | None, world: World,
                    started: float) -> TrainResult:
        run = self._set_up(s, resumed, world)
        saver = CheckpointSaver(s.out, resuming=resumed is not None, writes=world.is_main)
        history: list[dict[str, Any]] = list(resumed.history) if resumed else []
        if resumed:
            start_epoch = restore_run(run, saver, resumed)
        else:
            start_epoch = 1
            if s.find_lr:
                self._use_found_rate(run)
        s = run.settings

        clock = start_clock(run, s.epochs - start_epoch + 1, started)
        stopped = "completed"
        try:
            epoch = start_epoch
            while epoch <= run.settings.epochs:  # a run of set minutes chooses its epochs in the first one
                stopped = one_epoch(run, saver, epoch, history, emit=self._emit, cancelled=self.cancelled,
                                    clock=clock)
                if stopped != "completed":
                    break
                epoch += 1
        except BaseException:  # an error, or Ctrl+C: the last finished epoch is what the user resumes from
            with contextlib.suppress(Exception):
                saver.flush_recovery()
            raise
        s = run.settings
        discard_recovery = (stopped != "cancelled" and not s.keep_last and saver.best_path is not None
                            and world.is_main)  # a finished run needs no resuming; a stopped one keeps it
        if not discard_recovery:
            saver.flush_recovery()

        calibration: dict[str, Any] = {}
        finishing_skipped = False
        best = saver.best_epoch() if world.is_main else None
        if best is not None:  # also after Stop: the best model so far is the one the user keeps
            self._emit("on_finishing")
            self._emit("on_status", "Finishing the best model: calibrating its confidence on the validation set…")
            try:
                calibration = finish_best(saver.best_path, best, run, emit=self._emit, skipped=self.skip_finishing)
            except FinishingSkipped:
                finishing_skipped = True  # the checkpoint the epoch wrote stays: complete, uncalibrated
            else:
                self._emit("on_calibrated", calibration)
        if discard_recovery:
            saver.discard_recovery()
        result = TrainResult(saver.best_path, saver.last_if_written(), stopped, best.metrics if best else {},
                             history, run.data.classes, run.data.skipped, calibration,
                             finishing_skipped=finishing_skipped, settings=s)
        self._emit("on_finished", result)
        return result

    # ------------------------------------------------------------ the learning-rate range test
    def find_learning_rate(self) -> LRFinding:
        """Only the range test, on the run these settings would make: nothing is trained or written."""
        s = replace(self.settings, find_lr=False, resume=None)
        s.validate()
        try:
            return self._sweep(self._set_up(s, None, World()))
        finally:
            release_freed_memory()

    def _sweep(self, run: PreparedRun) -> LRFinding:
        self._emit("on_status", "Finding the learning rate…")
        reduce_loss = None
        if run.world.is_distributed:  # every process sees the same loss, so all stop at the same step
            import torch.distributed as dist

            def reduce_loss(loss: torch.Tensor) -> torch.Tensor:
                loss = loss.clone()
                dist.all_reduce(loss)
                return loss / run.world.size

        train_mode(run)
        finding = sweep(
            run.model, run.optimizer, run.train_loader, lambda images, labels: train_step(run, images, labels)[0],
            cancelled=self.cancelled, reduce_loss=reduce_loss,
            progress=lambda done, total, rate, loss: self._emit("on_lr_sweep", done, total, rate, loss),
        )
        if finding.stopped == "cancelled":
            raise InterruptedError("learning-rate search cancelled")
        self._emit("on_lr_found", finding)
        return finding

    def _use_found_rate(self, run: PreparedRun) -> None:
        """`--lr auto`: the range test on this run's own model and data, then a fresh optimizer and schedule
        at the suggested rate (the model is as it was before the test)."""
        finding = self._sweep(run)
        if run.world.is_distributed:  # the first process's suggestion, to the last bit, for every process
            import torch.distributed as dist

            rate = torch.tensor([finding.suggestion], dtype=torch.float64, device=run.policy.device)
            dist.broadcast(rate, 0)
            finding.suggestion = rate.item()
        s = run.settings = replace(run.settings, lr=finding.suggestion)
        run.optimizer = make_optimizer(s, run.model, run.policy.device)
        run.scheduler = make_scheduler(s.schedule, run.optimizer, s.epochs, len(run.train_loader))
