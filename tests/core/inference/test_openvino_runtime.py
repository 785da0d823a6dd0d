"""The inference runtime seam: OpenVINO answers a trained model's pictures with PyTorch's best class, its
converted model is cached, it falls back to PyTorch with one sentence, and it sends no telemetry."""

from __future__ import annotations

import sys
import time
from dataclasses import replace

import pytest
import torch

from resnet_gui.cli import main
from resnet_gui.core.inference import openvino_runtime
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.resnets import load_checkpoint_bundle

# in the [test] extra; a user's install may leave it out. Not importorskip: that imports openvino with its telemetry on
pytestmark = pytest.mark.skipif(not openvino_runtime.openvino_installed(), reason="OpenVINO is not installed")


def test_both_runtimes_give_the_same_best_class_on_a_trained_model(colour_model):
    data, result = colour_model
    bundle = load_checkpoint_bundle(result.best_path)
    pictures = sorted(str(p) for p in data.rglob("*.png"))
    on_torch = Predictor(bundle, PredictOptions(device="cpu", runtime="torch", amp=False)).predict_all(pictures)
    openvino = Predictor(bundle, PredictOptions(device="cpu", runtime="openvino"))
    assert openvino.openvino is not None and openvino.runtime.startswith("OpenVINO")
    on_openvino = openvino.predict_all(pictures)
    assert [p.best.label for p in on_openvino] == [p.best.label for p in on_torch]
    largest = max(abs(a.best.prob - b.best.prob) for a, b in zip(on_openvino, on_torch, strict=True))
    assert largest <= openvino_runtime.BF16_AGREEMENT
    # the familiarity check reads the pooled features OpenVINO answers beside the logits
    assert [p.unfamiliar for p in on_openvino] == [p.unfamiliar for p in on_torch]
    features = openvino.look(pictures[:4]).features
    assert features.shape == (4, bundle.model.fc.in_features) and torch.isfinite(torch.from_numpy(features)).all()


def test_the_converted_model_is_cached_by_its_weights(tiny_checkpoint):
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    first = Predictor(bundle, PredictOptions(device="cpu", runtime="openvino", amp=False))
    started = time.perf_counter()
    second = Predictor(bundle, PredictOptions(device="cpu", runtime="openvino", amp=False))
    assert first.openvino.converted_now or not second.openvino.converted_now
    assert not second.openvino.converted_now and time.perf_counter() - started < 2.0
    assert second.runtime.startswith("OpenVINO float32")
    cached = list(openvino_runtime.runtime_cache_dir().glob("*.xml"))
    assert cached and all(p.with_suffix(".bin").exists() for p in cached)
    assert not list(openvino_runtime.runtime_cache_dir().glob(".converting-*"))  # nothing half-written left


def test_it_falls_back_to_pytorch_with_one_sentence(tiny_checkpoint, monkeypatch):
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    with monkeypatch.context() as patched:  # not monkeypatch.undo(): it would undo conftest's folders too
        patched.setattr(openvino_runtime, "openvino_installed", lambda: False)
        predictor = Predictor(bundle, PredictOptions(device="cpu", runtime="auto"))
        assert predictor.openvino is None and "OpenVINO is not installed" in predictor.runtime
        assert openvino_runtime.OPENVINO_EXTRA in predictor.runtime

    def cannot(*args, **kwargs):
        raise RuntimeError("no such operation")

    monkeypatch.setattr(openvino_runtime, "OpenVinoForward", cannot)
    predictor = Predictor(bundle, PredictOptions(device="cpu", runtime="auto"))
    assert predictor.openvino is None and predictor.runtime.startswith("PyTorch: OpenVINO could not run this model")


def test_a_runtime_that_answers_otherwise_than_the_checkpoint_is_not_used(colour_model):
    _, result = colour_model
    bundle = load_checkpoint_bundle(result.best_path)
    golden = dict(bundle.checkpoint.extra["golden"])
    golden["logits"] = golden["logits"].flip(1)  # what the model answered when it was trained, changed
    tampered = replace(bundle, checkpoint=replace(bundle.checkpoint, extra={**bundle.checkpoint.extra,
                                                                             "golden": golden}))
    predictor = Predictor(tampered, PredictOptions(device="cpu", runtime="auto"))
    assert predictor.openvino is None and "differed from the checkpoint's" in predictor.runtime


def test_classify_says_which_runtime_ran(capsys, tiny_checkpoint, image_folder):
    code = main(["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--runtime", "openvino",
                 "--no-amp"])
    out, err = capsys.readouterr()
    assert code == 1 and "run by OpenVINO float32 on the CPU" in err
    code = main(["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--json"])
    out, err = capsys.readouterr()
    assert '"runtime": "PyTorch"' in out  # RESNET_GUI_RUNTIME=torch (conftest): the administrator's choice


def test_openvino_sends_and_writes_no_telemetry(tmp_path, monkeypatch):
    """OpenVINO's telemetry is its `openvino_telemetry` package, which ovc replaces by its own stub when the
    import fails: so every event, at `import openvino` and at each conversion, goes nowhere."""
    import torchvision

    monkeypatch.setenv("HOME", str(tmp_path))  # where the package would keep its consent and counters
    monkeypatch.delenv("CI", raising=False)  # OpenVINO turns its telemetry off in CI itself: this must hold on a PC
    ov = openvino_runtime.import_openvino()
    from openvino.tools.ovc import convert_impl, telemetry_utils

    assert sys.modules.get("openvino_telemetry") is None
    assert telemetry_utils.tm.__name__ == convert_impl.tm.__name__ == "openvino.tools.ovc.telemetry_stub"
    openvino_runtime.OpenVinoForward(torchvision.models.resnet18(num_classes=2).eval(), 32, tmp_path / "cache",
                                     "f32")
    assert ov.__version__ and (tmp_path / "cache").exists() and not (tmp_path / "intel").exists()


def test_export_for_openvino_writes_a_checked_ir_pair(capsys, colour_model, tmp_path):
    _, result = colour_model
    code = main(["export", str(result.best_path), "--format", "openvino", "--out", str(tmp_path / "cells")])
    _, err = capsys.readouterr()
    assert code == 0 and "Exported openvino model" in err
    xml, weights = tmp_path / "cells.xml", tmp_path / "cells.bin"
    assert xml.exists() and weights.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "cells.bin", "cells.xml", "cells.xml.json"]  # nothing half-written beside them
    import json

    side = json.loads((tmp_path / "cells.xml.json").read_text())
    assert side["model_format"] == "openvino" and side["golden_check"]["verified"]
    assert side["golden_check"]["checked_with"] == "golden samples"
    ov = openvino_runtime.import_openvino()
    compiled = ov.Core().compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    bundle = load_checkpoint_bundle(result.best_path)
    x = torch.randn(2, 3, 32, 32)
    with torch.inference_mode():
        expected = bundle.model.eval()(x)
    assert torch.allclose(torch.from_numpy(compiled(x.numpy())[compiled.output(0)]), expected, atol=1e-3)


def test_info_verify_says_which_runtime_runs_it_here(capsys, colour_model):
    _, result = colour_model
    assert main(["info", str(result.best_path), "--verify", "--runtime", "auto"]) == 0
    out, _ = capsys.readouterr()
    assert "golden samples give the stored outputs" in out and "On this CPU it runs with OpenVINO" in out
    assert main(["info", str(result.best_path), "--verify", "--json"]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["cpu_runtime"] == "PyTorch (chosen)"  # RESNET_GUI_RUNTIME=torch
