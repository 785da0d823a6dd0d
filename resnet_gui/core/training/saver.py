"""The trainer's file policy in one object: which epoch is the best, when the resumable state is written,
and what a resumed run starts from (in the manner of timm's CheckpointSaver).

The loop calls `save_checkpoint` and `save_recovery` once an epoch and keeps no bookkeeping of its own;
the trainer calls `flush_recovery` when the run stops. `OutputLock` keeps two runs from writing the same
model file.
"""

from __future__ import annotations

import contextlib
import copy
import glob
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from resnet_gui.core.errors import UserError
from resnet_gui.core.models.checkpoints import checkpoint_payload, read_checkpoint, write_checkpoint
from resnet_gui.core.models.files import last_path_for
from resnet_gui.core.training.clock import RECOVERY_SHARE


@dataclass
class BestEpoch:
    """The best epoch so far: its checkpoint fields and a copy of its weights, kept for calibration."""

    fields: dict[str, Any]
    state: dict[str, torch.Tensor]
    metrics: dict[str, Any] = field(default_factory=dict)
    validation: Any = None  # the epoch's ValidationPass (core/training/loop.py), which the finishing reuses


class CheckpointSaver:
    """Writes the best checkpoint to `out` when validation improves, and the resumable state to
    NAME.last.pt beside it: after the first epoch, then whenever the time since the last write is ten times
    what a write takes (RECOVERY_SHARE), and when the run stops. A run stopped, or failing with an error,
    resumes from its last finished epoch; one killed outright (kill -9, a power cut) from the last written
    one, having lost at most about a tenth of its time so far, or one epoch where epochs are long.

    Written after every epoch, the state (three models' worth) cost short runs more than their epochs
    (0.24 s a write against epochs of 0.1 s), and on a laptop's disk each write takes seconds."""

    def __init__(self, out: str | Path, *, resuming: bool = False, writes: bool = True):
        """`writes`: False for the processes of a multi-process run other than the first, which keep the
        same bookkeeping (so every process takes the same decisions) but write nothing."""
        self.writes = writes
        self.out = Path(out)
        self.last = last_path_for(self.out)
        self.best_acc, self.best_loss = -1.0, math.inf
        self.best_path: Path | None = self.out if resuming and self.out.exists() else None
        self.best: BestEpoch | None = None
        self.since_best = 0
        self._recovery_written_at: float | None = None  # time.monotonic() when the last write ended
        self._recovery_seconds = 0.0  # how long that write took
        self._pending_recovery: dict[str, Any] | None = None  # a newer state than the file's, not yet written

    # ------------------------------------------------------------ resume
    def resume_state(self, epoch: int, optimizer, scheduler) -> dict[str, Any]:
        return {"epoch": epoch, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                "best_val_acc": self.best_acc, "best_val_loss": self.best_loss}

    def restore(self, state: dict[str, Any]) -> int:
        """Take the best-so-far figures of a saved run; returns the epoch to start from."""
        if not state:
            return 1
        self.best_acc = float(state.get("best_val_acc", -1.0))
        self.best_loss = float(state.get("best_val_loss", math.inf))
        return int(state["epoch"]) + 1

    # ------------------------------------------------------------ each epoch
    def is_improvement(self, accuracy: float, loss: float) -> bool:
        return accuracy > self.best_acc or (accuracy == self.best_acc and loss < self.best_loss)

    def save_checkpoint(self, fields: dict[str, Any], model: torch.nn.Module, accuracy: float, loss: float,
                        validation: Any = None) -> bool:
        """Write `fields` (checkpoint_payload's arguments, without `model`) as the best checkpoint if this
        epoch is better than every earlier one; returns whether it was. `validation`: what the epoch's
        validation pass saw, kept with the best epoch for its finishing."""
        if not self.is_improvement(accuracy, loss):
            self.since_best += 1
            return False
        self.best_acc, self.best_loss = accuracy, loss
        self.since_best = 0
        if not self.writes:
            return True
        self.best_path = write_checkpoint(self.out, checkpoint_payload(model=model, **fields))
        self.best = BestEpoch(fields, {k: v.detach().clone() for k, v in model.state_dict().items()},
                              fields.get("metrics", {}), validation)
        self.since_best = 0
        return True

    def save_recovery(self, fields: dict[str, Any], model, epoch: int, optimizer, scheduler, *,
                      last: bool = False) -> None:
        """Keep the resumable state of the epoch that just ended: written now when the policy says so,
        else held until the next write or `flush_recovery`. `last`: the run's last epoch: held only, as the
        trainer drops it when the run ended as it should and flushes it when not (or to keep it)."""
        if not self.writes:
            return
        # Copies: the optimizer's state_dict holds the very tensors the next epoch updates in place.
        resume = _copied_to_cpu(self.resume_state(epoch, optimizer, scheduler))
        self._pending_recovery = checkpoint_payload(model=model, **fields, resume=resume)
        if not last and self._recovery_due():
            self.flush_recovery()

    def _recovery_due(self) -> bool:
        if self._recovery_written_at is None:
            return True
        return time.monotonic() - self._recovery_written_at >= self._recovery_seconds / RECOVERY_SHARE

    def flush_recovery(self) -> None:
        """Write the newest resumable state if the file does not hold it yet."""
        if self._pending_recovery is None:
            return
        started = time.monotonic()
        write_checkpoint(self.last, self._pending_recovery)
        self._pending_recovery = None
        self._recovery_written_at = time.monotonic()
        self._recovery_seconds = self._recovery_written_at - started

    def discard_recovery(self) -> None:
        """A finished run needs no resuming: the state it kept is dropped, and its file removed."""
        self._pending_recovery = None
        self.last.unlink(missing_ok=True)

    # ------------------------------------------------------------ after the run
    def best_epoch(self) -> BestEpoch | None:
        """The best epoch, from memory, or (a resumed run that never improved) from the file."""
        if self.best is not None or self.best_path is None:
            return self.best
        contents = read_checkpoint(self.best_path)
        fields = dict(arch=contents.arch, classes=contents.classes, small_input=contents.small_input,
                      stem=contents.stem, preprocessing=contents.preprocessing, train=contents.train,
                      metrics=contents.metrics, history=contents.history)
        return BestEpoch(fields, contents.state_dict, contents.metrics)

    def last_if_written(self) -> Path | None:
        return self.last if self.last.exists() else None


def _copied_to_cpu(value: Any) -> Any:
    """A copy of a state dict whose tensors are in main memory (a GPU's memory is the scarcer)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _copied_to_cpu(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_copied_to_cpu(item) for item in value)
    return copy.deepcopy(value)


@dataclass(frozen=True)
class ResumableRun:
    """A stopped run that can go on: its resumable state, the model file it writes, and how far it got."""

    last_path: Path
    out: Path
    epochs_done: int
    epochs: int
    history: tuple = ()  # the epochs' figures so far (EpochEvent.to_dict()), to draw the curves again


def find_resumable_run(data_dir: str | Path, near: str | Path) -> ResumableRun | None:
    """The newest stopped run on `data_dir` whose state (NAME.last.pt) lies in the folder of `near`, the
    model file a run on that folder would write; None when there is none, or none can be read."""
    data_dir = Path(data_dir).resolve()
    near = Path(near)
    candidates = sorted(near.parent.glob(f"{glob.escape(near.stem)}*.last{near.suffix or '.pt'}"),
                        key=lambda path: path.stat().st_mtime, reverse=True)
    for last in candidates:
        try:
            contents = read_checkpoint(last)
        except Exception:  # noqa: BLE001 - a file that does not read is simply not offered
            continue
        state = contents.extra.get("resume") or {}
        trained_on = (contents.train or {}).get("data_dir")
        if not state or not trained_on or Path(trained_on).resolve() != data_dir:
            continue
        out = last.with_name(last.name.replace(".last", "", 1))
        return ResumableRun(last, out, int(state.get("epoch", 0)), int((contents.train or {}).get("epochs", 0)),
                            tuple(contents.history or ()))
    return None


class OutputLock:
    """Only one run at a time writes a given model file: a second run is refused with a sentence
    instead of both saying they saved while one model silently replaces the other.

    An flock on a hidden file beside the target: the kernel releases it when the process ends, even by
    kill -9, so a crash never leaves a run locked out; the file itself is removed on release.
    """

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.path = self.out.with_name(f".{self.out.name}.lock")
        self._fd: int | None = None

    def __enter__(self) -> "OutputLock":
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks here; the run goes on unguarded
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise UserError(f"Another training run is writing {self.out} right now. Wait for it to finish, "
                                "or save this run to another file.") from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if same:  # not a lock file another run removed while we waited for it
                self._fd = fd
                self._remove_stale_temporaries()
                return self
            os.close(fd)

    def _remove_stale_temporaries(self) -> None:
        """The half-written temporaries of a run killed while it saved (.NAME.xxxx.pt.tmp): with the lock held,
        no one else writes this model or its NAME.last.pt."""
        stem, suffix = self.out.stem, self.out.suffix
        for leftover in self.out.parent.glob(f".{glob.escape(stem)}.*{glob.escape(suffix)}.tmp"):
            with contextlib.suppress(OSError):
                leftover.unlink()

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            os.close(self._fd)
            self._fd = None
