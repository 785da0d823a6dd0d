"""Hostile and broken inputs: no file, checkpoint or fault can run code, hang a batch, crash a run or lose
a result. Each test makes its hostile input itself. No Qt here."""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from resnet_gui.cli import main
from resnet_gui.core import atomic_write
from resnet_gui.core.errors import CheckpointError
from resnet_gui.core.images.files import ImageDecodeError, discover, load_rgb
from resnet_gui.core.images.folders import scan_class_folder
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.checkpoints import checkpoint_payload, read_checkpoint, write_checkpoint
from resnet_gui.core.models.files import last_path_for
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.training.saver import OutputLock
from tests.support import TINY, make_shapes_dataset, save_noise, tiny_model

ROOT = Path(__file__).resolve().parents[2]  # the project's folder
POSTSCRIPT = b"%!PS-Adobe-3.0\n%%BoundingBox: 0 0 10 10\n(MARKER) (w) file closefile\nshowpage\n"


def run_cli(capsys, *args):
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit:  # argparse refuses a value before main() runs anything
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.name.endswith(".tmp"))


def cli_env(tmp_path: Path) -> dict:
    return {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "cfg"),
            "XDG_STATE_HOME": str(tmp_path / "state"), "PYTHONPATH": str(ROOT)}


# ---------------------------------------------------------------- security
def test_postscript_named_jpg_is_never_handed_to_ghostscript(tmp_path, capsys, tiny_checkpoint, monkeypatch):
    from PIL import EpsImagePlugin

    opened = []
    monkeypatch.setattr(EpsImagePlugin, "Ghostscript", lambda *a, **k: opened.append("gs"))
    monkeypatch.setattr(EpsImagePlugin.EpsImageFile, "_open", lambda self: opened.append("eps"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "photo.jpg").write_bytes(POSTSCRIPT)
    (tmp_path / "doc.eps").write_bytes(POSTSCRIPT)
    with pytest.raises(ImageDecodeError, match="not a picture the app reads"):
        load_rgb(tmp_path / "photo.jpg")
    code, out, err = run_cli(capsys, "classify", tmp_path / "photo.jpg", "--checkpoint", tiny_checkpoint, "--json")
    row = json.loads(out.splitlines()[0])
    assert code == 1 and row["top_k"] == [] and "not a picture the app reads" in row["error"]
    assert opened == [] and not (tmp_path / "MARKER").exists()
    assert [p.name for p in discover([tmp_path]).files] == ["photo.jpg"]  # .eps is not even listed


def test_every_image_open_in_the_app_has_an_allow_list():
    for path in (ROOT / "resnet_gui").rglob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if "Image.open(" in line:
                assert "formats=" in line, f"{path.name}: {line.strip()}"


# ---------------------------------------------------------------- nothing hangs
def test_a_named_pipe_is_listed_not_read(tmp_path, capsys, tiny_checkpoint):
    folder = tmp_path / "imgs"
    save_noise(folder / "a.png")
    os.mkfifo(folder / "pipe.jpg")
    with pytest.raises(ImageDecodeError, match="not a regular file"):
        load_rgb(folder / "pipe.jpg")  # returns at once instead of waiting for a writer
    found = discover([folder, folder / "pipe.jpg"])
    assert [p.name for p in found.files] == ["a.png"]
    why_not = "not a regular file (a pipe, device or socket)"
    assert [(p.name, why) for p, why in found.skipped] == [("pipe.jpg", why_not)] * 2
    started = time.perf_counter()
    code, out, err = run_cli(capsys, "classify", folder, "--checkpoint", tiny_checkpoint, "--json")
    assert code == 0 and time.perf_counter() - started < 30
    assert "pipe.jpg: not a regular file" in err


def test_pipes_and_folder_links_in_a_training_folder(tmp_path, capsys, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "d", per_class=4)
    os.mkfifo(data / "red" / "pipe.png")
    os.symlink(data / "green", data / "red" / "alias")  # a folder link inside the tree
    os.symlink(tmp_path, data / "blue" / "outside")  # a folder link out of the tree (and a loop)
    os.symlink(data / "green" / "green_000.png", data / "blue" / "twice.png")  # a file reached twice
    os.symlink(data / "blue", data / "blue2")  # a class folder that is a link
    scan = scan_class_folder(data)
    paths = [p for p, _ in scan.train]
    assert scan.classes == ["blue", "green", "red"] and len(paths) == 12 == len({os.path.realpath(p) for p in paths})
    reasons = {Path(p).name: why for p, why in scan.skipped}
    assert set(reasons) == {"pipe.png", "alias", "outside", "twice.png", "blue2"}
    assert "not a regular file" in reasons["pipe.png"] and "not followed" in reasons["alias"]
    code, out, err = run_cli(capsys, "evaluate", data, "--checkpoint", tiny_checkpoint, "--json")
    assert code == 0 and json.loads(out.splitlines()[-1])["samples"] == 12
    assert "pipe.png" in err and "twice.png" in err


def test_a_symlink_loop_is_a_skip_not_a_crash(tmp_path, capsys, tiny_checkpoint):
    folder = tmp_path / "imgs"
    save_noise(folder / "a.png")
    os.symlink("loop.png", folder / "loop.png")
    os.symlink(".", folder / "here")
    code, out, err = run_cli(capsys, "classify", folder, folder / "loop.png", "--checkpoint", tiny_checkpoint,
                             "--json")
    assert code == 0 and len([line for line in out.splitlines() if '"path"' in line]) == 1
    assert "loop.png: a link that points nowhere" in err and "here: a link to a folder" in err


def test_any_decoder_failure_is_that_files_row(tmp_path, monkeypatch):
    from PIL import PngImagePlugin

    save_noise(tmp_path / "a.png")

    def broken_plugin(self):
        raise RuntimeError("Failed to decode frame 0")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", broken_plugin)
    with pytest.raises(ImageDecodeError, match="Failed to decode frame 0"):
        load_rgb(tmp_path / "a.png")


@pytest.mark.skipif("AVIF" not in Image.registered_extensions().values(), reason="no AVIF decoder here")
def test_a_truncated_avif_is_skipped_in_training(tmp_path, capsys):
    data = make_shapes_dataset(tmp_path / "d", per_class=5)
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), 128, np.uint8)).save(buffer, format="AVIF")
    (data / "red" / "cut.avif").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    code, out, err = run_cli(capsys, "train", data, "--weights", "none", "--epochs", "1", "--image-size", "32",
                             "--out", tmp_path / "m.pt", "--json")
    assert code == 0
    event = next(e for e in map(json.loads, out.splitlines()) if e["event"] == "data")
    assert any(s["path"].endswith("cut.avif") for s in event["skipped"])


def test_fuzzed_images_each_get_exactly_one_row(tmp_path):
    """A few hundred seeded mutations of small PNG, JPEG and TIFF files through load_rgb and a Predictor."""
    rng = np.random.default_rng(0)
    seeds = []
    for fmt in ("PNG", "JPEG", "TIFF"):
        buffer = io.BytesIO()
        Image.fromarray(rng.integers(0, 255, (24, 20, 3), dtype=np.uint8)).save(buffer, format=fmt)
        seeds.append((fmt.lower(), buffer.getvalue()))
    paths = []
    for i in range(300):
        suffix, data = seeds[i % 3]
        mutant = bytearray(data)
        for _ in range(int(rng.integers(1, 8))):
            kind = rng.integers(0, 3)
            at = int(rng.integers(0, len(mutant)))
            if kind == 0:
                mutant[at] = int(rng.integers(0, 256))
            elif kind == 1:
                del mutant[at: at + int(rng.integers(1, 16))]
            else:
                mutant[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
        path = tmp_path / f"m{i:03d}.{suffix}"
        path.write_bytes(bytes(mutant))
        paths.append(path)
    for path in paths:
        try:
            load_rgb(path)
        except ImageDecodeError:
            pass  # the only exception allowed out
    checkpoint = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=["a", "b", "c"], small_input=True, preprocessing=TINY))
    rows = Predictor(load_checkpoint_bundle(checkpoint), device="cpu", batch_size=16).predict_all(paths)
    assert [r.path for r in rows] == [str(p) for p in paths]
    assert all((r.error is None) == bool(r.top_k) for r in rows)


def test_names_that_are_not_utf8_round_trip(tmp_path, capsys, tiny_checkpoint):
    folder = tmp_path / "imgs"
    save_noise(folder / "plain.png")
    raw = os.fsencode(folder) + b"/caf\xe9 \xff.png"
    with open(raw, "wb") as stream:
        stream.write((folder / "plain.png").read_bytes())
    code, out, err = run_cli(capsys, "classify", folder, "--checkpoint", tiny_checkpoint, "--json",
                             "--csv", tmp_path / "out.csv")
    assert code == 0
    out.encode("utf-8")  # what was printed is valid UTF-8
    rows = [json.loads(line) for line in out.splitlines() if '"path"' in line]
    assert sorted(os.fsencode(r["path"]) for r in rows) == sorted([raw, os.fsencode(folder / "plain.png")])
    with open(tmp_path / "out.csv", encoding="utf-8", errors="surrogateescape") as stream:
        text = stream.read()
    assert os.fsdecode(raw) in text and len(text.splitlines()) == 3
    code, out, err = run_cli(capsys, "classify", folder, "--checkpoint", tiny_checkpoint)
    assert code == 0 and "caf\\xe9 \\xff.png" in out  # the table shows the bytes it cannot decode


def test_a_report_with_a_name_that_is_not_utf8(tmp_path, capsys, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "d", per_class=2)
    with open(os.fsencode(data / "red") + b"/r\xe9d.png", "wb") as stream:
        stream.write(next((data / "red").iterdir()).read_bytes())
    code, out, err = run_cli(capsys, "evaluate", data, "--checkpoint", tiny_checkpoint, "--report", tmp_path / "rep")
    assert code == 0 and leftovers(tmp_path) == []
    page = (tmp_path / "rep" / "index.html").read_text(encoding="utf-8")
    assert "Evaluation report" in page


# ---------------------------------------------------------------- checkpoints that lie
def own_payload(**changes):
    payload = checkpoint_payload(model=tiny_model(), arch="resnet18", classes=["red", "green", "blue"],
                                 small_input=True, preprocessing=TINY)
    payload.update(changes)
    return payload


def nan_weights():
    payload = own_payload()
    payload["state_dict"]["layer1.0.conv1.weight"][0, 0, 0, 0] = float("nan")
    return payload


def zero_class_head():
    model = tiny_model(num_classes=1)
    payload = own_payload()
    payload["state_dict"]["fc.weight"] = model.fc.weight.detach()[:0]
    payload["state_dict"]["fc.bias"] = model.fc.bias.detach()[:0]
    return payload


LIARS = {
    "nan weights": (nan_weights, "NaN"),
    "inf bias": (lambda: {**own_payload(), "state_dict": {**own_payload()["state_dict"],
                                                          "fc.bias": torch.full((3,), float("inf"))}},
                 "NaN or infinite"),
    "zero std": (lambda: own_payload(std=[0.2, 0.0, 0.2]), "standard deviation"),
    "negative temperature": (lambda: own_payload(temperature=-1.0), "temperature"),
    "zero temperature": (lambda: own_payload(temperature=0.0), "temperature"),
    "nan temperature": (lambda: own_payload(temperature=float("nan")), "temperature"),
    "threshold above 1": (lambda: own_payload(calibration={"unsure_below": 3.0}), "threshold"),
    "classes not a list": (lambda: own_payload(classes=5), "class names"),
    "class not a string": (lambda: own_payload(classes=["red", 2, "blue"]), "class names"),
    "size is text": (lambda: own_payload(image_size="224"), "input size"),
    "huge image size": (lambda: own_payload(image_size=100_000, resize=100_000), "input size"),
    "two means": (lambda: own_payload(mean=[0.5, 0.5]), "mean"),
    "version -1": (lambda: own_payload(version=-1), "version"),
    "history not a list": (lambda: own_payload(history=3), "history"),
    "golden of another size": (lambda: own_payload(golden={"inputs": torch.zeros(2, 3, 8, 8, dtype=torch.uint8),
                                                           "logits": torch.zeros(2, 3)}), "golden"),
    "zero-class head": (zero_class_head, "no classes"),
    "a string among the weights": (lambda: {**own_payload(), "state_dict": {**own_payload()["state_dict"],
                                                                           "fc.bias": "oops"}}, "not a tensor"),
}


@pytest.mark.parametrize("name", sorted(LIARS))
def test_a_checkpoint_that_lies_is_refused_with_a_sentence(name, tmp_path, capsys, image_folder):
    make, words = LIARS[name]
    path = tmp_path / "liar.pt"
    torch.save(make(), path)
    with pytest.raises(CheckpointError, match=words):
        read_checkpoint(path)
    for command in (["info", path], ["classify", image_folder, "--checkpoint", path, "--json"],
                    ["export", path, "--format", "torchscript", "--out", tmp_path / "x.ts"]):
        code, out, err = run_cli(capsys, *command)
        assert code == 2 and err.startswith("resnet-gui: ") and "Traceback" not in err, (command, err)
        assert "NaN" not in out and "Infinity" not in out
    assert not (tmp_path / "x.ts").exists()


def test_a_class_list_that_is_not_utf8(tmp_path, capsys):
    path = tmp_path / "bare.pt"
    torch.save(tiny_model().state_dict(), path)
    (tmp_path / "classes.txt").write_bytes(b"r\xe9d\ngreen\nblue\n")
    code, out, err = run_cli(capsys, "info", path)
    assert code == 2 and "not UTF-8" in err


def test_a_zip_bomb_checkpoint_is_refused_before_it_is_inflated(tmp_path, capsys):
    path = tmp_path / "bomb.pt"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bomb/data.pkl", b"\x80\x02}q\x00.")
        archive.writestr("bomb/data/0", bytes(64 * 1024**2))  # 64 MB of zeros in a file of 64 kB
    assert path.stat().st_size < 1024**2
    code, out, err = run_cli(capsys, "info", path)
    assert code == 2 and "more memory than any ResNet checkpoint needs" in err


def test_an_image_size_beyond_reason_is_refused(capsys, tiny_checkpoint, image_folder):
    code, out, err = run_cli(capsys, "classify", image_folder, "--checkpoint", tiny_checkpoint,
                             "--image-size", "100000")
    assert code == 2 and "out of range" in err


def test_start_weights_of_another_architecture_are_refused(tmp_path, capsys):
    from resnet_gui.core.models.resnets import build_model
    from resnet_gui.core.training.settings import TrainSettings
    from resnet_gui.core.training.setup import load_start_weights

    torch.manual_seed(0)
    path = write_checkpoint(tmp_path / "r34.pt", checkpoint_payload(
        model=build_model("resnet34", 2, small_input=True), arch="resnet34", classes=["a", "b"], small_input=True,
        preprocessing=TINY))
    with pytest.raises(CheckpointError, match=r"holds a ResNet-34 \(resnet34\), not the ResNet-18 chosen"):
        load_start_weights(TrainSettings(arch="resnet18", weights=str(path)))
    data = make_shapes_dataset(tmp_path / "d", per_class=2)
    code, out, err = run_cli(capsys, "train", data, "--arch", "resnet18", "--weights", path, "--out", tmp_path / "o.pt")
    assert code == 2 and "resnet34" in err and not (tmp_path / "o.pt").exists()


# ---------------------------------------------------------------- faults never lose work
def test_kill_9_mid_run_leaves_a_state_that_resumes(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=6)
    out = tmp_path / "m.pt"
    command = [sys.executable, "-m", "resnet_gui", "train", str(data), "--weights", "none", "--epochs", "4",
               "--image-size", "32", "--batch-size", "4", "--out", str(out), "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=cli_env(tmp_path))
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "batch" and event["epoch"] == 2:
            process.send_signal(signal.SIGKILL)  # in epoch 2 of 4
            break
    process.wait(60)
    last = last_path_for(out)
    assert last.exists() and read_checkpoint(last).extra["resume"]["epoch"] == 1
    assert leftovers(tmp_path) == []
    code = main(["train", "--resume", str(last), "--out", str(out), "--json", "--keep-last"])
    assert code == 0 and len(read_checkpoint(out).history) + 0 >= 1
    assert read_checkpoint(last).extra["resume"]["epoch"] == 4


def test_two_runs_cannot_write_the_same_model(tmp_path, capsys):
    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    out = tmp_path / "m.pt"
    with OutputLock(out):
        code, _, err = run_cli(capsys, "train", data, "--weights", "none", "--epochs", "1", "--image-size", "32",
                               "--out", out)
    assert code == 2 and "Another training run is writing" in err and not out.exists()
    with OutputLock(out):
        pass  # released: the next run may write
    assert not (tmp_path / ".m.pt.lock").exists()


def test_a_closed_stdout_does_not_cost_the_csv(tmp_path, tiny_checkpoint):
    folder = tmp_path / "imgs"
    for i in range(40):
        save_noise(folder / f"{i:02d}.png", seed=i)
    csv_path = tmp_path / "out.csv"
    process = subprocess.Popen(
        [sys.executable, "-m", "resnet_gui", "classify", str(folder), "--checkpoint", str(tiny_checkpoint),
         "--csv", str(csv_path), "--json", "--batch-size", "4"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=cli_env(tmp_path))
    process.stdout.readline()  # `| head -1`
    process.stdout.close()
    process.wait(120)
    stderr = process.stderr.read().decode()
    assert process.returncode == 141, stderr
    assert len(csv_path.read_text(encoding="utf-8").splitlines()) == 41 and "Traceback" not in stderr


def test_a_folder_as_the_csv_path_is_refused_before_work(tmp_path, capsys, tiny_checkpoint, image_folder):
    code, out, err = run_cli(capsys, "classify", image_folder, "--checkpoint", tiny_checkpoint, "--csv", tmp_path)
    assert code == 2 and str(tmp_path) in err and "is a folder" in err and out == ""


@pytest.mark.parametrize("target", ["csv", "out", "explain", "export"])
def test_read_only_targets_are_refused_before_work(target, tmp_path, capsys, tiny_checkpoint, image_folder,
                                                   monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(atomic_write.os, "access",
                        lambda p, mode: False if Path(p) == locked else real_access(p, mode))
    picture = next(image_folder.glob("*.png"))
    data = make_shapes_dataset(tmp_path / "d", per_class=2)
    command = {
        "csv": ["classify", image_folder, "--checkpoint", tiny_checkpoint, "--csv", locked / "r.csv"],
        "out": ["train", data, "--weights", "none", "--epochs", "1", "--out", locked / "m.pt"],
        "explain": ["explain", picture, "--checkpoint", tiny_checkpoint, "--out", locked / "cam.png"],
        "export": ["export", tiny_checkpoint, "--format", "torchscript", "--out", locked / "m.ts"],
    }[target]
    code, out, err = run_cli(capsys, *command)
    assert code == 2 and str(locked) in err and "read-only" in err
    assert list(locked.iterdir()) == []


def test_a_full_disk_is_a_sentence_and_leaves_nothing(tmp_path, capsys, tiny_checkpoint, image_folder, monkeypatch):
    target = tmp_path / "r.csv"
    target.write_text("the old results\n", encoding="utf-8")

    def full(path):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic_write, "_fsync_file", full)
    code, out, err = run_cli(capsys, "classify", image_folder, "--checkpoint", tiny_checkpoint, "--csv", target)
    assert code == 2 and "disk is full" in err and str(target) in err
    assert target.read_text(encoding="utf-8") == "the old results\n" and leftovers(tmp_path) == []


# ---------------------------------------------------------------- arguments and exit codes
def test_evaluate_with_unreadable_files_exits_1(tmp_path, capsys, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    (data / "red" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    code, out, err = run_cli(capsys, "evaluate", data, "--checkpoint", tiny_checkpoint)
    assert code == 1 and "broken.png" in err


BAD_ARGUMENTS = [
    ["--lr", "inf"], ["--lr", "1e30"], ["--lr", "0"], ["--label-smoothing", "2"], ["--label-smoothing", "-1"],
    ["--weight-decay", "-1"], ["--weight-decay", "nan"], ["--workers", "-1"], ["--seed", "-1"],
    ["--seed", str(2**70)], ["--patience", "-1"], ["--epochs", "0"], ["--image-size", "100000"],
]


@pytest.mark.parametrize("bad", BAD_ARGUMENTS, ids=lambda a: " ".join(a))
def test_bad_training_arguments_are_exit_2_with_a_sentence(bad, tmp_path, capsys, monkeypatch):
    from resnet_gui.core.images import datasets as data_module

    monkeypatch.setattr(data_module, "prepare_data", lambda *a, **k: pytest.fail("images were read"))
    folder = make_shapes_dataset(tmp_path / "d", per_class=2)
    code, out, err = run_cli(capsys, "train", folder, "--weights", "none", "--out", tmp_path / "m.pt", *bad)
    assert code == 2 and "Traceback" not in err and err.strip(), err
    assert not (tmp_path / "m.pt").exists()


def test_a_validation_folder_with_other_classes(tmp_path, capsys):
    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    val = make_shapes_dataset(tmp_path / "v", per_class=2, classes=("red", "cat"))
    code, out, err = run_cli(capsys, "train", data, "--val-dir", val, "--weights", "none", "--out", tmp_path / "m.pt")
    assert code == 2 and "cat" in err and "lacks" in err


def test_stderr_holds_only_the_apps_sentences(tmp_path, tiny_checkpoint):
    folder = tmp_path / "imgs"
    save_noise(folder / "a.png")
    palette = Image.new("P", (20, 20))
    palette.info["transparency"] = b"\x00" * 4  # Pillow warns about palette transparency given as bytes
    palette.save(folder / "p.png")
    bad_exif = Image.new("RGB", (20, 20))
    bad_exif.save(folder / "e.jpg", exif=b"Exif\x00\x00II*\x00\x08\x00\x00\x00\xff\xff")
    (folder / "x.tif").write_bytes(b"II*\x00" + b"\x00" * 40)
    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    commands = ([sys.executable, "-m", "resnet_gui", "classify", str(folder), "--checkpoint", str(tiny_checkpoint)],
                [sys.executable, "-m", "resnet_gui", "train", str(data), "--weights", "none", "--epochs", "1",
                 "--image-size", "32", "--out", str(tmp_path / "m.pt"), "--json"])
    runs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(tmp_path))
            for c in commands]  # side by side: each starts torch
    (_, classified), (_, trained) = (run.communicate(timeout=180) for run in runs)
    lines = [line for line in classified.splitlines() if line.strip()]
    assert lines and all(line.startswith(("resnet-gui: ", "  ")) or " classified with " in line for line in lines), \
        classified
    assert runs[1].returncode == 0 and "leaked" not in trained and "Warning" not in trained, trained


def test_classify_resume_after_a_kill_finishes_the_csv(tmp_path, capsys, tiny_checkpoint):
    """A run over many pictures killed mid-way goes on with --resume: every file exactly once, no half row."""
    folder = tmp_path / "imgs"
    for i in range(48):
        save_noise(folder / f"{i:02d}.png", seed=i)
    csv_path = tmp_path / "out.csv"
    command = [sys.executable, "-m", "resnet_gui", "classify", str(folder), "--checkpoint", str(tiny_checkpoint),
               "--csv", str(csv_path), "--resume", "--json", "--batch-size", "4", "--workers", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=cli_env(tmp_path))
    for count, _ in enumerate(process.stdout, 1):
        if count == 12:  # three batches in
            process.send_signal(signal.SIGKILL)
            break
    process.wait(60)
    with open(csv_path, "ab") as stream:
        stream.write(b"/half/a/row.png,red,0.5")  # as if the kill had cut a row short
    code, out, err = run_cli(capsys, "classify", folder, "--checkpoint", tiny_checkpoint, "--csv", csv_path,
                             "--resume", "--batch-size", "4")
    assert code == 0 and "already" in err
    rows = list(csv.reader(csv_path.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[0][0] == "path" and sum(r[0] == "path" for r in rows) == 1
    paths = [r[0] for r in rows[1:]]
    assert sorted(paths) == sorted(str(p) for p in folder.iterdir()) and len(paths) == len(set(paths)) == 48
    assert all(len(r) == len(rows[0]) for r in rows)
    code, out, err = run_cli(capsys, "classify", folder, "--checkpoint", tiny_checkpoint, "--csv", csv_path,
                             "--resume")
    assert code == 0 and "48 file(s) are in" in err and len(csv_path.read_text(encoding="utf-8").splitlines()) == 49


def test_resume_needs_a_csv(capsys, tiny_checkpoint, image_folder):
    code, out, err = run_cli(capsys, "classify", image_folder, "--checkpoint", tiny_checkpoint, "--resume")
    assert code == 2 and "--csv" in err
