"""The map of a project's pictures in the window: each a point placed by what the newest run's model sees
in it (core/projects/audit.py, PCA at once), coloured by class, unlabelled ones grey; hovering names the
picture and its class, a click says which it is."""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout

from resnet_gui.core.audit.map import UNLABELLED_COLOUR
from resnet_gui.core.text import display_name


class PictureMap(QDialog):
    def __init__(self, made: dict, parent=None):
        super().__init__(parent)
        self.setWindowTitle(f"Map of the pictures ({made['method'].upper()})")
        self.made = made
        self.plot = pg.PlotWidget(background="w")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.plot.addLegend(offset=(10, 10))
        self.picked = QLabel("Hover over a point to see its picture's name; click it to keep it here.")
        self.picked.setTextFormat(Qt.TextFormat.PlainText)
        self.picked.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.picked)
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        xy, labels = made["xy"], made["labels"]
        placed = np.isfinite(xy).all(axis=1)
        groups = [*made["colours"].items(), (None, UNLABELLED_COLOUR)]
        for name, colour in groups:
            rows = [i for i, label in enumerate(labels) if label == name and placed[i]]
            if not rows:
                continue
            scatter = pg.ScatterPlotItem(
                x=xy[rows, 0], y=xy[rows, 1], data=rows, size=7 if len(xy) < 5000 else 4, pen=None,
                brush=pg.mkBrush(colour), name=name or "unlabelled", hoverable=True,
                tip=lambda x, y, data: self._describe(data))
            scatter.sigClicked.connect(self._on_clicked)
            self.plot.addItem(scatter)
            self.scatters[name or "unlabelled"] = scatter
        self.resize(760, 620)

    def _describe(self, index: int) -> str:
        label = self.made["labels"][index] or "unlabelled"
        return f"{display_name(os.path.basename(self.made['paths'][index]))} ({display_name(label)})"

    def _on_clicked(self, scatter, points, event=None) -> None:
        if len(points):
            index = points[0].data()
            self.picked.setText(f"{self._describe(index)}: {self.made['paths'][index]}")

    def point_count(self) -> int:
        return sum(len(s.data) for s in self.scatters.values())
