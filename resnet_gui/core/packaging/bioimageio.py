"""A bioimage.io model package: one zip the bioimage ecosystem opens (bioimageio.core, ilastik, deepImageJ, ...).

The zip holds `rdf.yaml` in the model description format 0.5, TorchScript and
ONNX weights of the network, the checkpoint's golden samples as test tensors
(inputs: the resized, cropped pictures as float32 0..255; outputs: the
calibrated probabilities they gave), a cover picture and the model card
(core/packaging/card.py) as documentation. Preprocessing (normalisation) and
postprocessing (temperature, softmax) are written as the format's own steps,
so every consumer applies them alike.

Writing needs no bioimage.io library: the description is plain data, written
as JSON (which YAML reads). `bioimageio.core`, when installed, runs its own
model test on the package before it is kept (`validate_package`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw

from resnet_gui.core.atomic_write import atomic_path
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.resnets import ModelBundle
from resnet_gui.core.packaging.card import RESNET_DOI, RESNET_PAPER, model_card, model_name, one_line
from resnet_gui.core.packaging.export import ExportCheckFailed, check_export, write_model_file

FORMAT_VERSION = "0.5.4"
WEIGHT_FILES = {"torchscript": "weights_torchscript.pt", "onnx": "weights.onnx"}
ONNX_OPSET = 17


def write_package(bundle: ModelBundle, out: str | os.PathLike, *, license: str = "CC-BY-4.0",
                  authors: list[str] | None = None, validate: bool = True) -> dict[str, Any]:
    """Write the package zip to `out` (atomically); returns what was checked.

    The weights are checked against the golden samples first (as every export is); then, with `validate`
    and bioimageio.core installed, the whole package is tested the way the bioimage.io site tests it.
    """
    check_license(license)
    check_authors(authors)
    golden = bundle.checkpoint.extra.get("golden") if bundle.checkpoint is not None else None
    if not golden:
        raise UserError(f"{Path(bundle.source).name} has no golden samples, which a bioimage.io package needs as its "
                        "test pictures; only checkpoints made by resnet-gui train carry them.")
    out = Path(out)
    model = bundle.model.eval().to("cpu")
    size = bundle.preprocessing.image_size
    with tempfile.TemporaryDirectory(prefix="resnet-gui-bioimageio-") as folder:
        folder = Path(folder)
        checks = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning, UserWarning))
            for fmt, name in WEIGHT_FILES.items():
                run = write_model_file(fmt, model, torch.randn(2, 3, size, size), str(folder / name))
                checks[fmt] = check_export(bundle, run)
        inputs = golden["inputs"].float().numpy()  # [N, 3, S, S], 0..255: what the preprocessing steps expect
        # the stored outputs: the weights were just checked to give them back
        outputs = torch.softmax(golden["logits"].float() / bundle.temperature, 1).numpy()
        np.save(folder / "test_input.npy", inputs.astype(np.float32))
        np.save(folder / "test_output.npy", outputs.astype(np.float32))
        _cover(golden["inputs"], outputs, bundle.classes).save(folder / "cover.png")
        (folder / "README.md").write_text(model_card(bundle), encoding="utf-8")
        description = rdf(bundle, folder, license=license, authors=authors)
        (folder / "rdf.yaml").write_text(json.dumps(description, indent=2, ensure_ascii=False), encoding="utf-8")
        with atomic_path(out, suffix="") as temporary:  # keeps .zip last: bioimageio reads a package by it
            with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
                for path in sorted(folder.iterdir()):
                    # float weights deflate by about 7%, at 3 s to write and 5 s for every reader to inflate
                    stored = path.name in WEIGHT_FILES.values()
                    archive.write(path, path.name, zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
            result = {"weights": checks, "validated": None}
            if validate:
                result["validated"] = validate_package(temporary)  # raises, and so removes the zip, on failure
    return result


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def rdf(bundle: ModelBundle, folder: Path, *, license: str, authors: list[str] | None) -> dict[str, Any]:
    """The model description (bioimage.io format 0.5) of the files in `folder`."""
    import torchvision

    prep = bundle.preprocessing
    size = prep.image_size
    people = [{"name": name} for name in (authors or ["resnet-gui user"])]
    file = lambda name: {"source": name, "sha256": _sha256(folder / name)}  # noqa: E731
    return {
        "type": "model",
        "format_version": FORMAT_VERSION,
        "name": model_name(bundle),
        "description": one_line(bundle),
        "authors": people,
        "cite": [{"text": RESNET_PAPER, "doi": RESNET_DOI}],
        "license": license,
        "tags": ["classification", "resnet", "pytorch", "2d", "resnet-gui"],
        "documentation": "README.md",
        "covers": ["cover.png"],
        "inputs": [{
            "id": "input",
            "description": f"RGB pictures, shorter side resized to {prep.resize} px and centre-cropped to {size} px, "
                           "values 0..255",
            "axes": [
                {"type": "batch"},
                {"type": "channel", "channel_names": ["red", "green", "blue"]},
                {"type": "space", "id": "y", "size": size},
                {"type": "space", "id": "x", "size": size},
            ],
            "data": {"type": "float32"},
            "test_tensor": file("test_input.npy"),
            "preprocessing": [{
                "id": "fixed_zero_mean_unit_variance",
                "kwargs": {"axis": "channel", "mean": [255 * m for m in prep.mean],
                           "std": [255 * s for s in prep.std]},
            }],
        }],
        "outputs": [{
            "id": "probabilities",
            "description": "The probability of each class: softmax(logits / temperature), the temperature "
                           "calibrated on the validation pictures",
            "axes": [
                {"type": "batch"},
                {"type": "channel", "channel_names": list(bundle.classes)},
            ],
            "data": {"type": "float32", "range": [0.0, 1.0]},
            "test_tensor": file("test_output.npy"),
            # the format refuses a scaling by 1: the temperature step only when calibration moved it
            "postprocessing": ([{"id": "scale_linear", "kwargs": {"gain": 1.0 / bundle.temperature}}]
                               if bundle.temperature != 1.0 else [])
            + [{"id": "softmax", "kwargs": {"axis": "channel"}}],
        }],
        "weights": {
            "torchscript": {**file(WEIGHT_FILES["torchscript"]),
                            "pytorch_version": torch.__version__.split("+")[0]},
            "onnx": {**file(WEIGHT_FILES["onnx"]), "opset_version": ONNX_OPSET, "parent": "torchscript"},
        },
        "config": {"resnet_gui": {
            "arch": bundle.arch, "small_input": bundle.small_input, "stem": bundle.stem, "image_size": size,
            "resize": prep.resize,
            "temperature": bundle.temperature, "unsure_below": bundle.unsure_below,
            "torchvision_version": torchvision.__version__.split("+")[0],
        }},
    }


def _cover(inputs: torch.Tensor, probabilities: np.ndarray, classes: list[str]) -> Image.Image:
    """The golden pictures side by side, each with the model's answer under it, on a 2:1 canvas."""
    count = min(4, len(inputs))
    width, height = 512, 256
    tile = min(width // count - 16, height - 56)
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    left = (width - count * (tile + 16)) // 2 + 8
    top = (height - tile - 36) // 2  # the pictures and their two lines of text, in the middle
    for i in range(count):
        picture = Image.fromarray(inputs[i].permute(1, 2, 0).numpy().astype(np.uint8))
        x = left + i * (tile + 16)
        canvas.paste(picture.resize((tile, tile), Image.Resampling.NEAREST), (x, top))
        best = int(np.argmax(probabilities[i]))
        draw.text((x, top + tile + 8), f"{classes[best][:18]}", fill=(20, 20, 20))
        draw.text((x, top + tile + 22), f"{probabilities[i][best]:.0%}", fill=(90, 90, 90))
    return canvas


def validate_package(path: str | os.PathLike) -> dict[str, Any] | None:
    """bioimageio.core's own model test (format, and every weight format run on the test tensors), offline.
    None when bioimageio.core is not installed; raises ExportCheckFailed when the test fails."""
    try:
        from bioimageio.core import test_model
    except ModuleNotFoundError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))  # torch.jit.load's notice
        summary = test_model(str(path), devices=["cpu"])
    if summary.status != "passed":
        failures = [_short(f"{'.'.join(map(str, e.loc))}: {e.msg}") for d in summary.details for e in d.errors][:3]
        raise ExportCheckFailed("bioimage.io's model test failed on the package: " + "; ".join(failures)
                                + ". The package was not kept. Report this with your bioimageio.core version.")
    return {"status": summary.status, "checked_with": "bioimageio.core test_model",
            "format_version": summary.format_version}


def _short(text: str, limit: int = 240) -> str:
    """A validation message as a person can read it: pydantic lists every allowed value (all of SPDX)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_authors(authors: list[str] | None) -> None:
    """Authors' names as bioimage.io takes them, checked before any work: the format refuses a / or \\ in a
    name, which was found only after a minute of exporting and testing."""
    for name in authors or []:
        if not name.strip() or "/" in name or "\\" in name or any(ord(c) < 32 for c in name):
            raise UserError(f"{name!r} cannot be an author's name in a bioimage.io package: give a person's name, "
                            "without / or \\ (repeat --author for several people).")


def check_license(license: str) -> None:
    """An SPDX identifier (CC-BY-4.0, MIT, Apache-2.0 ...), checked against the list bioimage.io accepts when
    bioimageio.spec is installed (it ships SPDX's list), else by its form."""
    known = None
    try:
        from importlib.resources import files

        listed = json.loads((files("bioimageio.spec") / "static" / "spdx_licenses.json").read_text())
        known = {item["licenseId"] for item in listed["licenses"]}
    except (ModuleNotFoundError, OSError, KeyError, ValueError):
        pass
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.+-]*", license or "") or (known and license not in known):
        raise UserError(f"'{license}' is not an SPDX licence identifier: use one such as CC-BY-4.0, CC0-1.0, MIT "
                        "or Apache-2.0 (the list: https://spdx.org/licenses/).")

