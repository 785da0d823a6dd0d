"""The Train tab's advanced settings: a grid of what the chosen augmentation makes of a few training pictures
(gui/train/jobs.py, on a worker), drawn again a moment after a setting or the folder changes."""

from __future__ import annotations

import os

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.train import jobs

WIDTH = 230  # the grid is scaled to this width: the settings column is narrow, and must not widen


class AugmentPreview(QLabel):
    def __init__(self, form):
        super().__init__("Choose a training folder to see what the augmentation makes of its pictures.")
        self.form = form
        self.folder: str | None = None
        self.setWordWrap(True)
        self.setFixedWidth(WIDTH)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setToolTip("A few training pictures: the first column as validation sees them, then five random "
                        "draws of the augmentation training applies. A crop that cuts the object off, or a flip "
                        "that makes no sense for your pictures, shows here before a run.")
        self.task = Task(self, "augmentation preview")
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(300)  # a setting changed by several clicks is drawn once
        self.timer.timeout.connect(self.draw)

    def form_ready(self) -> None:
        """Watch the settings it shows (made after it in the form)."""
        form = self.form
        for box in form.augment.values():
            box.toggled.connect(self.schedule)
        for spin in (form.crop_scale, form.image_size):
            spin.valueChanged.connect(self.schedule)
        form.stem.currentIndexChanged.connect(self.schedule)
        form.advanced.toggled.connect(self.schedule)

    def set_folder(self, folder: str) -> None:
        self.folder = folder.strip() or None
        self.schedule()

    def schedule(self, *_ignored) -> None:
        self.timer.start()

    def draw(self) -> None:
        """Make the grid for the form's settings now, if the advanced settings are open (else when they open)."""
        if not self.form.advanced.isChecked() or not self.folder or not os.path.isdir(self.folder):
            return
        self.task.start(Job(jobs.preview_augmentation, self.form.train_settings(self.folder), torch_needed=True),
                        returned=self._show, errored=self._failed)

    def _show(self, image) -> None:
        pixmap = QPixmap.fromImage(image).scaledToWidth(WIDTH, Qt.TransformationMode.SmoothTransformation)
        self.setPixmap(pixmap)
        self.setFixedSize(pixmap.size())  # the form gives the row the grid's height, not a line's

    def _failed(self, exc: BaseException) -> None:
        self.setMinimumHeight(0)
        self.setMaximumHeight(16_777_215)  # a sentence, as high as its lines
        self.setText(f"No preview of the augmentation: {describe_error(exc)}")

    def shutdown(self) -> None:
        self.timer.stop()
        self.task.shutdown()
