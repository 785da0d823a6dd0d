import json

import pytest

from resnet_gui.cli import main
from resnet_gui.core.training import setup as training
from tests.support import make_shapes_dataset


@pytest.fixture
def data(tmp_path):
    return make_shapes_dataset(tmp_path / "shapes", per_class=8)


def test_train_json_events_and_best_checkpoint(capsys, data, tmp_path):
    out = tmp_path / "run" / "best.pt"
    code = main(["train", str(data), "--weights", "none", "--small-input", "--epochs", "2", "--batch-size", "8",
                 "--out", str(out), "--json", "--augment", "hflip", "vflip", "--optimizer", "sgd", "--lr", "0.01",
                 "--keep-last"])
    stdout = capsys.readouterr().out
    assert code == 0
    events = [json.loads(line) for line in stdout.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["input", "data"] and kinds[-1] == "finished"  # first, how the run sees the pictures
    assert kinds.count("epoch") == 2 and kinds.count("batch") >= 4
    assert events[1]["classes"] == ["blue", "green", "red"] and events[1]["counts"] == {"blue": 8, "green": 8, "red": 8}
    finished = events[-1]
    assert finished["best_path"] == str(out) and out.exists()
    assert (tmp_path / "run" / "best.last.pt").exists()
    epochs = [e for e in events if e["event"] == "epoch"]
    assert {"train_loss", "train_acc", "val_loss", "val_acc", "seconds"} <= set(epochs[0])
    from resnet_gui.core.models.checkpoints import read_checkpoint

    saved = read_checkpoint(out)
    assert saved.train["optimizer"] == "sgd" and saved.train["augment"] == ["hflip", "vflip"]


def test_train_text_output_ends_with_the_checkpoint_path(capsys, data, tmp_path):
    out = tmp_path / "m.pt"
    code = main(["train", str(data), "--weights", "none", "--small-input", "--epochs", "1", "--batch-size", "8",
                 "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0
    assert captured.out.strip().splitlines()[-1] == str(out)
    assert "epoch 1/1" in captured.err and "3 classes" in captured.err
    assert captured.err.strip().splitlines()[-1].endswith(f"saved to {out}")  # a person's last line names it


def test_train_offline_imagenet_names_the_alternatives(capsys, data, monkeypatch):
    from resnet_gui.core.errors import WeightsUnavailableError

    def offline(arch):
        raise WeightsUnavailableError("The ImageNet weights for resnet18 could not be downloaded (offline).")

    monkeypatch.setattr(training, "imagenet_state_dict", offline)
    code = main(["train", str(data), "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "--weights none" in err and "--weights FILE" in err and "Traceback" not in err


def test_train_bad_folder_is_exit_2(capsys, tmp_path):
    assert main(["train", str(tmp_path / "nope"), "--weights", "none"]) == 2
    assert "not a folder" in capsys.readouterr().err


def test_evaluate_json_and_table(capsys, data, tmp_path):
    out = tmp_path / "m.pt"
    assert main(["train", str(data), "--weights", "none", "--small-input", "--epochs", "1", "--batch-size", "8",
                 "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    assert main(["evaluate", str(data), "--checkpoint", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert set(report) >= {"accuracy", "per_class", "confusion_matrix"}
    matrix = report["confusion_matrix"]
    assert len(matrix) == 3 and sum(map(sum, matrix)) == 24
    assert report["accuracy"] == pytest.approx(sum(matrix[i][i] for i in range(3)) / 24)
    for i, name in enumerate(report["classes"]):
        assert report["per_class"][name]["support"] == sum(matrix[i])
    assert main(["evaluate", str(data), "--checkpoint", str(out)]) == 0
    text = capsys.readouterr().out
    assert "precision" in text and "recall" in text and "confusion matrix" in text


def test_evaluate_rejects_classes_the_model_does_not_know(capsys, data, tiny_checkpoint):
    from tests.support import save_noise

    save_noise(data / "purple" / "p.png")
    assert main(["evaluate", str(data), "--checkpoint", str(tiny_checkpoint)]) == 2
    assert "classes the model does not know: purple" in capsys.readouterr().err


def test_preview_augment_writes_the_grid_and_trains_nothing(capsys, data, tmp_path):
    """One row per picture (a class each first), the picture as validation sees it and five draws; the same
    seed draws the same grid, a flip changes it."""
    from PIL import Image

    out = tmp_path / "grid.png"
    assert main(["train", str(data), "--augment", "crop", "--image-size", "32", "--preview-augment", str(out)]) == 0
    assert "wrote" in capsys.readouterr().err and not list(tmp_path.glob("*.pt"))
    grid = Image.open(out)
    again = tmp_path / "again.png"
    main(["train", str(data), "--augment", "crop", "--image-size", "32", "--preview-augment", str(again)])
    flipped = tmp_path / "flipped.png"
    main(["train", str(data), "--augment", "crop", "vflip", "--image-size", "32", "--preview-augment", str(flipped)])
    assert grid.size == (6 * 116 + 4, 4 * 130 + 4)
    assert grid.tobytes() == Image.open(again).tobytes() != Image.open(flipped).tobytes()
    assert main(["train", "--preview-augment", str(out)]) != 0
    assert "Name the training folder" in capsys.readouterr().err
