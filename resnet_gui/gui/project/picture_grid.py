"""A grid of a project's pictures (model/view) whose thumbnails load off the GUI thread.

The model's `data()` only looks things up: a thumbnail not in memory yet is asked of a thread pool
(which reads the project's disk cache, or makes the thumbnail once and caches it) and the cell shows
a grey tile until it arrives. Memory holds the most recently shown few thousand; scrolling through
100,000 pictures never waits for a file.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

from PySide6.QtCore import QAbstractListModel, QModelIndex, QObject, QSize, Qt, QThread, Signal, Slot
from PySide6.QtGui import QBrush, QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QListView

from resnet_gui.core.projects.records import Picture
from resnet_gui.gui.classify.results_model import UNFAMILIAR_TEXT
from resnet_gui.gui.formatting import plain_tooltip

GRID_ICON = 128
MEMORY_THUMBNAILS = 3000


class _ThumbnailWorker(QObject):
    """Lives on the loader's thread; requests arrive queued, in order, and go back as `ready`."""

    ready = Signal(str, QImage)  # key, picture (an empty QImage when the file cannot be read)
    requested = Signal(int, str, str, str, str)  # generation, key, path, cache folder, sha256

    def __init__(self, loader: "ThumbnailLoader"):
        super().__init__()
        self.loader = loader
        self.requested.connect(self.load)

    @Slot(int, str, str, str, str)
    def load(self, generation: int, key: str, path: str, cache_dir: str, sha256: str) -> None:
        if generation != self.loader.generation:
            return  # asked for a list no longer shown
        from resnet_gui.core.images.thumbnails import load_thumbnail

        try:
            rgb = load_thumbnail(path, cache_dir or None, sha256 or None)
            image = QImage(rgb.tobytes(), rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888).copy()
        except Exception:  # noqa: BLE001 - an unreadable or missing file shows as a marked tile
            image = QImage()
        self.ready.emit(key, image)


class ThumbnailLoader(QObject):
    """Thumbnails by picture key, from memory, or loaded on a thread of their own and announced by `loaded`."""

    loaded = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.generation = 0
        self.thread = QThread(self)
        self.thread.setObjectName("resnet-gui-thumbnails")
        self.worker = _ThumbnailWorker(self)
        self.worker.moveToThread(self.thread)
        self.worker.ready.connect(self._on_ready, Qt.ConnectionType.QueuedConnection)
        self.thread.start()
        self.memory: OrderedDict[str, QPixmap | None] = OrderedDict()
        self.pending: set[str] = set()
        self.cache_dir: Path | None = None

    def get(self, picture: Picture) -> QPixmap | None:
        """The thumbnail if it is in memory (None for an unreadable file); else it is asked for."""
        key = picture.sha256 or picture.stored
        if key in self.memory:
            self.memory.move_to_end(key)
            return self.memory[key]
        if key not in self.pending:
            self.pending.add(key)
            self.worker.requested.emit(self.generation, key, str(picture.path), str(self.cache_dir or ""),
                                       picture.sha256 or "")
        return None

    def is_loaded(self, picture: Picture) -> bool:
        return (picture.sha256 or picture.stored) in self.memory

    def forget_unreadable(self) -> None:
        """Pictures that could not be read are tried again the next time they are shown (found again, say)."""
        for key in [k for k, pixmap in self.memory.items() if pixmap is None]:
            del self.memory[key]

    def forget_pending(self) -> None:
        """A new list is shown: loads queued for the old one are dropped."""
        self.generation += 1
        self.pending.clear()

    def _on_ready(self, key: str, image: QImage) -> None:
        self.pending.discard(key)
        if not image.isNull() and max(image.width(), image.height()) < GRID_ICON:
            # Small pictures (32-px cells) fill the tile: a grid of specks cannot be reviewed.
            image = image.scaled(GRID_ICON, GRID_ICON, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.FastTransformation)
        self.memory[key] = QPixmap.fromImage(image) if not image.isNull() else None
        while len(self.memory) > MEMORY_THUMBNAILS:
            self.memory.popitem(last=False)
        self.loaded.emit(key)

    def shutdown(self) -> None:
        self.generation += 1
        self.thread.quit()
        self.thread.wait(10_000)


def _tile(colour: QColor, text: str = "") -> QPixmap:
    pixmap = QPixmap(GRID_ICON, GRID_ICON)
    pixmap.fill(colour)
    if text:
        painter = QPainter(pixmap)
        painter.setPen(QColor(120, 60, 60))
        painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, text)
        painter.end()
    return pixmap


class PictureGridModel(QAbstractListModel):
    """Pictures as grid cells: the thumbnail, the name, and the label or the prediction being reviewed."""

    PictureRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, loader: ThumbnailLoader, parent=None):
        super().__init__(parent)
        self.loader = loader
        self.pictures: list[Picture] = []
        self.row_of: dict[str, list[int]] = {}
        self.class_names: dict[int, str] = {}
        self.class_colours: dict[int, str] = {}
        self.placeholder = _tile(QColor(225, 225, 225))
        self.unreadable = _tile(QColor(245, 225, 225), "cannot be read")
        loader.loaded.connect(self._on_loaded)

    def set_pictures(self, pictures: list[Picture], names: dict[int, str], colours: dict[int, str]) -> None:
        self.beginResetModel()
        self.loader.forget_pending()
        self.pictures = pictures
        self.class_names, self.class_colours = names, colours
        self.row_of = {}
        for row, picture in enumerate(pictures):
            self.row_of.setdefault(picture.sha256 or picture.stored, []).append(row)
        self.endResetModel()

    def remove_row(self, row: int) -> None:
        self.beginRemoveRows(QModelIndex(), row, row)
        self.pictures.pop(row)
        self.endRemoveRows()
        self.row_of = {}
        for i, p in enumerate(self.pictures):
            self.row_of.setdefault(p.sha256 or p.stored, []).append(i)

    def replace_row(self, row: int, picture: Picture) -> None:
        self.pictures[row] = picture
        index = self.index(row)
        self.dataChanged.emit(index, index)

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.pictures)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self.pictures):
            return None
        picture = self.pictures[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._caption(picture)
        if role == Qt.ItemDataRole.DecorationRole:
            pixmap = self.loader.get(picture)
            if pixmap is None:
                return self.unreadable if self.loader.is_loaded(picture) else self.placeholder
            return pixmap
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(str(picture.path))
        if role == Qt.ItemDataRole.ForegroundRole:
            if picture.unfamiliar and picture.class_id is None and not picture.excluded:
                return QBrush(UNFAMILIAR_TEXT)  # the Classify tab's purple
            class_id = picture.class_id if picture.class_id is not None else picture.predicted
            colour = self.class_colours.get(class_id)
            return QBrush(QColor(colour).darker(130)) if colour else None
        if role == self.PictureRole:
            return picture
        return None

    def _caption(self, picture: Picture) -> str:
        if picture.excluded:
            return f"{picture.path.name}\nexcluded"
        if picture.class_id is not None:
            return f"{picture.path.name}\n{self.class_names.get(picture.class_id, '?')}"
        if picture.prob is not None and picture.unfamiliar:
            return f"unfamiliar ({self.class_names.get(picture.predicted, '?')}?)\n{picture.path.name}"
        if picture.prob is not None:
            return f"{self.class_names.get(picture.predicted, '?')} {picture.prob:.0%}?\n{picture.path.name}"
        return f"{picture.path.name}\nunlabelled"

    def _on_loaded(self, key: str) -> None:
        for row in self.row_of.get(key, []):
            index = self.index(row)
            self.dataChanged.emit(index, index)


class PictureGrid(QListView):
    def __init__(self, model: PictureGridModel, parent=None):
        super().__init__(parent)
        self.setModel(model)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(GRID_ICON, GRID_ICON))
        self.setGridSize(QSize(GRID_ICON + 28, GRID_ICON + 40))
        self.setSpacing(4)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)  # no per-item size queries: a 100,000-picture grid lays out at once
        self.setLayoutMode(QListView.LayoutMode.Batched)
        self.setBatchSize(1000)
        self.setWordWrap(True)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self._cell = QSize(GRID_ICON + 28, GRID_ICON + 40)  # the narrowest a cell may be

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt's name
        """As many columns as fit, sharing the whole width: with cells of a fixed width, up to a column's width
        was left empty at the right."""
        room = self.viewport().width() - 2 * self.spacing() - 1
        columns = max(1, room // (self._cell.width() + self.spacing()))
        width = max(self._cell.width(), room // columns - self.spacing())
        if self.gridSize().width() != width:
            self.setGridSize(QSize(width, self._cell.height()))
        super().resizeEvent(event)
