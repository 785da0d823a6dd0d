import csv
import json
import subprocess
import sys

import pytest
import torch

from resnet_gui.cli import main
from tests.support import TINY, tiny_model


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_classify_json_lines_and_exit_code_1_when_a_file_fails(capsys, tiny_checkpoint, image_folder):
    code, out, err = run_cli(capsys, "classify", str(image_folder), "--checkpoint", str(tiny_checkpoint),
                             "--json", "--top-k", "2", "--batch-size", "2")
    assert code == 1
    lines = [json.loads(line) for line in out.splitlines()]
    rows = [line for line in lines if "path" in line]
    assert len(rows) == 6
    assert all(set(r) == {"path", "top_k", "error", "unsure", "unfamiliar"} for r in rows)
    broken = [r for r in rows if r["path"].endswith("broken.jpg")][0]
    assert broken["top_k"] == [] and broken["error"]
    good = [r for r in rows if r["error"] is None]
    assert len(good) == 5 and all(len(r["top_k"]) == 2 for r in good)
    assert {g["label"] for r in good for g in r["top_k"]} <= {"red", "green", "blue"}
    assert all(set(g) == {"label", "index", "prob"} for r in good for g in r["top_k"])
    summary = lines[-1]["summary"]
    assert (summary["files"], summary["classified"], summary["failed"], summary["skipped"]) == (6, 5, 1, 1)
    assert "skipped 1 file" in err


def test_classify_json_matches_the_model(capsys, tiny_checkpoint, tmp_path):
    from resnet_gui.core.images.files import load_rgb
    from resnet_gui.core.images.transforms import eval_transform
    from tests.support import save_noise

    path = save_noise(tmp_path / "one.png", seed=42)
    code, out, _ = run_cli(capsys, "classify", str(path), "--checkpoint", str(tiny_checkpoint), "--json",
                           "--top-k", "3", "--no-amp")
    assert code == 0
    row = json.loads(out.splitlines()[0])
    with torch.no_grad():
        probs = torch.softmax(tiny_model()(eval_transform(TINY)(load_rgb(path)).unsqueeze(0)), 1)[0]
    for guess in row["top_k"]:
        assert guess["prob"] == pytest.approx(probs[guess["index"]].item(), abs=1e-3)  # see test_inference.py


def test_classify_csv_is_written_whole(capsys, tiny_checkpoint, image_folder, tmp_path):
    out_csv = tmp_path / "out" / "results.csv"
    code, out, err = run_cli(capsys, "classify", str(image_folder), "--checkpoint", str(tiny_checkpoint),
                             "--csv", str(out_csv), "--top-k", "3")
    assert code == 1
    assert out_csv.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel reads it as UTF-8, as the window's export
    with out_csv.open(encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == ["path", "verdict", "label_1", "prob_1", "label_2", "prob_2", "label_3", "prob_3", "error"]
    assert all(r["verdict"] == r["label_1"] for r in rows if not r["error"])  # no threshold: never unsure
    assert len(rows) == 6
    good = [r for r in rows if not r["error"]]
    assert all(float(r["prob_1"]) >= float(r["prob_2"]) >= float(r["prob_3"]) for r in good)
    assert any("образец" in r["path"] for r in rows)
    assert "confidence" in out and "5 of 6 image(s) classified" in err
    assert not [p for p in out_csv.parent.iterdir() if p.suffix == ".tmp"]


@pytest.mark.parametrize("extra, amp", [((), True), (("--no-amp",), False)])
def test_classify_and_evaluate_pass_the_precision_choice_to_the_model(capsys, tiny_checkpoint, tmp_path, monkeypatch,
                                                                      extra, amp):
    from resnet_gui.core.inference import predictor as inference
    from tests.support import make_shapes_dataset

    asked = []
    policy_for = inference.policy_for
    monkeypatch.setattr(inference, "policy_for", lambda device, amp=True: asked.append(amp) or policy_for(device, amp))
    folder = make_shapes_dataset(tmp_path / "shapes", per_class=2)
    assert run_cli(capsys, "classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--json", *extra)[0] == 0
    assert run_cli(capsys, "evaluate", str(folder), "--checkpoint", str(tiny_checkpoint), "--json", *extra)[0] == 0
    assert asked == [amp, amp]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["classify", "{folder}", "--checkpoint", "{missing}"], "does not exist"),
        (["classify", "{folder}", "--checkpoint", "{ckpt}", "--arch", "resnet50"], "holds resnet18 weights"),
        (["classify", "{empty}", "--checkpoint", "{ckpt}"], "No images were found"),
        (["classify", "{folder}", "--checkpoint", "{ckpt}", "--device", "cuda:7"], "GPU|CUDA"),
        (["info", "{missing}"], "does not exist"),
    ],
)
def test_user_errors_exit_2_with_a_sentence(capsys, tiny_checkpoint, image_folder, tmp_path, argv, message):
    (tmp_path / "empty").mkdir()
    values = {"folder": str(image_folder), "missing": str(tmp_path / "nope.pt"), "ckpt": str(tiny_checkpoint),
              "empty": str(tmp_path / "empty")}
    code, out, err = run_cli(capsys, *[a.format(**values) for a in argv])
    assert code == 2
    assert pytest.importorskip("re").search(message, err)
    assert "Traceback" not in err


def test_usage_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["classify", "x.png", "--top-k", "zero"])
    assert info.value.code == 2
    assert "not a whole number" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["classify", "x.png", "--arch", "resnet9"])
    assert info.value.code == 2


def test_info_json_and_table(capsys, tiny_checkpoint):
    code, out, _ = run_cli(capsys, "info", str(tiny_checkpoint), "--json")
    assert code == 0
    data = json.loads(out)
    assert data["arch"] == "resnet18" and data["num_classes"] == 3 and data["classes"] == ["red", "green", "blue"]
    assert data["params"] == sum(p.numel() for p in tiny_model().parameters())
    assert data["image_size"] == 32 and data["small_input"] is True
    assert [s["blocks"] for s in data["stages"] if s["name"].startswith("layer")] == [2, 2, 2, 2]
    assert data["stages"][4]["output_shape"] == [1, 512, 4, 4]
    code, out, _ = run_cli(capsys, "info", str(tiny_checkpoint))
    assert code == 0
    assert "ResNet-18" in out and "layer4" in out and "1 x 512 x 4 x 4" in out and "small-input stem" in out


def test_unexpected_errors_are_logged_not_shown(capsys, tiny_checkpoint, image_folder, monkeypatch, tmp_path):
    from resnet_gui.core.inference import predictor as inference

    def explode(self, images):
        raise ZeroDivisionError("boom")

    monkeypatch.setattr(inference.Predictor, "outputs", explode)
    code, out, err = run_cli(capsys, "classify", str(image_folder), "--checkpoint", str(tiny_checkpoint))
    assert code == 3
    assert "Traceback" not in err and "unexpected error" in err
    log = tmp_path.parent / err.split("written to ")[1].split(";")[0]
    assert "ZeroDivisionError" in log.read_text()


def test_console_script_runs_as_a_process(tiny_checkpoint, image_folder):
    """The installed entry point: real exit codes and clean stderr."""
    good = [sys.executable, "-m", "resnet_gui", "classify", str(image_folder / "noise 0.png"),
            "--checkpoint", str(tiny_checkpoint), "--json"]
    bad = [sys.executable, "-m", "resnet_gui", "info", str(image_folder / "noise 0.png")]
    runs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in (good, bad)]
    (out, err), (_, bad_err) = (run.communicate(timeout=120) for run in runs)  # side by side: each starts torch
    assert runs[0].returncode == 0, err
    assert json.loads(out.splitlines()[0])["error"] is None
    assert runs[1].returncode == 2 and "Traceback" not in bad_err and "not a PyTorch checkpoint" in bad_err


def test_the_window_and_the_parser_do_not_import_torch():
    """torch takes seconds to import: the window must appear first (torch loads in a worker)."""
    code = ("import sys; import resnet_gui.cli as cli; cli.build_parser(); "
            "from resnet_gui.gui import app, main_window; "
            # what the Train tab calls on the GUI thread as a run starts (its name) or is saved (Save as…)
            "from resnet_gui.core.models import files; from resnet_gui.core.training import clock; "
            "from resnet_gui.core import summaries; "
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "False", done.stderr
