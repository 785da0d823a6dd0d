"""The reliability diagram: accuracy against confidence, before and after temperature scaling."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from resnet_gui.gui.widgets import make_static

BEFORE = (150, 150, 150)
AFTER = (52, 120, 200)


class ReliabilityView(pg.PlotWidget):
    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        plot = make_static(self, "Reliability (validation)")
        plot.setLabel("bottom", "confidence")
        plot.setLabel("left", "accuracy")
        plot.showGrid(x=True, y=True, alpha=0.2)
        plot.setXRange(0, 1, padding=0.02)
        plot.setYRange(0, 1, padding=0.02)
        self.legend = plot.addLegend(offset=(8, 8), labelTextColor="#222", brush=(255, 255, 255, 210))
        plot.plot([0, 1], [0, 1], pen=pg.mkPen((190, 190, 190), style=Qt.PenStyle.DashLine))
        self.before = plot.plot(pen=pg.mkPen(BEFORE, width=2), symbol="o", symbolSize=5, symbolBrush=BEFORE,
                                name="before")
        self.after = plot.plot(pen=pg.mkPen(AFTER, width=2), symbol="s", symbolSize=5, symbolBrush=AFTER,
                               name="after")
        self.calibration: dict | None = None

    def show_calibration(self, calibration: dict) -> None:
        self.calibration = calibration
        for curve, key, name in ((self.before, "reliability_before", "before"),
                                 (self.after, "reliability_after", "after")):
            bins = [b for b in calibration[key]["bins"] if b["count"]]
            curve.setData([b["confidence"] for b in bins], [b["accuracy"] for b in bins])
            self.legend.getLabel(curve).setText(f"{name}: ECE {calibration[key]['ece']:.3f}")
