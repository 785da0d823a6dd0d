"""Carrying a model elsewhere: ONNX or TorchScript, a sidecar JSON, and a check that it still answers alike.

The exported network takes a normalised float32 batch [N, 3, S, S] (N free)
and returns logits; the sidecar JSON says how to get there (size, resize,
mean, std) and how to read the answer (class names, temperature, threshold).
Every export re-runs the checkpoint's golden samples through the exported
file and refuses to keep a file whose outputs moved.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import torch

from resnet_gui.core.atomic_write import atomic_path, atomic_write
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.resnets import ModelBundle
from resnet_gui.core.trust.golden import TOLERANCE, golden_difference, golden_tolerance

FORMATS = ("onnx", "torchscript", "openvino")


class ExportCheckFailed(UserError):
    """The exported file does not give the outputs the checkpoint recorded."""


def sidecar(bundle: ModelBundle, fmt: str, check: dict) -> dict:
    prep = bundle.preprocessing
    return {
        "format": "resnet-gui-export",
        "version": 1,
        "model_format": fmt,
        "arch": bundle.arch,
        "classes": bundle.classes,
        "image_size": prep.image_size,
        "resize": prep.resize,
        "mean": list(prep.mean),
        "std": list(prep.std),
        "temperature": bundle.temperature,
        "unsure_below": bundle.unsure_below,
        "input": {"name": "input", "layout": "NCHW", "dtype": "float32",
                  "preprocessing": "RGB, resize shorter side to `resize`, centre crop `image_size`, "
                                   "scale to 0..1, subtract mean, divide by std"},
        "output": {"name": "logits", "softmax": "softmax(logits / temperature)"},
        "golden_check": check,
    }


def export_model(bundle: ModelBundle, fmt: str, out: str | os.PathLike) -> tuple[Path, Path, dict]:
    """Write the model and OUT.json beside it; returns (model path, sidecar path, golden check)."""
    if fmt not in FORMATS:
        raise UserError(f"Unknown export format '{fmt}'. Use onnx, torchscript or openvino.")
    out = Path(out)
    model = bundle.model.eval().to("cpu")
    size = bundle.preprocessing.image_size
    example = torch.randn(2, 3, size, size)
    if fmt == "openvino":
        out, check = _export_openvino(bundle, model, example, out)
    else:
        check = _export_file(bundle, fmt, model, example, out)
    side = out.with_name(out.name + ".json")
    with atomic_write(side, "w", encoding="utf-8") as stream:
        stream.write(json.dumps(sidecar(bundle, fmt, check), indent=2, ensure_ascii=False))
    return out, side, check


def _export_file(bundle: ModelBundle, fmt: str, model: torch.nn.Module, example: torch.Tensor, out: Path) -> dict:
    with atomic_path(out) as temporary, warnings.catch_warnings():
        # torch marks TorchScript and its ONNX exporter deprecated; they are still the formats
        # other tools read, so the notice would only alarm the user.
        warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
        run = write_model_file(fmt, model, example, str(temporary))
        return check_export(bundle, run)  # raises, and so removes the file, when the answers moved


def _export_openvino(bundle: ModelBundle, model: torch.nn.Module, example: torch.Tensor,
                     out: Path) -> tuple[Path, dict]:
    """OpenVINO's IR: OUT.xml and OUT.bin beside it, float32, checked as the other formats are; the .bin is put
    in place before the .xml, so an .xml always has its weights."""
    from resnet_gui.core.inference.openvino_runtime import OPENVINO_EXTRA, import_openvino, openvino_installed

    if not openvino_installed():
        raise UserError(f"Exporting for OpenVINO needs OpenVINO, which is not installed: {OPENVINO_EXTRA}")
    ov = import_openvino()
    out = out if out.suffix == ".xml" else out.with_name(out.name + ".xml")
    with atomic_path(out, suffix="") as xml, atomic_path(out.with_suffix(".bin"), suffix="") as weights:
        with torch.inference_mode(), warnings.catch_warnings():
            warnings.simplefilter("ignore", (DeprecationWarning, FutureWarning))
            size = example.shape[-1]
            converted = ov.convert_model(model, example_input=example, input=[(-1, 3, size, size)])
        ov.save_model(converted, str(xml), compress_to_fp16=False)
        compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
        os.replace(xml.with_suffix(".bin"), weights)

        def run(x):
            return torch.from_numpy(compiled(x.numpy())[compiled.output(0)])

        return out, check_export(bundle, run)


def write_model_file(fmt: str, model: torch.nn.Module, example: torch.Tensor, path: str):
    """Write the model file; return a function that runs it (None when it cannot be run here)."""
    if fmt == "onnx":
        _export_onnx(model, example, path)
        return _onnx_runner(path)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
    traced.save(path)
    loaded = torch.jit.load(path, map_location="cpu")

    def run(x):
        with torch.no_grad():
            return loaded(x)

    return run


def _export_onnx(model: torch.nn.Module, example: torch.Tensor, path: str) -> None:
    try:
        torch.onnx.export(
            model, (example,), path, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
        )
    except ModuleNotFoundError as exc:
        raise UserError(f"ONNX export needs the '{exc.name}' package: pip install onnx onnxruntime") from None


def _onnx_runner(path: str):
    try:
        import onnxruntime
    except ModuleNotFoundError:
        return None
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])

    def run(x):
        return torch.from_numpy(session.run(["logits"], {"input": x.numpy()})[0])

    return run


def check_export(bundle: ModelBundle, run) -> dict:
    """Re-run the golden samples (or, lacking them, random inputs against PyTorch) through the export."""
    golden = bundle.checkpoint.extra.get("golden") if bundle.checkpoint is not None else None
    if run is None:
        return {"verified": False, "reason": "onnxruntime is not installed: pip install onnxruntime to check"}
    if golden:
        difference = golden_difference(run, golden, bundle.preprocessing, bundle.temperature)
        tolerance = golden_tolerance(golden)
        source = "golden samples"
    else:
        x = torch.randn(3, 3, bundle.preprocessing.image_size, bundle.preprocessing.image_size)
        with torch.no_grad():
            expected = torch.softmax(bundle.model(x).float() / bundle.temperature, 1)
        difference = float((torch.softmax(run(x).float() / bundle.temperature, 1) - expected).abs().max())
        tolerance, source = TOLERANCE, "random inputs against PyTorch (the checkpoint has no golden samples)"
    if not difference <= tolerance:  # NaN is no agreement
        raise ExportCheckFailed(
            f"The exported model's answers moved by up to {difference:.2e} in probability on the {source} "
            f"(allowed {tolerance:.0e}); the export was not kept. Report this with your torch version."
        )
    return {"verified": True, "max_difference": difference, "tolerance": tolerance, "checked_with": source}
