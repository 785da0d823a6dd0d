"""How long a training run will take, said once, early: from a few timed batches of its first epoch.

The run's time is its batches (timed as the loop runs them, loading included), a validation pass per
epoch (timed on two batches before the first epoch), the checkpoints written (the recovery file at most
a tenth of the time), and the calibration at the end (about one more validation pass). No torch here.
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
    seconds_per_val_batch: float = 0.0
    seconds_per_write: float = 0.0  # one model written to the disk, flushed
    _times: list[float] = field(default_factory=list)
    _said: bool = False

    @property
    def timed_needed(self) -> int:
        return max(1, min(TIMED_BATCHES, self.batches - WARM_UP_BATCHES))

    def batch_done(self, batch: int, seconds: float) -> float | None:
        """Record batch `batch` (1-based, of the first epoch) and its time since the one before; the
        estimate of the whole run in seconds, once, as soon as enough batches are timed."""
        if self._said or batch <= min(WARM_UP_BATCHES, self.batches - 1):
            return None
        self._times.append(seconds)
        if len(self._times) < self.timed_needed:
            return None
        self._said = True
        return self.estimate(statistics.median(self._times))

    def estimate(self, seconds_per_batch: float) -> float:
        validation = self.val_batches * self.seconds_per_val_batch
        per_epoch = self.batches * seconds_per_batch + validation + BEST_WRITES * self.seconds_per_write
        recovery_write = RECOVERY_WRITES * self.seconds_per_write
        recovery = recovery_write + (self.epochs - 1) * min(recovery_write, RECOVERY_SHARE * per_epoch)
        # The end: calibration (one more pass over the validation set) and the best checkpoint written again.
        return self.epochs * per_epoch + recovery + validation + self.seconds_per_write
