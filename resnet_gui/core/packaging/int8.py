"""A fast INT8 copy of a checkpoint for CPUs: OpenVINO's model of it quantized by NNCF's post-training
quantization on a few hundred of the user's own pictures, measured against the float model on pictures the
quantization did not see, and refused below MIN_AGREEMENT.

The copy is a checkpoint like any other: the float weights and everything the original holds (classes,
preprocessing, calibration, familiarity, golden samples), plus under "int8" the quantized model (OpenVINO IR,
its .xml and .bin as bytes), its own answers to the golden samples, and what was measured. The app opens it
as it opens any checkpoint: on a CPU with OpenVINO the INT8 model runs after its golden check at load
(core/inference/openvino_runtime.py); anywhere else the float weights run, and the app says so.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import os
import random
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from resnet_gui.core.errors import UserError
from resnet_gui.core.images.files import ImageDecodeError, discover, load_rgb
from resnet_gui.core.images.folders import scan_class_folder
from resnet_gui.core.images.transforms import decode_transform, normalize_batch
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.core.models.resnets import ModelBundle

CALIBRATION_PICTURES = 300  # what NNCF's documentation advises for post-training quantization
HELD_OUT_PICTURES = 300
MIN_HELD_OUT = 20
MIN_AGREEMENT = 0.98
INT8_EXTRA = 'pip install "resnet-gui[int8]"'
BATCH = 32


@dataclass
class Int8Copy:
    """What was measured on the pictures the quantization did not see."""

    path: Path
    agreement: float  # share of held-out pictures whose best class the INT8 copy and the float model agree on
    held_out: int
    calibration_pictures: int
    float_accuracy: float | None  # None: the pictures had no labels
    int8_accuracy: float | None
    float_images_per_second: float
    int8_images_per_second: float
    source: str  # where the pictures came from, in words

    def sentence(self) -> str:
        accuracy = ""
        if self.float_accuracy is not None:
            change = 100 * (self.int8_accuracy - self.float_accuracy)
            accuracy = (f"; accuracy {self.int8_accuracy:.1%} against the float model's {self.float_accuracy:.1%} "
                        f"({change:+.1f} points)")
        speed = self.int8_images_per_second / max(self.float_images_per_second, 1e-9)
        return (f"The INT8 copy agrees with the float model on {self.agreement:.1%} of {self.held_out} pictures it "
                f"was not calibrated on{accuracy}, and ran {speed:.1f}x as fast as the float model on OpenVINO "
                f"here ({self.int8_images_per_second:.0f} against {self.float_images_per_second:.0f} pictures/s).")

    def record(self) -> dict:
        return {"agreement": self.agreement, "held_out": self.held_out,
                "calibration_pictures": self.calibration_pictures, "float_accuracy": self.float_accuracy,
                "int8_accuracy": self.int8_accuracy, "float_images_per_second": self.float_images_per_second,
                "int8_images_per_second": self.int8_images_per_second, "source": self.source}


def nncf_installed() -> bool:
    return "nncf" in sys.modules or importlib.util.find_spec("nncf") is not None


def pictures_for(bundle: ModelBundle, folder: str | None) -> tuple[list[tuple[str, int | None]], str]:
    """(path, label or None) of the pictures to calibrate and measure on, and where they came from: `folder`
    (a class folder with the model's classes gives labels; any other folder of pictures does not), else the
    training folder the checkpoint records."""
    if folder is None:
        train = bundle.checkpoint.train if bundle.checkpoint is not None else {}
        folder = train.get("data_dir") or None
        if not folder or not Path(folder).is_dir():
            where = f" ({folder})" if folder else ""
            raise UserError(f"The model's training folder{where} is not here to calibrate on. Give a folder of "
                            "your pictures with --calibration DIR.",
                            in_window=f"The model's training folder{where} is not here to calibrate on. Choose a "
                                      "folder of your pictures.")
        source = f"the training folder {folder}"
    else:
        source = f"the folder {folder}"
    try:
        scan = scan_class_folder(folder)
    except UserError:
        scan = None
    if scan is not None and set(scan.classes) <= set(bundle.classes):
        index = {name: bundle.classes.index(name) for name in scan.classes}
        labelled = [(p, index[scan.classes[y]]) for p, y in scan.train + (scan.val or [])]
        return labelled, source
    found = discover([folder])
    return [(str(p), None) for p in found.files], source


def split_pictures(pictures: list, calibration: int = CALIBRATION_PICTURES, held_out: int = HELD_OUT_PICTURES,
                   seed: int = 0) -> tuple[list, list]:
    """A seeded shuffle cut in two: pictures to calibrate on, and others to measure on (at most half each)."""
    shuffled = list(pictures)
    random.Random(seed).shuffle(shuffled)
    calibrating = min(calibration, len(shuffled) // 2)
    return shuffled[:calibrating], shuffled[calibrating:calibrating + held_out]


def _batches(bundle: ModelBundle, pictures: list, cancelled: Callable[[], bool]):
    """Normalised float32 batches [N, 3, S, S] and their labels, pictures that cannot be read left out."""
    transform, prep = decode_transform(bundle.preprocessing), bundle.preprocessing
    for start in range(0, len(pictures), BATCH):
        if cancelled():
            raise InterruptedError("cancelled")
        images, labels = [], []
        for path, label in pictures[start:start + BATCH]:
            try:
                images.append(transform(load_rgb(path)))
            except (ImageDecodeError, MemoryError):  # the float model could not read it either
                continue
            labels.append(label)
        if images:
            yield normalize_batch(torch.stack(images), prep), labels


def make_int8_copy(bundle: ModelBundle, out: str | os.PathLike, *, folder: str | None = None,
                   progress: Callable[[str], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> Int8Copy:
    """Quantize `bundle`'s model on its user's pictures, measure it, and write the copy to `out` (a checkpoint);
    raises UserError, writing nothing, when the copy agrees with the float model on under MIN_AGREEMENT."""
    from resnet_gui.core.inference.openvino_runtime import (
        LogitsAndPooled,
        cpu_precision,
        import_openvino,
        openvino_installed,
    )

    say = progress or (lambda text: None)
    cancelled = cancelled or (lambda: False)
    if not openvino_installed() or not nncf_installed():
        raise UserError(f"An INT8 copy needs OpenVINO and NNCF, which are not installed: {INT8_EXTRA}")
    if bundle.checkpoint is None or not bundle.checkpoint.extra.get("golden"):
        raise UserError("An INT8 copy is made of a checkpoint trained by resnet-gui: its golden samples check the "
                        "copy each time it opens. Train a model, or open one the app trained, first.")
    out = Path(out)
    if out.suffix.lower() not in (".pt", ".pth"):
        raise UserError(f"An INT8 copy is written as a checkpoint: give it a name ending in .pt, like "
                        f"{out.with_suffix('.pt').name}.")
    pictures, source = pictures_for(bundle, folder)
    calibrating, held_out = split_pictures(pictures)
    if len(held_out) < MIN_HELD_OUT:
        raise UserError(f"{source.capitalize()} has {len(pictures)} pictures: too few to calibrate on and to "
                        f"measure the copy ({2 * MIN_HELD_OUT} or more are needed).")
    ov = import_openvino()  # first: it keeps OpenVINO's telemetry, which NNCF also uses, switched off
    import nncf

    nncf.set_log_level(logging.ERROR)
    model = bundle.model.eval().cpu().float()
    size = bundle.preprocessing.image_size
    say("Converting the model for OpenVINO…")
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))  # torch.jit.trace, inside OpenVINO
        converted = ov.convert_model(LogitsAndPooled(model), example_input=torch.zeros(1, 3, size, size),
                                     input=[(-1, 3, size, size)])
    calibration = [x[i:i + 1].numpy() for x, _ in _batches(bundle, calibrating, cancelled) for i in range(len(x))]
    say(f"Quantizing on {len(calibration)} of your pictures…")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):  # NNCF's bars
        quantized = nncf.quantize(converted, nncf.Dataset(calibration), subset_size=len(calibration))
    core = ov.Core()
    compiled = core.compile_model(quantized, "CPU", {"PERFORMANCE_HINT": "LATENCY"})
    # the speed is measured against what the app runs a float model with on this CPU: OpenVINO, in the
    # precision it chooses (core/inference/openvino_runtime.py)
    float_runtime = core.compile_model(converted, "CPU", {"PERFORMANCE_HINT": "LATENCY",
                                                          "INFERENCE_PRECISION_HINT": cpu_precision(core)})

    say(f"Measuring the copy on {len(held_out)} other pictures…")
    agree = right_float = right_int8 = seen = labelled = 0
    float_seconds = int8_seconds = 0.0
    for x, labels in _batches(bundle, held_out, cancelled):
        with torch.inference_mode():
            float_top = model(x).argmax(1)  # the answers to keep: PyTorch's, in float32
        started = time.perf_counter()
        float_runtime(x.numpy())
        float_seconds += time.perf_counter() - started
        started = time.perf_counter()
        int8_top = torch.from_numpy(np.asarray(compiled(x.numpy())[compiled.output(0)])).argmax(1)
        int8_seconds += time.perf_counter() - started
        agree += int((float_top == int8_top).sum())
        seen += len(labels)
        for label, a, b in zip(labels, float_top.tolist(), int8_top.tolist(), strict=True):
            if label is not None:
                labelled += 1
                right_float += a == label
                right_int8 += b == label
    agreement = agree / max(seen, 1)
    result = Int8Copy(out, agreement, seen, len(calibration), right_float / labelled if labelled else None,
                      right_int8 / labelled if labelled else None, seen / max(float_seconds, 1e-9),
                      seen / max(int8_seconds, 1e-9), source)
    if agreement < MIN_AGREEMENT:
        raise UserError(f"The INT8 copy was not saved: it agreed with the float model on only {agreement:.1%} of "
                        f"{seen} pictures it was not calibrated on, and a copy needs {MIN_AGREEMENT:.0%}. Keep "
                        "using the float model.")
    x = normalize_batch(bundle.checkpoint.extra["golden"]["inputs"], bundle.preprocessing)
    golden_logits = torch.from_numpy(np.asarray(compiled(x.numpy())[compiled.output(0)]).astype(np.float32))
    with tempfile.TemporaryDirectory() as work:
        xml = Path(work, "int8.xml")
        ov.save_model(quantized, str(xml), compress_to_fp16=False)
        ir = {"xml": xml.read_bytes(), "bin": xml.with_suffix(".bin").read_bytes()}
    write_checkpoint(out, int8_payload(bundle, {**ir, **result.record(), "golden_logits": golden_logits,
                                                "openvino": ov.__version__, "nncf": nncf.__version__}))
    return result


def int8_payload(bundle: ModelBundle, int8: dict) -> dict:
    """The original checkpoint's contents, as it holds them, with the INT8 model and its figures."""
    contents = bundle.checkpoint
    extra = {k: v for k, v in contents.extra.items() if k != "int8"}
    return checkpoint_payload(model=bundle.model, arch=contents.arch, classes=contents.classes,
                              small_input=contents.small_input, stem=contents.stem,
                              preprocessing=contents.preprocessing, train=contents.train, metrics=contents.metrics,
                              history=contents.history, **extra, int8=int8)
