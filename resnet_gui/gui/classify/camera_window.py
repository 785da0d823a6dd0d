"""Live camera: the picture a camera (or a recorded video) shows, with the model's top-k bars updating as fast
as the model answers (core/live/camera.py, on a job's thread; frames it cannot keep up with are dropped).
Freeze (Space) holds a frame; Snapshot (S) saves it into a folder or, with a project open, into one of its
classes; the keys 1-9 save it straight into the project's class of that number, so a training set is built at
the microscope a key press per picture, as in Teachable Machine."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QComboBox, QDialog, QHBoxLayout, QLabel, QPushButton, QSplitter, QVBoxLayout

from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.charts.topk_chart import TopKChart
from resnet_gui.gui.classify.jobs import live_camera
from resnet_gui.gui.classify.results_model import chart_title
from resnet_gui.gui.image_preview import ImagePreview
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.widgets import ElidedLabel, never_widens, on_click, stacked

VIDEO_FILE = "A video file…"
FOLDER = "A folder…"
CAMERAS = 3  # offered as "Camera 1".."Camera 3": opening one that is not there says so, probing would stall


class CameraWindow(QDialog):
    """Non-modal: the main window stays usable. `bundle()` is the model the main window has loaded now;
    `project_classes()` lists the open project's classes (empty without one); `add_to_project(picture, label)`
    saves a frame into the project's class and says where."""

    snapshot_saved = Signal(str)  # where
    frame_shown = Signal(int)  # the number of the frame now on screen

    def __init__(self, bundle: Callable, options, project_classes: Callable[[], list[str]],
                 add_to_project: Callable[[np.ndarray, str], Path], parent=None):
        super().__init__(parent)
        self.setWindowTitle("Live camera – resnet-gui")
        self.setModal(False)
        self.bundle, self.options = bundle, options
        self.project_classes, self.add_to_project = project_classes, add_to_project
        self.task = Task(self, "camera")
        self.frozen = threading.Event()
        self.current = None  # the LiveFrame on screen
        self.folder: str | None = None
        self._build()
        self.resize(900, 560)

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.source = QComboBox()
        self.source.addItems([f"Camera {n + 1}" for n in range(CAMERAS)] + [VIDEO_FILE])
        self.source.setToolTip("The camera on the microscope (the first one the system lists is Camera 1), or a "
                               "recorded video, played as a camera would show it")
        self.start_button = QPushButton("Start")
        on_click(self.start_button.clicked, self.toggle)
        top = QHBoxLayout()
        top.addWidget(QLabel("Source:"))
        top.addWidget(self.source)
        top.addWidget(self.start_button)
        top.addStretch(1)
        self.view = ImagePreview()
        self.view.show_message("Choose a camera or a video and press Start.")
        self.chart = TopKChart()
        self.chart_title = ElidedLabel("Top classes")
        self.chart_title.setStyleSheet("font-weight: bold;")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(stacked(self.chart_title, self.chart))
        split.setSizes([520, 380])
        self.rate = ElidedLabel("", mode=Qt.TextElideMode.ElideRight)
        self.freeze_button = QPushButton("Freeze (Space)")
        self.freeze_button.setCheckable(True)
        self.freeze_button.setEnabled(False)
        self.freeze_button.toggled.connect(self._on_freeze)
        self.target = QComboBox()
        self.target.setToolTip("Where Snapshot saves the frame: a class of the open project, or a folder")
        self.target.setMinimumContentsLength(14)
        self.target.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.snapshot_button = QPushButton("Snapshot (S)")
        self.snapshot_button.setEnabled(False)
        on_click(self.snapshot_button.clicked, self.snapshot)
        bottom = QHBoxLayout()
        bottom.addWidget(self.freeze_button)
        bottom.addWidget(self.snapshot_button)
        bottom.addWidget(QLabel("into"))
        bottom.addWidget(self.target)
        bottom.addWidget(never_widens(self.rate), 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(bottom)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, self.freeze_button.toggle)
        QShortcut(QKeySequence(Qt.Key.Key_S), self, self.snapshot)
        for number in range(1, 10):
            QShortcut(QKeySequence(str(number)), self, lambda n=number: self.snapshot_into_class(n))
        self.refresh_targets()

    def refresh_targets(self) -> None:
        """The snapshot targets: the open project's classes (numbered for the keys 1-9), then a folder."""
        chosen = self.target.currentText()
        self.target.clear()
        for number, name in enumerate(self.project_classes(), 1):
            self.target.addItem(f"{number}. {name}" if number <= 9 else name, name)
        self.target.addItem(FOLDER if self.folder is None else f"Folder {display_name(self.folder)}", None)
        self.target.setCurrentIndex(max(0, self.target.findText(chosen)))

    # ------------------------------------------------------------ running
    def toggle(self) -> None:
        if self.task.is_running():
            self.stop()
        else:
            self.start()

    def start(self, source=None) -> None:
        if source is None:
            if self.source.currentText() == VIDEO_FILE:
                source = dialogs.open_video(self, "")
                if not source:
                    return
            else:
                source = self.source.currentIndex()
        self.frozen.clear()
        self.freeze_button.setChecked(False)
        options = PredictOptions(device=self.options.device, top_k=10, amp=self.options.amp,
                                 unsure_below=self.options.unsure_below, runtime=self.options.runtime)
        self.task.start(Job(live_camera, self.bundle(), source, options, self.frozen, torch_needed=True),
                        opened=self._on_opened, frame=self._on_frames, returned=self._on_ended,
                        errored=self._on_failed, finished=self._show_idle)
        self.start_button.setText("Stop")
        self.rate.setText("Opening…")

    def stop(self) -> None:
        self.task.cancel()
        self._show_idle()
        self.rate.setText("Stopped." if self.current is None else f"Stopped at frame {self.current.number + 1}.")

    def _on_opened(self, name: str, fps: float) -> None:
        self.rate.setText(f"{display_path(name)}: {fps:.0f} frames a second")
        self.freeze_button.setEnabled(True)

    def _on_frames(self, frames: list) -> None:
        if self.frozen.is_set():
            return  # the held frame stays on screen
        frame, image = frames[-1]  # older ones are already out of date
        self.current = frame
        self.view.show_image(image)
        self.chart.show_guesses(frame.prediction.top_k, self.options.top_k, self.options.unsure_below,
                                frame.prediction.unfamiliar)
        self.chart_title.setText(chart_title(frame.prediction, f"frame {frame.number + 1}", frame.prediction.unsure,
                                             self.options.unsure_below, self.options.top_k))
        dropped = f", {frame.dropped} dropped (the model is slower than the camera)" if frame.dropped else ""
        self.rate.setText(f"{frame.per_second:.1f} frames classified a second{dropped}")
        self.snapshot_button.setEnabled(True)
        self.frame_shown.emit(frame.number)

    def _on_freeze(self, frozen: bool) -> None:
        if frozen:
            self.frozen.set()
            self.rate.setText("Frozen: the frame on screen is held (Space goes on).")
        else:
            self.frozen.clear()

    def _on_ended(self, summary: dict) -> None:
        if summary.get("ended"):
            self.rate.setText(f"The video ended: {summary['classified']} frames classified, {summary['dropped']} "
                              "dropped.")

    def _on_failed(self, exc: BaseException) -> None:
        self.rate.setText(describe_error(exc))
        dialogs.show_error(self, "The live camera stopped", describe_error(exc))

    def _show_idle(self) -> None:
        if not self.task.is_running():
            self.start_button.setText("Start")
            self.freeze_button.setEnabled(False)

    # ------------------------------------------------------------ snapshots
    def snapshot(self) -> None:
        """Save the frame on screen where the target says (asking for a folder the first time)."""
        label = self.target.currentData()
        if label is not None:
            self._save(label)
            return
        if self.folder is None:
            self.folder = dialogs.open_folder(self, "", "A folder for the snapshots") or None
            self.refresh_targets()
            self.target.setCurrentIndex(self.target.count() - 1)
        if self.folder is not None:
            self._save(None)

    def snapshot_into_class(self, number: int) -> None:
        classes = self.project_classes()
        if 1 <= number <= len(classes):
            self._save(classes[number - 1])

    def _save(self, label: str | None) -> None:
        from resnet_gui.core.live.camera import save_snapshot

        if self.current is None:
            return
        picture = self.current.picture
        if label is None:
            path = save_snapshot(picture, self.folder)
            said = f"Saved {display_name(path)} in {display_path(self.folder)}."
        else:
            path = self.add_to_project(picture, label)
            said = f"Saved {display_name(path)} into the project's class {label}."
        self.rate.setText(said)
        self.snapshot_saved.emit(str(path))

    def closeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        self.task.shutdown()
        super().closeEvent(event)


def show_camera(window, add_snapshot: Callable) -> CameraWindow | None:
    """File › Live camera…: the camera window of `window` (a MainWindow), made once; without OpenCV, what to
    install, in a sentence. `add_snapshot(project panel, picture, label)` puts a frame into the project."""
    from resnet_gui.core.live.camera import camera_support

    missing = camera_support()
    if missing is not None:
        dialogs.show_info(window, "Live camera", missing)
        return None
    if window.bundle is None:
        window.report_error("No model yet", "Load a model first (File › Open checkpoint…), then open the camera.")
        return None
    shown = getattr(window, "camera_window", None)
    if shown is None:
        project = window.project_panel

        def classes() -> list[str]:
            return [c.name for c in project.project.classes()] if project.project is not None else []

        shown = window.camera_window = CameraWindow(lambda: window.bundle, window.options, classes,
                                                    lambda picture, label: add_snapshot(project, picture, label),
                                                    window)
    shown.refresh_targets()
    shown.show()
    shown.raise_()
    return shown
