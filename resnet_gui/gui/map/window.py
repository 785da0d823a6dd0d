"""The map of pictures in the window (core/audit/map.py): each a point placed by what a model sees in it, PCA at
once and UMAP on a worker when it is installed; coloured by label, the model's guess, its confidence or
"unfamiliar". Hovering shows the picture (decoded off the GUI thread) and what the model says of it; a click
keeps it in the side pane, a double click opens it; a drawn selection of a project's pictures can be labelled
or excluded at once (the window's project panel does that, through `label_requested` and `exclude_requested`).
"""

from __future__ import annotations

import os

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
)

from resnet_gui.core.audit.map import COLOUR_BY, PictureMap, colour_groups, points_inside, umap_available
from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.jobs.pictures import decode_preview
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.map.lasso import LassoViewBox
from resnet_gui.gui.widgets import never_widens, on_click

THUMBNAIL = 200
MANY_POINTS = 5000  # above this, smaller points, drawn without outlines


def place_by_umap(state, features: np.ndarray) -> tuple[np.ndarray, str]:
    from resnet_gui.core.audit.map import place

    state.status("Placing the pictures by UMAP…")
    return place(features, "umap")


class PictureMapWindow(QDialog):
    label_requested = Signal(list, str)  # image ids, class name
    exclude_requested = Signal(list)  # image ids

    def __init__(self, made: PictureMap, parent=None, *, finer: bool = True):
        """`finer`: place the points again by UMAP on a worker, when umap-learn is installed."""
        super().__init__(parent)
        self.made = made
        self.hover_task = Task(self, "map-thumbnail")
        self.place_task = Task(self, "map-placing")
        self.scatters: dict[str, pg.ScatterPlotItem] = {}
        self.selected = np.zeros(0, dtype=np.int64)
        self.shown: int | None = None  # the row the side pane shows
        self._build()
        self.draw_points()
        self.resize(980, 660)
        if finer and made.method != "umap" and umap_available() and made.placed > 15:
            self.place_finer()
        else:
            self._say_method()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.setWindowTitle(f"Map of {self.made.title or 'the pictures'}")
        top = QHBoxLayout()
        top.addWidget(QLabel("Colour by"))
        self.colour_by = QComboBox()
        labelled = any(label is not None for label in self.made.labels)
        for key, text in COLOUR_BY.items():
            if key != "label" or labelled:  # a classified folder has only the model's guesses
                self.colour_by.addItem(text, key)
        self.colour_by.currentIndexChanged.connect(lambda *_: self.draw_points())
        top.addWidget(self.colour_by)
        self.draw_button = QPushButton("Draw a selection")
        self.draw_button.setCheckable(True)
        self.draw_button.setToolTip("On: drag around points to select them. Off: drag to move the map; the wheel "
                                    "zooms.")
        self.draw_button.toggled.connect(self._on_draw_toggled)
        top.addWidget(self.draw_button)
        self.method_note = never_widens(QLabel())
        top.addWidget(self.method_note, 1)
        self.view = LassoViewBox()
        self.view.drawn.connect(self._on_drawn)
        self.plot = pg.PlotWidget(viewBox=self.view, background="w")
        self.plot.hideAxis("left")
        self.plot.hideAxis("bottom")
        self.legend = self.plot.addLegend(offset=(10, 10), labelTextColor="#222222",
                                          brush=pg.mkBrush(255, 255, 255, 200))
        self.highlight = pg.ScatterPlotItem(size=11, pen=pg.mkPen("#111111", width=1.5), brush=None)
        self.highlight.setZValue(500)
        self.plot.addItem(self.highlight)
        self.plot.scene().sigMouseMoved.connect(self._on_mouse_moved)
        # A double click, watched on the widget: pyqtgraph's scene hands items the first click of the two only.
        self.plot.viewport().installEventFilter(self)

        side = QVBoxLayout()
        self.thumbnail = QLabel()
        self.thumbnail.setFixedSize(QSize(THUMBNAIL, THUMBNAIL))
        self.thumbnail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thumbnail.setStyleSheet("background: #f3f3f3;")
        side.addWidget(self.thumbnail)
        self.picked = never_widens(QLabel("Point at a picture to see it; click it to keep it here, double-click "
                                          "to open it."))
        self.picked.setTextFormat(Qt.TextFormat.PlainText)
        self.picked.setWordWrap(True)
        self.picked.setFixedWidth(THUMBNAIL)
        side.addWidget(self.picked)
        self.open_button = QPushButton("Open the picture")
        self.open_button.setEnabled(False)
        on_click(self.open_button.clicked, self.open_shown)
        side.addWidget(self.open_button)
        side.addStretch(1)
        middle = QHBoxLayout()
        middle.addWidget(self.plot, 1)
        middle.addLayout(side)

        bottom = QHBoxLayout()
        self.selection_note = QLabel("Nothing selected.")
        bottom.addWidget(self.selection_note, 1)
        self.class_choice = QComboBox()
        self.class_choice.addItems(list(self.made.colours))
        self.label_button = QPushButton("Label the selection")
        on_click(self.label_button.clicked, self.label_selection)
        self.exclude_button = QPushButton("Exclude the selection")
        on_click(self.exclude_button.clicked, self.exclude_selection)
        self.clear_button = QPushButton("Clear the selection")
        on_click(self.clear_button.clicked, lambda: self.select(np.zeros(0, dtype=np.int64)))
        for widget in (self.class_choice, self.label_button, self.exclude_button, self.clear_button):
            bottom.addWidget(widget)
        can_act = self.made.image_ids is not None  # a project's pictures; a folder's have no labels to give
        for widget in (self.class_choice, self.label_button, self.exclude_button):
            widget.setVisible(can_act)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addLayout(middle, 1)
        layout.addLayout(bottom)
        self.select(self.selected)

    # ------------------------------------------------------------ points
    def draw_points(self) -> None:
        """The points in groups of one colour, as the chosen colouring says, with the legend."""
        for scatter in self.scatters.values():
            self.plot.removeItem(scatter)
        self.scatters.clear()
        self.legend.clear()
        many = len(self.made.paths) > MANY_POINTS
        xy = self.made.xy
        for name, colour, rows in colour_groups(self.made, self.colour_by.currentData()):
            scatter = pg.ScatterPlotItem(x=xy[rows, 0], y=xy[rows, 1], data=rows, size=4 if many else 8,
                                         pen=None if many else pg.mkPen("w", width=0.5), brush=pg.mkBrush(colour),
                                         name=f"{display_name(name)} ({len(rows)})", hoverable=False)
            scatter.sigClicked.connect(self._on_clicked)
            self.plot.addItem(scatter)
            self.scatters[name] = scatter
        self._show_selection()

    def point_count(self) -> int:
        return sum(len(s.data) for s in self.scatters.values())

    def row_at(self, scene_pos, within_px: float = 6.0) -> int | None:
        """The picture nearest the mouse, if it is within a few pixels; None otherwise. Measured in pixels on
        the map's own coordinates (a millisecond for 100,000 points, where asking each scatter took 250 ms)."""
        if not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view.mapSceneToView(scene_pos)
        pixel_x, pixel_y = self.view.viewPixelSize()
        if not (pixel_x > 0 and pixel_y > 0):
            return None
        with np.errstate(invalid="ignore"):
            squared = ((self.made.xy[:, 0] - point.x()) / pixel_x) ** 2 + \
                ((self.made.xy[:, 1] - point.y()) / pixel_y) ** 2
        if not np.isfinite(squared).any():
            return None
        row = int(np.nanargmin(squared))
        return row if squared[row] <= within_px ** 2 else None

    def _on_mouse_moved(self, scene_pos) -> None:
        if self.view.drawing:
            return
        row = self.row_at(scene_pos)
        if row is not None and row != self.shown:
            self.show_row(row)

    def _on_clicked(self, scatter, points, event=None) -> None:
        if len(points):
            self.show_row(int(points[0].data()))

    def eventFilter(self, watched, event) -> bool:
        if event.type() == QEvent.Type.MouseButtonDblClick and not self.view.drawing:
            row = self.row_at(self.plot.mapToScene(event.position().toPoint()))
            if row is not None:
                self.show_row(row)
                self.open_shown()
                return True
        return super().eventFilter(watched, event)

    def show_row(self, row: int) -> None:
        """The side pane: the picture (decoded on a worker), its name, its label and what the model says."""
        self.shown = row
        made = self.made
        path = made.paths[row]
        label = made.labels[row]
        guess = made.predicted[row]
        said = f"guess {display_name(guess)} ({made.confidence[row]:.0%})" if guess is not None else "not read"
        if made.unfamiliar[row]:
            said += ", unfamiliar"
        filed = f"{display_name(label)} · " if label is not None else ("unlabelled · " if made.image_ids else "")
        self.picked.setText(f"{display_name(os.path.basename(path))}\n{filed}{said}")
        self.picked.setToolTip(display_path(path))  # a path has no spaces to wrap at: in full, on the tooltip
        self.open_button.setEnabled(True)
        self.thumbnail.setText("…")
        self.hover_task.start(Job(decode_preview, path, THUMBNAIL), returned=self._on_thumbnail)

    def _on_thumbnail(self, result) -> None:
        path, image, error = result
        if self.shown is None or self.made.paths[self.shown] != path:
            return
        if image is None:
            self.thumbnail.setText("cannot be shown")
            return
        # small pictures (cells of 32 px) grown to the pane, as large ones are shrunk to it
        self.thumbnail.setPixmap(QPixmap.fromImage(image).scaled(
            THUMBNAIL, THUMBNAIL, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation))

    def open_shown(self) -> None:
        if self.shown is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(self.made.paths[self.shown]))

    # ------------------------------------------------------------ selection
    def _on_draw_toggled(self, on: bool) -> None:
        self.view.drawing = on
        self.view.setMouseEnabled(x=not on, y=not on)
        if not on:
            self.view.clear_line()

    def _on_drawn(self, corners: np.ndarray) -> None:
        self.select(points_inside(self.made.xy, corners))

    def select(self, rows: np.ndarray) -> None:
        self.selected = np.asarray(rows, dtype=np.int64)
        if not len(self.selected):
            self.view.clear_line()
        self._show_selection()

    def _show_selection(self) -> None:
        rows = self.selected
        self.highlight.setData(x=self.made.xy[rows, 0], y=self.made.xy[rows, 1])
        count = len(rows)
        if count:
            labels = [self.made.labels[r] for r in rows]
            filed = {name: labels.count(name) for name in dict.fromkeys(labels)}
            listed = ", ".join(f"{display_name(n) if n else 'unlabelled'} {c}" for n, c in list(filed.items())[:4])
            self.selection_note.setText(f"{count} selected ({listed}).")
        else:
            self.selection_note.setText("Nothing selected. Draw a selection to label or exclude many at once."
                                        if self.made.image_ids is not None else "Nothing selected.")
        for button in (self.label_button, self.exclude_button, self.clear_button):
            button.setEnabled(bool(count))

    def selected_ids(self) -> list[int]:
        return [self.made.image_ids[r] for r in self.selected] if self.made.image_ids is not None else []

    def label_selection(self) -> None:
        self.label_requested.emit(self.selected_ids(), self.class_choice.currentText())

    def exclude_selection(self) -> None:
        self.exclude_requested.emit(self.selected_ids())

    def labelled(self, label: str | None) -> None:
        """The selection was labelled `label` (None: excluded, so it leaves the map)."""
        rows = self.selected
        if label is None:
            self.made.xy[rows] = np.nan
        else:
            for r in rows:
                self.made.labels[r] = label
        self.select(np.zeros(0, dtype=np.int64))
        self.draw_points()

    # ------------------------------------------------------------ UMAP
    def place_finer(self) -> None:
        self.method_note.setText("Placed by PCA for now; placing by UMAP on a worker (the first time takes "
                                 "10-20 s)…")
        self.place_task.start(Job(place_by_umap, self.made.features), returned=self._on_placed,
                              errored=lambda exc: self._say_method(f" (UMAP failed: {exc})"))

    def _on_placed(self, result) -> None:
        xy, method = result
        gone = ~np.isfinite(self.made.xy).all(axis=1)  # excluded meanwhile
        xy = np.array(xy, dtype=np.float32)
        xy[gone] = np.nan
        self.made.xy, self.made.method = xy, method
        self.select(np.zeros(0, dtype=np.int64))
        self.draw_points()
        self.view.autoRange()
        self._say_method()

    def _say_method(self, extra: str = "") -> None:
        how = {"umap": "UMAP", "pca": "PCA"}.get(self.made.method, self.made.method)
        hint = "" if self.made.method == "umap" or umap_available() else \
            " (pip install \"resnet-gui[map]\" for UMAP, which keeps neighbours closer)"
        self.method_note.setText(f"{self.made.placed} pictures placed by {how}{hint}{extra}. Points deep inside "
                                 "another class's cloud are the likely mistakes.")

    def shutdown(self) -> None:
        self.hover_task.shutdown()
        self.place_task.shutdown()

    def closeEvent(self, event) -> None:
        # Closing hides the window: a UMAP placement cannot be stopped halfway, and waiting for it here would
        # freeze the window for seconds. Its answer reaches the hidden map; the panel's shutdown waits for it.
        self.hover_task.cancel()
        super().closeEvent(event)


def open_map(owner, made: PictureMap) -> PictureMapWindow:
    """A map in its own window, as `owner.picture_map` (a tab's panel), in place of the one it showed before."""
    if getattr(owner, "picture_map", None) is not None:
        owner.picture_map.close()  # a map of the pictures as they were
    owner.picture_map = PictureMapWindow(made, owner)
    owner.picture_map.show()
    return owner.picture_map
