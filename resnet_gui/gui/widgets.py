"""Small building blocks shared by the panels."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

ZERO_WIDTH_SPACE = "\u200b"


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


class ElidedLabel(QLabel):
    """One line of plain text that never widens its window: cut with an ellipsis where it does not fit, the
    whole text on hover. A QLabel asks for its text's width, and Qt grows the window to give it: a
    215-character file name in the chart's title made the window 2,893 px wide."""

    def __init__(self, text: str = "", parent=None, mode: Qt.TextElideMode = Qt.TextElideMode.ElideMiddle):
        super().__init__(parent)
        self._full = ""
        self._mode = mode
        self.setTextFormat(Qt.TextFormat.PlainText)  # names are shown as written, never read as markup
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt's name
        self._full = text or ""
        self._elide()

    def text(self) -> str:
        return self._full

    def minimumSizeHint(self) -> QSize:  # noqa: N802
        return QSize(0, super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:  # noqa: N802
        return QSize(min(self.fontMetrics().horizontalAdvance(self._full) + 8, 320), super().sizeHint().height())

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        shown = self.fontMetrics().elidedText(self._full, self._mode, max(self.contentsRect().width(), 12))
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")


def never_widens(label: QLabel) -> QLabel:
    """A wrapped label whose long words (a path, a file name) must not widen the window: it takes the width it
    is given, and its text may break inside a long name (see `breakable`)."""
    label.setWordWrap(True)
    policy = label.sizePolicy()
    policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored)
    label.setSizePolicy(policy)
    label.setMinimumWidth(0)
    return label


def breakable(text: str, longest: int = 28) -> str:
    """`text` with a zero-width space after each / \\ _ - . in words longer than `longest`, so a wrapped
    label can break a path or a long file name instead of widening the window for it."""
    words = []
    for word in text.split(" "):
        if len(word) > longest:
            word = "".join(ch + ZERO_WIDTH_SPACE if ch in "/\\_-." else ch for ch in word)
            # a run of letters longer than `longest` still gets a break every `longest` characters
            parts, run = [], 0
            for ch in word:
                run = 0 if ch == ZERO_WIDTH_SPACE else run + 1
                parts.append(ch)
                if run >= longest:
                    parts.append(ZERO_WIDTH_SPACE)
                    run = 0
            word = "".join(parts)
        words.append(word)
    return " ".join(words)
