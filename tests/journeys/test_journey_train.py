"""Journey: train on a folder from the Train tab, as a person does it: Choose folder…, Start training, watch
the curves, Stop, Resume, Use this model. Every step is a click on what the user sees."""

import pytest
from PySide6.QtCore import Qt

from tests.journeys.journey import SHOTS, WAIT
from tests.support import make_shapes_dataset


def open_tab(user, title: str):
    tabs = user.window.tabs
    index = next(i for i in range(tabs.count()) if tabs.tabText(i).replace("&", "") == title)
    user.click(tabs.tabBar(), tabs.tabBar().tabRect(index).center())
    assert tabs.currentIndex() == index
    return tabs.widget(index)


def set_spin(user, box, value) -> None:
    user.click(box)
    box.lineEdit().selectAll()
    from PySide6.QtTest import QTest

    QTest.keyClicks(box.lineEdit(), str(value))
    user.key(box.lineEdit(), Qt.Key.Key_Tab)
    assert box.value() == value


def choose(user, combo, text: str, shows: str | None = None) -> None:
    """Open the drop-down with a click and click the item that reads `text`; the box then shows `shows` (an item
    that opens a dialog, as Checkpoint file… does, is replaced by what the dialog chose) or `text`."""
    user.click(combo)
    view = combo.view()
    user.wait(lambda: view.isVisible(), timeout=5000)
    row = combo.findText(text)
    assert row >= 0, f"{text!r} is not among {[combo.itemText(i) for i in range(combo.count())]}"
    # Down and Up to the item, then Return, in the open list (a click there is lost on the offscreen platform).
    step = Qt.Key.Key_Down if row > combo.currentIndex() else Qt.Key.Key_Up
    for _ in range(abs(row - combo.currentIndex())):
        user.key(view, step)
    user.key(view, Qt.Key.Key_Return)
    user.wait(lambda: combo.currentText() == (shows or text), timeout=5000)


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_choose_a_folder_start_stop_resume_and_use_the_model(user, tmp_path, screen):
    data = make_shapes_dataset(tmp_path / "shapes", per_class=8, size=24)
    panel = open_tab(user, "Train")
    choose_button = next(b for b in panel.folder_row.findChildren(type(panel.start_button))
                         if b.text() == "Choose folder…")
    user.will_choose_path(data)
    user.click(choose_button)
    user.wait(lambda: panel.classes_found.class_table.rowCount() == 3)
    assert [panel.classes_found.class_table.item(r, 0).text() for r in range(3)] == ["blue", "green", "red"]
    choose(user, panel.form.weights, "None (random start)")
    set_spin(user, panel.form.epochs, 4)
    set_spin(user, panel.form.batch_size, 8)
    set_spin(user, panel.form.image_size, 16)

    # Start: the button a user presses (the TypeError of round two came from this click).
    first_epoch = []
    panel.epoch_ended.connect(first_epoch.append)
    user.click(panel.start_button)
    assert not panel.start_button.isEnabled() and panel.stop_button.isEnabled()
    user.wait(lambda: first_epoch)
    x, y = panel.results.plots.val_acc.getData()
    assert len(y) >= 1 and len(panel.results.plots.batch_x) >= 2  # the curves fill
    user.shot(SHOTS / f"train-started-{screen}.png")

    # Stop: the best model so far is kept, and the run can go on.
    with user.qtbot.waitSignal(panel.training_ended, timeout=WAIT) as ended:
        user.click(panel.stop_button)
    stopped = ended.args[0]
    assert stopped.stopped == "cancelled" and stopped.best_path.exists() and stopped.last_path.exists()
    done = stopped.history[-1]["epoch"]
    assert panel.resume_button.isEnabled() and panel.resume_button.text() == f"Resume (epoch {done + 1})"
    assert str(stopped.last_path.name) in panel.resume_button.toolTip()
    assert "Resume goes on from epoch" in panel.results.result_text.text()
    assert panel.stop_button.text() == "Stop" and not panel.stop_button.isEnabled()
    user.shot(SHOTS / f"train-stopped-{screen}.png")

    # Resume: the same run goes on from the next epoch and writes the same model file.
    epochs_after = []
    panel.epoch_ended.connect(epochs_after.append)
    with user.qtbot.waitSignal(panel.training_ended, timeout=WAIT) as ended:
        user.click(panel.resume_button)
        assert not panel.resume_button.isEnabled()
    resumed = ended.args[0]
    assert resumed.stopped == "completed" and resumed.best_path == stopped.best_path
    assert [e.epoch for e in epochs_after] == list(range(done + 1, 5))
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3, 4]
    assert [e["epoch"] for e in panel.results.plots.epochs] == [1, 2, 3, 4]  # the curves go on from the stopped run
    assert not resumed.last_path  # a finished run needs no resuming
    assert not panel.resume_button.isEnabled()
    user.shot(SHOTS / f"train-resumed-{screen}.png")

    # Use this model: the Classify tab has it.
    with user.qtbot.waitSignal(user.window.model_loaded, timeout=WAIT) as loaded:
        user.click(panel.use_button)
    assert loaded.args[0].classes == ["blue", "green", "red"]
    assert user.window.tabs.currentIndex() == 0
    user.fits()


def test_stop_during_the_finishing_steps_skips_them_and_keeps_a_whole_model(user, tmp_path):
    data = make_shapes_dataset(tmp_path / "shapes", per_class=6, size=24)
    panel = open_tab(user, "Train")
    user.type_into(panel.folder, str(data))
    user.wait(lambda: panel.classes_found.class_table.rowCount() == 3)
    choose(user, panel.form.weights, "None (random start)")
    set_spin(user, panel.form.epochs, 1)
    set_spin(user, panel.form.image_size, 16)
    finishing = []
    user.click(panel.start_button)
    user.wait(lambda: panel._finishing or not panel.is_training())
    # A slow finishing step (thousands of pictures) would keep the user waiting: the same button skips it.
    if panel.is_training():
        finishing.append(True)
        assert panel.stop_button.text() == "Skip finishing" and panel.stop_button.isEnabled()
        with user.qtbot.waitSignal(panel.training_ended, timeout=WAIT) as ended:
            user.click(panel.stop_button)
        result = ended.args[0]
        assert result.best_path.exists()
        if result.finishing_skipped:
            assert "finishing steps were skipped" in panel.results.result_text.text()
            from resnet_gui.core.models.resnets import load_checkpoint_bundle

            bundle = load_checkpoint_bundle(result.best_path)
            assert bundle.classes == ["blue", "green", "red"] and bundle.familiarity is None
    assert finishing, "the finishing steps were never offered for skipping"


def test_find_the_learning_rate_then_train_and_save_a_copy(user, tmp_path, tiny_checkpoint):
    """Find… (the range test: the rate box takes its suggestion), a short run, Save as… (a name typed). It starts
    from a checkpoint (chosen in its file dialog) and trains the last layer only, so that the range test's ~100
    batches take a second or two instead of twenty: the journey is about the clicks, not the rate."""
    data = make_shapes_dataset(tmp_path / "shapes", per_class=6, size=20)
    panel = open_tab(user, "Train")
    user.type_into(panel.folder, str(data))
    user.wait(lambda: panel.classes_found.class_table.rowCount() == 3)
    user.will_choose_path(tiny_checkpoint)
    choose(user, panel.form.weights, "Checkpoint file…", shows=tiny_checkpoint.name)
    set_spin(user, panel.form.image_size, 16)
    set_spin(user, panel.form.epochs, 1)
    user.click(panel.form.advanced)  # toggled(shown) unfolds the advanced settings, and a second click folds them
    assert panel.form.advanced_body.isVisible() and panel.form.out.isVisible()
    user.click(panel.form.freeze)
    assert panel.train_settings().freeze_backbone and panel.train_settings().weights == str(tiny_checkpoint)
    preview = panel.form.augment_preview  # what the augmentation makes of the folder's pictures, shown unfolded
    user.wait(lambda: preview.pixmap() is not None and not preview.pixmap().isNull())
    user.fits()
    user.shot(SHOTS / "train-augmentation-preview.png")
    user.click(panel.form.advanced)
    assert not panel.form.advanced_body.isVisible()
    user.click(panel.form.find_lr_button)
    user.wait(lambda: panel.range_test.finding is not None and panel.start_button.isEnabled())
    suggestion = panel.range_test.finding.suggestion
    assert abs(panel.form.lr.value() - suggestion) <= 1e-5 + 0.01 * suggestion
    with user.qtbot.waitSignal(panel.training_ended, timeout=WAIT) as ended:
        user.click(panel.start_button)
    copy = tmp_path / "kept" / "my model.pt"
    copy.parent.mkdir()
    user.will_choose_path(copy)
    user.click(panel.save_as_button)
    user.wait(copy.exists)
    assert copy.read_bytes() == ended.args[0].best_path.read_bytes()
    user.fits()
