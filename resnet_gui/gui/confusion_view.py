"""The confusion matrix as a heat map with counts, true classes down, predicted across."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal

from resnet_gui.gui.widgets import make_static


class ConfusionView(pg.PlotWidget):
    cell_clicked = Signal(int, int)  # true class row, predicted class column

    def __init__(self, parent=None, title: str = "Confusion (validation)"):
        super().__init__(parent, background="w")
        plot = make_static(self, title)
        plot.setLabel("left", "true class")
        plot.setLabel("bottom", "predicted class")
        plot.invertY(True)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setColorMap(pg.colormap.get("CET-L12"))  # white to blue, readable counts
        self.addItem(self.image)
        self.labels: list[pg.TextItem] = []
        self.matrix = np.zeros((0, 0), dtype=int)
        self.scene().sigMouseClicked.connect(self._on_click)
        for side in ("left", "bottom"):
            plot.getAxis(side).enableAutoSIPrefix(False)  # class indices, never "x0.001"
            plot.getAxis(side).setTicks([[]])
        placeholder = pg.TextItem("No matrix yet", color="#888", anchor=(0.5, 0.5))
        self.addItem(placeholder)
        self.labels.append(placeholder)  # removed with the counts when a matrix arrives
        self.setXRange(-0.5, 0.5, padding=0)
        self.setYRange(-0.5, 0.5, padding=0)

    def _on_click(self, event) -> None:
        n = len(self.matrix)
        if not n:
            return
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        column, row = int(round(point.x())), int(round(point.y()))
        if 0 <= row < n and 0 <= column < n:
            self.cell_clicked.emit(row, column)

    def show_matrix(self, matrix, classes: list[str]) -> None:
        m = np.asarray(matrix, dtype=float)
        self.matrix = m.astype(int)
        n = len(classes)
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)  # colour by recall, per true class
        self.image.setImage(share, levels=(0, 1))
        self.image.setRect(-0.5, -0.5, n, n)
        ticks = [[(i, name if len(name) <= 14 else name[:13] + "…") for i, name in enumerate(classes)]]
        self.getPlotItem().getAxis("left").setTicks(ticks)
        self.getPlotItem().getAxis("bottom").setTicks(ticks)
        for label in self.labels:
            self.removeItem(label)
        self.labels = []
        for (i, j), count in np.ndenumerate(self.matrix):
            colour = "w" if share[i, j] > 0.55 else "#222"
            label = pg.TextItem(str(count), color=colour, anchor=(0.5, 0.5))
            label.setPos(j, i)
            self.addItem(label)
            self.labels.append(label)
        self.setXRange(-0.5, n - 0.5, padding=0.02)
        self.setYRange(-0.5, n - 0.5, padding=0.02)
