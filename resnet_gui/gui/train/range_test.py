"""The Train tab's learning-rate range test: run on the chosen folder with the form's settings, its loss
plotted as it sweeps, its suggestion put into the Learning rate box."""

from __future__ import annotations

from PySide6.QtCore import QObject

from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.train.jobs import find_learning_rate


class RangeTest(QObject):
    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel  # a TrainPanel: its plot, rate box, buttons and progress show the test
        self.task = Task(self, "lr")
        self.finding = None  # the last range test's LRFinding

    def is_running(self) -> bool:
        return self.task.is_running()

    def start(self, settings) -> None:
        panel = self.panel
        self.finding = None
        panel.results.lr_plot.reset()
        panel.results.curves.setCurrentWidget(panel.results.lr_plot)
        panel.form.find_lr_button.setEnabled(False)
        panel.start_button.setEnabled(False)
        panel.stop_button.setEnabled(True)
        panel.progress.setRange(0, 0)
        panel.progress.setFormat("Preparing the range test…")
        self.task.start(Job(find_learning_rate, settings, torch_needed=True), status=panel.progress.setFormat,
                        lr_points=self._on_points, returned=self._on_found, errored=self._on_failed,
                        finished=self._on_finished)

    def _on_points(self, points: list) -> None:
        panel = self.panel
        panel.results.lr_plot.add_points(points)
        step, steps, rate, loss = points[-1]
        panel.progress.setRange(0, steps)
        panel.progress.setValue(step)
        panel.progress.setFormat(f"Range test: rate {rate:.1e}, loss {loss:.3f}")

    def _on_found(self, finding) -> None:
        panel = self.panel
        if finding is None:
            return
        self.finding = finding
        panel.results.lr_plot.show_finding(finding)
        rate = min(max(finding.suggestion, panel.form.lr.minimum()), panel.form.lr.maximum())
        panel.form.lr.setValue(rate)
        notes = " ".join(finding.notes)
        panel.status_message.emit(f"Suggested learning rate {finding.suggestion:.1e}, now in the Learning rate box "
                                  f"(from {len(finding.rates)} batches). {notes}".strip())

    def _on_failed(self, exc: BaseException) -> None:
        self.panel.error.emit("The learning rate was not found", describe_error(exc))

    def _on_finished(self) -> None:
        panel = self.panel
        panel.form.find_lr_button.setEnabled(True)
        panel.start_button.setEnabled(True)
        panel.stop_button.setEnabled(False)
        panel.progress.setRange(0, 1)
        panel.progress.setValue(1 if self.finding else 0)
        panel.progress.setFormat(f"Suggested rate {self.finding.suggestion:.1e}" if self.finding else "Not started")

    def stop(self) -> None:
        self.task.cancel()
        self.panel.progress.setFormat("Stopped")
        self._on_finished()

    def shutdown(self) -> None:
        self.task.shutdown()
