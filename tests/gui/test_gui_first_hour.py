"""The first hour in the window: no dead end offline, numbers that stay true, charts a person can read."""

from __future__ import annotations

import csv

from PySide6.QtGui import QAction

from resnet_gui.core.errors import WeightsUnavailableError
from resnet_gui.core.models import resnets as models
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.gui import dialogs
from tests.support import TINY, make_shapes_dataset, save_noise, small_example, tiny_model

WAIT = 120_000


def offline(arch):
    raise WeightsUnavailableError("The ImageNet weights for resnet50 could not be downloaded (offline).")


def test_first_start_offline_offers_three_ways_and_no_red_error(qtbot, window, errors, monkeypatch):
    monkeypatch.setattr(models, "imagenet_state_dict", offline)
    with qtbot.waitSignal(window.model_failed, timeout=WAIT):
        window.start()
    empty = window.classify_panel.placeholder
    assert empty.actions.isVisible() and empty.no_model.isVisible()
    assert [b.text() for b in (empty.choose_checkpoint, empty.train, empty.example)] == \
        ["Choose a checkpoint…", "Train on your own folder…", "Try the example"]
    assert "a01818" not in window.model_bar.summary.styleSheet() and "No model yet" in window.model_bar.summary.text()
    assert errors == []  # no dialog: nothing went wrong, there is just no model yet
    # the status bar's corner said "Loading PyTorch…" until the worker had it; then its version
    import torch

    qtbot.waitUntil(lambda: window.torch_state.text() == f"PyTorch {torch.__version__.split('+')[0]}", timeout=WAIT)


def test_help_menu(window):
    texts = {a.text() for a in window.findChildren(QAction)}
    assert {"&Quick start", "Try the &example", "Open the &documentation", "Show the &log folder"} <= texts
    assert window.windowIcon().availableSizes()  # the app icon from resources/


def test_try_the_example_trains_and_classifies(qtbot, window, tmp_path, monkeypatch):
    """The whole path: pictures made, a model trained from scratch, the test pictures classified with it."""
    small_example(monkeypatch, tmp_path / "example")
    with qtbot.waitSignal(window.classify_panel.all_done, timeout=WAIT):
        window.classify_panel.placeholder.example.click()
    assert window.bundle.classes == ["cluster", "elongated", "empty", "round"]
    assert window.classify_panel.model.rowCount() == 8  # 2 test pictures of each kind
    assert "small-input stem" in window.train_panel.classes_found.data_notes.text()  # 40 px pictures: the rule, said


def test_another_model_classifies_the_table_again(qtbot, window, tmp_path, tiny_checkpoint):
    folder = tmp_path / "imgs"
    for i in range(5):
        save_noise(folder / f"{i}.png", seed=i)
    other = write_checkpoint(tmp_path / "other.pt", checkpoint_payload(
        model=tiny_model(num_classes=2, seed=3), arch="resnet18", classes=["cat", "dog"], small_input=True,
        preprocessing=TINY))
    panel = window.classify_panel
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(tiny_checkpoint))
    with qtbot.waitSignal(panel.all_done, timeout=WAIT):
        panel.classify([str(folder)])
    assert {r.label for r in panel.model.rows} <= {"red", "green", "blue"}
    with qtbot.waitSignal(panel.all_done, timeout=WAIT):
        window.use_checkpoint(str(other))
    assert panel.model.rowCount() == 5 and {r.label for r in panel.model.rows} <= {"cat", "dog"}
    assert set(panel.model.labels()) <= {"cat", "dog"}  # the counts are the new model's too


def ready_to_train(window, tmp_path, epochs: int):
    """The Train tab with a small folder, a random start and `epochs` set."""
    panel = window.train_panel
    panel.set_data_folder(str(make_shapes_dataset(tmp_path / "d", per_class=4)))
    panel.form.epochs.setValue(epochs)
    panel.form.weights.setCurrentIndex(panel.form.weights.findData("none"))
    return panel


def test_each_window_run_gets_its_own_model_file_and_save_as(qtbot, window, tmp_path, monkeypatch):
    panel = ready_to_train(window, tmp_path, epochs=1)
    outs = []
    for _ in range(2):
        with qtbot.waitSignal(panel.training_ended, timeout=WAIT) as ended:
            panel.start_training()
        outs.append(ended.args[0].best_path)
    assert outs[0] != outs[1] and outs[0].exists() and outs[1].exists()
    assert outs[1].name == f"{outs[0].stem}-2.pt"
    copy = tmp_path / "kept" / "mine.pt"
    monkeypatch.setattr(dialogs, "save_model", lambda parent, suggested: str(copy))
    panel.save_as_button.click()
    assert copy.read_bytes() == outs[1].read_bytes()


def test_quitting_while_training_asks(qtbot, window, tmp_path, monkeypatch):
    panel = ready_to_train(window, tmp_path, epochs=30)
    answers = iter([False, True])
    asked = []
    monkeypatch.setattr(dialogs, "ask_stop_training", lambda parent: asked.append(1) or next(answers))
    with qtbot.waitSignal(panel.epoch_ended, timeout=WAIT):
        panel.start_training()
    window.close()
    assert asked == [1] and window.isVisible() and panel.is_training()  # "Keep training"
    window.close()
    assert asked == [1, 1] and not window.isVisible()
    assert panel.result is None or panel.result.best_path.exists()


def test_evaluate_a_folder_with_some_classes_and_a_model_without_names(qtbot, window, tmp_path, tiny_checkpoint):
    some = make_shapes_dataset(tmp_path / "some", per_class=3, classes=("red", "blue"))
    panel = window.evaluate_panel
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(tiny_checkpoint))
    panel.set_folder(str(some))
    with qtbot.waitSignal(panel.evaluated, timeout=WAIT) as done:
        panel.evaluate()
    rows = {panel.figures.item(r, 0).text(): [panel.figures.item(r, c).text() for c in range(1, 6)]
            for r in range(panel.figures.rowCount())}
    assert rows["green"][1:3] == ["n/a", "n/a"] and rows["green"][3] == "0"  # recall, F1; support 0
    assert "no pictures of green" in panel.accuracy.text()
    panel.set_folder(str(tmp_path))  # another folder: the old figures go
    assert panel.report is None and panel.figures.rowCount() == 0 and not panel.report_button.isEnabled()

    bare = tmp_path / "bare.pt"
    import torch

    torch.save(tiny_model().state_dict(), bare)  # no class names in the file
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(bare))
    three = make_shapes_dataset(tmp_path / "three", per_class=2)
    panel.set_folder(str(three))
    with qtbot.waitSignal(panel.evaluated, timeout=WAIT) as done:
        panel.evaluate()
    assert done.args[0]["classes"] == ["blue", "green", "red"] and "sorted order" in panel.accuracy.text()


def test_after_an_error_the_progress_and_buttons_are_idle(qtbot, window, tiny_checkpoint, image_folder, monkeypatch):
    from resnet_gui.core.inference.predictor import Predictor

    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(tiny_checkpoint))
    monkeypatch.setattr(Predictor, "outputs", lambda self, images: 1 / 0)
    with qtbot.waitSignal(window.user_error, timeout=WAIT):
        window.classify_paths([str(image_folder)])
    panel = window.classify_panel
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=WAIT)
    assert not panel.cancel_button.isEnabled() and panel.progress.maximum() > 0
    train = window.train_panel
    with qtbot.waitSignal(window.user_error, timeout=WAIT) as failed:
        train.set_data_folder(str(image_folder))  # no class subfolders
        train.start_training()
    qtbot.waitUntil(lambda: not train.is_training(), timeout=WAIT)
    assert train.start_button.isEnabled() and not train.stop_button.isEnabled()
    assert "--" not in failed.args[1]  # the window names its own controls, never a command-line flag


def test_the_window_csv_opens_in_excel_and_holds_what_is_shown(qtbot, window, tiny_checkpoint, image_folder,
                                                               tmp_path, monkeypatch):
    from resnet_gui.gui.classify.results_model import ERRORS_ONLY

    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(tiny_checkpoint))
    with qtbot.waitSignal(window.classify_panel.all_done, timeout=WAIT):
        window.classify_paths([str(image_folder)])
    panel = window.classify_panel
    assert "1 skipped" in panel.counts.text() and "notes.txt: not an image file name" in panel.counts.toolTip()
    panel.filter.setCurrentIndex(panel.filter.findData(ERRORS_ONLY))
    target = tmp_path / "out.csv"
    monkeypatch.setattr(dialogs, "save_csv", lambda parent, folder: str(target))
    window.export_csv()
    assert target.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    with target.open(encoding="utf-8-sig") as stream:
        rows = list(csv.DictReader(stream))
    assert [r["path"].rsplit("/", 1)[-1] for r in rows] == ["broken.jpg"]
    assert "shown" in panel.export_button.text()


def test_the_window_fits_the_screen_and_takes_typed_folders(qtbot, window, tmp_path):
    window.resize(6000, 5000)
    window.fit_to_screen()
    room = window.screen().availableGeometry()
    assert window.width() <= room.width() and window.height() <= room.height()
    data = make_shapes_dataset(tmp_path / "typed", per_class=2)
    panel = window.evaluate_panel
    panel.folder.setText(str(data))
    panel.folder.editingFinished.emit()
    assert panel.folder.text() == str(data.resolve())
    train = window.train_panel
    train.folder.setText(str(data))
    train.folder.editingFinished.emit()
    qtbot.waitUntil(lambda: train.classes_found.class_table.rowCount() == 3, timeout=WAIT)


def test_the_model_tab_exports_with_the_golden_check(qtbot, window, colour_model, tmp_path):
    _, result = colour_model
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(result.best_path))
    panel = window.model_panel
    with qtbot.waitSignal(panel.exported, timeout=WAIT) as done:
        panel.export("torchscript", str(tmp_path / "m.ts"))
    model_path, side, check = done.args[0]
    assert model_path.exists() and side.exists() and check["verified"] and check["checked_with"] == "golden samples"


def test_charts_stay_readable(qtbot):
    from resnet_gui.gui.charts.confusion_view import ConfusionView
    from resnet_gui.gui.charts.reliability_view import ReliabilityView
    from resnet_gui.gui.charts.training_plots import TrainingPlots

    view = ConfusionView()
    qtbot.addWidget(view)
    names = [f"staphylococcus strain {i:02d}" for i in range(30)]
    view.show_matrix([[int(i == j) * 3 for j in range(30)] for i in range(30)], names)
    across = [label for _, label in view.getPlotItem().getAxis("bottom")._tickLevels[0]]
    down = [label for _, label in view.getPlotItem().getAxis("left")._tickLevels[0]]
    assert across == [str(i) for i in range(1, 31)]  # numbered columns: names side by side would overlap
    assert len(set(down)) == 30 and all(len(t) <= 15 for t in down) and down[0].endswith(" 1")
    assert view.labels == []  # 30x30 cells are too small for counts; hover shows them
    view.show_matrix([[2, 1], [0, 3]], ["a", "b"])
    assert len(view.labels) == 4
    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.show_epochs(5)
    assert not plots.loss_plot.getAxis("bottom").autoSIPrefix and plots.loss_plot.getAxis("bottom")._tickSpacing
    reliability = ReliabilityView()
    qtbot.addWidget(reliability)
    bins = [{"confidence": 0.85, "accuracy": 0.8, "count": 40}]
    reliability.show_calibration({"reliability_before": {"bins": bins, "ece": 0.1},
                                  "reliability_after": {"bins": bins, "ece": 0.05}})
    x, _ = reliability.after.getData()
    assert "too few" in reliability.words and (x is None or len(x) == 0)  # 40 answers: no noisy curve
