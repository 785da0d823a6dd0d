"""The trainer's file policy in one object: which epoch is the best, when the resumable state is written,
and what a resumed run starts from (in the manner of timm's CheckpointSaver).

The loop calls `save_checkpoint` and `save_recovery` once an epoch and keeps no bookkeeping of its own.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from resnet_gui.core.checkpoints import checkpoint_payload, read_checkpoint, write_checkpoint

LAST_STATE_EVERY_S = 60.0  # how often, at most, the resumable last state is written mid-run


def last_path_for(out: str | Path) -> Path:
    """Where the resumable state of a run writing `out` goes: NAME.last.pt beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}.last{out.suffix or '.pt'}")


@dataclass
class BestEpoch:
    """The best epoch so far: its checkpoint fields and a copy of its weights, kept for calibration."""

    fields: dict[str, Any]
    state: dict[str, torch.Tensor]
    metrics: dict[str, Any] = field(default_factory=dict)


class CheckpointSaver:
    """Writes the best checkpoint to `out` when validation improves, and the resumable state to
    NAME.last.pt beside it: at the last epoch, when the run stops, and otherwise at most every
    `last_every_s` seconds (writing weights and optimizer each epoch of a small data set cost 15%)."""

    def __init__(self, out: str | Path, *, resuming: bool = False, last_every_s: float = LAST_STATE_EVERY_S):
        self.out = Path(out)
        self.last = last_path_for(self.out)
        self.last_every_s = last_every_s
        self.best_acc, self.best_loss = -1.0, math.inf
        self.best_path: Path | None = self.out if resuming and self.out.exists() else None
        self.best: BestEpoch | None = None
        self.since_best = 0
        self._last_written = time.perf_counter()
        self._unsaved: tuple[dict[str, Any], int] | None = None  # an epoch whose state is not on disk yet

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

    def save_checkpoint(self, fields: dict[str, Any], model: torch.nn.Module, accuracy: float, loss: float) -> bool:
        """Write `fields` (checkpoint_payload's arguments, without `model`) as the best checkpoint if this
        epoch is better than every earlier one; returns whether it was."""
        if not self.is_improvement(accuracy, loss):
            self.since_best += 1
            return False
        self.best_acc, self.best_loss = accuracy, loss
        self.best_path = write_checkpoint(self.out, checkpoint_payload(model=model, **fields))
        self.best = BestEpoch(fields, {k: v.detach().clone() for k, v in model.state_dict().items()},
                              fields.get("metrics", {}))
        self.since_best = 0
        return True

    def save_recovery(self, fields: dict[str, Any], model, epoch: int, optimizer, scheduler, *,
                      force: bool = False) -> None:
        """Write the resumable state if forced or due; otherwise remember it for `save_on_stop`."""
        if force or time.perf_counter() - self._last_written >= self.last_every_s:
            self._write_last(fields, model, epoch, optimizer, scheduler)
        else:
            self._unsaved = (fields, epoch)

    def save_on_stop(self, model, optimizer, scheduler) -> None:
        """Stopped mid-epoch: keep the run resumable from the last finished epoch (the weights are the
        current ones; the partial epoch is simply trained again)."""
        if self._unsaved is not None:
            fields, epoch = self._unsaved
            self._write_last(fields, model, epoch, optimizer, scheduler)

    def _write_last(self, fields, model, epoch: int, optimizer, scheduler) -> None:
        resume = self.resume_state(epoch, optimizer, scheduler)
        write_checkpoint(self.last, checkpoint_payload(model=model, **fields, resume=resume))
        self._last_written, self._unsaved = time.perf_counter(), None

    # ------------------------------------------------------------ after the run
    def best_epoch(self) -> BestEpoch | None:
        """The best epoch, from memory, or (a resumed run that never improved) from the file."""
        if self.best is not None or self.best_path is None:
            return self.best
        contents = read_checkpoint(self.best_path)
        fields = dict(arch=contents.arch, classes=contents.classes, small_input=contents.small_input,
                      preprocessing=contents.preprocessing, train=contents.train, metrics=contents.metrics,
                      history=contents.history)
        return BestEpoch(fields, contents.state_dict, contents.metrics)

    def last_if_written(self) -> Path | None:
        return self.last if self.last.exists() else None
