"""The first hour, offline: the example data set, the default recipe on it, the small-image rule. No Qt here."""

from __future__ import annotations

import hashlib
import io
import json
from contextlib import redirect_stderr, redirect_stdout

import numpy as np
import pytest
from PIL import Image

from resnet_gui.cli import main
from resnet_gui.core.models import resnets as models
from resnet_gui.core.projects.example import CLASSES, example_settings, write_example
from resnet_gui.core.training.settings import input_choice, size_from_pictures


def digest(folder):
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.rglob("*.png")))).hexdigest()


def test_the_example_is_seeded_and_shaped_as_promised(tmp_path):
    made = write_example(tmp_path / "a", train_per_class=3, test_per_class=2)
    again = write_example(tmp_path / "b", train_per_class=3, test_per_class=2)
    other = write_example(tmp_path / "c", train_per_class=3, test_per_class=2, seed=1)
    assert digest(made.root) == digest(again.root) != digest(other.root)
    assert sorted(p.name for p in made.train.iterdir()) == sorted(CLASSES)
    assert sorted(p.name for p in made.test.iterdir()) == sorted(CLASSES)
    picture = Image.open(next((made.train / "round").iterdir()))
    assert picture.size == (96, 96) and picture.mode == "RGB"
    # The kinds differ in what is drawn: cells add contrast in the green the stain absorbs; empty fields have none.
    contrast = {name: np.mean([np.asarray(Image.open(p))[..., 1].std() for p in (made.train / name).iterdir()])
                for name in CLASSES}
    assert contrast["empty"] < 0.6 * min(contrast["round"], contrast["elongated"], contrast["cluster"]), contrast


def test_the_example_command(tmp_path, capsys):
    assert main(["example", str(tmp_path / "ex")]) == 0
    err = capsys.readouterr().err
    assert "Wrote 320 pictures of 4 kinds" in err and "resnet-gui train" in err
    assert all(len(list((tmp_path / "ex" / "train" / c).iterdir())) == 60 for c in CLASSES)
    assert all(len(list((tmp_path / "ex" / "test" / c).iterdir())) == 20 for c in CLASSES)


def test_default_training_on_the_example_reaches_90_percent(tmp_path, capsys):
    """`resnet-gui train DIR/train --weights none` with otherwise default settings, scored on DIR/test."""
    made = write_example(tmp_path / "ex")
    out = tmp_path / "model.pt"
    assert main(["train", str(made.train), "--weights", "none", "--out", str(out), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "input", "text": "Input 96 px (from the pictures, typically 96 px); the usual "
                         "first layer for photographs (the ImageNet stem: 7x7/2 + max-pool): at 96 px it leaves 24 px "
                         "to the first residual stage, enough to learn from."}
    assert main(["evaluate", str(made.test), "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["samples"] == 80 and report["accuracy"] >= 0.90, report["accuracy"]
    assert example_settings(made).weights == "none"


def test_one_rule_for_small_pictures():
    assert size_from_pictures(96) == 96 and size_from_pictures(500) == 224 and size_from_pictures(20) == 32
    assert input_choice(None, None, 40)[:2] == (40, "pooled")  # 32 to 63 px: the pooled small-input stem...
    assert input_choice(None, False, 40)[:2] == (40, "imagenet")  # ...unless the user says otherwise
    assert input_choice(None, True, 40)[:2] == (40, "small") and input_choice(40, None, None, "small")[1] == "small"
    assert input_choice(24, None, None)[:2] == (24, "small") and input_choice(128, None, None)[:2] == (128, "imagenet")
    said = input_choice(32, None, None)[2]
    assert "pooled small-input stem" in said and "leaves 16 px" in said, said


def test_small_pictures_train_with_the_stem_their_size_calls_for_and_say_so(tmp_path, capsys):
    from torch import nn

    from resnet_gui.core.models.resnets import load_bundle
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "d", per_class=4, size=40)
    for flags, name, stem in (([], "m.pt", "pooled"), (["--small-input"], "s.pt", "small")):
        assert main(["train", str(data), "--weights", "none", "--epochs", "1", "--batch-size", "8",
                     "--out", str(tmp_path / name), *flags]) == 0
        first = capsys.readouterr().err.splitlines()[0]
        assert first.startswith("Input 40 px (from the pictures, typically 40 px); "), first
        assert main(["info", str(tmp_path / name), "--json"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert info["stem"] == stem and info["small_input"] is True and info["image_size"] == 40
        model = load_bundle(tmp_path / name).model  # the file's stem, rebuilt: its max-pool kept or not
        assert isinstance(model.maxpool, nn.MaxPool2d) == (stem == "pooled")
    assert "a first layer for small pictures that halves their side (the pooled small-input stem" in first or \
        "(the small-input stem: 3x3/1, no max-pool): as set." in first


def test_no_download_chatter_reaches_the_terminal(monkeypatch):
    """torch.hub prints 'Downloading: ...' on stderr; the app's own sentence is all a user reads."""
    class Weights:
        def get_state_dict(self, **kwargs):
            import sys

            sys.stdout.write('Downloading: "https://download.pytorch.org/models/x.pth"\n')  # as torch.hub does
            sys.stderr.write("  0%|          | 0.00/44.7M\n")
            raise OSError("offline")

    monkeypatch.setattr(models, "imagenet_weights", lambda arch: Weights())
    stdout, stderr = io.StringIO(), io.StringIO()
    with redirect_stdout(stdout), redirect_stderr(stderr), pytest.raises(models.WeightsUnavailableError):
        models.imagenet_state_dict("resnet18")
    assert "Downloading" not in stdout.getvalue() and "0%" not in stderr.getvalue()


def test_a_missing_qt_library_is_one_sentence():
    from resnet_gui.gui.platform_check import platform_problem

    desktop = {"DISPLAY": ":0"}
    assert platform_problem(desktop, loads=lambda name: True, platform="linux") is None
    problem = platform_problem(desktop, loads=lambda name: "cursor" not in name, platform="linux")
    assert "libxcb-cursor0" in problem and "sudo apt install libxcb-cursor0" in problem
    assert "no display" in platform_problem({}, loads=lambda name: True, platform="linux")
    assert platform_problem({"QT_QPA_PLATFORM": "offscreen"}, loads=lambda name: False, platform="linux") is None
    assert platform_problem({}, loads=lambda name: False, platform="win32") is None


def test_reliability_in_words():
    from resnet_gui.core.summaries import calibration_in_words

    bins = [{"confidence": 0.8, "accuracy": 0.78, "count": 90}, {"confidence": 0.95, "accuracy": 0.97, "count": 30},
            {"confidence": 0.5, "accuracy": 0.0, "count": 0}]
    words = calibration_in_words({"reliability_after": {"bins": bins}})
    assert words == "When it says 80%, it is right 78% of the time (90 of 120 validation answers)."
    assert "too few" in calibration_in_words({"reliability_after": {"bins": bins[:1]}})


def test_evaluate_never_cuts_class_names_into_look_alikes(tmp_path, capsys):
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from tests.support import TINY, make_shapes_dataset, tiny_model

    names = ("staphylococcus_a", "staphylococcus_b", "streptococcus_c")
    data = make_shapes_dataset(tmp_path / "d", per_class=2, classes=names)
    checkpoint = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=list(names), small_input=True, preprocessing=TINY))
    assert main(["evaluate", str(data), "--checkpoint", str(checkpoint)]) == 0
    out = capsys.readouterr().out
    header = out.split("confusion matrix")[1].splitlines()[1].split()
    assert header == ["#1", "#2", "#3"] and "#1 staphylococcus_a" in out and "#2 staphylococcus_b" in out


def test_grad_cam_comes_from_layer3_when_layer4_is_too_small(tmp_path, capsys):
    from resnet_gui.core.images.transforms import Preprocessing
    from resnet_gui.core.inference.explain import explain
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from resnet_gui.core.models.resnets import build_model, load_checkpoint_bundle

    prep = Preprocessing(image_size=96, resize=110)  # the ImageNet stem at 96 px: layer4 is 3x3
    path = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=build_model("resnet18", 2), arch="resnet18", classes=["a", "b"], small_input=False, preprocessing=prep))
    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (96, 96, 3), dtype=np.uint8))
    result = explain(load_checkpoint_bundle(path), picture, 0)
    assert result.stage == "layer3" and result.heatmap.shape == (96, 96)
    picture.save(tmp_path / "p.png")
    assert main(["explain", str(tmp_path / "p.png"), "--checkpoint", str(path), "--out", str(tmp_path / "c.png")]) == 0
    assert "from layer3" in capsys.readouterr().err


def test_the_report_matrix_stays_readable_with_30_classes():
    from resnet_gui.core.evaluation.report import confusion_svg

    names = [f"staphylococcus strain {i:02d}" for i in range(30)]
    svg = confusion_svg([[int(i == j) for j in range(30)] for i in range(30)], names)
    assert "<title>staphylococcus strain 07</title>" in svg  # the full name on hover
    assert ">staphylococcus strain 07<" not in svg.replace("<title>staphylococcus strain 07</title>", "")
    assert svg.count("</rect>") == 900 and svg.count('text-anchor="middle" fill=') == 1  # the title; no counts


def test_a_folder_with_one_class_is_evaluated(tmp_path, capsys):
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from tests.support import TINY, make_shapes_dataset, tiny_model

    data = make_shapes_dataset(tmp_path / "d", per_class=3, classes=("red",))
    checkpoint = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=["red", "green", "blue"], small_input=True, preprocessing=TINY))
    assert main(["evaluate", str(data), "--checkpoint", str(checkpoint), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert report["samples"] == 3 and report["per_class"]["green"]["recall"] is None


def test_replacing_a_model_named_with_out_is_said(tmp_path, capsys):
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    (tmp_path / "m.pt").write_bytes(b"an earlier model")
    assert main(["train", str(data), "--weights", "none", "--epochs", "1", "--image-size", "32",
                 "--out", str(tmp_path / "m.pt")]) == 0
    assert "m.pt exists; this run replaces it" in capsys.readouterr().err


def test_every_command_line_option_has_a_help_text():
    from resnet_gui.cli import build_parser

    parser = build_parser()
    missing = []
    for name, command in parser._subparsers._group_actions[0].choices.items():
        missing += [f"{name} {a.dest}" for a in command._actions if not a.help and a.dest != "help"]
    assert missing == []
