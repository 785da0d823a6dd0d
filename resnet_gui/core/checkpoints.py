"""Reading, writing and recognising checkpoint files.

Accepted: the app's own format (a dict with "format": "resnet-gui"), a bare
torchvision state dict, a state dict under a "state_dict" or "model" key, and
.safetensors. The architecture and class count are read from the weights'
names and shapes. Nothing is ever unpickled with weights_only=False.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from resnet_gui.core.architectures import ARCHITECTURES, architecture
from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.errors import CheckpointError
from resnet_gui.core.transforms import Preprocessing

FORMAT = "resnet-gui"
VERSION = 1
_PREFIXES = ("module.", "_orig_mod.", "model.", "net.", "backbone.")


@dataclass
class CheckpointContents:
    """What a checkpoint file says, whatever form it came in."""

    path: Path
    kind: str  # "resnet-gui", "state_dict" or "safetensors"
    arch: str
    num_classes: int
    classes: list[str]
    small_input: bool
    preprocessing: Preprocessing
    state_dict: dict[str, torch.Tensor]
    version: int | None = None
    train: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)  # keys of newer formats kept as they are


def read_checkpoint(
    path: str | os.PathLike,
    *,
    arch: str | None = None,
    classes_file: str | os.PathLike | None = None,
    image_size: int | None = None,
) -> CheckpointContents:
    """Read any checkpoint the app understands, with a sentence for every way it can be wrong.

    `arch` is what the user chose; it is checked against the weights, never
    trusted over them. `classes_file` names the classes when the file does not.
    """
    path = Path(path)
    raw = _load_raw(path)
    own = isinstance(raw, dict) and raw.get("format") == FORMAT
    if own:
        state_dict = raw.get("state_dict")
        kind = "resnet-gui"
    elif path.suffix.lower() == ".safetensors":
        state_dict, kind = raw, "safetensors"
    else:
        state_dict, kind = _find_state_dict(raw, path), "state_dict"
    if not isinstance(state_dict, dict) or not state_dict:
        raise CheckpointError(f"{path.name} holds no model weights. Choose a checkpoint saved by resnet-gui or torch.save(model.state_dict()).")
    state_dict = strip_prefixes(state_dict)
    found_arch, small_input, num_classes = infer_architecture(state_dict, path.name)

    if arch is not None:
        architecture(arch)  # a sentence for an unknown name
        if arch != found_arch:
            raise CheckpointError(
                f"{path.name} holds {found_arch} weights, but {arch} was chosen. "
                f"Choose {found_arch}, or leave the architecture to be read from the file."
            )

    if own:
        # A file from a newer app stays readable as long as the core keys are there.
        version = int(raw.get("version", 1))
        classes = [str(c) for c in raw.get("classes") or []]
        stored_prep = Preprocessing(
            image_size=int(raw.get("image_size", 224)),
            resize=int(raw.get("resize", raw.get("image_size", 224))),
            mean=tuple(float(v) for v in raw.get("mean", Preprocessing().mean)),
            std=tuple(float(v) for v in raw.get("std", Preprocessing().std)),
        )
        prep = stored_prep.with_image_size(image_size) if image_size else stored_prep
        known = {"format", "version", "arch", "num_classes", "classes", "small_input", "image_size",
                 "resize", "mean", "std", "state_dict", "train", "metrics", "history"}
        contents = CheckpointContents(
            path=path, kind=kind, arch=found_arch, num_classes=num_classes, classes=classes,
            small_input=small_input, preprocessing=prep, state_dict=state_dict, version=version,
            train=dict(raw.get("train") or {}), metrics=dict(raw.get("metrics") or {}),
            history=list(raw.get("history") or []),
            extra={k: v for k, v in raw.items() if k not in known},
        )
    else:
        contents = CheckpointContents(
            path=path, kind=kind, arch=found_arch, num_classes=num_classes, classes=[],
            small_input=small_input, preprocessing=Preprocessing.imagenet(image_size), state_dict=state_dict,
        )

    if classes_file is not None:
        contents.classes = read_class_names(Path(classes_file))
        source = Path(classes_file).name
    elif not contents.classes:
        beside = find_class_names_beside(path)
        contents.classes = read_class_names(beside) if beside else []
        source = beside.name if beside else None
    else:
        source = None
    if contents.classes and len(contents.classes) != num_classes:
        where = source or path.name
        raise CheckpointError(
            f"{where} lists {len(contents.classes)} classes, but the model in {path.name} has "
            f"{num_classes} outputs. Use a class list with {num_classes} names."
        )
    if not contents.classes:
        contents.classes = default_class_names(num_classes)
    return contents


def _load_raw(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(f"The checkpoint {path} does not exist. Check the path.")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder. Choose a checkpoint file (.pt, .pth or .safetensors).")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path.name} is empty. It may be a half-copied file; copy it again.")
    if path.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise CheckpointError(f"{path.name} is not a readable .safetensors file ({exc}).") from None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # The weights-only unpickler names the global it refused ("Unsupported global: GLOBAL
        # builtins.open"); any other failure means the file is not a pickle at all.
        if "unsupported global" in str(exc).lower():
            raise CheckpointError(
                f"{path.name} contains Python objects that would have to run code to load, so it was refused "
                "for safety. Save only the weights with torch.save(model.state_dict(), path) and open that."
            ) from None
        raise CheckpointError(f"{path.name} is not a PyTorch checkpoint. Choose a .pt, .pth or .safetensors file.") from None
    except (RuntimeError, zipfile.BadZipFile, EOFError) as exc:
        message = str(exc)
        if "zip" in message.lower() or "central directory" in message or isinstance(exc, EOFError):
            raise CheckpointError(f"{path.name} is truncated or corrupt. Copy it again or re-save it.") from None
        raise CheckpointError(f"{path.name} could not be read as a PyTorch checkpoint ({message.splitlines()[0]}).") from None
    except OSError as exc:
        raise CheckpointError(f"{path.name} could not be read ({exc.strerror or exc}).") from None
    except Exception:  # the weights-only unpickler fails in many ways on files that are not pickles
        raise CheckpointError(f"{path.name} is not a PyTorch checkpoint. Choose a .pt, .pth or .safetensors file.") from None


def _find_state_dict(raw: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(raw, dict):
        if raw and all(isinstance(v, torch.Tensor) for v in raw.values()):
            return raw
        for key in ("state_dict", "model", "model_state_dict", "model_state", "net"):
            inner = raw.get(key)
            if isinstance(inner, dict) and inner and all(isinstance(v, torch.Tensor) for v in inner.values()):
                return inner
    if isinstance(raw, torch.nn.Module):  # impossible with weights_only=True, kept for clarity
        return raw.state_dict()
    raise CheckpointError(
        f"{path.name} does not hold model weights in a form the app knows. "
        "Choose a file saved by resnet-gui, a state dict, or a .safetensors file."
    )


def strip_prefixes(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove wrappers' prefixes (DataParallel's 'module.', torch.compile's '_orig_mod.', ...)."""
    changed = True
    while changed:
        changed = False
        for prefix in _PREFIXES:
            if all(k.startswith(prefix) for k in state_dict):
                state_dict = {k[len(prefix):]: v for k, v in state_dict.items()}
                changed = True
    return state_dict


def infer_architecture(state_dict: dict[str, torch.Tensor], name: str = "the checkpoint") -> tuple[str, bool, int]:
    """(architecture name, small-input stem, class count) read from tensor names and shapes."""
    conv1 = state_dict.get("conv1.weight")
    fc = state_dict.get("fc.weight")
    if conv1 is None or fc is None or "layer1.0.conv1.weight" not in state_dict:
        raise CheckpointError(
            f"{name} does not hold ResNet weights (no conv1, layer1 and fc layers). "
            "The app classifies with torchvision ResNets only."
        )
    small_input = tuple(conv1.shape[-2:]) == (3, 3)
    layers = []
    for stage in range(1, 5):
        prefix = f"layer{stage}."
        indices = {int(k[len(prefix):].split(".", 1)[0]) for k in state_dict if k.startswith(prefix)}
        layers.append(max(indices) + 1 if indices else 0)
    block = "bottleneck" if "layer1.0.conv3.weight" in state_dict else "basic"
    groups, width_per_group = 1, 64
    if block == "bottleneck":
        width = state_dict["layer1.0.conv1.weight"].shape[0]
        groups = width // state_dict["layer1.0.conv2.weight"].shape[1]
        width_per_group = width // groups
    for arch in ARCHITECTURES.values():
        if (arch.block, arch.layers, arch.groups, arch.width_per_group) == (block, tuple(layers), groups, width_per_group):
            return arch.name, small_input, int(fc.shape[0])
    raise CheckpointError(
        f"{name} holds a ResNet the app does not offer ({block} blocks, layers {layers}, "
        f"groups {groups}, width {width_per_group}). Supported: {', '.join(ARCHITECTURES)}."
    )


def read_class_names(path: Path) -> list[str]:
    """Class names from class_indices.json ({"0": "daisy", ...} or a list) or a text file, one per line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CheckpointError(f"Cannot read the class list {path}: {exc.strerror or exc}.") from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise CheckpointError(f"{path.name} is not valid JSON. Expected {{\"0\": \"daisy\", ...}}.") from None
        if isinstance(data, list):
            return [str(v) for v in data]
        if isinstance(data, dict):
            try:
                items = sorted(((int(k), str(v)) for k, v in data.items()))
            except ValueError:
                raise CheckpointError(f"{path.name} must map class indices to names, like {{\"0\": \"daisy\"}}.") from None
            if [i for i, _ in items] != list(range(len(items))):
                raise CheckpointError(f"{path.name} must number its classes 0, 1, 2, ... without gaps.")
            return [v for _, v in items]
        raise CheckpointError(f"{path.name} must hold a list of names or an index-to-name mapping.")
    return [line.strip() for line in text.splitlines() if line.strip()]


def find_class_names_beside(path: Path) -> Path | None:
    for name in (f"{path.stem}.classes.txt", f"{path.stem}.class_indices.json", "class_indices.json", "classes.txt"):
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def default_class_names(num_classes: int) -> list[str]:
    return [f"class {i}" for i in range(num_classes)]


def checkpoint_payload(
    *,
    model: torch.nn.Module,
    arch: str,
    classes: list[str],
    small_input: bool,
    preprocessing: Preprocessing,
    train: dict | None = None,
    metrics: dict | None = None,
    history: list | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The app's checkpoint as plain containers, loadable with weights_only=True."""
    state_dict = {k: v.detach().to("cpu").clone() for k, v in strip_prefixes(model.state_dict()).items()}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch,
        "num_classes": len(classes),
        "classes": list(classes),
        "small_input": bool(small_input),
        "image_size": preprocessing.image_size,
        "resize": preprocessing.resize,
        "mean": list(preprocessing.mean),
        "std": list(preprocessing.std),
        "state_dict": state_dict,
        "train": train or {},
        "metrics": metrics or {},
        "history": history or [],
    }
    payload.update(extra)
    return payload


def write_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> Path:
    """Save atomically (see core/atomic_write.py): a crash never leaves half a model behind."""
    with atomic_write(path) as stream:
        torch.save(payload, stream)
    return Path(path)
