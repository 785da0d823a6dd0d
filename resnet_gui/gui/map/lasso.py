"""A plot area where a drag draws a selection (a lasso) instead of panning, while drawing is switched on."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal


class LassoViewBox(pg.ViewBox):
    """pyqtgraph's ViewBox: the wheel zooms and a drag pans, as ever; with `drawing` on, a drag with the left
    button draws a closed line and `drawn` gives its corners, in the plot's coordinates, when it is let go."""

    drawn = Signal(object)  # np.ndarray [M, 2]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.drawing = False
        self._corners: list[tuple[float, float]] = []
        self.line = pg.PlotCurveItem(pen=pg.mkPen("#222222", width=1.5, style=Qt.PenStyle.DashLine))
        self.line.setZValue(1000)
        self.addItem(self.line, ignoreBounds=True)

    def mouseDragEvent(self, event, axis=None) -> None:
        if not self.drawing or event.button() != Qt.MouseButton.LeftButton:
            super().mouseDragEvent(event, axis)
            return
        event.accept()
        point = self.mapSceneToView(event.scenePos())
        if event.isStart():
            start = self.mapSceneToView(event.buttonDownScenePos())
            self._corners = [(start.x(), start.y())]
        self._corners.append((point.x(), point.y()))
        closed = np.array(self._corners + self._corners[:1], dtype=float)
        self.line.setData(closed[:, 0], closed[:, 1])
        if event.isFinish():
            corners = np.array(self._corners, dtype=float)
            self._corners = []
            self.drawn.emit(corners)

    def clear_line(self) -> None:
        self.line.setData([], [])
