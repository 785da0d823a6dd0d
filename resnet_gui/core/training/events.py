"""What a training run tells its front ends: events and the callback protocol (no torch here).

Every hook of `TrainingCallback` is a no-op by default, in the manner of
Lightning's callbacks: the command line's progress bar and the window's live
plots are two consumers of the same events.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from resnet_gui.core.training.settings import TrainSettings


@dataclass(frozen=True)
class BatchEvent:
    epoch: int
    batch: int
    batches: int
    loss: float
    lr: float
    images_per_second: float


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    lr: float
    improved: bool
    best_val_acc: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    best_path: Path | None
    last_path: Path | None
    stopped: str  # "completed", "early_stopping" or "cancelled"
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)
    finishing_skipped: bool = False  # Stop, then Skip: the best model kept uncalibrated, without its fits
    settings: TrainSettings | None = None  # as the run resolved them: input size, stem, output path, learning rate


class TrainingCallback:
    """Hooks called by the Trainer; every one does nothing unless overridden."""

    def on_status(self, text: str) -> None: ...
    def on_input_chosen(self, text: str) -> None: ...  # the input size and stem of the run, in a sentence
    def on_data_ready(self, data) -> None: ...  # a core.data.PreparedData
    def on_lr_sweep(self, step: int, steps: int, rate: float, loss: float) -> None: ...  # the range test's progress
    def on_lr_found(self, finding) -> None: ...  # a core.lr_finder.LRFinding; the run trains at its suggestion
    def on_epochs_chosen(self, epochs: int, text: str) -> None: ...  # a run of set minutes: its epochs, and why
    def on_estimate(self, seconds: float, batches_timed: int) -> None: ...  # how long the whole run will take
    def on_epoch_start(self, epoch: int, epochs: int) -> None: ...
    def on_batch_end(self, event: BatchEvent) -> None: ...
    def on_epoch_end(self, event: EpochEvent) -> None: ...
    def on_checkpoint(self, path: Path, metrics: dict[str, Any]) -> None: ...
    def on_finishing(self) -> None: ...  # the best model's finishing steps begin (they may be skipped)
    def on_calibrated(self, calibration: dict[str, Any]) -> None: ...
    def on_finished(self, result: TrainResult) -> None: ...
