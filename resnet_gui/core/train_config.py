"""Training settings as plain data: no torch, so the command line and the window can show
their defaults before torch has loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from resnet_gui.core.architectures import DEFAULT_TRAIN_ARCH, architecture
from resnet_gui.core.errors import UserError

AUGMENTATIONS = ("crop", "hflip", "vflip", "rotate", "color")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "step", "constant")
BALANCING = ("none", "loss", "sampler")
SMALL_INPUT_MAX_PX = 64  # at or below this size, the small-input stem keeps enough resolution to learn
DEFAULT_CROP, DEFAULT_SMALL_CROP = 224, 32


def small_input_for(image_size: int) -> bool:
    """The rule both front ends follow: pictures of 64 px or less use the small-input stem."""
    return image_size <= SMALL_INPUT_MAX_PX


@dataclass
class TrainSettings:
    """Everything a training run needs; defaults a non-expert can keep."""

    data_dir: str = ""
    val_dir: str | None = None
    val_split: float = 0.2
    arch: str = DEFAULT_TRAIN_ARCH
    weights: str = "imagenet"  # "imagenet", "none" or a checkpoint path
    freeze_backbone: bool = False
    epochs: int = 10
    batch_size: int = 32
    lr: float = 1e-3
    optimizer: str = "adamw"
    schedule: str = "cosine"
    weight_decay: float = 1e-4
    image_size: int | None = None  # None: 224, or 32 with the small-input stem
    small_input: bool = False
    augment: list[str] = field(default_factory=lambda: ["crop", "hflip"])
    label_smoothing: float = 0.0
    balance: str = "none"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    patience: int = 0  # epochs without improvement before stopping; 0 = never
    workers: int | None = None
    out: str | None = None  # None: model.pt (or, when resuming, the run's own file)
    resume: str | None = None

    @property
    def crop(self) -> int:
        return self.image_size or (DEFAULT_SMALL_CROP if self.small_input else DEFAULT_CROP)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        architecture(self.arch)
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer '{self.optimizer}'. Use adamw or sgd.")
        if self.schedule not in SCHEDULES:
            raise UserError(f"Unknown schedule '{self.schedule}'. Use cosine, step or constant.")
        if self.balance not in BALANCING:
            raise UserError(f"Unknown balancing '{self.balance}'. Use none, loss or sampler.")
        if self.epochs < 1 or self.batch_size < 1:
            raise UserError("Epochs and batch size must be 1 or more.")
        if not self.lr > 0:
            raise UserError("The learning rate must be above 0, like 0.001.")
        if not 0 < self.val_split < 1:
            raise UserError("The validation share must be between 0 and 1, like 0.2.")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise UserError(
                f"Unknown augmentation {', '.join(unknown)}. Use any of: {' '.join(AUGMENTATIONS)}, or none."
            )
