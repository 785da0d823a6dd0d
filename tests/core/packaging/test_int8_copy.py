"""INT8 copies: quantized on the user's pictures, measured on others, refused below 98% agreement, and opened
like any checkpoint (the INT8 model after its golden check on a CPU with OpenVINO, the float weights elsewhere)."""

from __future__ import annotations

import pytest
import torch

from resnet_gui.cli import main
from resnet_gui.core.errors import UserError
from resnet_gui.core.inference import openvino_runtime
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.checkpoints import read_checkpoint, write_checkpoint
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.packaging import int8
from resnet_gui.core.packaging.card import model_card

# in the [test] extra; not importorskip: that would import openvino with its telemetry on
pytestmark = pytest.mark.skipif(not (openvino_runtime.openvino_installed() and int8.nncf_installed()),
                                reason="OpenVINO or NNCF is not installed")


@pytest.fixture(scope="module")
def int8_copy(colour_model, tmp_path_factory):
    data, result = colour_model
    out = tmp_path_factory.mktemp("int8") / "colours-int8.pt"
    copy = int8.make_int8_copy(load_checkpoint_bundle(result.best_path), out, folder=str(data))
    return data, result, copy


def test_the_copy_is_measured_on_pictures_it_was_not_calibrated_on_and_keeps_what_it_measured(int8_copy):
    data, result, copy = int8_copy
    pictures = sum(1 for _ in data.rglob("*.png"))
    assert copy.calibration_pictures + copy.held_out == pictures  # half each: none measured was calibrated on
    assert copy.agreement >= int8.MIN_AGREEMENT and copy.float_accuracy is not None
    saved = read_checkpoint(copy.path)
    original = read_checkpoint(result.best_path)
    stored = saved.extra["int8"]
    assert stored["agreement"] == copy.agreement and stored["held_out"] == copy.held_out
    assert stored["xml"].startswith(b"<?xml") and len(stored["bin"]) > 0
    assert stored["golden_logits"].shape == original.extra["golden"]["logits"].shape
    # everything the original holds comes with it: the copy is a checkpoint like any other
    assert saved.classes == original.classes and saved.extra["temperature"] == original.extra["temperature"]
    assert all(torch.equal(saved.state_dict[k], v) for k, v in original.state_dict.items())
    card = model_card(load_checkpoint_bundle(copy.path))
    assert "INT8" in card and f"{copy.agreement:.1%}" in card


def test_the_copy_opens_as_int8_after_its_golden_check_and_answers_as_the_float_model(int8_copy):
    data, result, copy = int8_copy
    pictures = sorted(str(p) for p in data.rglob("*.png"))
    on_int8 = Predictor(load_checkpoint_bundle(copy.path), PredictOptions(device="cpu", runtime="auto"))
    assert on_int8.runtime_name == "OpenVINO INT8" and "on the copy's samples" in on_int8.runtime
    on_float = Predictor(load_checkpoint_bundle(result.best_path), PredictOptions(device="cpu", runtime="torch"))
    same = sum(a.best.label == b.best.label for a, b in zip(on_int8.predict_all(pictures),
                                                             on_float.predict_all(pictures), strict=True))
    assert same / len(pictures) >= int8.MIN_AGREEMENT


def test_a_copy_whose_golden_answers_moved_runs_its_float_weights_and_says_why(int8_copy, tmp_path):
    _, _, copy = int8_copy
    raw = torch.load(copy.path, weights_only=True)
    raw["int8"]["golden_logits"] = raw["int8"]["golden_logits"].flip(1) * 5  # other best classes
    write_checkpoint(tmp_path / "moved.pt", raw)
    predictor = Predictor(load_checkpoint_bundle(tmp_path / "moved.pt"), PredictOptions(device="cpu", runtime="auto"))
    assert predictor.openvino is None and predictor.runtime.startswith("PyTorch float32: the INT8 copy's answers")


def test_without_openvino_the_copy_runs_its_float_weights_and_says_so(int8_copy, monkeypatch):
    _, _, copy = int8_copy
    monkeypatch.setattr(openvino_runtime, "openvino_installed", lambda: False)
    predictor = Predictor(load_checkpoint_bundle(copy.path), PredictOptions(device="cpu", runtime="auto"))
    assert predictor.openvino is None and "an INT8 copy runs with OpenVINO, which is not installed" in predictor.runtime


def test_a_copy_below_the_agreement_bar_is_refused_and_nothing_is_written(colour_model, tmp_path, monkeypatch):
    data, result = colour_model
    monkeypatch.setattr(int8, "MIN_AGREEMENT", 1.01)  # no copy can agree on more than every picture
    with pytest.raises(UserError, match=r"The INT8 copy was not saved: it agreed with the float model on only"):
        int8.make_int8_copy(load_checkpoint_bundle(result.best_path), tmp_path / "refused.pt", folder=str(data))
    assert not (tmp_path / "refused.pt").exists() and list(tmp_path.iterdir()) == []


def test_the_command_line_makes_a_copy_or_says_what_is_wrong(capsys, colour_model, tmp_path):
    data, result = colour_model
    assert main(["export", str(result.best_path), "--format", "onnx", "--int8", "--out", str(tmp_path / "x.pt")]) == 2
    assert "use --format openvino --int8" in capsys.readouterr().err
    assert main(["export", str(result.best_path), "--format", "openvino", "--int8", "--out",
                 str(tmp_path / "x.xml"), "--calibration", str(data)]) == 2
    assert "give it a name ending in .pt" in capsys.readouterr().err
    assert main(["export", str(result.best_path), "--format", "openvino", "--int8", "--out",
                 str(tmp_path / "x.pt"), "--calibration", str(tmp_path / "nowhere")]) == 2
    assert "nowhere" in capsys.readouterr().err
    assert main(["export", str(result.best_path), "--format", "openvino", "--int8", "--out",
                 str(tmp_path / "c.pt"), "--calibration", str(data)]) == 0
    err = capsys.readouterr().err
    assert "INT8 copy written to" in err and "agrees with the float model on" in err
    assert read_checkpoint(tmp_path / "c.pt").extra["int8"]["held_out"] >= int8.MIN_HELD_OUT


def test_a_checkpoint_without_golden_samples_gets_no_copy_and_a_sentence(tiny_checkpoint, tmp_path):
    bundle = load_checkpoint_bundle(tiny_checkpoint)  # made by hand in the tests: no golden samples
    with pytest.raises(UserError, match="its golden samples check the copy each time it opens"):
        int8.make_int8_copy(bundle, tmp_path / "copy.pt", folder=str(tmp_path))


def test_the_copy_starts_without_torch_after_its_golden_check(int8_copy, tmp_path, capsys):
    """A copy run once with OpenVINO starts again without importing torch, its golden check run at that start
    too: answers that moved since send it back to PyTorch's start."""
    import json
    import os
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    import numpy as np

    from resnet_gui.core.inference import ready_start

    data, _, copy = int8_copy
    path = tmp_path / "copy.pt"
    shutil.copyfile(copy.path, path)
    command = ["classify", str(data), "--checkpoint", str(path), "--runtime", "auto", "--json"]
    assert main(command) == 0
    first = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first[-1]["summary"]["runtime"].startswith("OpenVINO INT8")
    probe = "import sys\nfrom resnet_gui.cli import main\ncode = main(sys.argv[1:])\nprint('torch' in sys.modules)\n"
    done = subprocess.run([sys.executable, "-c", probe, *command], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])})
    assert done.returncode == 0, done.stderr
    *second, started_torch = done.stdout.splitlines()
    second = [json.loads(line) for line in second]
    assert started_torch == "False"
    assert second[-1]["summary"]["runtime"] == f"{first[-1]['summary']['runtime']}, {ready_start.STARTED_WITHOUT_TORCH}"
    assert [r["top_k"][0]["label"] for r in second[:-1]] == [r["top_k"][0]["label"] for r in first[:-1]]

    golden = next(ready_start.ready_dir().glob(f"{ready_start.checkpoint_digest(path)}.*.golden.npz"))
    with np.load(golden) as arrays:
        inputs, logits = arrays["inputs"], arrays["logits"]
    np.savez(golden.with_suffix(".moved.npz"), inputs=inputs, logits=np.flip(logits, 1) * 5)
    os.replace(golden.with_suffix(".moved.npz"), golden)  # what it answered when made, changed
    assert main(command) == 0
    again = json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]["runtime"]
    assert again.startswith("OpenVINO INT8") and not again.endswith(ready_start.STARTED_WITHOUT_TORCH)
