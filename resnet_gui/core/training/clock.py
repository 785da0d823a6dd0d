"""How long a training run will take, said once, early: from a few timed batches of its first epoch.

The run's time is its batches (timed as the loop runs them, loading included), a validation pass per
epoch (timed on two batches before the first epoch), the checkpoints written (the recovery file at most
a tenth of the time), and the finishing (the familiarity fit: a pass over training pictures at the
validation pace; calibration reuses the best epoch's validation pass). No torch here.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

# Models' worth written: the best checkpoint (after an epoch that improved), and the recovery file (the
# model and the optimizer's state, two moments per weight for AdamW).
BEST_WRITES = 1
RECOVERY_WRITES = 3
# At most this share of a run's time goes to writing its recovery file (CheckpointSaver's policy): after
# the first epoch, then when the time since the last write is a write's time over this share.
RECOVERY_SHARE = 0.1
WARM_UP_BATCHES = 2  # the first batches pay for the loader's start and the kernels' first use
TIMED_BATCHES = 8


@dataclass
class RunClock:
    epochs: int  # epochs this run has left
    batches: int  # training batches per epoch
    val_batches: int
    fit_batches: int = 0  # batches the finishing's familiarity fit passes over (training pictures, no learning)
    seconds_per_val_batch: float = 0.0
    seconds_per_write: float = 0.0  # one model written to the disk, flushed
    seconds_before: float = 0.0  # what the run spent before its first epoch (reading, setting up, timing)
    seconds_per_batch: float = 0.0  # the timed batches' median, once said
    _times: list[float] = field(default_factory=list)
    _warm_up: list[float] = field(default_factory=list)  # the first batches' times: they count once, as they were
    _said: bool = False

    @property
    def timed_needed(self) -> int:
        return max(1, min(TIMED_BATCHES, self.batches - WARM_UP_BATCHES))

    def batch_done(self, batch: int, seconds: float) -> float | None:
        """Record batch `batch` (1-based, of the first epoch) and its time since the one before; the
        estimate of the whole run in seconds, once, as soon as enough batches are timed."""
        if self._said:
            return None
        if batch <= min(WARM_UP_BATCHES, self.batches - 1):
            self._warm_up.append(seconds)
            return None
        self._times.append(seconds)
        if len(self._times) < self.timed_needed:
            return None
        self._said = True
        self.seconds_per_batch = statistics.median(self._times)
        return self.estimate(self.seconds_per_batch)

    def seconds_per_epoch(self) -> float:
        """An epoch's training and validation at the timed pace, once the pace is known."""
        return self.batches * self.seconds_per_batch + self.val_batches * self.seconds_per_val_batch

    def estimate(self, seconds_per_batch: float, epochs: int | None = None) -> float:
        """The seconds from the first epoch's start to the run's end, for `epochs` (by default its own)."""
        epochs = self.epochs if epochs is None else epochs
        validation = self.val_batches * self.seconds_per_val_batch
        per_epoch = self.batches * seconds_per_batch + validation + BEST_WRITES * self.seconds_per_write
        recovery_write = RECOVERY_WRITES * self.seconds_per_write
        # written after the first epoch, then at most a tenth of the time; not after the last (saver.py)
        recovery = (recovery_write if epochs > 1 else 0.0) + max(0, epochs - 2) * min(recovery_write,
                                                                                      RECOVERY_SHARE * per_epoch)
        # The first batches took what they took: the loader's start and the kernels' first use.
        warm_up = sum(self._warm_up) - len(self._warm_up) * seconds_per_batch
        # The end: the familiarity fit (a pass over training pictures at the validation pace; calibration
        # reuses the best epoch's validation pass) and the best checkpoint written again.
        finishing = self.fit_batches * self.seconds_per_val_batch + self.seconds_per_write
        return epochs * per_epoch + recovery + max(0.0, warm_up) + finishing
