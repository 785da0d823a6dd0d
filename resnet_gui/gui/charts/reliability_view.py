"""The reliability diagram: accuracy against confidence, before and after temperature scaling."""

from __future__ import annotations

import html

import pyqtgraph as pg
from PySide6.QtCore import Qt

from resnet_gui.core.summaries import MIN_CALIBRATION_IMAGES, calibration_in_brief, calibration_in_words
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
        self.words = ""
        self.legend.setVisible(False)

    def reset(self) -> None:
        """Empty, for a new run (not `clear`: pyqtgraph's PlotWidget uses that name itself)."""
        self.calibration = None
        self.words = ""
        self._set_title("")
        for curve, name in ((self.before, "before"), (self.after, "after")):
            curve.setData([], [])
            self.legend.getLabel(curve).setText(name)
        self.legend.setVisible(False)  # a legend with no curves to name only puzzles

    def show_calibration(self, calibration: dict) -> None:
        """Empty bins are skipped; with too few validation pictures the curves are not drawn (they would
        be noise), and the sentence says so."""
        self.calibration = calibration
        self.words = calibration_in_words(calibration)
        self._set_title(calibration_in_brief(calibration))
        self.setToolTip(self.words)
        enough = sum(b["count"] for b in calibration["reliability_after"]["bins"]) >= MIN_CALIBRATION_IMAGES
        for curve, key, name in ((self.before, "reliability_before", "before"),
                                 (self.after, "reliability_after", "after")):
            bins = [b for b in calibration[key]["bins"] if b["count"]] if enough else []
            curve.setData([b["confidence"] for b in bins], [b["accuracy"] for b in bins])
            self.legend.getLabel(curve).setText(f"{name}: off by {calibration[key]['ece']:.3f}" if enough else name)
        self.legend.setVisible(enough)
        self.setToolTip(f"{self.words}\n'Off by' is the expected calibration error (ECE): how far the stated "
                        "confidence is from the accuracy, on average over the validation answers.")

    def _set_title(self, words: str) -> None:
        sentence = f"<br><span style='font-size:9pt; color:#444'>{html.escape(words)}</span>" if words else ""
        self.getPlotItem().setTitle(f"Reliability (validation){sentence}", color="#222")
