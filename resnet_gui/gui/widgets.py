"""Small building blocks shared by the panels."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget


def on_click(signal, slot) -> None:
    """Run `slot()` on a button's `clicked` or an action's `triggered`, with no argument.

    Both signals pass `checked`; connected straight to a method with an optional first parameter
    (`start_training(project=None)`), that `False` becomes the argument: Start training once raised
    a TypeError on every click that way. Every button and plain action of the window is connected here."""
    signal.connect(lambda *_ignored: slot())


def stacked(*widgets, stretch: int = -1) -> QWidget:
    """Widgets (or layouts) one above the other without margins; `stretch` names the one that grows."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(0, 0, 0, 0)
    for index, item in enumerate(widgets):
        grow = 1 if index == (stretch % len(widgets)) else 0
        if isinstance(item, QWidget):
            layout.addWidget(item, grow)
        else:
            layout.addLayout(item, grow)
    return box


def make_static(plot_widget: pg.PlotWidget, title: str | None = None) -> pg.PlotItem:
    """A chart to read, not to explore: no mouse zoom or pan, no context menu, no auto-range button."""
    plot_widget.setMinimumSize(160, 140)
    plot_widget.setMenuEnabled(False)
    plot_widget.setMouseEnabled(x=False, y=False)
    plot_widget.hideButtons()
    plot = plot_widget.getPlotItem()
    if title:
        plot.setTitle(title, color="#222", size="11pt")
    for name in ("left", "bottom"):
        plot.getAxis(name).setTextPen("#333")
    return plot
