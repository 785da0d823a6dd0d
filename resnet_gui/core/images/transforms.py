"""Evaluation and training preprocessing, built from torchvision.transforms.v2.

Evaluation is split in two on purpose: decoding workers resize and crop to a
uint8 tensor (a quarter of the bytes of float32 to send between processes),
and `normalize_batch` converts and normalises the whole batch on the device.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from resnet_gui.core.images.cropping import resize_centre_crop

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Preprocessing:
    """How an image becomes the network's input: resize shorter side, centre crop, normalise."""

    image_size: int = 224  # side of the square crop the network sees
    resize: int = 256  # shorter side before the crop
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    @classmethod
    def imagenet(cls, image_size: int | None = None) -> "Preprocessing":
        """The tutorials' eval preprocessing (256 -> 224), scaled for other sizes."""
        if image_size is None:
            return cls()
        return cls(image_size=image_size, resize=resize_for(image_size))

    def with_image_size(self, image_size: int) -> "Preprocessing":
        return Preprocessing(image_size, resize_for(image_size), self.mean, self.std)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["mean"], data["std"] = list(self.mean), list(self.std)
        return data


def resize_for(image_size: int) -> int:
    """The resize that keeps ImageNet's 224/256 crop ratio for any crop size."""
    return max(image_size, round(image_size * 256 / 224))


class ResizeCenterCrop:
    """`Resize(resize)` then `CenterCrop(size)` on a PIL image, as one resize of just the cropped box.

    The geometry is torchvision's (shorter side to `resize`, the longer one
    `int(resize * long / short)`, the crop offset rounded as CenterCrop does),
    and Pillow resamples the box from the source image with the same
    antialiased bilinear filter: the same pixels, give or take 1/255 from
    rounding in about 0.1% of values, while computing only the 224x224 output
    instead of the whole 341x256 resized photo (0.54 vs 0.95 ms per 500x375
    JPEG here). Where the crop would be larger than the resized image, the two
    torchvision steps (which pad) are used.
    """

    def __init__(self, resize: int, size: int):
        self.resize, self.size = int(resize), int(size)
        self.separate_steps = v2.Compose([
            v2.Resize(self.resize, interpolation=InterpolationMode.BILINEAR, antialias=True),
            v2.CenterCrop(self.size),
        ])

    def __call__(self, image: Image.Image) -> Image.Image:
        if not isinstance(image, Image.Image):  # a tensor: torchvision's steps handle it
            return self.separate_steps(image)
        cropped = resize_centre_crop(image, self.resize, self.size)
        return self.separate_steps(image) if cropped is None else cropped

    def __repr__(self) -> str:
        return f"{type(self).__name__}(resize={self.resize}, size={self.size})"


def decode_transform(prep: Preprocessing, size: int | None = None) -> v2.Compose:
    """PIL RGB image -> uint8 tensor [3, S, S], resized and centre-cropped (as `eval_transform` does);
    `size` crops at another side (test-time augmentation cuts its own crops from a larger square)."""
    return v2.Compose([ResizeCenterCrop(prep.resize, size or prep.image_size), v2.PILToTensor()])


def normalize_batch(batch: torch.Tensor, prep: Preprocessing, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """uint8 [N, 3, S, S] on any device -> normalised float batch on the same device."""
    mean = torch.tensor(prep.mean, device=batch.device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    std = torch.tensor(prep.std, device=batch.device, dtype=torch.float32).view(1, 3, 1, 1) * 255.0
    return ((batch.float() - mean) / std).to(dtype)


def eval_transform(prep: Preprocessing) -> v2.Compose:
    """PIL image -> normalised float tensor, as a single-image tutorial would write it."""
    return v2.Compose(
        [
            v2.Resize(prep.resize, interpolation=InterpolationMode.BILINEAR, antialias=True),
            v2.CenterCrop(prep.image_size),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(list(prep.mean), list(prep.std)),
        ]
    )


@dataclass(frozen=True)
class Augmentation:
    """Training augmentations; each can be switched off."""

    random_resized_crop: bool = True
    crop_scale: float = 0.35  # the smallest share of the picture's area a random crop keeps
    horizontal_flip: bool = True
    vertical_flip: bool = False
    rotation: float = 0.0  # degrees, 0 = off
    color_jitter: float = 0.0  # strength, 0 = off

    @classmethod
    def from_names(cls, names: list[str], crop_scale: float = 0.35) -> "Augmentation":
        """From the words of TrainSettings.augment: crop hflip vflip rotate color."""
        chosen = set(names)
        return cls(
            random_resized_crop="crop" in chosen,
            crop_scale=crop_scale,
            horizontal_flip="hflip" in chosen,
            vertical_flip="vflip" in chosen,
            rotation=15.0 if "rotate" in chosen else 0.0,
            color_jitter=0.2 if "color" in chosen else 0.0,
        )


def train_transform(prep: Preprocessing, augment: Augmentation) -> v2.Compose:
    """PIL image -> uint8 tensor [3, S, S] with random augmentation (normalised later, batched)."""
    steps: list = []
    if augment.random_resized_crop:
        steps.append(v2.RandomResizedCrop(prep.image_size, scale=(augment.crop_scale, 1.0), antialias=True))
    else:
        steps.append(ResizeCenterCrop(prep.resize, prep.image_size))
    if augment.horizontal_flip:
        steps.append(v2.RandomHorizontalFlip())
    if augment.vertical_flip:
        steps.append(v2.RandomVerticalFlip())
    if augment.rotation > 0:
        steps.append(v2.RandomRotation(augment.rotation))
    if augment.color_jitter > 0:
        j = augment.color_jitter
        steps.append(v2.ColorJitter(brightness=j, contrast=j, saturation=j, hue=min(0.5, j / 4)))
    steps.append(v2.PILToTensor())
    return v2.Compose(steps)
