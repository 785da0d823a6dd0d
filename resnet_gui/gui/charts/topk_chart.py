"""A horizontal top-k bar chart: class names on the left, largest bar on top, percentages at the bars."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFont

from resnet_gui.gui.widgets import make_static

BAR_COLOUR = QColor(52, 120, 200)
TOP_COLOUR = QColor(30, 90, 170)
UNSURE_COLOUR = QColor(225, 140, 30)
UNFAMILIAR_COLOUR = QColor(150, 110, 190)  # the table's unfamiliar text, lighter


class TopKChart(pg.PlotWidget):
    bar_clicked = Signal(int)  # the row clicked, 0 = the top bar

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.scene().sigMouseClicked.connect(self._on_clicked)
        plot = make_static(self)
        plot.showGrid(x=True, y=False, alpha=0.25)
        plot.setLabel("bottom", "probability")
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(90, 90, 90))
            axis.setTextPen(pg.mkPen(40, 40, 40))
        plot.getAxis("bottom").setTicks([[(v / 4, f"{v * 25}%") for v in range(5)]])
        # Bars and their labels are created once and updated in place.
        self.bars = pg.BarGraphItem(x0=[], y=[], width=[], height=0.7, brush=BAR_COLOUR, pen=pg.mkPen(None))
        self.addItem(self.bars)
        self.value_labels: list[pg.TextItem] = []
        self.guesses: list = []
        # The dashed line says what it is, on the line itself: "unsure below 80%".
        self.threshold_line = pg.InfiniteLine(
            angle=90, movable=False, pen=pg.mkPen((200, 110, 0), width=1.5, style=Qt.PenStyle.DashLine),
            label="unsure below {value:.0%}", labelOpts={"position": 0.96, "color": (170, 95, 0),
                                                         "anchors": [(0, 0.5), (0, 0.5)]})
        self.threshold_line.hide()
        self.addItem(self.threshold_line)
        self.setXRange(-0.02, 1.18, padding=0)
        self.show_guesses([])

    def show_guesses(self, guesses: list, k: int | None = None, threshold: float | None = None,
                     unfamiliar: bool = False) -> None:
        """Draw the first `k` guesses (objects with .label and .prob), best on top; a dashed line
        marks the "unsure" threshold, an unsure best guess is drawn in orange, and every bar of a picture
        unlike the training pictures in purple."""
        self.unfamiliar = unfamiliar
        self.threshold_line.setVisible(threshold is not None and bool(guesses))
        if threshold is not None:
            self.threshold_line.setPos(threshold)
        unsure = threshold is not None and bool(guesses) and guesses[0].prob < threshold
        shown = list(guesses[: k or len(guesses)])
        self.guesses = shown
        count = len(shown)
        ys = [count - 1 - i for i in range(count)]
        probs = [g.prob for g in shown]
        top = UNSURE_COLOUR if unsure else TOP_COLOUR
        brushes = [top if i == 0 else BAR_COLOUR for i in range(count)]
        if unfamiliar:
            brushes = [UNFAMILIAR_COLOUR] * count
        self.bars.setOpts(x0=[0] * count, y=ys, width=probs, height=0.7, brushes=brushes)
        self.getPlotItem().getAxis("left").setTicks([[(y, _short(g.label)) for y, g in zip(ys, shown, strict=False)]])
        while len(self.value_labels) < count:
            label = pg.TextItem(color=(30, 30, 30), anchor=(0, 0.5))
            label.setFont(QFont(self.font().family(), max(8, self.font().pointSize())))
            self.addItem(label)
            self.value_labels.append(label)
        for i, label in enumerate(self.value_labels):
            if i < count:
                label.setText(f"{shown[i].prob:.1%}")
                label.setPos(shown[i].prob + 0.01, ys[i])
                label.show()
            else:
                label.hide()
        self.setYRange(-0.6, max(count, 1) - 0.4, padding=0)
        self.setToolTip("\n".join(f"{g.label}: {g.prob:.2%}" for g in shown))

    def _on_clicked(self, event) -> None:
        point = self.getPlotItem().vb.mapSceneToView(event.scenePos())
        row = len(self.guesses) - 1 - round(point.y())
        if 0 <= row < len(self.guesses):
            self.bar_clicked.emit(row)

    def bar_values(self) -> list[tuple[str, float]]:
        """(label, probability) top to bottom, as drawn: for tests and accessibility."""
        return [(g.label, g.prob) for g in self.guesses]


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"

