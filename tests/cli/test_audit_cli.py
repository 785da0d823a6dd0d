"""`resnet-gui audit` and `resnet-gui project audit`: findings in words, JSON Lines, a report page, exit codes."""

from __future__ import annotations

import json
import shutil

import pytest
from PIL import Image

from resnet_gui.cli import main
from tests.core.audit.planted import NEAR_COPIES, class_folders, plant_faults
from tests.support import make_shapes_dataset


def test_audit_says_what_it_found_and_exits_1(tmp_path, capsys):
    data = plant_faults(tmp_path / "data")
    assert main(["audit", str(data), "--report", str(tmp_path / "report")]) == 1
    out, err = capsys.readouterr()
    assert "Leaking across the split (6):" in out and "Duplicates (1):" in out and "Likely mislabelled" in out
    assert "6 picture(s) of validation or test have a copy in training" in err
    assert "Traceback" not in err
    page = (tmp_path / "report" / "audit.html").read_text(encoding="utf-8")
    assert page.count("data:image/png;base64,") >= 2 * (len(NEAR_COPIES) + 1)  # each leak with both pictures
    assert "leak-re-encoded.png" in page and "Leaking across the split" in page


def test_audit_json_lines_end_with_the_summary(tmp_path, capsys):
    data = plant_faults(tmp_path / "data")
    assert main(["audit", str(data / "train"), "--val-dir", str(data / "val"), "--json"]) == 1
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    *findings, summary = lines
    assert summary["summary"]["findings"]["leakage"] == len(NEAR_COPIES) + 1
    assert summary["summary"]["pictures"] == sum(len(split) and sum(split.values())
                                                 for split in summary["summary"]["counts"].values())
    assert {f["finding"] for f in findings} >= {"leakage", "duplicate", "two_classes", "mislabelled", "unreadable"}
    assert all(set(p) == {"path", "split", "label"} for f in findings for p in f["pictures"])


def test_a_clean_folder_exits_0_and_a_wrong_one_2(tmp_path, capsys):
    class_folders(tmp_path / "clean", 25, seed=3)
    assert main(["audit", str(tmp_path / "clean"), "--quick"]) == 0
    assert "Nothing to fix was found in 75 picture(s)." in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "clean"), "--val-dir", str(tmp_path / "nowhere")]) == 2
    capsys.readouterr()
    with pytest.raises(SystemExit) as stop:  # argparse's own way out, as for every command
        main(["audit"])
    assert stop.value.code == 2
    assert "DATA_DIR" in capsys.readouterr().err


def test_a_check_that_cannot_run_says_why(tmp_path, capsys):
    class_folders(tmp_path / "one each", 1, seed=3)
    assert main(["audit", str(tmp_path / "one each")]) == 1  # three classes too small to learn, too
    err = capsys.readouterr().err
    assert ("The check for likely mislabelled pictures did not run: it needs two classes of at least two readable "
            "pictures each.") in err


def test_with_a_model_its_features_find_the_flipped_pictures(colour_model, tmp_path, capsys):
    """The session's model of red, green and blue squares looks at new squares, two of them filed wrong."""
    _, result = colour_model
    data = make_shapes_dataset(tmp_path / "data", per_class=12, size=32, seed=4)
    shutil.move(data / "red" / "red_000.png", data / "green" / "flipped-red.png")
    shutil.move(data / "blue" / "blue_003.png", data / "red" / "flipped-blue.png")
    assert main(["audit", str(data), "--checkpoint", str(result.best_path), "--json"]) == 1
    *findings, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    suspects = [f for f in findings if f["finding"] == "mislabelled"]
    assert {s["pictures"][0]["path"].rsplit("/", 1)[1] for s in suspects[:2]} == {"flipped-red.png",
                                                                                    "flipped-blue.png"}
    assert suspects[0]["features"] == "the features of resnet18"
    assert "mislabelled" in summary["summary"]["checked"]


def test_project_audit_checks_the_labelled_pictures(tmp_path, capsys):
    tree = class_folders(tmp_path / "tree", 22, seed=6)
    # the same picture saved again as JPEG under a second class (a project takes an exact copy in once)
    NEAR_COPIES["re-encoded"](Image.open(tree["moss"][0]).convert("RGB")).save(tmp_path / "tree" / "amber" / "copy.jpg")
    assert main(["project", "new", str(tmp_path / "P"), "--from", str(tmp_path / "tree")]) == 0
    capsys.readouterr()
    assert main(["project", "audit", str(tmp_path / "P"), "--quick", "--json"]) == 1
    *findings, summary = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [f["finding"] for f in findings] == ["two_classes"]
    assert summary["summary"]["counts"] == {"train": {"amber": 23, "moss": 22, "slate": 22}}
    assert main(["project", "audit", str(tmp_path / "nowhere")]) == 2
