"""Journey: File › Live camera… on a recorded video (made here, as a user with a recorded slide has one): the
chart follows the frames, Space freezes one, the key 1 saves it into the project's first class, Snapshot saves
it into a folder; the GUI thread never waits long. Without OpenCV the menu item says what to install."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QMessageBox

from resnet_gui.core.live import camera
from tests.journeys.journey import PRESSED, SHOTS, WAIT, button_name
from tests.support import write_colour_video


def press(user, button) -> None:
    """A click in the camera window (a window of its own: `user.click` checks the main window's)."""
    assert button.isVisible() and button.isEnabled(), button.text()
    PRESSED.add(button_name(button))
    QTest.mouseClick(button, Qt.MouseButton.LeftButton)
    QApplication.processEvents()


def key_in(user, window, key) -> None:
    window.activateWindow()
    user.qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    QTest.keyClick(window, key)
    QApplication.processEvents()


class Heartbeat:
    """The longest the GUI thread kept a 10 ms timer waiting."""

    def __init__(self):
        self.longest, self.last = 0.0, time.perf_counter()
        self.timer = QTimer()
        self.timer.timeout.connect(self._beat)
        self.timer.start(10)

    def _beat(self):
        now = time.perf_counter()
        self.longest = max(self.longest, now - self.last)
        self.last = now


def test_a_recorded_slide_live_freeze_and_snapshots_into_a_project_class(user, colour_model, tmp_path):
    from resnet_gui.core.projects.project import Project

    window = user.window
    _, result = colour_model
    shown = write_colour_video(tmp_path / "slide.avi", ["red", "green", "blue"] * 2, frames_each=8, fps=16)
    with Project.create(tmp_path / "cells") as project:
        for name in ("red", "green", "blue"):
            project.add_class(name)
    window.open_project(str(tmp_path / "cells"))
    with user.qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        user.will_choose_path(result.best_path)
        user.menu("File", "Open checkpoint…")
    user.menu("File", "Live camera…")
    cam = window.camera_window
    user.qtbot.waitUntil(cam.isVisible, timeout=5000)
    assert [cam.target.itemText(i) for i in range(cam.target.count())] == ["1. red", "2. green", "3. blue",
                                                                            "A folder…"]
    cam.source.setCurrentText("A video file…")
    user.will_choose_path(tmp_path / "slide.avi")
    heartbeat = Heartbeat()
    seen = []
    cam.frame_shown.connect(lambda number: seen.append((number, cam.current.prediction.best.label)))
    press(user, cam.start_button)
    user.wait(lambda: len(seen) >= 16, timeout=WAIT)
    # The chart follows the frames: its best guess is the colour the frame shows.
    right = [label == shown[number] for number, label in seen]
    assert sum(right) >= 0.8 * len(seen)
    assert cam.chart_title.text().startswith("Top 3 classes — frame ")
    assert "frames classified a second" in cam.rate.text()
    # Space freezes the frame on screen while the video goes on.
    key_in(user, cam, Qt.Key.Key_Space)
    assert cam.freeze_button.isChecked()
    held = cam.current.number
    user.qtbot.wait(300)
    assert cam.current.number == held and len(seen) == len([s for s in seen if s[0] <= held])
    # 1: into the project's first class, labelled.
    key_in(user, cam, Qt.Key.Key_1)
    with Project.open(tmp_path / "cells") as reopened:
        labelled = reopened.db.execute("SELECT c.name, i.path FROM images i JOIN classes c ON c.id = i.class_id"
                                       ).fetchall()
    assert len(labelled) == 1 and labelled[0][0] == "red" and "snapshots" in labelled[0][1]
    # Snapshot (S) with "A folder…": asks for the folder once, then saves there.
    cam.target.setCurrentText("A folder…")
    user.will_choose_path(tmp_path / "shots")
    (tmp_path / "shots").mkdir()
    press(user, cam.snapshot_button)
    user.wait(lambda: len(list((tmp_path / "shots").glob("snapshot-*.png"))) == 1)
    assert cam.target.currentText() == "Folder shots"
    key_in(user, cam, Qt.Key.Key_S)
    user.wait(lambda: len(list((tmp_path / "shots").glob("snapshot-*.png"))) == 2)
    press(user, cam.freeze_button)  # a click on Freeze goes on too (toggled hands it the new state)
    assert not cam.freeze_button.isChecked() and not cam.frozen.is_set()
    user.wait(lambda: cam.current.number > held + 2, timeout=WAIT)
    cam.grab().save(str(SHOTS / "camera-live.png"))
    user.wait(lambda: "The video ended" in cam.rate.text(), timeout=WAIT)
    heartbeat.timer.stop()
    assert heartbeat.longest < 0.25, f"the GUI thread waited {heartbeat.longest:.3f} s"
    assert cam.start_button.text() == "Start"
    cam.close()


def test_without_opencv_the_menu_item_says_what_to_install(user, monkeypatch):
    monkeypatch.setattr(camera.importlib.util, "find_spec", lambda name: None)
    told = user.will_answer(lambda dialog: dialog.accept())
    user.menu("File", "Live camera…")
    user.wait(lambda: told)
    assert isinstance(told[0], QMessageBox) and camera.CAMERA_EXTRA in told[0].text()
