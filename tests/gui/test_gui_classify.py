"""The Classify tab, driven as a user would: drops, model choice, results, chart, export, settings."""

import csv
import sys
import threading

import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication

from resnet_gui.core.images.files import discover
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.gui import dialogs
from resnet_gui.gui.classify.results_model import CONFIDENCE, ERRORS_ONLY
from resnet_gui.gui.main_window import MainWindow
from tests.support import save_noise

WAIT = 60_000


def load(qtbot, win, checkpoint):
    with qtbot.waitSignal(win.model_loaded, timeout=WAIT):
        win.use_checkpoint(str(checkpoint))
    return win.bundle


def drop(win, paths):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
    enter = QDragEnterEvent(win.rect().center(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    win.dragEnterEvent(enter)
    event = QDropEvent(QPointF(win.rect().center()), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    win.dropEvent(event)
    return enter.isAccepted(), event.isAccepted()


def classify_and_wait(qtbot, win, paths):
    with qtbot.waitSignal(win.classify_panel.all_done, timeout=WAIT):
        accepted = drop(win, paths)
    assert accepted == (True, True)


def expected_predictions(checkpoint, paths):
    predictor = Predictor(load_checkpoint_bundle(checkpoint), device="cpu", top_k=3)
    return {p.path: p for p in predictor.predict_all(paths)}


def test_checkpoint_choice_reads_architecture_and_classes_from_the_file(qtbot, window, tiny_checkpoint):
    bundle = load(qtbot, window, tiny_checkpoint)
    bar = window.model_bar
    assert bundle.arch == "resnet18" and bundle.classes == ["red", "green", "blue"]
    assert bar.arch.currentData() == "resnet18" and not bar.arch.isEnabled()
    assert bar.weights.currentData() == str(tiny_checkpoint)
    assert "red, green, blue" in bar.summary.text() and "32×32" in bar.summary.text()


def test_drop_a_folder_and_a_file_then_read_rows_and_chart(qtbot, window, tiny_checkpoint, image_folder, tmp_path):
    load(qtbot, window, tiny_checkpoint)
    extra = save_noise(tmp_path / "extra file.png", seed=99)
    classify_and_wait(qtbot, window, [image_folder, extra])
    panel = window.classify_panel
    rows = panel.model.rows
    files = discover([image_folder, extra]).files
    assert [r.path for r in rows] == [str(p) for p in files]
    expected = expected_predictions(tiny_checkpoint, files)
    for row in rows:
        want = expected[row.path]
        assert row.error == want.error
        if row.error is None:
            assert row.label == want.best.label
            assert row.confidence == pytest.approx(want.best.prob, abs=1e-5)
            assert row.thumbnail is not None and max(row.thumbnail.width(), row.thumbnail.height()) == 40
    assert "skipped 1 file" in window.statusBar().currentMessage() or panel.counts.text() == "7 file(s), 1 failed"
    # Selecting a row draws the top-k chart from that row's predictions, largest first.
    window.model_bar.top_k.setValue(2)
    good_row = next(i for i, r in enumerate(rows) if r.error is None)
    with qtbot.waitSignal(panel.preview_shown, timeout=WAIT):
        panel.select_row(good_row)
    want = expected[rows[good_row].path]
    bars = panel.chart.bar_values()
    assert [label for label, _ in bars] == [g.label for g in want.top_k[:2]]
    assert [p for _, p in bars] == pytest.approx([g.prob for g in want.top_k[:2]], abs=1e-5)
    assert list(panel.chart.bars.opts["width"]) == pytest.approx([p for _, p in bars])
    assert panel.preview.has_image()


def test_unreadable_file_is_marked_and_filterable(qtbot, window, tiny_checkpoint, image_folder):
    load(qtbot, window, tiny_checkpoint)
    classify_and_wait(qtbot, window, [image_folder])
    panel = window.classify_panel
    panel.filter.setCurrentIndex(panel.filter.findData(ERRORS_ONLY))
    assert panel.proxy.rowCount() == 1
    (row,) = panel.visible_rows()
    assert row.name == "broken.jpg" and row.error
    index = panel.proxy.index(0, 4)
    assert panel.proxy.data(index) == row.error
    assert panel.proxy.data(index, Qt.ItemDataRole.BackgroundRole) is not None
    label = panel.model.labels()[0]
    panel.filter.setCurrentIndex(panel.filter.findData(label))
    assert all(r.label == label and r.error is None for r in panel.visible_rows())


def test_sort_by_confidence(qtbot, window, tiny_checkpoint, image_folder):
    load(qtbot, window, tiny_checkpoint)
    classify_and_wait(qtbot, window, [image_folder])
    panel = window.classify_panel
    panel.table.sortByColumn(CONFIDENCE, Qt.SortOrder.DescendingOrder)
    confidences = [r.confidence for r in panel.visible_rows()]
    assert confidences == sorted(confidences, reverse=True)


def test_export_csv_and_copy_rows(qtbot, window, tiny_checkpoint, image_folder, tmp_path, monkeypatch):
    load(qtbot, window, tiny_checkpoint)
    classify_and_wait(qtbot, window, [image_folder])
    target = tmp_path / "export.csv"
    monkeypatch.setattr(dialogs, "save_csv", lambda parent, folder: str(target))
    window.model_bar.top_k.setValue(2)
    window.export_csv()
    with target.open(encoding="utf-8-sig") as stream:  # the window writes a BOM for Excel
        exported = list(csv.DictReader(stream))
    rows = window.classify_panel.model.rows
    assert [e["path"] for e in exported] == [r.path for r in rows]
    assert list(exported[0]) == ["path", "verdict", "label_1", "prob_1", "label_2", "prob_2", "error"]
    for e, r in zip(exported, rows, strict=False):
        assert e["error"] == (r.error or "")
        if r.error is None:
            assert e["label_1"] == r.label and float(e["prob_1"]) == pytest.approx(r.confidence, abs=1e-6)
    window.classify_panel.table.selectAll()
    window.copy_selected()
    lines = QGuiApplication.clipboard().text().splitlines()
    assert lines[0].split("\t")[0] == "path" and len(lines) == len(rows) + 1


def test_cancel_stops_between_batches(qtbot, window, tiny_checkpoint, tmp_path):
    load(qtbot, window, tiny_checkpoint)
    paths = [save_noise(tmp_path / "many" / f"{i:02d}.png", seed=i) for i in range(16)]
    panel = window.classify_panel
    panel.batch_size = 2
    panel.model.rowsInserted.connect(lambda *args: panel.cancel())  # the user presses Cancel at the first rows
    with qtbot.waitSignal(panel.all_done, timeout=WAIT):
        panel.classify([str(tmp_path / "many")])
    assert 2 <= panel.model.rowCount() < len(paths)
    assert "Cancelled" in window.statusBar().currentMessage()
    assert not panel.cancel_button.isEnabled()


def test_torch_never_runs_on_the_gui_thread(qtbot, window, tiny_checkpoint, image_folder, monkeypatch):
    from resnet_gui.core.models import resnets as models

    threads = []
    original_outputs = Predictor.outputs
    original_load = models.load_checkpoint_bundle

    def recording_probabilities(self, images):
        threads.append(threading.current_thread() is threading.main_thread())
        return original_outputs(self, images)

    def recording_load(*args, **kwargs):
        threads.append(threading.current_thread() is threading.main_thread())
        return original_load(*args, **kwargs)

    monkeypatch.setattr(Predictor, "outputs", recording_probabilities)
    monkeypatch.setattr(models, "load_checkpoint_bundle", recording_load)
    load(qtbot, window, tiny_checkpoint)
    classify_and_wait(qtbot, window, [image_folder])
    assert threads and not any(threads)


def test_files_dropped_before_the_model_is_ready_are_classified_once_it_is(qtbot, window, tiny_checkpoint,
                                                                             image_folder):
    with qtbot.waitSignal(window.classify_panel.all_done, timeout=WAIT):
        drop(window, [image_folder])
        window.use_checkpoint(str(tiny_checkpoint))
    assert window.classify_panel.model.rowCount() == 6


def test_unusable_checkpoint_and_offline_weights_are_dialogs(qtbot, window, tmp_path, errors, monkeypatch):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint")
    with qtbot.waitSignal(window.user_error, timeout=WAIT) as blocker:
        window.use_checkpoint(str(bad))
    assert "not a PyTorch checkpoint" in blocker.args[1] and errors[-1] == blocker.args[1]
    assert "not a PyTorch checkpoint" in window.model_bar.summary.text()

    import urllib.error

    import torchvision

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline, raising=False)
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    with qtbot.waitSignal(window.user_error, timeout=WAIT) as blocker:
        window.model_bar.set_choice("resnet18", None)
    assert "could not be downloaded" in blocker.args[1] and "checkpoint" in blocker.args[1]


def test_settings_round_trip(qtbot, settings, errors, tiny_checkpoint):
    first = MainWindow(settings)
    qtbot.addWidget(first)
    with qtbot.waitSignal(first.model_loaded, timeout=WAIT):
        first.use_checkpoint(str(tiny_checkpoint))
    first.model_bar.top_k.setValue(7)
    first.resize(640, 480)  # the offscreen screen is 800x600; geometry is clamped to it
    first.shutdown()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    assert second.model_bar.top_k.value() == 7
    assert second.model_bar.choice().checkpoint == str(tiny_checkpoint)
    assert settings.get("model/recent_checkpoints") == [str(tiny_checkpoint)]
    assert (second.size().width(), second.size().height()) == (640, 480)
    second.shutdown()


def test_mixed_precision_option_reaches_classification_and_is_remembered(qtbot, settings, errors, tiny_checkpoint,
                                                                        image_folder, monkeypatch):
    from resnet_gui.core.inference import predictor as inference

    asked = []
    policy_for = inference.policy_for
    monkeypatch.setattr(inference, "policy_for", lambda device, amp=True: asked.append(amp) or policy_for(device, amp))
    first = MainWindow(settings)
    qtbot.addWidget(first)
    load(qtbot, first, tiny_checkpoint)
    assert first.mixed_precision_action.isChecked()  # on by default: it is only used where the hardware has it
    first.mixed_precision_action.trigger()  # the user unticks Options > Mixed precision
    classify_and_wait(qtbot, first, [image_folder])
    assert asked == [False] and first.evaluate_panel.options.amp is False
    first.shutdown()
    second = MainWindow(settings)
    qtbot.addWidget(second)
    assert not second.mixed_precision_action.isChecked()
    assert second.classify_panel.options.amp is False and second.evaluate_panel.options.amp is False
    second.shutdown()


def test_menus_have_the_usual_shortcuts(window):
    from PySide6.QtGui import QAction

    shortcuts = {a.text(): a.shortcut().toString() for a in window.findChildren(QAction)}
    assert shortcuts["&Open images…"] == "Ctrl+O" and shortcuts["Open &folder…"] == "Ctrl+Shift+O"
    assert shortcuts["&Export shown results as CSV…"] == "Ctrl+E" and shortcuts["&Copy selected rows"] == "Ctrl+C"


def test_screenshot_command_saves_the_window_and_exits_0(qapp, tiny_checkpoint, image_folder, tmp_path, capsys,
                                                          monkeypatch):
    """`resnet-gui gui PATHS --screenshot` as the command line runs it, in this process (its Qt application is
    the tests'); the console script as a process is test_cli.py's."""
    from PySide6.QtGui import QImage

    from resnet_gui.cli import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # the window installs its own
    shot = tmp_path / "shot.png"
    code = main(["gui", str(image_folder), "--checkpoint", str(tiny_checkpoint), "--screenshot", str(shot),
                 "--report-stalls"])
    out, err = capsys.readouterr()
    assert code == 0, err
    image = QImage(str(shot))
    assert (image.width(), image.height()) == (1280, 800)
    assert "max_stall_ms=" in out


def test_an_unexpected_worker_error_is_a_dialog_and_a_log_not_a_crash(qtbot, window, tiny_checkpoint,
                                                                      image_folder, errors, monkeypatch):
    def explode(self, images):
        raise ZeroDivisionError("boom")

    load(qtbot, window, tiny_checkpoint)
    monkeypatch.setattr(Predictor, "outputs", explode)
    with qtbot.waitSignal(window.user_error, timeout=WAIT) as blocker:
        drop(window, [image_folder])
    assert "ZeroDivisionError: boom" in blocker.args[1] and "Details were written to" in blocker.args[1]
    log = blocker.args[1].split("written to ")[1].rstrip(".")
    assert "Traceback" in open(log, encoding="utf-8").read()
    qtbot.waitUntil(lambda: not window.classify_panel.is_running(), timeout=WAIT)
    assert window.isVisible()


def test_out_of_gpu_memory_is_a_sentence():
    from resnet_gui.gui.jobs.job import describe_unexpected

    class OutOfMemoryError(RuntimeError):
        pass

    assert "GPU ran out of memory" in describe_unexpected(OutOfMemoryError("CUDA out of memory"))


def test_results_model_counts_match_a_recount(qtbot):
    from resnet_gui.core.inference.predictions import Guess, Prediction
    from resnet_gui.gui.classify.jobs import ResultRow
    from resnet_gui.gui.classify.results_model import ResultsModel

    def row(i):
        if i % 5 == 0:
            return ResultRow(Prediction(f"{i}.png", [], "broken"))
        return ResultRow(Prediction(f"{i}.png", [Guess("ab"[i % 2], i % 2, (i % 10) / 10)]))

    model = ResultsModel()

    def recount():
        return (sorted({r.label for r in model.rows if r.error is None}),
                sum(r.error is not None for r in model.rows), sum(model.is_unsure(r) for r in model.rows))

    model.append([row(i) for i in range(12)])
    model.set_threshold(0.5)
    model.append([row(i) for i in range(12, 30)])
    assert (model.labels(), model.error_count(), model.unsure_count()) == recount() == (["a", "b"], 6, 12)
    model.set_threshold(None)
    assert model.unsure_count() == 0
    model.clear()
    assert (model.labels(), model.error_count(), model.unsure_count()) == ([], 0, 0)
