"""The ResNet family the app offers, as plain data.

Kept free of torch so that the window can list the architectures before torch
has finished loading.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Architecture:
    name: str  # torchvision builder name, also the name stored in checkpoints
    title: str  # what the window shows
    block: str  # "basic" or "bottleneck"
    layers: tuple[int, int, int, int]
    groups: int = 1
    width_per_group: int = 64


ARCHITECTURES: dict[str, Architecture] = {
    a.name: a
    for a in (
        Architecture("resnet18", "ResNet-18", "basic", (2, 2, 2, 2)),
        Architecture("resnet34", "ResNet-34", "basic", (3, 4, 6, 3)),
        Architecture("resnet50", "ResNet-50", "bottleneck", (3, 4, 6, 3)),
        Architecture("resnet101", "ResNet-101", "bottleneck", (3, 4, 23, 3)),
        Architecture("resnet152", "ResNet-152", "bottleneck", (3, 8, 36, 3)),
        Architecture("resnext50_32x4d", "ResNeXt-50 32x4d", "bottleneck", (3, 4, 6, 3), 32, 4),
        Architecture("resnext101_32x8d", "ResNeXt-101 32x8d", "bottleneck", (3, 4, 23, 3), 32, 8),
        Architecture("wide_resnet50_2", "Wide ResNet-50-2", "bottleneck", (3, 4, 6, 3), 1, 128),
    )
}

DEFAULT_ARCH = "resnet50"
DEFAULT_TRAIN_ARCH = "resnet18"


def architecture(name: str) -> Architecture:
    from resnet_gui.core.errors import UserError

    try:
        return ARCHITECTURES[name]
    except KeyError:
        known = ", ".join(ARCHITECTURES)
        raise UserError(f"Unknown architecture '{name}'. Choose one of: {known}.") from None
