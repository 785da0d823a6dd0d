"""Grad-CAM over the Classify tab's preview: where the model looks for a class of the picture's top-k, as a
heat map blended over it (computed off the GUI thread, blended again when the opacity changes)."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QImage, QPixmap

from resnet_gui.gui.classify.jobs import ResultRow, explain_picture
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.pictures import to_qimage
from resnet_gui.gui.jobs.tasks import Task


class GradCamOverlay(QObject):
    """Drives the panel's Grad-CAM controls (explain_toggle, explain_class, opacity, colour_key) and its
    preview; the panel says which row and picture are shown."""

    explained = Signal(str, int)  # path, class index: an overlay is on screen
    failed = Signal(str)  # why, in a sentence

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.task = Task(self, "explain")
        self._explanation = None  # (path, class index, pixels, heat map) of the overlay on screen
        self._plain: QImage | None = None  # the preview without overlay, to switch back to
        panel.explain_toggle.toggled.connect(self._on_settings_changed)
        panel.explain_class.activated.connect(self._on_settings_changed)
        panel.opacity.valueChanged.connect(self._blend)

    def show_row(self, row: ResultRow, top_k: int) -> None:
        """A new row is current: its classes to explain, and no overlay until its picture is shown."""
        choice = self.panel.explain_class
        choice.clear()
        for guess in row.guesses[: max(top_k, 1)]:
            choice.addItem(f"{guess.label} ({guess.prob:.0%})", guess.index)
        choice.setEnabled(bool(row.guesses))
        self._explanation = None

    def show_picture(self, image: QImage) -> None:
        """The current row's picture is in the preview: explained at once when asked for."""
        self._plain = image
        self.panel.preview.show_image(image)
        if self.panel.explain_toggle.isChecked():
            self._start()

    def _on_settings_changed(self) -> None:
        panel = self.panel
        panel.colour_key.setVisible(panel.explain_toggle.isChecked() and not panel.colour_key.pixmap().isNull())
        if panel.explain_toggle.isChecked():
            self._start()
        elif self._plain is not None:
            panel.preview.show_image(self._plain)

    def _start(self) -> None:
        panel = self.panel
        row = panel.current_row()
        if row is None or row.error or panel.bundle is None or panel.explain_class.count() == 0:
            return
        index = panel.explain_class.currentData()
        if self._explanation is not None and self._explanation[:2] == (row.path, index):
            self._blend()
            return
        self.task.start(Job(explain_picture, panel.bundle, row.path, index, torch_needed=True),
                        returned=self._on_explained, errored=lambda exc: self.failed.emit(describe_error(exc)))

    def _on_explained(self, result) -> None:
        row = self.panel.current_row()
        if row is None or row.path != result[0] or result[1] != self.panel.explain_class.currentData():
            return  # the user has moved on
        self._explanation = result
        self._blend()
        self.explained.emit(result[0], result[1])

    def _blend(self) -> None:
        panel = self.panel
        if self._explanation is None or not panel.explain_toggle.isChecked():
            return
        from PIL import Image

        from resnet_gui.core.inference.explain import colour_key, overlay

        _, _, pixels, heatmap = self._explanation
        blended = overlay(Image.fromarray(pixels), heatmap, panel.opacity.value() / 100)
        panel.preview.show_image(to_qimage(np.asarray(blended)))
        if panel.colour_key.pixmap().isNull():
            panel.colour_key.setPixmap(QPixmap.fromImage(to_qimage(colour_key(60, 10))))
        panel.colour_key.setVisible(True)

    def shutdown(self) -> None:
        self.task.shutdown()
