"""A checkpoint OpenVINO has run once starts again without importing torch, and answers as PyTorch's start of
it did; whatever that start cannot do, or a record that no longer matches, starts as before."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from resnet_gui.cli import main
from resnet_gui.core.inference import openvino_files, ready_start
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.ready_start import STARTED_WITHOUT_TORCH, ReadyModel, can_start_ready
from tests.support import save_noise

pytestmark = pytest.mark.skipif(not openvino_files.openvino_installed(), reason="OpenVINO is not installed")

ROOT = Path(__file__).resolve().parents[3]

# `classify` in a fresh process, as a user starts it, saying at the end whether it imported torch
FRESH_CLASSIFY = ("import sys\nfrom resnet_gui.cli import main\ncode = main(sys.argv[1:])\n"
                  "print('torch imported:', 'torch' in sys.modules, file=sys.stderr)\nsys.exit(code)\n")


def rows(path: Path) -> list[dict]:
    with open(path, encoding="utf-8-sig", newline="") as file:
        return list(csv.DictReader(file))


def pictures(tmp_path: Path, data: Path) -> Path:
    """The trained classes' pictures, some noise, which the familiarity fit should find unlike them, and a file
    that is not a picture."""
    folder = tmp_path / "to classify"
    shutil.copytree(data, folder / "shapes")
    for i in range(6):
        save_noise(folder / "noise" / f"{i}.png", seed=100 + i)
    (folder / "noise" / "broken.png").write_bytes(b"not a picture")
    return folder


def test_a_second_start_needs_no_torch_and_answers_as_the_first(colour_model, tmp_path, capsys):
    data, result = colour_model
    checkpoint = tmp_path / "model.pt"
    shutil.copyfile(result.best_path, checkpoint)
    folder = pictures(tmp_path, data)
    # the first start: PyTorch's, which runs the model with OpenVINO and remembers it
    assert main(["classify", str(folder), "--checkpoint", str(checkpoint), "--runtime", "openvino",
                 "--csv", str(tmp_path / "first.csv")]) == 1  # the broken file
    assert "started from the cache" not in capsys.readouterr().err
    assert ReadyModel.find(checkpoint) is not None

    home = tmp_path / "home"  # where OpenVINO's telemetry would write, were it on
    done = subprocess.run([sys.executable, "-c", FRESH_CLASSIFY, "classify", str(folder), "--checkpoint",
                           str(checkpoint), "--runtime", "auto", "--csv", str(tmp_path / "second.csv"), "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(home)})
    assert done.returncode == 1, done.stderr
    assert "torch imported: False" in done.stderr
    summary = json.loads(done.stdout.splitlines()[-1])["summary"]
    assert summary["runtime"].startswith("OpenVINO") and summary["runtime"].endswith(STARTED_WITHOUT_TORCH)
    assert summary["files"] == 49 and summary["failed"] == 1 and summary["unfamiliar"] >= 1
    assert not (home / "intel").exists()

    first, second = rows(tmp_path / "first.csv"), rows(tmp_path / "second.csv")
    assert [r["path"] for r in second] == [r["path"] for r in first]
    assert [r["verdict"] for r in second] == [r["verdict"] for r in first]  # unfamiliar and unsure alike
    assert [r["error"] for r in second] == [r["error"] for r in first] and any(r["error"] for r in second)
    assert [[r[f"label_{k}"] for k in (1, 2, 3)] for r in second] == [[r[f"label_{k}"] for k in (1, 2, 3)]
                                                                     for r in first]
    largest = max(abs(float(a[f"prob_{k}"]) - float(b[f"prob_{k}"])) for a, b in zip(first, second, strict=True)
                  if not a["error"] for k in (1, 2, 3))
    assert largest <= 2e-6
    assert any(r["verdict"] == "unfamiliar" for r in second)


def test_what_the_start_without_torch_cannot_do_starts_as_before(tiny_checkpoint, image_folder, tmp_path,
                                                                  monkeypatch, capsys):
    plain = PredictOptions(device="cpu", runtime="auto")
    assert can_start_ready(plain, checkpoint=tiny_checkpoint)
    assert not can_start_ready(plain, checkpoint=None)  # ImageNet weights
    assert not can_start_ready(replace(plain, tta="flip"), checkpoint=tiny_checkpoint)
    assert not can_start_ready(replace(plain, runtime="torch"), checkpoint=tiny_checkpoint)
    assert not can_start_ready(replace(plain, device="cuda"), checkpoint=tiny_checkpoint)
    assert not can_start_ready(plain, checkpoint=tiny_checkpoint, classes_file="names.txt")
    assert not can_start_ready(plain, checkpoint=tiny_checkpoint, image_size=64)
    with monkeypatch.context() as patched:  # not monkeypatch.undo(): that would undo conftest's cache folder too
        patched.setattr(ready_start, "accelerator_present", lambda: True)
        assert not can_start_ready(replace(plain, device="auto"), checkpoint=tiny_checkpoint)  # torch takes the GPU

    command = ["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--runtime", "openvino",
               "--no-amp", "--json"]
    main(command)
    capsys.readouterr()
    ready = ReadyModel.find(tiny_checkpoint, amp=False)
    assert ready is not None and ReadyModel.find(tiny_checkpoint, amp=True) is None  # another precision
    assert ready.precision == "f32" and ready.classes == ["red", "green", "blue"]

    def summary_after(*more) -> dict:
        main([*command, *more])
        return json.loads(capsys.readouterr().out.splitlines()[-1])["summary"]

    assert summary_after()["runtime"].endswith(STARTED_WITHOUT_TORCH)
    assert not summary_after("--tta", "flip")["runtime"].endswith(STARTED_WITHOUT_TORCH)

    def cannot_compile(*args, **kwargs):
        raise RuntimeError("no CPU plugin")

    with monkeypatch.context() as patched:
        patched.setattr(ready_start, "compile_for_cpu", cannot_compile)  # PyTorch's start says how it went
        assert summary_after()["runtime"].startswith("OpenVINO float32 on the CPU (")

    record = ready_start.ready_dir() / f"{ready_start.checkpoint_digest(tiny_checkpoint)}.f32.json"
    data = json.loads(record.read_text(encoding="utf-8"))
    record.write_text(json.dumps({**data, "openvino": "2020.1"}), encoding="utf-8")  # another OpenVINO made it
    assert ReadyModel.find(tiny_checkpoint, amp=False) is None
    assert not summary_after()["runtime"].endswith(STARTED_WITHOUT_TORCH)  # PyTorch's start, which keeps it anew
    assert json.loads(record.read_text(encoding="utf-8")) == data
    assert summary_after()["runtime"].endswith(STARTED_WITHOUT_TORCH)
    with open(tiny_checkpoint, "ab") as file:  # the file changed: another model for all the cache knows
        file.write(b"\0")
    assert ReadyModel.find(tiny_checkpoint, amp=False) is None


def test_watch_starts_without_torch_too(tiny_checkpoint, image_folder, tmp_path, capsys):
    main(["watch", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--runtime", "openvino", "--csv",
          str(tmp_path / "first.csv"), "--settle", "0.2", "--stop-after-idle", "0.3"])  # PyTorch's start remembers
    capsys.readouterr()
    done = subprocess.run([sys.executable, "-c", FRESH_CLASSIFY, "watch", str(image_folder), "--checkpoint",
                           str(tiny_checkpoint), "--runtime", "openvino", "--csv", str(tmp_path / "second.csv"),
                           "--settle", "0.2", "--stop-after-idle", "0.3"],
                          capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 1, done.stderr  # its broken file, as in the first start
    assert "torch imported: False" in done.stderr and "4 picture(s) classified while watching" in done.stderr
    first, second = rows(tmp_path / "first.csv"), rows(tmp_path / "second.csv")
    assert sorted((r["path"], r["label_1"], r["error"]) for r in second) == \
        sorted((r["path"], r["label_1"], r["error"]) for r in first)
