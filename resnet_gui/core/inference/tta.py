"""Test-time augmentation: several views of each picture, their probabilities averaged.

The ResNet paper's 10-crop testing (He et al., 2015, table 3): the picture is
resized so its shorter side is `resize` and cut square, and the network sees
the four corners and the centre at `image_size` (torchvision's FiveCrop),
and their mirror images too (TenCrop); "flip" is the usual centre crop and its
mirror image. Each view is its own forward pass of the same batch size, so
memory stays what it is without augmentation while the work grows with the
views (2, 5 or 10).

No torch at import: the parser and the window list the modes before torch has loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from resnet_gui.core.images.transforms import Preprocessing

MODES = ("flip", "five-crop", "ten-crop")
VIEWS = {"flip": 2, "five-crop": 5, "ten-crop": 10}
# The view that is the plain centre crop (FiveCrop returns the corners first, then the centre).
CENTRE_VIEW = {"flip": 0, "five-crop": 4, "ten-crop": 4}


def check_mode(mode: str | None) -> str | None:
    if mode in (None, "", "none", "off"):
        return None
    if mode not in MODES:
        raise ValueError(f"unknown test-time augmentation {mode!r}; use one of {', '.join(MODES)}")
    return mode


def decoded_size(mode: str | None, prep: Preprocessing) -> int:
    """The square side pictures are decoded at: the crop itself, or the resize the crops are cut from."""
    return prep.resize if mode in ("five-crop", "ten-crop") else prep.image_size


def views(images: torch.Tensor, mode: str | None, size: int) -> list[torch.Tensor]:
    """uint8 [N, 3, R, R] -> the views, each [N, 3, size, size], in torchvision's order."""
    from torchvision.transforms.v2 import functional as F

    if mode is None:
        return [images]
    if mode == "flip":
        return [images, F.horizontal_flip(images)]
    if mode == "five-crop":
        return list(F.five_crop(images, [size, size]))
    return list(F.ten_crop(images, [size, size]))
