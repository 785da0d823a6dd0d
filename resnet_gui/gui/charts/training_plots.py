"""Live training curves: loss per batch (smoothed) and per epoch, accuracy per epoch."""

from __future__ import annotations

import math

import pyqtgraph as pg

TRAIN = (52, 120, 200)
VAL = (220, 110, 30)
BATCH = (120, 150, 195)


def log_ticks(low: float, high: float) -> list[tuple[float, str]]:
    """Ticks for a log axis between two positive values: 1-2-5 steps, as many as fit in 3 to 9 labels.
    pyqtgraph labels only powers of ten, so a loss between 0.3 and 1.1 got no label at all."""
    low, high = max(min(low, high), 1e-12), max(low, high, 1e-12)
    for steps in ((1, 2, 5), (1, 2, 3, 5, 7), (1, 1.5, 2, 3, 4, 5, 6, 8)):
        ticks = []
        for decade in range(math.floor(math.log10(low)) - 1, math.ceil(math.log10(high)) + 1):
            for m in steps:
                v = m * 10.0 ** decade
                if low * 0.999 <= v <= high * 1.001:
                    ticks.append((math.log10(v), f"{v:g}"))
        if len(ticks) >= 3:
            return ticks[:: max(1, -(-len(ticks) // 9))]
    return [(math.log10(v), f"{v:.2g}") for v in (low, math.sqrt(low * high), high)]


def _style(plot: pg.PlotItem, title: str, left: str) -> None:
    plot.setTitle(title, color="#222", size="11pt")
    plot.setLabel("left", left)
    plot.setLabel("bottom", "epoch")
    plot.showGrid(x=True, y=True, alpha=0.2)
    plot.setMenuEnabled(False)
    for name in ("left", "bottom"):
        plot.getAxis(name).setTextPen("#333")
        plot.getAxis(name).setPen("#777")
        plot.getAxis(name).enableAutoSIPrefix(False)  # epochs and losses, never "x0.001"


class TrainingPlots(pg.GraphicsLayoutWidget):
    """Curves are created once and updated with setData()."""

    def __init__(self, parent=None, smoothing: float = 0.9):
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(220)
        self.smoothing = smoothing
        self.loss_plot = self.addPlot(row=0, col=0)
        self.acc_plot = self.addPlot(row=0, col=1)
        _style(self.loss_plot, "Loss (log scale)", "loss")
        # Early validation losses of a fresh model can be 30x the training loss: a log axis keeps both readable.
        self.loss_plot.setLogMode(y=True)
        _style(self.acc_plot, "Accuracy", "accuracy")
        self.acc_plot.setYRange(0, 1.02, padding=0)
        # One legend under both charts, in a row of its own: inside a chart it covered the curves.
        self.legend = pg.LegendItem(colCount=3, labelTextColor="#222")
        self.addItem(self.legend, row=1, col=0, colspan=2)
        self.batch_curve = self.loss_plot.plot(pen=pg.mkPen(BATCH, width=1.5), name="train (per batch, smoothed)")
        self.train_loss = self.loss_plot.plot(pen=pg.mkPen(TRAIN, width=2), symbol="o", symbolSize=6,
                                              symbolBrush=TRAIN, name="train")
        self.val_loss = self.loss_plot.plot(pen=pg.mkPen(VAL, width=2), symbol="s", symbolSize=6,
                                            symbolBrush=VAL, name="validation")
        self.train_acc = self.acc_plot.plot(pen=pg.mkPen(TRAIN, width=2), symbol="o", symbolSize=6,
                                            symbolBrush=TRAIN, name="train")
        self.val_acc = self.acc_plot.plot(pen=pg.mkPen(VAL, width=2), symbol="s", symbolSize=6,
                                          symbolBrush=VAL, name="validation")
        for curve, name in ((self.batch_curve, "train loss per batch (smoothed)"), (self.train_loss, "train"),
                            (self.val_loss, "validation")):
            self.legend.addItem(curve, name)
        self.reset()

    def reset(self) -> None:
        self.batch_x: list[float] = []
        self.batch_y: list[float] = []
        self._average = 0.0
        self._count = 0
        self.epochs: list[dict] = []
        for curve in (self.batch_curve, self.train_loss, self.val_loss, self.train_acc, self.val_acc):
            curve.setData([], [])
        self.loss_plot.getAxis("left").setTicks(None)
        self._loss_range = (math.inf, 0.0)
        self._ticks_shown = None

    def add_batches(self, events) -> None:
        for e in events:
            # An exponential moving average, debiased as TensorBoard does, so that the
            # first batches are not dragged towards zero (or the first loss) by the start value.
            self._count += 1
            self._average = self.smoothing * self._average + (1 - self.smoothing) * e.loss
            self.batch_x.append(e.epoch - 1 + e.batch / e.batches)
            self.batch_y.append(self._average / (1 - self.smoothing ** self._count))
            self._note_losses((self.batch_y[-1],))
        self.batch_curve.setData(self.batch_x, self.batch_y)
        self._loss_ticks()

    def _note_losses(self, values) -> None:
        """Keep the range the loss axis spans (a running min and max: the GUI thread never rescans the run)."""
        for v in values:
            if v > 0 and math.isfinite(v):
                self._loss_range = (min(self._loss_range[0], v), max(self._loss_range[1], v))

    def _loss_ticks(self) -> None:
        low, high = self._loss_range
        if low <= high:
            ticks = log_ticks(low, high)
            if ticks != self._ticks_shown:
                self._ticks_shown = ticks
                self.loss_plot.getAxis("left").setTicks([ticks, []])

    def show_epochs(self, epochs: int) -> None:
        """The epoch axes span the run, with whole epochs only on the ticks."""
        step = max(1, -(-epochs // 10))
        for plot in (self.loss_plot, self.acc_plot):
            plot.setXRange(0.5, epochs + 0.5, padding=0)  # epoch 1 to the last, each tick a whole epoch
            plot.getAxis("bottom").setTickSpacing(major=step, minor=step)

    def add_history(self, history) -> None:
        """The epochs a stopped run had finished (dicts with epoch, losses and accuracies), before it goes on."""
        self.epochs.extend({k: e[k] for k in ("epoch", "train_loss", "val_loss", "train_acc", "val_acc")}
                           for e in history)
        self._draw_epochs()

    def add_epoch(self, event) -> None:
        self.epochs.append({"epoch": event.epoch, "train_loss": event.train_loss, "val_loss": event.val_loss,
                            "train_acc": event.train_acc, "val_acc": event.val_acc})
        self._draw_epochs()

    def _draw_epochs(self) -> None:
        x = [e["epoch"] for e in self.epochs]
        self.train_loss.setData(x, [e["train_loss"] for e in self.epochs])
        self.val_loss.setData(x, [e["val_loss"] for e in self.epochs])
        self.train_acc.setData(x, [e["train_acc"] for e in self.epochs])
        self.val_acc.setData(x, [e["val_acc"] for e in self.epochs])
        self._note_losses(v for e in self.epochs for v in (e["train_loss"], e["val_loss"]))  # a few epochs
        self._loss_ticks()


TITLE = "Learning-rate range test"


class LRFinderPlot(pg.GraphicsLayoutWidget):
    """The range test's smoothed loss against the rate (log scale), with the suggested rate marked."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.setMinimumHeight(220)
        self.plot = self.addPlot()
        _style(self.plot, TITLE, "loss (smoothed)")
        self.plot.setLabel("bottom", "learning rate")
        self.plot.setLogMode(x=True)
        self.curve = self.plot.plot(pen=pg.mkPen(TRAIN, width=2), name="loss")
        self.marker = pg.InfiniteLine(angle=90, movable=False,
                                      pen=pg.mkPen(VAL, width=2, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.point = pg.ScatterPlotItem(size=11, brush=pg.mkBrush(VAL), pen=pg.mkPen("#fff"))
        self.plot.addItem(self.marker)
        self.plot.addItem(self.point)
        self.reset()

    def reset(self) -> None:
        self.rates: list[float] = []
        self.losses: list[float] = []
        self.curve.setData([], [])
        self.marker.setVisible(False)
        self.point.setData([], [])
        self.plot.setTitle(TITLE, color="#222", size="11pt")

    def add_points(self, points) -> None:
        for _step, _steps, rate, loss in points:
            self.rates.append(rate)
            self.losses.append(loss)
        self._draw()

    def show_finding(self, finding) -> None:
        """The whole curve as the sweep measured it, and its suggestion."""
        self.rates, self.losses = list(finding.rates), list(finding.losses)
        self._draw()
        import math

        x = math.log10(finding.suggestion)
        self.marker.setValue(x)
        self.marker.setVisible(True)
        self.plot.setTitle(f"{TITLE}: suggested rate {finding.suggestion:.1e}", color="#222", size="11pt")
        if self.rates:
            nearest = min(range(len(self.rates)), key=lambda i: abs(math.log10(self.rates[i]) - x))
            self.point.setData([x], [self.losses[nearest]])

    def _draw(self) -> None:
        self.curve.setData(self.rates, self.losses)
        if self.losses:
            # The blow-up at the end would squash the part worth reading: the y axis stops a little above
            # the loss at the start.
            top = max(self.losses[: max(3, len(self.losses) // 10)]) * 1.3
            bottom = min(self.losses)
            self.plot.setYRange(bottom - 0.05 * (top - bottom), top, padding=0)
