"""The Train tab's "Classes found" box: the classes of the chosen folder with their picture counts, and
notes in words (how validation is split, what was skipped and why, the input size and stem chosen)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGroupBox,
    QHeaderView,
    QLabel,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui.formatting import plain_tooltip
from resnet_gui.gui.widgets import never_widens


class ClassesFound(QGroupBox):
    def __init__(self, parent=None):
        super().__init__("Classes found", parent)
        self.class_table = QTableWidget(0, 2)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images"])
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.class_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.class_table.setMinimumHeight(90)
        self._input_choice = ""  # the run's input size and stem, in a sentence
        self.data_notes = never_widens(QLabel(""))
        self.data_notes.setTextFormat(Qt.TextFormat.PlainText)  # file names and reasons, shown as written
        self.data_notes.setStyleSheet("color: #8a5300;")
        self.check_notes = never_widens(QLabel(""))  # what the check of the data warns of; the user may go on
        self.check_notes.setTextFormat(Qt.TextFormat.PlainText)
        self.check_notes.setWordWrap(True)
        policy = self.check_notes.sizePolicy()
        policy.setVerticalPolicy(QSizePolicy.Policy.Minimum)  # the table gives way; the sentences never overlap
        self.check_notes.setSizePolicy(policy)
        self.check_notes.setStyleSheet("color: #b3261e;")
        self.check_notes.hide()
        layout = QVBoxLayout(self)
        layout.addWidget(self.class_table, 1)
        layout.addWidget(self.data_notes)
        layout.addWidget(self.check_notes)

    def show_check(self, warnings: list[str] | None, files: list[str] = ()) -> None:
        """The check of the data: None while it runs, then its warnings (none: nothing is shown)."""
        if warnings is None:
            self.check_notes.setText("Checking the pictures for copies and small classes…")
            self.check_notes.setStyleSheet("color: gray;")
            self.check_notes.setToolTip("")
            self.check_notes.show()
            return
        self.check_notes.setStyleSheet("color: #b3261e;")
        self.check_notes.setText("\n".join(f"Check: {line}" for line in warnings))
        self.check_notes.setToolTip(plain_tooltip("\n".join(display_path(p) for p in files[:40])) if files else "")
        self.check_notes.setVisible(bool(warnings))

    def show_note(self, text: str, *, clear_table: bool = False) -> None:
        """Only `text`: the folder is being read, or it could not be, or a project's pictures train."""
        if clear_table:
            self.class_table.setRowCount(0)
            self.check_notes.hide()
        self.data_notes.setText(text)

    def show_scan(self, info: dict, val_share: float, resumable=None) -> None:
        """A folder's classes as jobs.scan_training_folder counted them; `resumable`: a stopped run on it."""
        self.fill(info["counts"])
        notes = ["Validation: the val/ folder." if info["has_val"] else
                 f"Validation: {val_share:.0%} of each class, kept aside."]
        if resumable is not None:
            notes.append(f"A stopped run on this folder can go on from epoch {resumable.epochs_done + 1}: press "
                         f"Resume (its state is kept in {display_name(resumable.last_path)}).")
        self.data_notes.setText("\n".join(notes))

    def show_data(self, info: dict) -> None:
        """The pictures a run reads, as its data_ready event gives them: the split, warnings and skipped files."""
        self.fill({c: a + b for c, a, b in zip(info["classes"], info["train"], info["val"], strict=False)})
        notes = list(info["warnings"])
        notes += [f"skipped {display_name(p)}: {e}" for p, e in info["skipped"][:5]]
        if len(info["skipped"]) > 5:
            notes.append(f"… and {len(info['skipped']) - 5} more skipped (hover for the list).")
        self.data_notes.setToolTip(plain_tooltip("\n".join(f"{display_path(p)}: {e}" for p, e in info["skipped"])))
        split = f"{sum(info['train'])} images to train on, {sum(info['val'])} to validate."
        # the run said its input size and stem just before (a folder scan may land in between): used once
        chosen, self._input_choice = ([self._input_choice] if self._input_choice else []), ""
        self.data_notes.setText("\n".join([split, *chosen, *notes]))

    def add_input_choice(self, text: str) -> None:
        """The input size and stem chosen (said before the pictures are read), shown after the split and
        before the other notes."""
        self._input_choice = text
        lines = self.data_notes.text().split("\n")
        self.data_notes.setText("\n".join([lines[0], text, *lines[1:]]))

    def add_run_length(self, text: str) -> None:
        """A run of set minutes: the epochs it chose, and why, after the other notes."""
        self.data_notes.setText("\n".join([self.data_notes.text(), text]))

    def fill(self, counts: dict[str, int]) -> None:
        self.class_table.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            self.class_table.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(str(count))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.class_table.setItem(row, 1, item)
