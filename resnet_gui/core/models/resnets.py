"""Building ResNets with torchvision, loading them ready to classify, and describing them."""

from __future__ import annotations

import contextlib
import io
import os
import urllib.error
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn

from resnet_gui.core.errors import CheckpointError, WeightsUnavailableError
from resnet_gui.core.images.transforms import Preprocessing
from resnet_gui.core.models.architectures import DEFAULT_ARCH, architecture
from resnet_gui.core.models.checkpoints import CheckpointContents, read_checkpoint
from resnet_gui.core.models.stems import IMAGENET_STEM, stem_of
from resnet_gui.core.models.stems import stem as stem_spec
from resnet_gui.core.trust.familiarity import is_usable


def build_model(arch: str, num_classes: int = 1000, *, small_input: bool = False, stem: str | None = None) -> nn.Module:
    """A randomly initialised torchvision ResNet with `num_classes` outputs, and the first layer named by
    `stem` (core/models/stems.py), or by `small_input` for callers from before stems had names."""
    architecture(arch)
    model = torchvision.models.get_model(arch, weights=None, num_classes=num_classes)
    use_stem(model, stem_of(small_input, stem))
    return model


def use_stem(model: nn.Module, name: str) -> None:
    """Replace torchvision's ImageNet stem by the one named, in place."""
    spec = stem_spec(name)
    if spec.name == IMAGENET_STEM:
        return
    model.conv1 = nn.Conv2d(3, model.conv1.out_channels, kernel_size=spec.kernel, stride=spec.stride,
                            padding=spec.kernel // 2, bias=False)
    if not spec.max_pool:
        model.maxpool = nn.Identity()


def imagenet_weights(arch: str):
    """torchvision's default ImageNet weights enum member for `arch`."""
    architecture(arch)
    return torchvision.models.get_model_weights(arch).DEFAULT


def imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """ImageNet weights from torch's cache, downloaded there on first use."""
    weights = imagenet_weights(arch)
    try:
        # torch.hub prints 'Downloading: "https://..."' on stdout whatever `progress` says (which would
        # land in a user's JSON Lines); the app's own sentence is all a user reads.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return weights.get_state_dict(progress=False, check_hash=True, weights_only=True)
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError, RuntimeError) as exc:
        cache = Path(torch.hub.get_dir()) / "checkpoints"
        reason = getattr(exc, "reason", None) or exc
        raise WeightsUnavailableError(
            f"The ImageNet weights for {arch} could not be downloaded ({reason}). Connect to the internet "
            f"once so they are saved in {cache}, or choose a checkpoint file instead."
        ) from None


@dataclass
class ModelBundle:
    """A model ready to classify, with everything needed to read its answers."""

    model: nn.Module
    arch: str
    classes: list[str]
    preprocessing: Preprocessing
    small_input: bool = False
    source: str = ""  # what the user chose: "ImageNet" or the checkpoint's path
    checkpoint: CheckpointContents | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    temperature: float = 1.0  # logits are divided by it before the softmax (calibration)
    unsure_below: float | None = None  # a suggested confidence threshold from the validation set
    familiarity: dict[str, Any] | None = None  # the out-of-distribution fit (core/trust/familiarity.py), if any
    stem: str = ""  # core/models/stems.py; "" for what small_input says

    def __post_init__(self) -> None:
        self.stem = stem_of(self.small_input, self.stem)

    @property
    def num_classes(self) -> int:
        return len(self.classes)


def load_imagenet_bundle(arch: str = DEFAULT_ARCH, image_size: int | None = None) -> ModelBundle:
    weights = imagenet_weights(arch)
    state_dict = imagenet_state_dict(arch)
    model = build_model(arch, len(weights.meta["categories"]))
    model.load_state_dict(state_dict)
    model.eval()
    transform = weights.transforms()
    prep = Preprocessing(
        image_size=int(transform.crop_size[0]),
        resize=int(transform.resize_size[0]),
        mean=tuple(transform.mean),
        std=tuple(transform.std),
    )
    if image_size:
        prep = prep.with_image_size(image_size)
    return ModelBundle(model, arch, list(weights.meta["categories"]), prep, False, f"ImageNet ({weights.name})")


def load_checkpoint_bundle(
    path: str | os.PathLike,
    *,
    arch: str | None = None,
    classes_file: str | os.PathLike | None = None,
    image_size: int | None = None,
) -> ModelBundle:
    contents = read_checkpoint(path, arch=arch, classes_file=classes_file, image_size=image_size)
    model = build_model(contents.arch, contents.num_classes, stem=contents.stem)
    try:
        model.load_state_dict(contents.state_dict, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0]
        raise CheckpointError(
            f"The weights in {contents.path.name} do not fit {contents.arch} ({first}). The file may be damaged."
        ) from None
    model.eval()
    if contents.num_classes == 1000 and contents.classes[0] == "class 0":
        # A bare ImageNet state dict: torchvision knows the 1000 names offline.
        contents.classes = list(imagenet_weights(contents.arch).meta["categories"])
    calibration = contents.extra.get("calibration") or {}
    return ModelBundle(model, contents.arch, contents.classes, contents.preprocessing,
                       contents.small_input, str(contents.path), contents,
                       temperature=float(contents.extra.get("temperature", 1.0)),
                       unsure_below=calibration.get("unsure_below") or None,
                       familiarity=contents.extra["familiarity"] if is_usable(contents.extra.get("familiarity"))
                       else None, stem=contents.stem)


def load_bundle(
    checkpoint: str | os.PathLike | None = None,
    *,
    arch: str | None = None,
    classes_file: str | os.PathLike | None = None,
    image_size: int | None = None,
) -> ModelBundle:
    """The model the user asked for: a checkpoint, or `arch` with ImageNet weights."""
    if checkpoint:
        return load_checkpoint_bundle(checkpoint, arch=arch, classes_file=classes_file, image_size=image_size)
    bundle = load_imagenet_bundle(arch or DEFAULT_ARCH, image_size)
    if classes_file is not None:
        raise CheckpointError("A class list only applies to a checkpoint; ImageNet weights name their own classes.")
    return bundle


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@dataclass(frozen=True)
class StageRow:
    name: str
    blocks: int
    output_shape: tuple[int, ...]
    params: int


def _stages(model: nn.Module) -> dict[str, list[nn.Module]]:
    return {
        "stem": [model.conv1, model.bn1, model.relu, model.maxpool],
        "layer1": [model.layer1], "layer2": [model.layer2], "layer3": [model.layer3], "layer4": [model.layer4],
        "pool": [model.avgpool], "fc": [model.fc],
    }


def stage_table(model: nn.Module, image_size: int) -> list[StageRow]:
    """Per stage: block count, output shape for a 1-image batch of `image_size`, parameters.

    The shapes come from a forward pass on the meta device: no memory, no compute.
    """
    rows = []
    x = torch.empty(1, 3, image_size, image_size, device="meta")
    meta_stages = _stages(_meta_copy(model))
    with torch.no_grad():
        for name, modules in _stages(model).items():
            if name == "fc":
                x = torch.flatten(x, 1)
            for module in meta_stages[name]:
                x = module(x)
            blocks = len(modules[0]) if name.startswith("layer") else 0
            rows.append(StageRow(name, blocks, tuple(x.shape), sum(p.numel() for m in modules for p in m.parameters())))
    return rows


def _meta_copy(model: nn.Module) -> nn.Module:
    """The same architecture with parameters on the meta device (no weights copied)."""
    import copy

    memo = {id(p): torch.nn.Parameter(torch.empty_like(p, device="meta"), p.requires_grad) for p in model.parameters()}
    memo.update({id(b): torch.empty_like(b, device="meta") for b in model.buffers()})
    return copy.deepcopy(model, memo)
