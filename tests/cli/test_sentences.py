"""Misleading successes, now a sentence and exit 2: a mistyped command, a path that does not exist, an empty
--csv, --sync-bn on a CPU, and --freeze-backbone from a random start."""

from __future__ import annotations

from resnet_gui.cli import main
from resnet_gui.core.projects.project import Project
from tests.support import make_shapes_dataset


def test_a_mistyped_command_says_so_instead_of_opening_the_window(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["clasify", "x.png"]) == 2
    err = capsys.readouterr().err
    assert "no such command or file 'clasify'; did you mean classify?" in err


def test_project_add_and_locate_with_paths_that_do_not_exist(capsys, tmp_path):
    with Project.create(tmp_path / "p"):
        pass
    assert main(["project", "add", str(tmp_path / "p"), str(tmp_path / "nonexistent.png")]) == 2
    assert "does not exist; nothing was added" in capsys.readouterr().err
    assert main(["project", "locate", str(tmp_path / "p"), str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_classify_with_an_empty_csv_name(capsys, tiny_checkpoint, image_folder):
    assert main(["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--csv", ""]) == 2
    assert "--csv needs a file name" in capsys.readouterr().err


def test_sync_bn_on_one_cpu_process_and_freezing_a_random_start(capsys, tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=3, size=20)
    assert main(["train", str(data), "--weights", "none", "--epochs", "1", "--image-size", "16", "--sync-bn",
                 "--device", "cpu", "--out", str(tmp_path / "m.pt")]) == 2
    assert "--sync-bn needs GPUs" in capsys.readouterr().err
    assert main(["train", str(data), "--weights", "none", "--freeze-backbone", "--out", str(tmp_path / "m.pt")]) == 2
    err = capsys.readouterr().err
    assert "needs start weights" in err and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


def test_resume_matches_the_file_not_its_spelling(tmp_path, tiny_checkpoint, capsys, monkeypatch):
    """Started with absolute paths and resumed with relative ones, a run classified 960 files again."""
    import csv

    from tests.support import save_noise

    folder = tmp_path / "plates"
    for i in range(6):
        save_noise(folder / f"p{i}.png", seed=i)
    out = tmp_path / "out.csv"
    first = sorted(folder.iterdir())[:3]
    assert main(["classify", *map(str, first), "--checkpoint", str(tiny_checkpoint), "--csv", str(out)]) == 0
    monkeypatch.chdir(tmp_path)
    assert main(["classify", "plates", "--checkpoint", str(tiny_checkpoint), "--csv", str(out), "--resume"]) == 0
    assert "3 file(s) are in" in capsys.readouterr().err
    rows = list(csv.reader(out.read_text(encoding="utf-8-sig").splitlines()))[1:]
    assert len(rows) == 6 and len({(tmp_path / r[0]).resolve() for r in rows}) == 6  # every file exactly once


def test_a_model_that_would_answer_nan_is_refused_at_load(tmp_path, capsys):
    """Finite but huge weights (3e38) or a negative BatchNorm variance gave NaN at run time: explain wrote
    'cluster (nan%)' and exited 0; now the file is refused with a sentence, as stored NaN already is."""
    import re

    import pytest
    import torch

    from resnet_gui.core.errors import CheckpointError
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from tests.support import TINY, save_noise, tiny_model

    picture = save_noise(tmp_path / "a.png")
    for what, change in (("as large as 3.0e+38", lambda m: m.fc.weight.data.fill_(3e38)),
                         ("negative variance", lambda m: m.bn1.running_var.data.fill_(-1.0))):
        model = tiny_model()
        with torch.no_grad():
            change(model)
        path = write_checkpoint(tmp_path / "bad.pt", checkpoint_payload(
            model=model, arch="resnet18", classes=["a", "b", "c"], small_input=True, preprocessing=TINY))
        with pytest.raises(CheckpointError, match=re.escape(what)):
            load_checkpoint_bundle(path)
        assert main(["explain", str(picture), "--checkpoint", str(path), "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert what in err and "(nan%)" not in err  # no answer is given, let alone "cluster (nan%)"


def test_a_phones_heic_photo_opens_without_an_extra_install(tmp_path):
    """pillow-heif is a dependency: a HEIC photo is classified like any other picture."""
    from importlib.metadata import requires

    from PIL import Image

    assert any(r.lower().startswith("pillow-heif") for r in requires("resnet-gui"))  # installed with the app

    from resnet_gui.core.images.files import discover, load_rgb

    Image.new("RGB", (64, 48), (200, 30, 30)).save(tmp_path / "IMG_0001.HEIC", format="HEIF")
    assert [p.name for p in discover([tmp_path]).files] == ["IMG_0001.HEIC"]
    picture = load_rgb(tmp_path / "IMG_0001.HEIC")
    assert picture.size == (64, 48) and picture.getpixel((10, 10))[0] > 150


def test_four_classes_of_two_pictures_make_a_complete_model(tmp_path, capsys):
    """It exited 3 with a LinAlgError after the epoch and left an uncalibrated model; now the model is whole
    (calibrated, with its familiarity fit) and the few pictures are named."""
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "d", per_class=2, size=20, classes=("red", "green", "blue", "cat"))
    assert main(["train", str(data), "--weights", "none", "--epochs", "1", "--image-size", "16",
                 "--out", str(tmp_path / "m.pt")]) == 0
    err = capsys.readouterr().err
    assert "Few images in" in err and "Traceback" not in err and "unexpected" not in err
    bundle = load_checkpoint_bundle(tmp_path / "m.pt")
    assert bundle.familiarity is not None and bundle.classes == ["blue", "cat", "green", "red"]


def test_a_bioimageio_author_with_a_slash_is_refused_before_any_work(tiny_checkpoint, tmp_path, capsys):
    import time

    started = time.perf_counter()
    assert main(["export", str(tiny_checkpoint), "--format", "bioimageio", "--out", str(tmp_path / "m.zip"),
                 "--author", "Lab a/b"]) == 2
    assert time.perf_counter() - started < 5  # before the weights are exported, not after a minute
    assert "cannot be an author's name" in capsys.readouterr().err
    assert not (tmp_path / "m.zip").exists()


def test_one_input_size_limit_for_checkpoints_and_the_command_line(tmp_path, capsys):
    """A checkpoint could claim 4096 px (over 6 GB for one picture) while --image-size stopped at 2048."""
    import pytest
    import torch

    from resnet_gui.core.errors import CheckpointError
    from resnet_gui.core.images.transforms import Preprocessing
    from resnet_gui.core.models.checkpoints import checkpoint_payload, read_checkpoint
    from resnet_gui.core.values import MAX_IMAGE_SIZE
    from tests.support import tiny_model

    payload = checkpoint_payload(model=tiny_model(), arch="resnet18", classes=["a", "b", "c"], small_input=True,
                                 preprocessing=Preprocessing(image_size=MAX_IMAGE_SIZE, resize=MAX_IMAGE_SIZE))
    torch.save(payload, tmp_path / "ok.pt")
    assert read_checkpoint(tmp_path / "ok.pt").preprocessing.image_size == MAX_IMAGE_SIZE
    payload["image_size"], payload["resize"] = 4096, 4096
    torch.save(payload, tmp_path / "huge.pt")
    with pytest.raises(CheckpointError, match="input size is 4096, not a number of pixels from 16 to 2048"):
        read_checkpoint(tmp_path / "huge.pt")
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error, exit 2
        main(["classify", str(tmp_path), "--checkpoint", str(tmp_path / "ok.pt"), "--image-size", "4096"])
    assert usage.value.code == 2 and "16 to 2048" in capsys.readouterr().err


def test_a_class_name_with_a_lone_surrogate_is_refused_at_load(tmp_path, capsys):
    """A checkpoint whose class names hold "\\ud800" loaded, then `export` stopped with exit 3
    (UnicodeEncodeError); it is refused at load with a sentence."""
    import torch  # noqa: F401  (tiny_model needs it loaded)

    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from tests.support import TINY, tiny_model

    path = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=["a", "b\ud800", "c"], small_input=True, preprocessing=TINY))
    assert main(["export", str(path), "--format", "onnx", "--out", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert "is not valid text" in err and "Traceback" not in err and "unexpected" not in err
    assert not (tmp_path / "m.onnx").exists()


def test_classify_csv_on_a_full_disk_is_a_sentence(tmp_path, tiny_checkpoint, image_folder, capsys, monkeypatch):
    """A full disk stopped classify --csv with exit 3 and 'an unexpected error'; it is a sentence naming the
    file, and no half-written CSV is left, both for a new CSV and for one that --resume appends to."""
    import csv as real_csv
    import errno
    import os

    from resnet_gui.core.inference import results_csv

    class FullDisk:
        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    class CsvOnAFullDisk:
        def __getattr__(self, name):
            return getattr(real_csv, name)

        @staticmethod
        def writer(stream, *args, **kwargs):
            return real_csv.writer(stream if isinstance(stream, __import__("io").StringIO) else FullDisk(),
                                   *args, **kwargs)

    out = tmp_path / "results.csv"
    with monkeypatch.context() as patched:  # not monkeypatch.undo(): it would undo conftest's folders too
        patched.setattr(results_csv, "csv", CsvOnAFullDisk())
        assert main(["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{out} cannot be written: the disk is full" in err and "unexpected" not in err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    assert main(["classify", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(out),
                 "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot be written: the disk is full" in err and "unexpected" not in err
