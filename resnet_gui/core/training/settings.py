"""Training settings as plain data: no torch, so the command line and the window can show
their defaults before torch has loaded."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from resnet_gui.core.errors import UserError
from resnet_gui.core.models.architectures import DEFAULT_TRAIN_ARCH, architecture
from resnet_gui.core.models.stems import IMAGENET_STEM, POOLED_STEM, SMALL_STEM, is_small_input, stem, stem_of
from resnet_gui.core.values import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE, finite_number, whole_number

# The words of --augment and TrainSettings.augment, with what the window calls them.
AUGMENTATIONS = {"crop": "Random resized crop", "hflip": "Horizontal flip", "vflip": "Vertical flip",
                 "rotate": "Rotation (±15°)", "color": "Colour jitter"}
SWEEP_STEPS = 100  # batches the learning-rate range test tries (core/training/lr_finder.py)
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
BALANCING = ("none", "loss", "sampler")
MAX_LR = 10.0
MAX_MINUTES = 7 * 24 * 60
DEFAULT_MINUTES = 5  # what the Train tab offers when a run is set in minutes
MAX_BUDGET_EPOCHS = 1000  # the most epochs a run of set minutes chooses (budget.py); the Train tab's epoch box too
MAX_SEED = 2**32 - 1  # numpy's generators take no larger seed
MIN_STAGE_SIDE = 16  # px the first residual stage sees, at least, with the stem stem_for chooses
DEFAULT_CROP, DEFAULT_SMALL_CROP = 224, 32


def stem_for(image_size: int) -> str:
    """The rule both front ends follow: the cheapest stem (core/models/stems.py) that leaves the first
    residual stage at least MIN_STAGE_SIDE px: ImageNet's from 64 px, the pooled small-input stem from 32 px,
    the small-input stem below (benchmarks/small_pictures.py measured what each costs and gives)."""
    for name in (IMAGENET_STEM, POOLED_STEM):
        if image_size // stem(name).reduction >= MIN_STAGE_SIDE:
            return name
    return SMALL_STEM


def why_stem(image_size: int) -> str:
    """Why stem_for chose what it did, in a few words for the run's first line."""
    chosen = stem_for(image_size)
    side = image_size // stem(chosen).reduction
    if chosen == IMAGENET_STEM:
        return f"at {image_size} px it leaves {side} px to the first residual stage, enough to learn from"
    if chosen == POOLED_STEM:
        return (f"at {image_size} px the usual first layer would leave {image_size // 4} px to the first residual "
                f"stage; this one leaves {side} px, at a quarter of the cost of keeping all {image_size}")
    return f"below {2 * MIN_STAGE_SIDE} px every layer keeps the whole side"


def size_from_pictures(typical_side: int) -> int:
    """The input size for pictures whose shorter side is typically `typical_side`: their own size (a
    multiple of 8), at most 224 (ImageNet's, where a ResNet's cost is well spent) and at least 32.
    96 px cells are not upscaled to 224, which would cost five times the compute for nothing."""
    return int(max(DEFAULT_SMALL_CROP, min(DEFAULT_CROP, typical_side // 8 * 8)))


def input_choice(image_size: int | None, small_input: bool | None, typical_side: int | None,
                 stem_name: str | None = None, stem_said: str = "as set") -> tuple[int, str, str]:
    """(crop, stem, a sentence saying so) for a run: what the user set, else the rules. `stem_said`: where a
    given stem came from."""
    if stem_name is None and small_input is not None:  # --small-input / --no-small-input
        stem_name = stem_of(small_input)
    if image_size:
        crop, why = image_size, "as set"
    elif typical_side:
        crop, why = size_from_pictures(typical_side), f"from the pictures, typically {typical_side} px"
    else:
        crop, why = (DEFAULT_SMALL_CROP if stem_name and is_small_input(stem_name) else DEFAULT_CROP), "the default"
    if stem_name is None:
        chosen, stem_why = stem_for(crop), why_stem(crop)
    else:
        chosen, stem_why = stem(stem_name).name, stem_said
    spec = stem(chosen)
    # plain words first, for the window's users; the technical name after, for the command line's
    return crop, chosen, f"Input {crop} px ({why}); {spec.plain} ({spec.technical}): {stem_why}."


def input_for(settings: TrainSettings, train_paths: list[str], stem_said: str = "as set") -> tuple[int, str, str]:
    """input_choice for a run of `settings` on `train_paths`: the pictures are looked at only when the input
    size is not set."""
    # here, not at the top: the parser and the window read the defaults above without numpy and Pillow
    from resnet_gui.core.images.folders import typical_short_side

    typical = None if settings.image_size else typical_short_side(train_paths)
    return input_choice(settings.image_size, settings.small_input, typical, settings.stem, stem_said)


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
    minutes: float | None = None  # train for about this long: the epochs are chosen in the first (budget.py)
    batch_size: int = 32
    lr: float = 1e-3
    find_lr: bool = False  # run the learning-rate range test first and train at the rate it suggests
    optimizer: str = "adamw"
    schedule: str = "onecycle"  # measured against cosine in benchmarks/train_vs_fastai.py (RESULTS.md)
    weight_decay: float = 1e-4
    image_size: int | None = None  # None: from the pictures (their typical size, 32 to 224)
    small_input: bool | None = None  # --small-input / --no-small-input: the small-input or the ImageNet stem
    stem: str | None = None  # core/models/stems.py; None: by small_input, else by the input size (stem_for)
    # Flips only: a random resized crop (keeping 35% of the area or more) cost 3-5 points of accuracy in
    # runs of 5 epochs on 32-96 px pictures, and 2.5 points still when it kept 75% (RESULTS.md).
    augment: list[str] = field(default_factory=lambda: ["hflip"])
    crop_scale: float = 0.75  # with "crop": the smallest share of the picture's area a random crop keeps
    label_smoothing: float = 0.0
    balance: str = "none"
    seed: int = 0
    device: str = "auto"
    amp: bool = True
    patience: int = 0  # epochs without improvement before stopping; 0 = never
    workers: int | None = None
    out: str | None = None  # None: model.pt, or model-2.pt ... if taken (when resuming, the run's own file)
    keep_last: bool = False  # keep NAME.last.pt after a run that completed (it is kept after a stop anyway)
    resume: str | None = None
    sync_bn: bool = False  # several processes on GPUs: BatchNorm over the global batch (SyncBatchNorm)

    @property
    def crop(self) -> int:
        chosen = self.stem_choice
        return self.image_size or (DEFAULT_SMALL_CROP if chosen and is_small_input(chosen) else DEFAULT_CROP)

    @property
    def stem_choice(self) -> str | None:
        """The stem the user chose (--stem, or --small-input / --no-small-input); None: by the input size."""
        return self.stem or (None if self.small_input is None else stem_of(self.small_input))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TrainSettings":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def validate(self) -> None:
        """Refuse, with a sentence, any setting a run cannot honour: nothing is half-obeyed."""
        architecture(self.arch)
        if self.stem is not None:
            stem(self.stem)
        if self.freeze_backbone and self.weights == "none":
            raise UserError("Training the last layer only needs start weights: from a random start the rest of the "
                            "network would stay random. Use --weights imagenet or --weights FILE, or leave out "
                            "--freeze-backbone.",
                            in_window="Training the last layer only needs start weights: from a random start the "
                                      "rest of the network would stay random. Start from ImageNet or a checkpoint, "
                                      "or untick 'Train the last layer only'.")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"Unknown optimizer '{self.optimizer}'. Use adamw or sgd.")
        if self.schedule not in SCHEDULES:
            raise UserError(f"Unknown schedule '{self.schedule}'. Use {', '.join(SCHEDULES[:-1])} or {SCHEDULES[-1]}.")
        if self.balance not in BALANCING:
            raise UserError(f"Unknown balancing '{self.balance}'. Use none, loss or sampler.")
        if not (whole_number(self.epochs) and 1 <= self.epochs <= 100_000) or not (whole_number(self.batch_size)
                                                                          and 1 <= self.batch_size <= 65_536):
            raise UserError("Epochs and batch size must be whole numbers of 1 or more.")
        if self.minutes is not None and not (finite_number(self.minutes) and 0 < self.minutes <= MAX_MINUTES):
            raise UserError(f"The training time must be above 0 and at most {MAX_MINUTES:,} minutes (a week), "
                            f"like 5; {self.minutes} is not.")
        if not (finite_number(self.lr) and 0 < self.lr <= MAX_LR):
            raise UserError(f"The learning rate must be above 0 and at most {MAX_LR:g}, like 0.001; "
                            f"{self.lr} is not.")
        if not (finite_number(self.weight_decay) and 0 <= self.weight_decay <= 1):
            raise UserError(f"The weight decay must be between 0 and 1, like 0.0001; {self.weight_decay} is not.")
        if not (finite_number(self.label_smoothing) and 0 <= self.label_smoothing < 1):
            raise UserError(f"The label smoothing must be at least 0 and below 1, like 0.1; "
                            f"{self.label_smoothing} is not.")
        if not (finite_number(self.val_split) and 0 < self.val_split < 1):
            raise UserError("The validation share must be between 0 and 1, like 0.2.")
        if not (whole_number(self.seed) and 0 <= self.seed <= MAX_SEED):
            raise UserError(f"The seed must be a whole number from 0 to {MAX_SEED}; {self.seed} is not.")
        if not (whole_number(self.patience) and self.patience >= 0):
            raise UserError(f"The patience must be 0 (never stop early) or more epochs; {self.patience} is not.")
        if self.workers is not None and not (whole_number(self.workers) and 0 <= self.workers <= 64):
            raise UserError(f"The number of data-loading workers must be 0 to 64; {self.workers} is not.")
        if self.image_size is not None and not (whole_number(self.image_size)
                                                and MIN_IMAGE_SIZE <= self.image_size <= MAX_IMAGE_SIZE):
            raise UserError(f"The image size must be {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE} px; "
                            f"{self.image_size} is not.")
        if not (finite_number(self.crop_scale) and 0.05 <= self.crop_scale <= 1):
            raise UserError(f"The crop scale must be from 0.05 to 1 (the share of the picture a random crop keeps, "
                            f"like 0.75); {self.crop_scale} is not.")
        unknown = sorted(set(self.augment) - set(AUGMENTATIONS))
        if unknown:
            raise UserError(
                f"Unknown augmentation {', '.join(unknown)}. Use any of: {' '.join(AUGMENTATIONS)}, or none."
            )
