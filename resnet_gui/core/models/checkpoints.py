"""Reading, writing and recognising checkpoint files.

Accepted: the app's own format (a dict with "format": "resnet-gui"), a bare
torchvision state dict, a state dict under a "state_dict" or "model" key, and
.safetensors. The architecture and class count are read from the weights'
names and shapes. Nothing is ever unpickled with weights_only=False.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.errors import CheckpointError
from resnet_gui.core.images.transforms import Preprocessing
from resnet_gui.core.models.architectures import ARCHITECTURES, architecture
from resnet_gui.core.models.class_names import default_class_names, find_class_names_beside, read_class_names
from resnet_gui.core.models.stems import STEMS, is_small_input, stem_of
from resnet_gui.core.text import display_path, is_text
from resnet_gui.core.trust.familiarity import METHODS as FAMILIARITY_METHODS
from resnet_gui.core.values import MAX_IMAGE_SIZE, MAX_RESIZE, MIN_IMAGE_SIZE, finite_number

FORMAT = "resnet-gui"
VERSION = 1
_PREFIXES = ("module.", "_orig_mod.", "model.", "net.", "backbone.")

# The largest file a checkpoint of the app's architectures can honestly be: Wide ResNet-101's 127 M
# float32 weights (0.5 GB) with AdamW's two moments in a resumable .last.pt (1.5 GB), plus room.
# A file that asks for more (a small zip that inflates to gigabytes) is refused before anything is
# allocated, as is a zip entry compressed far beyond what weights compress to.
MAX_CHECKPOINT_BYTES = 2 * 1024**3
MAX_ZIP_RATIO = 20

NOT_A_CHECKPOINT = "{name} is not a PyTorch checkpoint. Choose a .pt, .pth or .safetensors file."


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
    stem: str = ""  # core/models/stems.py; "" for what small_input says (files from before stems had names)

    def __post_init__(self) -> None:
        self.stem = stem_of(self.small_input, self.stem)


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
        raise CheckpointError(f"{path.name} holds no model weights. Choose a checkpoint saved by resnet-gui or "
                              "torch.save(model.state_dict()).")
    if not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state_dict.items()):
        raise CheckpointError(f"{path.name} is damaged: its weights hold something that is not a tensor.")
    state_dict = strip_prefixes(state_dict)
    found_arch, small_input, num_classes = infer_architecture(state_dict, path.name)
    check_finite_weights(state_dict, path.name)

    if arch is not None:
        architecture(arch)  # a sentence for an unknown name
        if arch != found_arch:
            raise CheckpointError(
                f"{path.name} holds {found_arch} weights, but {arch} was chosen. "
                f"Choose {found_arch}, or leave the architecture to be read from the file."
            )

    if own:
        # A file from a newer app stays readable as long as the core keys are there; every field is
        # checked, and a damaged one is a sentence, never an IndexError later.
        try:
            contents = _own_contents(raw, path, found_arch, num_classes, small_input, state_dict, image_size)
        except CheckpointError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            raise CheckpointError(f"{path.name} is damaged: a field does not hold what it should ({exc}).") from None
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
    broken = next((c for c in contents.classes if not is_text(c)), None)
    if broken is not None:  # a lone surrogate: no CSV, JSON or export could hold this name
        raise CheckpointError(
            f"The class name {display_path(broken)!r} in {source or path.name} is not valid text (it holds a lone "
            "surrogate, not a character). Correct the class list and load it again.")
    if not contents.classes:
        contents.classes = default_class_names(num_classes)
    return contents


def _own_contents(raw: dict, path: Path, arch: str, num_classes: int, small_input: bool,
                  state_dict: dict[str, torch.Tensor], image_size: int | None) -> CheckpointContents:
    name = path.name

    def damaged(what: str) -> CheckpointError:
        return CheckpointError(f"{name} is damaged: {what}. It cannot be used; train or export it again.")

    version = int(raw.get("version", 1))
    if version < 1:
        raise damaged(f"its format version is {version}")
    classes = raw.get("classes") or []
    if not isinstance(classes, list) or not all(isinstance(c, str) and c.strip() for c in classes):
        raise damaged("its class names are not a list of names")
    side = raw.get("image_size", 224)
    resize = raw.get("resize", side)
    for value, what, most in ((side, "input size", MAX_IMAGE_SIZE), (resize, "resize size", MAX_RESIZE)):
        if not isinstance(value, int) or isinstance(value, bool) or not MIN_IMAGE_SIZE <= value <= most:
            raise damaged(f"its {what} is {value!r}, not a number of pixels from {MIN_IMAGE_SIZE} to {most}")
    mean, std = raw.get("mean", Preprocessing().mean), raw.get("std", Preprocessing().std)
    for values, what in ((mean, "mean"), (std, "standard deviation")):
        if not isinstance(values, (list, tuple)) or len(values) != 3 or not all(finite_number(v) for v in values):
            raise damaged(f"its normalisation {what} is not three finite numbers")
    if not all(v > 0 for v in std):
        raise damaged("its normalisation standard deviation has a zero or negative value")
    stored_prep = Preprocessing(image_size=side, resize=max(resize, side), mean=tuple(float(v) for v in mean),
                                std=tuple(float(v) for v in std))
    stem_name = raw.get("stem")
    if stem_name is not None and (stem_name not in STEMS or is_small_input(stem_name) != small_input):
        raise damaged(f"its first layer is recorded as {stem_name!r}, which its weights do not have")
    known = {"format", "version", "arch", "num_classes", "classes", "small_input", "stem", "image_size",
             "resize", "mean", "std", "state_dict", "train", "metrics", "history"}
    extra = {k: v for k, v in raw.items() if k not in known}
    temperature = extra.get("temperature", 1.0)
    if not finite_number(temperature) or not temperature > 0:
        raise damaged(f"its temperature is {temperature!r}; it must be a number above 0")
    calibration = extra.get("calibration") or {}
    if not isinstance(calibration, dict):
        raise damaged("its calibration is not a table of figures")
    unsure = calibration.get("unsure_below")
    if unsure is not None and not (finite_number(unsure) and 0 <= unsure <= 1):
        raise damaged(f"its suggested 'unsure' threshold is {unsure!r}, not a confidence from 0 to 1")
    golden = extra.get("golden")
    if golden is not None:
        _check_golden(golden, side, num_classes, damaged)
    familiarity = extra.get("familiarity")
    if familiarity is not None:
        _check_familiarity(familiarity, num_classes, damaged)
    for key, kind in (("train", dict), ("metrics", dict), ("history", list)):
        if raw.get(key) is not None and not isinstance(raw.get(key), kind):
            raise damaged(f"its {key} record is not a {kind.__name__}")
    prep = stored_prep.with_image_size(image_size) if image_size else stored_prep
    return CheckpointContents(
        path=path, kind="resnet-gui", arch=arch, num_classes=num_classes, classes=list(classes),
        small_input=small_input, preprocessing=prep, state_dict=state_dict, version=version,
        train=dict(raw.get("train") or {}), metrics=dict(raw.get("metrics") or {}),
        history=list(raw.get("history") or []), extra=extra, stem=stem_name or "",
    )


def _check_familiarity(spec: Any, num_classes: int, damaged) -> None:
    """The out-of-distribution fit (core/trust/familiarity.py): a threshold, and for Mahalanobis, class means
    [C', D] (C' <= the classes) with a precision matrix [D, D]. A method this version does not know is
    left alone: the file still classifies, without unfamiliar-picture warnings."""
    if not isinstance(spec, dict):
        raise damaged("its unfamiliar-picture fit is not a table")
    if spec.get("method") not in FAMILIARITY_METHODS:
        return
    if not finite_number(spec.get("threshold")):
        raise damaged(f"its unfamiliar-picture threshold is {spec.get('threshold')!r}, not a number")
    if spec["method"] == "mahalanobis":
        means, precision = spec.get("means"), spec.get("precision")
        if not (isinstance(means, torch.Tensor) and isinstance(precision, torch.Tensor) and means.dim() == 2
                and 1 <= means.shape[0] <= num_classes and precision.shape == (means.shape[1], means.shape[1])
                and means.is_floating_point() and precision.is_floating_point()
                and bool(torch.isfinite(means).all()) and bool(torch.isfinite(precision).all())):
            raise damaged("its unfamiliar-picture fit (class means and precision) has the wrong shape or values")


def _check_golden(golden: Any, side: int, num_classes: int, damaged) -> None:
    if not isinstance(golden, dict):
        raise damaged("its golden samples are not a table")
    inputs, logits, tolerance = golden.get("inputs"), golden.get("logits"), golden.get("tolerance", 1e-4)
    if not (isinstance(inputs, torch.Tensor) and inputs.dtype == torch.uint8 and inputs.dim() == 4
            and tuple(inputs.shape[1:]) == (3, side, side)):
        raise damaged("its golden inputs are not pictures of the model's input size")
    if not (isinstance(logits, torch.Tensor) and logits.is_floating_point()
            and tuple(logits.shape) == (inputs.shape[0], num_classes) and bool(torch.isfinite(logits).all())):
        raise damaged("its golden outputs do not match its golden inputs and classes")
    if not finite_number(tolerance) or tolerance < 0:
        raise damaged("its golden tolerance is not a number of 0 or more")


# Larger than any trained ResNet's weight or BatchNorm statistic by far (ImageNet variances reach the
# thousands), small enough that a forward pass stays finite: weights of 3e38 (finite) made every answer NaN,
# and `explain` wrote "cluster (nan%)".
MAX_WEIGHT = 1e10


def check_finite_weights(state_dict: dict[str, torch.Tensor], name: str) -> None:
    """A network that would answer NaN for every picture is refused up front: NaN or infinite weights, finite
    but absurd ones, a negative BatchNorm variance; and tensors that hold no numbers here (meta, sparse)."""
    damaged = f"{name} is damaged: its weights"
    for key, tensor in state_dict.items():
        if tensor.is_meta or tensor.layout != torch.strided:
            raise CheckpointError(f"{damaged} ({key}) are {'meta' if tensor.is_meta else 'sparse'} tensors, which "
                                  "hold no usable numbers. Save the model's state_dict() after training.")
        if not tensor.is_floating_point():
            continue
        if not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{damaged} ({key}) hold NaN or infinite values, so every "
                                  "answer would be meaningless. Use another copy, or train it again.")
        if tensor.numel() and float(tensor.abs().max()) > MAX_WEIGHT:
            raise CheckpointError(f"{damaged} ({key}) hold values as large as {float(tensor.abs().max()):.1e}, "
                                  "so every answer would overflow to NaN. Use another copy, or train it again.")
        if key.endswith("running_var") and tensor.numel() and float(tensor.min()) < 0:
            raise CheckpointError(f"{damaged} ({key}) hold a negative variance, so every answer would be NaN. "
                                  "Use another copy, or train it again.")


def _load_raw(path: Path) -> Any:
    if not path.exists():
        raise CheckpointError(f"The checkpoint {path} does not exist. Check the path.")
    if path.is_dir():
        raise CheckpointError(f"{path} is a folder. Choose a checkpoint file (.pt, .pth or .safetensors).")
    size = path.stat().st_size
    if size == 0:
        raise CheckpointError(f"{path.name} is empty. It may be a half-copied file; copy it again.")
    _check_size(path, size)
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
        raise CheckpointError(NOT_A_CHECKPOINT.format(name=path.name)) from None
    except (RuntimeError, zipfile.BadZipFile, EOFError) as exc:
        message = str(exc)
        if "zip" in message.lower() or "central directory" in message or isinstance(exc, EOFError):
            raise CheckpointError(f"{path.name} is truncated or corrupt. Copy it again or re-save it.") from None
        raise CheckpointError(f"{path.name} could not be read as a PyTorch checkpoint "
                              f"({message.splitlines()[0]}).") from None
    except OSError as exc:
        raise CheckpointError(f"{path.name} could not be read ({exc.strerror or exc}).") from None
    except Exception:  # noqa: BLE001 - the weights-only unpickler fails in many ways on files that are not pickles
        raise CheckpointError(NOT_A_CHECKPOINT.format(name=path.name)) from None


def _check_size(path: Path, size: int) -> None:
    """Refuse a file that would ask for more memory than any checkpoint of the app's models needs."""
    too_big = CheckpointError(
        f"{path.name} asks for more memory than any ResNet checkpoint needs "
        f"(over {MAX_CHECKPOINT_BYTES // 1024**3} GB unpacked), so it was not opened. It is not a model file "
        "the app made, or it is damaged.")
    if size > MAX_CHECKPOINT_BYTES:
        raise too_big
    if not zipfile.is_zipfile(path):
        return
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # torch.load says what is wrong with it
    if sum(e.file_size for e in entries) > MAX_CHECKPOINT_BYTES:
        raise too_big
    for entry in entries:
        if entry.compress_type != zipfile.ZIP_STORED and entry.file_size > MAX_ZIP_RATIO * max(entry.compress_size, 1) \
                and entry.file_size > 1024**2:
            raise too_big


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
    try:
        found = _infer_architecture(state_dict, name)
    except CheckpointError:
        raise
    except (KeyError, IndexError, ValueError, ZeroDivisionError, AttributeError, TypeError) as exc:
        raise CheckpointError(f"{name} is damaged: its layers do not fit together as a ResNet's ({exc}).") from None
    if found[2] < 1:
        raise CheckpointError(f"{name} is damaged: its last layer has no classes.")
    return found


def _infer_architecture(state_dict: dict[str, torch.Tensor], name: str) -> tuple[str, bool, int]:
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
        found = (block, tuple(layers), groups, width_per_group)
        if (arch.block, arch.layers, arch.groups, arch.width_per_group) == found:
            return arch.name, small_input, int(fc.shape[0])
    raise CheckpointError(
        f"{name} holds a ResNet the app does not offer ({block} blocks, layers {layers}, "
        f"groups {groups}, width {width_per_group}). Supported: {', '.join(ARCHITECTURES)}."
    )


def checkpoint_payload(
    *,
    model: torch.nn.Module,
    arch: str,
    classes: list[str],
    small_input: bool,
    preprocessing: Preprocessing,
    stem: str | None = None,
    train: dict | None = None,
    metrics: dict | None = None,
    history: list | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The app's checkpoint as plain containers, loadable with weights_only=True."""
    state_dict = {k: v.detach().to("cpu").clone() for k, v in strip_prefixes(model.state_dict()).items()}
    stem = stem_of(small_input, stem)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "arch": arch,
        "num_classes": len(classes),
        "classes": list(classes),
        "small_input": is_small_input(stem),  # what apps from before stems had names read
        "stem": stem,
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
