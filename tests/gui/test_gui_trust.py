"""The window's trust features: unsure, Grad-CAM overlay, the Model and Evaluate tabs."""

import csv

import pytest

from resnet_gui.core.images.files import discover
from resnet_gui.gui import dialogs
from resnet_gui.gui.classify.results_model import LABEL, UNSURE_ONLY

WAIT = 120_000


@pytest.fixture
def trained(colour_model):
    data, result = colour_model  # trained once per session (conftest)
    return data, result.best_path


@pytest.fixture
def suggesting(trained, tmp_path):
    """The trained checkpoint with a suggested threshold of 80% stored in it (its own small validation set,
    all right, suggests none)."""
    import torch

    from resnet_gui.core.models.checkpoints import write_checkpoint

    payload = torch.load(trained[1], weights_only=True)
    payload["calibration"]["unsure_below"] = 0.8
    return write_checkpoint(tmp_path / "suggesting.pt", payload)


@pytest.fixture
def window(window, qtbot, trained):
    """The conftest window with the trained model loaded."""
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(trained[1]))
    return window


def classify(qtbot, win, paths):
    with qtbot.waitSignal(win.classify_panel.all_done, timeout=WAIT):
        win.classify_paths([str(p) for p in paths])


def test_threshold_comes_from_the_checkpoint_and_marks_unsure_rows(qtbot, window, trained, suggesting, tmp_path,
                                                                   monkeypatch):
    # The trained checkpoint's own suggestion, or off (0) when its validation answers needed none.
    assert window.model_bar.unsure.value() == pytest.approx((window.bundle.unsure_below or 0) * 100, abs=0.05)
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(suggesting))
    assert window.bundle.unsure_below == pytest.approx(0.8)
    assert window.model_bar.unsure.value() == pytest.approx(80.0)
    classify(qtbot, window, [trained[0] / "red", trained[0] / "blue"])
    panel = window.classify_panel
    window.model_bar.unsure.setValue(100.0)  # everything below 100% is unsure
    rows = panel.model.rows
    unsure = [r for r in rows if r.confidence < 1.0]
    assert panel.model.unsure_count() == len(unsure) > 0
    texts = [panel.model.data(panel.model.index(i, LABEL)) for i in range(len(rows))]
    assert all(t.startswith("unsure (") for t, r in zip(texts, rows, strict=False) if r.confidence < 1.0)
    panel.filter.setCurrentIndex(panel.filter.findData(UNSURE_ONLY))
    assert panel.proxy.rowCount() == len(unsure)
    panel.select_row(0)
    assert panel.chart.threshold_line.isVisible() and "Unsure" in panel.chart_title.text()
    target = tmp_path / "out.csv"
    monkeypatch.setattr(dialogs, "save_csv", lambda parent, folder: str(target))
    window.export_csv()
    with target.open(encoding="utf-8-sig") as stream:  # the window writes a BOM for Excel
        exported = list(csv.DictReader(stream))
    assert sum(e["verdict"] == "unsure" for e in exported) == len(unsure)
    window.model_bar.unsure.setValue(0)  # off
    assert panel.model.unsure_count() == 0 and not panel.chart.threshold_line.isVisible()


def test_grad_cam_overlay_in_the_preview(qtbot, window, trained):
    classify(qtbot, window, [trained[0] / "green"])
    panel = window.classify_panel
    with qtbot.waitSignal(panel.preview_shown, timeout=WAIT):
        panel.select_row(1)
    plain = panel.preview.source.toImage()
    assert panel.explain_class.count() == 3
    with qtbot.waitSignal(panel.explained, timeout=WAIT) as blocker:
        panel.explain_toggle.setChecked(True)
    assert blocker.args[1] == panel.explain_class.currentData()
    overlaid = panel.preview.source.toImage()
    assert overlaid.size() == plain.size() and overlaid != plain
    panel.opacity.setValue(90)
    assert panel.preview.source.toImage() != overlaid  # re-blended without recomputing
    panel.explain_toggle.setChecked(False)
    assert panel.preview.source.toImage() == plain


def test_model_tab_shows_the_info(window):
    panel = window.model_panel
    assert "ResNet-18" in panel.summary.text() and "small-input stem" in panel.summary.text()
    assert "Calibration" in panel.summary.text()
    assert panel.stages.rowCount() == 7
    assert panel.stages.item(4, 0).text() == "layer4" and panel.stages.item(4, 3).text() == "1 × 512 × 4 × 4"
    assert "3 classes" in panel.classes.text()


def test_evaluate_tab_matrix_cells_and_report(qtbot, window, trained, tmp_path, monkeypatch):
    panel = window.evaluate_panel
    window.tabs.setCurrentWidget(panel)
    panel.set_folder(str(trained[0]))
    with qtbot.waitSignal(panel.evaluated, timeout=WAIT) as blocker:
        panel.run_button.click()
    report = blocker.args[0]
    assert report["samples"] == len(discover([trained[0]]).files) and panel.figures.rowCount() == 3
    assert panel.confusion.matrix.tolist() == report["confusion_matrix"]
    panel.show_cell(0, 0)
    assert panel.cell_images.count() == report["confusion_matrix"][0][0]
    panel.show_cell(0, 1)
    assert panel.cell_images.count() == report["confusion_matrix"][0][1]
    monkeypatch.setattr(dialogs, "open_folder", lambda *args: str(tmp_path / "report"))
    panel.save_report()
    assert "accuracy" in (tmp_path / "report" / "index.html").read_text(encoding="utf-8")


def test_evaluate_without_a_checkpoint_is_a_message(qtbot, window):
    window.evaluate_panel.bundle = None
    with qtbot.waitSignal(window.user_error, timeout=5000) as blocker:
        window.evaluate_panel.evaluate()
    assert "Load a checkpoint" in blocker.args[1]
