"""The results table: a model over a growing list of rows, and a proxy that filters by label."""

from __future__ import annotations

from collections import Counter

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QApplication, QStyle

from resnet_gui.core.inference.predictions import is_unsure
from resnet_gui.core.text import display_path
from resnet_gui.gui.classify.jobs import ResultRow
from resnet_gui.gui.formatting import plain_tooltip

COLUMNS = ("Image", "File", "Label", "Confidence", "Error")
IMAGE, FILE, LABEL, CONFIDENCE, ERROR = range(len(COLUMNS))
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
ROW_ROLE = Qt.ItemDataRole.UserRole + 2
ERROR_BACKGROUND = QColor(253, 226, 226)
ERROR_TEXT = QColor(150, 20, 20)
UNSURE_TEXT = QColor(170, 95, 0)
UNFAMILIAR_TEXT = QColor(120, 60, 160)


class ResultsModel(QAbstractTableModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[ResultRow] = []
        self.threshold: float | None = None  # "unsure" below this confidence; None: off
        # Kept up to date as rows arrive, so the GUI thread never rescans a growing table per batch.
        self._labels: Counter[str] = Counter()
        self._errors = 0
        self._unsure = 0
        self._unfamiliar = 0

    def predictions(self, rows: list[ResultRow] | None = None) -> list:
        """The rows' predictions as the core writes them, 'unsure' as the table shows it now."""
        from dataclasses import replace

        return [replace(r.prediction, unsure=self.is_unsure(r)) for r in (self.rows if rows is None else rows)]

    def is_unsure(self, row: ResultRow) -> bool:
        return row.error is None and is_unsure(row.confidence, self.threshold)

    def set_threshold(self, threshold: float | None) -> None:
        self.threshold = threshold
        self._unsure = sum(self.is_unsure(r) for r in self.rows)  # once per change of threshold
        if self.rows:
            self.dataChanged.emit(self.index(0, LABEL), self.index(len(self.rows) - 1, LABEL))

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if column == FILE:
                return row.name
            if column == LABEL:
                if row.error is not None:
                    return ""
                if row.prediction.unfamiliar:
                    return f"unfamiliar ({row.label}?)"
                return f"unsure ({row.label}?)" if self.is_unsure(row) else row.label
            if column == CONFIDENCE:
                return f"{row.confidence:.1%}" if row.error is None else ""
            if column == ERROR:
                return row.error or ""
            return None
        if role == Qt.ItemDataRole.DecorationRole and column == IMAGE:
            if row.error is not None:
                return QApplication.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
            return row.thumbnail
        if role == SORT_ROLE:
            return (row.name.lower(), row.name.lower(), row.label.lower(), row.confidence, row.error or "")[column]
        if role == ROW_ROLE:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            path = display_path(row.path)
            return plain_tooltip(f"{path}\n{row.error}" if row.error else path)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == CONFIDENCE:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if row.error is not None:
            if role == Qt.ItemDataRole.BackgroundRole:
                return QBrush(ERROR_BACKGROUND)
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(ERROR_TEXT)
        if column == LABEL and (row.prediction.unfamiliar or self.is_unsure(row)):
            if role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(UNFAMILIAR_TEXT if row.prediction.unfamiliar else UNSURE_TEXT)
            if role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
        if role == Qt.ItemDataRole.FontRole and column == LABEL:
            font = QFont()
            font.setBold(True)
            return font
        return None

    def append(self, rows: list[ResultRow]) -> None:
        self._insert(len(self.rows), rows)

    def prepend(self, rows: list[ResultRow]) -> None:
        """`rows` above the others (a watched folder's newest pictures first)."""
        self._insert(0, rows)

    def _insert(self, first: int, rows: list[ResultRow]) -> None:
        if not rows:
            return
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self.rows[first:first] = rows
        for row in rows:
            if row.error is None:
                self._labels[row.label] += 1
            else:
                self._errors += 1
            self._unsure += self.is_unsure(row)
            self._unfamiliar += row.prediction.unfamiliar
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.rows.clear()
        self._labels.clear()
        self._errors = self._unsure = self._unfamiliar = 0
        self.endResetModel()

    def labels(self) -> list[str]:
        return sorted(self._labels)

    def error_count(self) -> int:
        return self._errors

    def unsure_count(self) -> int:
        return self._unsure

    def unfamiliar_count(self) -> int:
        return self._unfamiliar


ALL_LABELS = ""
ERRORS_ONLY = "\x00errors"
UNSURE_ONLY = "\x00unsure"
UNFAMILIAR_ONLY = "\x00unfamiliar"


class LabelFilter(QSortFilterProxyModel):
    """Shows every row, the rows of one top-1 label, or only the rows that failed."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.label = ALL_LABELS
        self.setSortRole(SORT_ROLE)

    def set_label(self, label: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9+; invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.label = label
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.label = label
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        if self.label == ALL_LABELS:
            return True
        model = self.sourceModel()
        row = model.rows[source_row]
        if self.label == ERRORS_ONLY:
            return row.error is not None
        if self.label == UNSURE_ONLY:
            return model.is_unsure(row)
        if self.label == UNFAMILIAR_ONLY:
            return row.prediction.unfamiliar
        return row.error is None and row.label == self.label


def filter_choices(model: ResultsModel) -> list[tuple[str, str]]:
    """The Show filter's entries for the rows `model` holds: every label, then the unsure, unfamiliar and
    failed rows when there are any, each with its count."""
    choices = [("All labels", ALL_LABELS), *[(label, label) for label in model.labels()]]
    for count, text, data in ((model.unsure_count(), "Unsure", UNSURE_ONLY),
                              (model.unfamiliar_count(), "Unfamiliar", UNFAMILIAR_ONLY),
                              (model.error_count(), "Errors", ERRORS_ONLY)):
        if count:
            choices.append((f"{text} ({count})", data))
    return choices


def chart_title(prediction, name: str, unsure: bool, threshold: float | None, top_k: int) -> str:
    """The line above the top-k chart: what the answer is worth, then the picture's name."""
    if not prediction.top_k:
        return f"No prediction — {name}"
    best = prediction.top_k[0]
    if prediction.unfamiliar:
        return (f"Unfamiliar — unlike the training pictures; best guess {best.label}, {best.prob:.1%}, "
                f"not to be trusted — {name}")
    if unsure:
        return f"Unsure (below {threshold:.0%}) — best guess {best.label}, {best.prob:.1%} — {name}"
    return f"Top {min(top_k, len(prediction.top_k))} classes — {name}"
