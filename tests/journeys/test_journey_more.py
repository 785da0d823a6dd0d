"""Journeys: the first start offline, evaluating a folder (a click on a confusion cell, the HTML report), the
Model tab's exports, and the menus, each by clicks and answered dialogs."""

import importlib.util

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtGui import QGuiApplication

from resnet_gui.core.errors import WeightsUnavailableError
from resnet_gui.core.inference.openvino_runtime import openvino_installed
from resnet_gui.core.models import resnets as models
from tests.journeys.journey import SHOTS, WAIT
from tests.journeys.test_journey_train import open_tab
from tests.support import make_shapes_dataset, save_noise, small_example


def offline(arch):
    raise WeightsUnavailableError("The ImageNet weights for resnet50 could not be downloaded (offline).")


def load_by_menu(user, checkpoint):
    with user.qtbot.waitSignal(user.window.model_loaded, timeout=WAIT):
        user.will_choose_path(checkpoint)
        user.menu("File", "Open checkpoint…")


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_first_start_offline_offers_three_ways_to_a_model(user, monkeypatch, tmp_path, tiny_checkpoint, screen):
    window = user.window
    monkeypatch.setattr(models, "imagenet_state_dict", offline)
    with user.qtbot.waitSignal(window.model_failed, timeout=WAIT):
        window.start()
    empty = window.classify_panel.placeholder
    user.shot(SHOTS / f"first-start-offline-{screen}.png")
    # Train on your own folder…: the Train tab, with the folder chosen in its dialog.
    data = make_shapes_dataset(tmp_path / "mine", per_class=3, size=20)
    user.will_choose_path(data)
    user.click(empty.train)
    assert window.tabs.currentWidget() is window.train_panel
    user.wait(lambda: window.train_panel.classes_found.class_table.rowCount() == 3)
    # Choose a checkpoint…: back on the Classify tab, a checkpoint from its dialog.
    open_tab(user, "Classify")
    with user.qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        user.will_choose_path(tiny_checkpoint)
        user.click(empty.choose_checkpoint)
    assert not empty.actions.isVisible()
    user.fits()


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_evaluate_a_folder_click_a_cell_and_save_the_report(user, colour_model, tmp_path, screen):
    data, result = colour_model
    load_by_menu(user, result.best_path)
    panel = open_tab(user, "Evaluate")
    choose = next(b for b in panel.findChildren(type(panel.run_button)) if b.text() == "Choose folder…")
    user.will_choose_path(data)
    user.click(choose)
    user.wait(lambda: panel.folder.text() == str(data))
    user.click(panel.run_button)
    user.wait(lambda: panel.report is not None)
    matrix = panel.confusion.matrix
    assert matrix.sum() == sum(1 for _ in data.rglob("*.png"))
    # A click on the first diagonal cell lists its pictures.
    view = panel.confusion
    scene = view.getPlotItem().vb.mapViewToScene(QPointF(0, 0))
    user.click(view.viewport(), view.mapFromScene(scene))
    user.wait(lambda: panel.cell_images.count() == int(matrix[0, 0]))
    first = panel.report["classes"][0]
    assert panel.cell_title.text() == f"{int(matrix[0, 0])} right: true {first}, predicted {first}"
    user.shot(SHOTS / f"evaluate-cell-{screen}.png")
    out = tmp_path / "report"
    out.mkdir()
    user.will_choose_path(out)
    user.click(panel.report_button)
    user.wait(lambda: any(out.rglob("*.html")))
    user.fits()


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_export_onnx_from_the_model_tab(user, colour_model, tmp_path, screen):
    _, result = colour_model
    load_by_menu(user, result.best_path)
    panel = open_tab(user, "Model")
    for fmt, name in (("onnx", "cells.onnx"), ("torchscript", "cells.ts")):
        target = tmp_path / name
        with user.qtbot.waitSignal(panel.export_task.finished if hasattr(panel.export_task, "finished")
                                   else panel.status_message, timeout=WAIT, raising=False):
            user.will_choose_path(target)
            user.click(panel.export_buttons[fmt])
        user.wait(lambda target=target: target.is_file() and all(b.isEnabled() for b in panel.export_buttons.values()))
        assert target.stat().st_size > 100_000
    user.fits()


@pytest.mark.skipif(not openvino_installed() or importlib.util.find_spec("nncf") is None,
                    reason="OpenVINO or NNCF is not installed")
def test_make_a_fast_int8_copy_and_classify_with_it(user, colour_model, tmp_path):
    data, result = colour_model
    load_by_menu(user, result.best_path)
    panel = open_tab(user, "Model")
    target = tmp_path / "colours-int8.pt"
    user.will_choose_path(target)  # the training folder is there: only where to save is asked
    user.click(panel.int8_button)
    user.wait(lambda: panel.int8_note.text().startswith("Saved as colours-int8.pt.") and panel.int8_button.isEnabled())
    assert "agrees with the float model on" in panel.int8_note.text() and target.is_file()
    user.shot(SHOTS / "model-int8-copy.png")
    user.fits()
    # the copy opens like any checkpoint, and classifies with its INT8 model where OpenVINO is
    load_by_menu(user, target)
    assert not panel.int8_button.isEnabled() and "INT8 copy already" in panel.int8_button.toolTip()
    assert "<b>INT8 copy:</b> agreed with the float model on" in panel.summary.text()
    classify = user.window.classify_panel
    user.menu("Options", "Runtime on a CPU", "OpenVINO")
    with user.qtbot.waitSignal(classify.all_done, timeout=WAIT):
        user.window.classify_paths([str(p) for p in sorted(data.rglob("*.png"))[:6]])
    user.wait(lambda: "OpenVINO INT8" in panel.summary.text())


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_the_menus_open_classify_copy_and_quit(user, tiny_checkpoint, tmp_path, screen):
    window = user.window
    panel = window.classify_panel
    load_by_menu(user, tiny_checkpoint)
    one = save_noise(tmp_path / "one.png", seed=1)
    folder = tmp_path / "folder"
    for i in range(3):
        save_noise(folder / f"f{i}.png", seed=10 + i)
    with user.qtbot.waitSignal(panel.all_done, timeout=WAIT):
        user.will_choose_path(one)
        user.menu("File", "Open images…")
    with user.qtbot.waitSignal(panel.all_done, timeout=WAIT):
        user.will_choose_path(folder)
        user.menu("File", "Open folder…")
    assert panel.model.rowCount() == 4
    user.menu("Edit", "Select all")
    QGuiApplication.clipboard().clear()
    user.menu("Edit", "Copy selected rows")
    assert QGuiApplication.clipboard().text().count("\n") >= 4
    out = tmp_path / "menu.csv"
    user.will_choose_path(out)
    user.menu("File", "Export shown results as CSV…")
    user.wait(out.exists)
    assert len(out.read_text(encoding="utf-8-sig").splitlines()) == 5
    user.menu("Edit", "Clear results")
    assert panel.model.rowCount() == 0
    before = window.options.amp
    user.menu("Options", "Mixed precision (faster)")
    assert window.options.amp is (not before)
    user.menu("Options", "Test-time augmentation", "Mirror image too (2x the work)")
    assert window.options.tta == "flip"
    user.menu("Options", "Test-time augmentation", "Off: the centre crop")
    assert window.options.tta is None
    for item in ("Quick start", "About resnet-gui"):
        shown = user.will_press("OK")
        user.menu("Help", item)
        user.wait(lambda shown=shown: bool(shown), timeout=10_000)
    user.menu("File", "Quit")
    user.wait(lambda: not window.isVisible(), timeout=10_000)


def test_try_the_example_from_the_help_menu(user, tmp_path, monkeypatch):
    """Help › Try the example: the pictures made, a small model trained, the test pictures classified; made
    small here (6 pictures a class, 1 epoch), the same path as the real example."""
    small_example(monkeypatch, tmp_path / "example")
    window = user.window
    with user.qtbot.waitSignal(window.classify_panel.all_done, timeout=WAIT):
        user.menu("Help", "Try the example")
    assert window.bundle.classes == ["cluster", "elongated", "empty", "round"]
    assert window.classify_panel.model.rowCount() == 8
    assert window.project_panel.project is not None  # the example is a project too, to review
    user.fits()
