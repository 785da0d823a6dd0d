"""The Project tab's Runs…: every run with what changed since the one before; two selected side by side
(per-class precision and recall with the difference, both confusion matrices, the pictures they disagree on,
labelled ones first); one pinned as the project's model, or opened in the Classify tab. The figures come from
core/projects/compare.py (SQL over stored predictions: no torch, quick enough for the GUI thread)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QItemSelectionModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.projects.compare import RunComparison, compare_two_runs, run_summaries
from resnet_gui.core.projects.project import Project
from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui.widgets import never_widens, on_click

RUN_COLUMNS = ("Run", "Started", "Status", "Trained on", "Validated on", "Validation", "Changed since the run before")


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "–"


def _item(text: str, tip: str | None = None, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    if tip:
        item.setToolTip(tip)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


def _table(columns) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    return table


class RunsWindow(QDialog):
    pin_changed = Signal()  # the project's model is another run now
    use_model_requested = Signal(str)  # a run's model file, for the Classify tab

    def __init__(self, folder: str, parent=None):
        super().__init__(parent)
        self.folder = folder
        self.project = Project.open(folder)  # its own connection: the Project tab may open another project
        self.setWindowTitle(f"Runs of {display_name(self.project.name)}")
        self.resize(960, 660)  # fits a 1024 x 768 screen
        layout = QVBoxLayout(self)
        self.hint = never_widens(QLabel("Click two runs to compare them; one alone to pin it as the project's "
                                        "model or open it in the Classify tab. A second click leaves a run out."))
        layout.addWidget(self.hint)
        self.runs = _table(RUN_COLUMNS)
        self.runs.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.runs.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        self.runs.itemSelectionChanged.connect(self._on_selection)
        buttons = QHBoxLayout()
        self.pin_button = QPushButton("Pin as the project's model")
        self.pin_button.setToolTip("Predict, Sort, Check data and the review use this run instead of the newest.")
        on_click(self.pin_button.clicked, self.pin_selected)
        self.unpin_button = QPushButton("Use the newest run")
        on_click(self.unpin_button.clicked, lambda: self._pin(None))
        self.classify_button = QPushButton("Open in the Classify tab")
        on_click(self.classify_button.clicked, self.use_selected)
        close = QPushButton("Close")
        on_click(close.clicked, self.close)
        for button in (self.pin_button, self.unpin_button, self.classify_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        self.comparison_title = QLabel()
        self.comparison_title.setWordWrap(True)  # wrapped, so a long sentence never widens the window
        self.comparison_title.setMinimumHeight(2 * self.fontMetrics().lineSpacing() + 4)
        self.per_class = _table(("Class", "Pictures", "Precision A", "Precision B", "Change",
                                 "Recall A", "Recall B", "Change"))
        self.per_class.horizontalHeader().setStretchLastSection(False)
        self.confusions = (_table(()), _table(()))
        self.matrix_titles = (QLabel(), QLabel())
        self.disagreements = _table(("Label today", "Run A says", "Run B says", "Picture"))
        matrices = QWidget()
        matrices_layout = QHBoxLayout(matrices)
        matrices_layout.setContentsMargins(0, 0, 0, 0)
        for title, table in zip(self.matrix_titles, self.confusions, strict=True):
            column = QVBoxLayout()
            column.addWidget(title)
            column.addWidget(table, 1)
            matrices_layout.addLayout(column)
            table.horizontalHeader().setStretchLastSection(False)
            table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        split = QSplitter(Qt.Orientation.Vertical)
        for part in (self.runs, self.per_class, matrices, self.disagreements):
            split.addWidget(part)
        layout.addLayout(buttons)
        layout.addWidget(self.comparison_title)
        layout.addWidget(split, 1)
        self.refresh()

    def refresh(self) -> None:
        chosen = set(self.selected_runs())
        self.summaries = run_summaries(self.project)
        self.runs.blockSignals(True)
        self.runs.clearSelection()
        self.runs.setRowCount(len(self.summaries))
        for row, s in enumerate(self.summaries):
            changes = "; ".join(f"{k} {a if a is not None else '–'} → {b if b is not None else '–'}"
                                for k, (a, b) in s.changed.items()) or "–"
            cells = (f"{s.run.id} ★ pinned" if s.pinned else str(s.run.id), s.run.started_at.replace("T", " ")[:16],
                     s.run.status, str(s.trained), str(s.validated), _percent(s.run.accuracy), changes)
            for column, text in enumerate(cells):
                self.runs.setItem(row, column, _item(text, changes if column == 6 else None, column in (3, 4, 5)))
            if s.run.id in chosen:  # the choice stays (selectRow would toggle it: the selection is multiple)
                flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
                self.runs.selectionModel().select(self.runs.model().index(row, 0), flags)
        self.runs.blockSignals(False)
        self._on_selection()

    def selected_runs(self) -> list[int]:
        rows = sorted({index.row() for index in self.runs.selectionModel().selectedRows()}) \
            if self.runs.rowCount() else []
        return [self.summaries[r].run.id for r in rows if r < len(self.summaries)]

    def _on_selection(self) -> None:
        chosen = self.selected_runs()
        one = len(chosen) == 1 and self._summary(chosen[0]).run.checkpoint is not None
        self.pin_button.setEnabled(one)
        self.classify_button.setEnabled(one)
        self.unpin_button.setEnabled(any(s.pinned for s in self.summaries))
        if len(chosen) == 2:
            self.show_comparison(compare_two_runs(self.project, *chosen))
        else:
            self.show_comparison(None)
            if len(chosen) > 2:
                self.comparison_title.setText("Select two runs to compare, not more.")

    def _summary(self, run_id: int):
        return next(s for s in self.summaries if s.run.id == run_id)

    def show_comparison(self, c: RunComparison | None) -> None:
        for table in (self.per_class, self.disagreements, *self.confusions):
            table.setRowCount(0)
        if c is None:
            self.comparison_title.setText("")
            for title in self.matrix_titles:
                title.setText("")
            return
        a, b = c.runs
        if c.pictures:
            change = (c.accuracy[1] - c.accuracy[0]) * 100
            self.comparison_title.setText(
                f"<b>Run {a} (A) against run {b} (B)</b> on the {c.pictures} validation pictures both were validated "
                f"on, with today's labels: {_percent(c.accuracy[0])} against {_percent(c.accuracy[1])} "
                f"({change:+.1f} points). They disagree on {c.disagreeing} of the {c.predicted_by_both} pictures both "
                "predicted.")
        else:
            self.comparison_title.setText(f"<b>Runs {a} and {b}</b> share no labelled validation pictures: only "
                                          f"where they disagree ({c.disagreeing} pictures) is shown.")
        self.per_class.setRowCount(len(c.per_class))
        for row, f in enumerate(c.per_class):
            cells = [_item(f.name), _item(str(f.pictures), align_right=True)]
            for pair in (f.precision, f.recall):
                diff = (pair[1] - pair[0]) * 100 if None not in pair else None
                change = _item(f"{diff:+.0f} points" if diff is not None else "–", align_right=True)
                if diff:
                    change.setForeground(QBrush(QColor("#1a7f37" if diff > 0 else "#b42318")))
                cells += [_item(_percent(pair[0]), align_right=True), _item(_percent(pair[1]), align_right=True),
                          change]
            for column, item in enumerate(cells):
                self.per_class.setItem(row, column, item)
        for title, table, matrix, run, side in zip(self.matrix_titles, self.confusions, c.confusion, c.runs, "AB",
                                                   strict=True):
            title.setText(f"Run {run} ({side}): rows the label today, columns its guess")
            self._show_matrix(table, c.classes, matrix, run)
        self.disagreements.setRowCount(len(c.disagreements))
        for row, d in enumerate(c.disagreements):
            said = [f"{name or '–'} ({p:.0%})" if p is not None else (name or "–") for name, p in zip(
                d.said, d.probs, strict=True)]
            cells = (d.label or "unlabelled", *said, display_name(Path(d.path).name))
            for column, text in enumerate(cells):
                self.disagreements.setItem(row, column, _item(text, display_path(d.path) if column == 3 else None))

    @staticmethod
    def _show_matrix(table: QTableWidget, classes: list[str], matrix: list[list[int]], run: int) -> None:
        table.setColumnCount(len(classes))
        table.setRowCount(len(classes))
        table.setHorizontalHeaderLabels(classes)
        table.setVerticalHeaderLabels(classes)
        table.verticalHeader().show()
        table.setToolTip(f"Run {run}: rows the label today, columns the model's guess.")
        table.setCornerButtonEnabled(False)
        most = max([1, *(n for line in matrix for n in line)])
        for r, line in enumerate(matrix):
            for column, n in enumerate(line):
                item = _item(str(n))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                shade = QColor("#2e7d32" if r == column else "#c62828")
                shade.setAlphaF(0.08 + 0.6 * n / most if n else 0.0)
                item.setBackground(QBrush(shade))
                table.setItem(r, column, item)

    def pin_selected(self) -> None:
        chosen = self.selected_runs()
        if len(chosen) == 1:
            self._pin(chosen[0])

    def _pin(self, run_id: int | None) -> None:
        self.project.pin_run(run_id)
        self.refresh()
        self.pin_changed.emit()

    def use_selected(self) -> None:
        chosen = self.selected_runs()
        run = self._summary(chosen[0]).run if len(chosen) == 1 else None
        if run is not None and run.checkpoint is not None:
            self.use_model_requested.emit(str(run.checkpoint))

    def shutdown(self) -> None:
        self.close()

    def closeEvent(self, event) -> None:
        self.project.close()
        super().closeEvent(event)


def show_runs(panel) -> None:
    """Open the project's runs beside the review (not modal); a pin changes the review's run at once."""
    if panel.project is None:
        return
    old = getattr(panel, "runs_window", None)
    if old is not None:
        old.close()
    window = RunsWindow(str(panel.project.root), panel)
    window.pin_changed.connect(lambda: _pinned(panel, window.folder))
    window.use_model_requested.connect(panel.use_model_requested.emit)
    panel.runs_window = window
    window.show()


def _pinned(panel, folder: str) -> None:
    if panel.project is None or str(panel.project.root) != folder:
        return  # another project is open now
    panel.review_run = panel.project.latest_predicting_run()
    run = panel.project.model_run()
    panel.status_message.emit(f"The project's model is run {run.id} now." if run else "The project has no model.")
    panel.refresh_classes()
    panel.refresh_pictures()  # the same view, another run's guesses
