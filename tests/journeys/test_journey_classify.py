"""Journey: open a checkpoint from the File menu, drop a folder on the Classify tab, read a row with a very long
file name, look where the model looks, export the table as CSV, clear it. At a laptop's 1366x768 and at 1024x768:
no text may widen the window past the screen."""

import csv
import os
import time

import pytest
from PySide6.QtCore import Qt

from tests.journeys.journey import SHOTS, WAIT
from tests.support import save_noise

LONG_NAME = ("plate 7 " + "very-long-sample-name-from-the-microscope " * 6)[:211] + ".png"  # 215 characters


def classify_a_folder(user, tiny_checkpoint, tmp_path):
    window = user.window
    folder = tmp_path / "pictures"
    for i in range(4):
        save_noise(folder / f"sample {i}.png", seed=i)
    save_noise(folder / LONG_NAME, seed=7)
    assert len(LONG_NAME) == 215
    with user.qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        user.will_choose_path(tiny_checkpoint)
        user.menu("File", "Open checkpoint…")
    panel = window.classify_panel
    with user.qtbot.waitSignal(panel.all_done, timeout=WAIT):
        user.drop(panel.stack, [folder])
    assert len(panel.model.rows) == 5
    user.fits()
    return folder


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_drop_a_folder_read_a_long_name_export_and_clear(user, tiny_checkpoint, tmp_path, screen):
    window = user.window
    panel = window.classify_panel
    classify_a_folder(user, tiny_checkpoint, tmp_path)
    # Click the row of the long name: its chart title and preview carry the name, and the window keeps its width.
    row = next(i for i in range(panel.proxy.rowCount())
               if panel.proxy.index(i, 1).data(Qt.ItemDataRole.DisplayRole) and
               LONG_NAME[:20] in panel.proxy.index(i, 1).data(Qt.ItemDataRole.DisplayRole))
    table = panel.table
    other = (row + 1) % panel.proxy.rowCount()
    for target in (other, row):  # the first row is selected already: a click elsewhere first
        with user.qtbot.waitSignal(panel.preview_shown, timeout=20_000):
            user.click(table.viewport(), table.visualRect(panel.proxy.index(target, 1)).center())
    assert panel.current_row().name == LONG_NAME
    assert LONG_NAME in panel.chart_title.text()  # the whole text, shown cut short with the rest on hover
    assert panel.chart_title.toolTip() == panel.chart_title.text()
    user.fits()
    # Grad-CAM on the selected picture
    with user.qtbot.waitSignal(panel.explained, timeout=WAIT):
        user.click(panel.explain_toggle)
    assert panel.colour_key.isVisible() and not panel.colour_key.pixmap().isNull()  # what the colours mean
    user.fits()
    user.shot(SHOTS / f"classify-long-name-{screen}.png")
    # Export the shown rows through the save dialog, as a user types a file name.
    out = tmp_path / "results.csv"
    user.will_choose_path(out)
    user.click(panel.export_button)
    user.wait(out.exists)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel reads UTF-8 with a BOM
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert list(rows[0])[-3:] == ["label_3", "prob_3", "error"]  # top-k 5 of a 3-class model: 3 label columns
    assert len(rows) == 5 and any(r["path"].endswith(LONG_NAME) for r in rows)
    assert all(r["label_1"] in ("red", "green", "blue") for r in rows)
    # Map…: the pictures the table shows, placed by the model and coloured by its guess.
    user.click(panel.map_button)
    user.wait(lambda: getattr(panel, "picture_map", None) is not None and panel.picture_map.isVisible())
    picture_map = panel.picture_map
    readable = [r for r in panel.visible_rows() if not r.prediction.error]
    assert picture_map.point_count() == picture_map.made.placed == len(readable)
    assert picture_map.colour_by.currentData() == "prediction"  # a folder has no labels to colour by
    assert set(picture_map.scatters) == {r.label for r in readable}
    picture_map.close()
    # Clear empties the table; the window is as wide as it was.
    user.click(panel.clear_button)
    assert panel.model.rowCount() == 0
    user.fits()


def test_new_results_come_first_and_are_shown(user, tiny_checkpoint, tmp_path):
    """A second drop's rows are at the top of the table, selected, so a user sees them without scrolling."""
    window = user.window
    panel = window.classify_panel
    classify_a_folder(user, tiny_checkpoint, tmp_path)
    later = tmp_path / "later"
    save_noise(later / "arrived later.png", seed=42)
    with user.qtbot.waitSignal(panel.all_done, timeout=WAIT):
        user.drop(panel.table, [later])
    assert panel.model.rowCount() == 6
    assert panel.current_row().path.endswith("arrived later.png")
    shown = panel.table.visualRect(panel.table.currentIndex())
    assert panel.table.viewport().rect().contains(shown.center())  # in sight, not below the fold


def test_watch_a_folder_as_the_microscope_writes_into_it(user, tiny_checkpoint, tmp_path):
    window = user.window
    panel = window.classify_panel
    folder = tmp_path / "microscope"
    before = save_noise(folder / "there before.png", seed=1)
    os.utime(before, (time.time() - 600, time.time() - 600))  # written before the session began
    with user.qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        user.will_choose_path(tiny_checkpoint)
        user.menu("File", "Open checkpoint…")
    user.will_choose_path(folder)
    user.click(panel.watch_button)
    user.wait(lambda: len(panel.model.rows) == 1)
    assert panel.watch_button.text() == "Stop watching" and panel.watch_line.isVisible()
    for i in range(3):  # the microscope writes a picture every little while
        save_noise(folder / f"new {i}.png", seed=10 + i)
        user.wait(lambda i=i: len(panel.model.rows) == 2 + i)
    # The newest is at the top and the chart follows it; the line above the table counts every class.
    assert panel.model.rows[0].name == "new 2.png" and panel.current_row().name == "new 2.png"
    assert "new 2.png" in panel.chart_title.text()
    user.wait(lambda: "waiting for new pictures" in panel.watch_line.text())
    line = panel.watch_line.text()
    assert line.startswith("Watching ") and sum(panel.watching.counts.values()) == 4
    assert all(f"{label} {n}" in line for label, n in panel.watching.counts.items())
    # The user looks at an older picture: a new arrival goes to the top without taking the chart away.
    older = next(r for r in range(panel.proxy.rowCount()) if panel.proxy.index(r, 1).data() == "there before.png")
    with user.qtbot.waitSignal(panel.preview_shown, timeout=WAIT):
        user.click(panel.table.viewport(), panel.table.visualRect(panel.proxy.index(older, 1)).center())
    save_noise(folder / "new 3.png", seed=13)
    user.wait(lambda: len(panel.model.rows) == 5)
    assert panel.model.rows[0].name == "new 3.png" and panel.current_row().name == "there before.png"
    user.fits()
    user.shot(SHOTS / "classify-watch-folder.png")
    user.click(panel.watch_button)  # Stop watching
    assert not panel.watching.is_watching() and panel.watch_button.text() == "Watch a folder…"
    assert not panel.watch_line.isVisible() and len(panel.model.rows) == 5
    save_noise(folder / "after stop.png", seed=20)
    user.qtbot.wait(400)
    assert len(panel.model.rows) == 5  # nothing more once stopped
    # File › Watch a folder… watches another folder; the table keeps what it has.
    other = tmp_path / "second plate"
    plate = save_noise(other / "plate 2.png", seed=30)
    os.utime(plate, (time.time() - 600, time.time() - 600))  # a plate read before
    user.will_choose_path(other)
    user.menu("File", "Watch a folder…")
    user.wait(lambda: len(panel.model.rows) == 6)
    assert panel.model.rows[0].name == "plate 2.png" and "second plate" in panel.watch_line.text()
    user.click(panel.watch_button)


def test_the_runtime_menu_runs_the_model_with_openvino_and_says_so(user, tiny_checkpoint, tmp_path):
    from resnet_gui.core.inference.openvino_runtime import openvino_installed

    if not openvino_installed():  # not importorskip: it would import OpenVINO with its telemetry on
        pytest.skip("OpenVINO is not installed")
    window = user.window
    panel = window.classify_panel
    said = []
    window.statusBar().messageChanged.connect(said.append)
    user.menu("Options", "Runtime on a CPU", "OpenVINO")
    assert window.options.runtime == "openvino" and window.settings.get("model/runtime") == "openvino"
    classify_a_folder(user, tiny_checkpoint, tmp_path)
    user.wait(lambda: any(s.startswith("Classified 5 image(s)") for s in said))
    assert any("with OpenVINO" in s for s in said if s.startswith("Classified"))
    assert "<b>Runs with:</b> OpenVINO" in window.model_panel.summary.text()  # the Model tab says so too
    user.menu("Options", "Runtime on a CPU", "PyTorch")
    assert window.options.runtime == "torch"
    user.click(panel.clear_button)
