"""The confusion matrix as a heat map with counts, true classes down, predicted across."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QFontMetrics

from resnet_gui.core.text import short_label
from resnet_gui.gui.formatting import plain_tooltip
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
        self.classes: list[str] = []
        self.scene().sigMouseMoved.connect(self._on_hover)
        self.clear_matrix()

    def _on_click(self, event) -> None:
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cell_clicked.emit(*cell)

    def clear_matrix(self) -> None:
        self._remove_labels()
        self.matrix = np.zeros((0, 0), dtype=int)
        self.classes = []
        self.image.clear()
        for side in ("left", "bottom"):
            self.getPlotItem().getAxis(side).setTicks([[]])
        placeholder = pg.TextItem("No matrix yet", color="#888", anchor=(0.5, 0.5))
        self.addItem(placeholder)
        self.labels.append(placeholder)
        self.setXRange(-0.5, 0.5, padding=0)
        self.setYRange(-0.5, 0.5, padding=0)

    def show_matrix(self, matrix, classes: list[str]) -> None:
        """Up to 30 classes stay readable: long names are shortened (the full name, with the count, shows
        on hover), and counts are left out of cells too small to hold them."""
        if not len(classes):
            self.clear_matrix()
            return
        m = np.asarray(matrix, dtype=float)
        self.matrix = m.astype(int)
        self.classes = list(classes)
        n = len(classes)
        rows = m.sum(axis=1, keepdims=True)
        share = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)  # colour by recall, per true class
        self.image.setImage(share, levels=(0, 1))
        self.image.setRect(-0.5, -0.5, n, n)
        if n <= NAMES_ACROSS_UP_TO:
            down = [[(i, short_label(name, 14)) for i, name in enumerate(classes)]]
        else:  # names side by side would overlap: number the columns, and the rows with the same numbers
            down = [[(i, f"{short_label(name, 12)} {i + 1}") for i, name in enumerate(classes)]]
        self.getPlotItem().getAxis("left").setTicks(down)
        self._fit_column_names()
        self._remove_labels()
        if n <= COUNTS_UP_TO:
            for (i, j), count in np.ndenumerate(self.matrix):
                colour = "w" if share[i, j] > 0.55 else "#222"
                label = pg.TextItem(str(count), color=colour, anchor=(0.5, 0.5))
                label.setPos(j, i)
                self.addItem(label)
                self.labels.append(label)
        self.setXRange(-0.5, n - 0.5, padding=0.02)
        self.setYRange(-0.5, n - 0.5, padding=0.02)

    def column_names(self) -> list[str]:
        """The names under the columns as drawn now (for tests, and for accessibility)."""
        ticks = self.getPlotItem().getAxis("bottom")._tickLevels
        return [text for _, text in ticks[0]] if ticks else []

    def _fit_column_names(self) -> None:
        """Each column's name cut to the width of its column, measured in the axis's own font, with a gap:
        counted once at the width the matrix had when shown, names overlapped ("clu…erelo…edempty") once
        the view was narrowed."""
        n = len(self.__dict__.get("classes", ()))  # resizeEvent comes during __init__, before there are classes
        if not n:
            return
        axis = self.getPlotItem().getAxis("bottom")
        if n > NAMES_ACROSS_UP_TO:
            axis.setTicks([[(i, str(i + 1)) for i in range(n)]])
            return
        metrics = QFontMetrics(axis.style.get("tickFont") or self.font())
        column = self.getPlotItem().vb.width() / n if self.getPlotItem().vb.width() > 0 else self.width() / (n + 1.5)
        room = max(column - metrics.horizontalAdvance("  "), metrics.horizontalAdvance("W…"))
        names = []
        for i, name in enumerate(self.classes):
            keep = len(name)
            while keep > 1 and metrics.horizontalAdvance(short_label(name, keep)) > room:
                keep -= 1
            names.append((i, short_label(name, keep)))
        axis.setTicks([names])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        super().resizeEvent(event)
        self._fit_column_names()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        n = len(self.matrix)
        if not n:
            return None
        point = self.getPlotItem().vb.mapSceneToView(scene_pos)
        column, row = int(round(point.x())), int(round(point.y()))
        return (row, column) if 0 <= row < n and 0 <= column < n else None

    def _on_hover(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos)
        if cell is None:
            self.setToolTip("")
            return
        row, column = cell
        self.setToolTip(plain_tooltip(f"true {self.classes[row]}, predicted {self.classes[column]}: "
                                      f"{self.matrix[row, column]}"))

    def _remove_labels(self) -> None:
        for label in self.labels:
            self.removeItem(label)
        self.labels = []


COUNTS_UP_TO = 15  # classes; beyond, a cell is too small for its count (hover shows it)
NAMES_ACROSS_UP_TO = 8  # classes whose names fit side by side under the matrix
