"""The Train tab's right side: the live curves and the range test's plot, then the best model's confusion
matrix, reliability diagram and the run's result in words."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QScrollArea, QSplitter, QTabWidget, QVBoxLayout, QWidget

from resnet_gui.core.summaries import calibration_in_words, describe_calibration, describe_threshold
from resnet_gui.core.text import display_path
from resnet_gui.gui.charts.confusion_view import ConfusionView
from resnet_gui.gui.charts.reliability_view import ReliabilityView
from resnet_gui.gui.charts.training_plots import LRFinderPlot, TrainingPlots
from resnet_gui.gui.widgets import breakable, never_widens

ECE_TIP = ("How far the stated confidence is off is the expected calibration error (ECE): the gap between the "
           "confidence the model states and how often it is right, on average over the validation pictures.")


class TrainResults(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.plots = TrainingPlots()
        self.lr_plot = LRFinderPlot()
        self.curves = QTabWidget()
        self.curves.setDocumentMode(True)
        self.curves.addTab(self.plots, "Training curves")
        self.curves.addTab(self.lr_plot, "Learning rate")
        self.confusion = ConfusionView()
        self.reliability = ReliabilityView()
        self.result_text = never_widens(QLabel(""))
        # A splitter, and the result's words in a scroll area: at 1024 px three fixed thirds cut the matrix's
        # columns and the end of the result (where the model was saved).
        self.result_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        result_scroll = QScrollArea()
        result_scroll.setWidget(self.result_text)
        result_scroll.setWidgetResizable(True)
        result_scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        result_scroll.setMinimumWidth(200)
        # The matrix and the reliability diagram take turns (tabs): side by side at 1024 px, each got too
        # little width for its own title and columns.
        self.result_charts = QTabWidget()
        self.result_charts.setDocumentMode(True)
        self.result_charts.addTab(self.confusion, "Confusion")
        self.result_charts.addTab(self.reliability, "Reliability")
        bottom = QSplitter(Qt.Orientation.Horizontal)
        bottom.setChildrenCollapsible(False)
        bottom.addWidget(self.result_charts)
        bottom.addWidget(result_scroll)
        bottom.setSizes([520, 340])
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.curves)
        right.addWidget(bottom)
        right.setSizes([340, 300])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(right)

    def reset(self) -> None:
        """Nothing of a run on screen."""
        self.plots.reset()
        self.confusion.clear_matrix()
        self.reliability.reset()
        self.result_text.setText("")

    def show_result(self, result, *, from_project: bool) -> bool:
        """A finished (or stopped) run's result, a TrainResult or None when it stopped before training began;
        whether it saved a model."""
        if result is None:
            self.result_text.setText("Stopped before training began.")
            return False
        matrix = result.metrics.get("confusion_matrix")
        if matrix:
            self.confusion.show_matrix(matrix, result.classes)
        why = {"completed": "Training finished", "early_stopping": "Stopped early (no improvement)",
               "cancelled": "Stopped by you"}[result.stopped]
        if result.best_path:
            m = result.metrics
            c = result.calibration
            calibration = notes = ""
            if result.finishing_skipped:
                notes += ("<br>The finishing steps were skipped: the confidence is not calibrated, there is no "
                          "'unsure below' suggestion, and unfamiliar pictures are not marked.")
            if result.stopped == "cancelled" and result.last_path and not from_project:
                done = result.history[-1]["epoch"] if result.history else 0
                notes += (f"<br>Resume goes on from epoch {done + 1}; the run's state is kept in "
                          f"{html.escape(breakable(display_path(result.last_path)))}.")
            elif result.stopped == "cancelled" and result.last_path:
                done = result.history[-1]["epoch"] if result.history else 0
                notes += (f"<br>The project tab's Resume run goes on from epoch {done + 1}; its best model so far "
                          "is used meanwhile.")
            if c:
                self.reliability.show_calibration(c)
                self.result_text.setToolTip(ECE_TIP)
                calibration = (f"<br>Confidence: {html.escape(describe_calibration(c, plain=True))}; "
                               f"<b>{describe_threshold(c['unsure_below'])}</b>. "
                               f"{html.escape(calibration_in_words(c))}")
            self.result_text.setText(
                f"<b>{why}.</b><br>Best validation accuracy <b>{m['val_acc']:.1%}</b> at epoch {m['epoch']} "
                f"(loss {m['val_loss']:.3f}).{calibration}{notes}<br>Saved to "
                f"{html.escape(breakable(display_path(result.best_path)))}"
                "<br><br>"
                "Press <b>Use this model</b> to classify with it."
            )
            return True
        self.result_text.setText(f"<b>{why}</b> before the first epoch ended; nothing was saved.")
        return False


def save_model_copy(panel, best_path) -> None:
    """Save as…: a copy of the run's best model where the user chooses; never over another file unasked."""
    from pathlib import Path

    from resnet_gui.core.errors import UserError
    from resnet_gui.core.models.files import copy_model
    from resnet_gui.gui import dialogs

    path = dialogs.save_model(panel, str(best_path))
    if not path or Path(path) == Path(best_path):
        return
    try:
        copy_model(best_path, path)
    except UserError as exc:
        panel.error.emit("The model was not saved", str(exc))
        return
    panel.status_message.emit(f"The model was saved as {path}.")
