"""The Evaluate tab: how good the current model is on a folder of class subfolders."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.summaries import describe_tta, describe_unfamiliar
from resnet_gui.core.text import display_name, display_path, figure
from resnet_gui.gui import dialogs
from resnet_gui.gui.charts.confusion_view import ConfusionView
from resnet_gui.gui.evaluate.jobs import evaluate
from resnet_gui.gui.formatting import plain_tooltip
from resnet_gui.gui.image_preview import ImagePreview
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.pictures import decode_preview
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.widgets import ElidedLabel, never_widens, on_click, stacked

FIGURES = ("Class", "Precision", "Recall", "F1", "Support", "ROC AUC")


class EvaluatePanel(QWidget):
    error = Signal(str, str)
    status_message = Signal(str)
    evaluated = Signal(dict)

    def __init__(self, settings, options, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.options = options  # device and precision: read when a run starts
        self.bundle = None  # the model the window holds; evaluated as it is, never read from disk again
        self.report: dict | None = None
        self.evaluate_task = Task(self, "evaluate")
        self.preview_task = Task(self, "evaluate-preview")

        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Drop, choose, type or paste a folder with one subfolder of labelled "
                                       "images per class")
        self.folder.editingFinished.connect(lambda: self.set_folder(self.folder.text().strip()))
        choose = QPushButton("Choose folder…")
        on_click(choose.clicked, self.choose_folder)
        self.run_button = QPushButton("Evaluate the loaded model")
        on_click(self.run_button.clicked, self.evaluate)
        self.report_button = QPushButton("Save HTML report…")
        self.report_button.setEnabled(False)
        on_click(self.report_button.clicked, self.save_report)
        top = QHBoxLayout()
        top.addWidget(QLabel("Test folder:"))
        top.addWidget(self.folder, 1)
        top.addWidget(choose)
        top.addWidget(self.run_button)
        top.addWidget(self.report_button)

        self.confusion = ConfusionView(title="Confusion matrix (click a cell to see its images)")
        self.confusion.cell_clicked.connect(self.show_cell)
        self.accuracy = never_widens(QLabel("Choose a test folder and press Evaluate."))
        self.accuracy.setWordWrap(True)
        self.figures = QTableWidget(0, len(FIGURES))
        self.figures.setHorizontalHeaderLabels(FIGURES)
        self.figures.verticalHeader().setVisible(False)
        self.figures.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.figures.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        figures_box = stacked(self.accuracy, self.figures)
        upper = QSplitter(Qt.Orientation.Horizontal)
        upper.addWidget(self.confusion)
        upper.addWidget(figures_box)
        upper.setSizes([600, 600])

        self.cell_title = ElidedLabel("")
        self.cell_title.setStyleSheet("font-weight: bold;")
        self.cell_images = QListWidget()
        self.cell_images.currentItemChanged.connect(self._on_image_selected)
        self.preview = ImagePreview()
        self.preview.show_message("Click a cell of the matrix, then an image.")
        cell_box = stacked(self.cell_title, self.cell_images)
        lower = QSplitter(Qt.Orientation.Horizontal)
        lower.addWidget(cell_box)
        lower.addWidget(self.preview)
        lower.setSizes([600, 600])

        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(upper)
        body.addWidget(lower)
        body.setSizes([420, 260])
        self.progress = QProgressBar()
        self.progress.setFormat("Idle")
        self.progress.setValue(0)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(body, 1)
        layout.addWidget(self.progress)

    # ------------------------------------------------------------ running
    def set_bundle(self, bundle) -> None:
        self.bundle = bundle

    def choose_folder(self) -> None:
        folder = dialogs.open_folder(self, self.settings.get("train/last_folder"), "Choose a labelled test folder")
        if folder:
            self.set_folder(folder)

    def set_folder(self, folder: str) -> None:
        if not folder:
            return
        folder = str(Path(folder).expanduser().resolve())
        if folder != self.folder.text():
            self.clear_result()  # the figures on screen must be of the folder shown
        self.folder.setText(folder)

    def clear_result(self) -> None:
        self.evaluate_task.cancel()
        self.report = None
        self.confusion.clear_matrix()
        self.figures.setRowCount(0)
        self.cell_images.clear()
        self.cell_title.setText("")
        self.preview.show_message("Click a cell of the matrix, then an image.")
        self.accuracy.setText("Press Evaluate to measure the loaded model on this folder.")
        self.report_button.setEnabled(False)
        self.run_button.setEnabled(True)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Idle")

    def evaluate(self) -> None:
        """Evaluate the loaded model on the folder; an evaluation still running is cancelled for it."""
        if self.bundle is None:
            self.error.emit("No model to evaluate", "No model is loaded yet. Load a checkpoint in the Classify tab "
                                                    "(or train one) first: evaluation compares its classes with the "
                                                    "folder's.")
            return
        if not self.folder.text():
            self.error.emit("No test folder", "Choose a folder with one subfolder of labelled images per class.")
            return
        self.run_button.setEnabled(False)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Evaluating…")
        worker = Job(evaluate, self.bundle, self.folder.text(), self.options.device, self.options.amp,
                     self.options.tta, torch_needed=True)
        self.evaluate_task.start(worker, progress=self._on_progress, returned=self._on_evaluated,
                                 errored=self._on_failed, finished=self._on_finished)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat("%v of %m images")

    def _on_failed(self, exc: BaseException) -> None:
        self.error.emit("Evaluation stopped", describe_error(exc))

    def _on_finished(self) -> None:
        self.run_button.setEnabled(True)
        if self.report is None:
            self.progress.setRange(0, 1)
            self.progress.setFormat("Idle")

    def _on_evaluated(self, report: dict | None) -> None:
        if report is None:
            return  # cancelled
        self.report = report
        self.confusion.show_matrix(report["confusion_matrix"], report["classes"])
        self.accuracy.setText(
            f"<span style='font-size:16pt'><b>{report['accuracy']:.1%}</b></span> accuracy on "
            f"{report['samples']} images · macro ROC AUC {figure(report['macro_roc_auc'])}"
            + (f" · {len(report['skipped'])} file(s) could not be read" if report["skipped"] else "")
            + "".join(f"<br>{html.escape(line[0].upper() + line[1:])}." for line in (
                describe_tta(report.get("tta")), describe_unfamiliar(report.get("unfamiliar"), report["samples"]))
                if line)
            + "".join(f"<br><i>{html.escape(note)}</i>" for note in report.get("notes", []))
        )
        self.figures.setRowCount(len(report["per_class"]))
        for r, (name, f) in enumerate(report["per_class"].items()):
            values = (name, figure(f["precision"]), figure(f["recall"]), figure(f["f1"]), str(f["support"]),
                      figure(report["roc_auc"].get(name)))
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.figures.setItem(r, c, item)
        self.report_button.setEnabled(True)
        self.progress.setFormat(f"Evaluated {report['samples']} images")
        self.status_message.emit(f"Accuracy {report['accuracy']:.1%} on {report['samples']} images.")
        self.evaluated.emit(report)

    # ------------------------------------------------------------ cells
    def items_in_cell(self, true_index: int, predicted_index: int) -> list[dict]:
        if self.report is None:
            return []
        classes = self.report["classes"]
        return [i for i in self.report["items"]
                if i["true"] == classes[true_index] and i["predicted"] == classes[predicted_index]]

    def show_cell(self, true_index: int, predicted_index: int) -> None:
        classes = self.report["classes"]
        items = sorted(self.items_in_cell(true_index, predicted_index), key=lambda i: -i["confidence"])
        what = "right" if true_index == predicted_index else "mistaken"
        self.cell_title.setText(f"{len(items)} {what}: true {classes[true_index]}, predicted "
                                f"{classes[predicted_index]}")  # plain text: class names shown as written
        self.cell_images.clear()
        for item in items:
            entry = QListWidgetItem(f"{item['confidence']:.1%}  {display_name(item['path'])}")
            entry.setData(Qt.ItemDataRole.UserRole, item["path"])
            entry.setToolTip(plain_tooltip(display_path(item["path"])))
            self.cell_images.addItem(entry)
        if items:
            self.cell_images.setCurrentRow(0)
        else:
            self.preview.show_message("No images in this cell.")

    def _on_image_selected(self, current, previous) -> None:
        if current is None:
            return
        self.preview_task.start(Job(decode_preview, current.data(Qt.ItemDataRole.UserRole)), returned=self._on_preview)

    def _on_preview(self, result) -> None:
        path, image, error = result
        current = self.cell_images.currentItem()
        if current is None or current.data(Qt.ItemDataRole.UserRole) != path:
            return
        if image is None:
            self.preview.show_message(f"Could not show the image: {error}")
        else:
            self.preview.show_image(image)

    def save_report(self) -> None:
        if self.report is None:
            return
        folder = dialogs.open_folder(self, str(Path(self.folder.text()).parent), "Choose where to save the report")
        if not folder:
            return
        from resnet_gui.core.evaluation.report import write_report

        try:
            path = write_report(self.report, folder)
        except OSError as exc:
            self.error.emit("The report was not saved", f"{folder} cannot be written: {exc.strerror or exc}.")
            return
        self.status_message.emit(f"Report saved to {path}.")

    def shutdown(self) -> None:
        self.evaluate_task.shutdown()
        self.preview_task.shutdown()
