"""The Train tab: choose a class folder, pick settings, start and stop, watch it learn."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QWidget,
)

from resnet_gui.core.models.files import WINDOW_MODEL_FILE, unique_model_path
from resnet_gui.core.summaries import describe_pace, duration
from resnet_gui.core.text import display_path
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.gui import dialogs
from resnet_gui.gui.formatting import plain_tooltip
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.train import jobs
from resnet_gui.gui.train.data_check import check_folder
from resnet_gui.gui.train.layout import RESUME_TIP, STOP_TIP, build_train_panel
from resnet_gui.gui.train.range_test import RangeTest
from resnet_gui.gui.train.results import save_model_copy

SKIP_TIP = ("Keep the best model as its epoch saved it, without calibrating its confidence or learning what "
            "familiar pictures look like (which can take a while on many pictures)")


class TrainPanel(QWidget):
    use_model_requested = Signal(str)
    error = Signal(str, str)
    status_message = Signal(str)
    training_started = Signal()
    epoch_ended = Signal(object)  # EpochEvent, as each epoch of the running training ends
    training_ended = Signal(object)  # TrainResult or None
    project_trained = Signal(object)  # ProjectRun: a run trained from a project, with its comparison

    def __init__(self, settings, options, parent=None):
        super().__init__(parent)
        self.settings = settings
        self.options = options  # device and precision: shown here, shared with the other tabs
        self.scan_task = Task(self, "scan")
        self.check_task = Task(self, "check")
        self.train_task = Task(self, "train")
        self.result = None
        self.classes: list[str] = []
        self._epoch = self._epochs = 0
        self._started_at = self._training_began = 0.0
        self._estimate: float | None = None
        self._finishing = False  # the best model's finishing steps run: Stop now skips them
        self._project: str | None = None  # the project the running (or last) run trains on
        self.resumable = None  # a core.checkpoint_saver.ResumableRun that Resume goes on with
        build_train_panel(self)
        self.range_test = RangeTest(self)

    def use_settings(self, s: TrainSettings) -> None:
        """Show `s` in the form (the example's recipe, say): the data folder, weights and every setting."""
        self.form.show_settings(s)
        self.set_data_folder(s.data_dir)
        if s.out:
            self.form.out.setText(s.out)

    # ------------------------------------------------------------ data folder
    def choose_folder(self) -> None:
        folder = dialogs.open_folder(self, self.settings.get("train/last_folder"), "Choose the training folder")
        if folder:
            self.set_data_folder(folder)

    def _on_folder_typed(self) -> None:
        typed = self.folder.text().strip()
        if typed and typed != self.settings.get("train/last_folder"):
            self.set_data_folder(typed)

    def set_data_folder(self, folder: str) -> None:
        folder = str(Path(folder).resolve())
        self.folder.setText(folder)
        self.settings.set("train/last_folder", folder)
        stem = Path(folder).name or "model"
        self.form.out.setText(str(Path(folder).parent / f"{stem}-{self.form.arch.currentData()}.pt"))
        if not self.is_training():
            self.clear_run()  # the curves, matrix and model of another folder's run do not belong here
        self.classes_found.show_note("Looking for classes…", clear_table=True)
        self.scan_task.start(Job(jobs.scan_training_folder, folder, resumable_near=self.form.out.text(),
                                 torch_needed=True), returned=self._on_scanned,
                             errored=self._on_scan_failed)

    def clear_run(self) -> None:
        """Forget the last run on screen: curves, matrix, calibration, its model and its Resume."""
        self.results.reset()
        self.result = None
        self.use_button.setEnabled(False)
        self.save_as_button.setEnabled(False)
        self.set_resumable(None)
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("Not started")
        self.rate.setText("")

    def set_resumable(self, run) -> None:
        """Offer Resume for `run` (a ResumableRun), or nothing."""
        self.resumable = run
        self.resume_button.setEnabled(run is not None and not self.is_training())
        if run is None:
            self.resume_button.setText("Resume")
            self.resume_button.setToolTip(RESUME_TIP)
            return
        self.resume_button.setText(f"Resume (epoch {run.epochs_done + 1})")
        self.resume_button.setToolTip(plain_tooltip(
            f"Go on with the stopped run from epoch {run.epochs_done + 1} of {max(run.epochs, run.epochs_done + 1)}. "
            f"Its state is kept in {display_path(run.last_path)}; the model is {display_path(run.out)}."))

    def _on_scanned(self, info: dict) -> None:
        if info["folder"] != self.folder.text():
            return
        self.classes = info["classes"]
        run = info.get("resumable") if not self.is_training() else None
        if run is not None:
            self.set_resumable(run)
        self.classes_found.show_scan(info, self.form.val_split.value(), run)
        check_folder(self, info["folder"])

    def _on_scan_failed(self, exc: BaseException) -> None:
        self.classes_found.show_note(describe_error(exc))
        self.classes = []

    # ------------------------------------------------------------ settings
    def train_settings(self) -> TrainSettings:
        """The form's settings for a run on the data folder shown."""
        return self.form.train_settings(self.folder.text())

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.form.set_devices(devices)

    # ------------------------------------------------------------ running
    def is_training(self) -> bool:
        return self.train_task.is_running()

    def start_training(self, project: str | None = None, keep_specimens: bool = False, resume=None,
                       resume_project: bool = False, from_run: int | None = None) -> None:
        """Train on the folder chosen here, or (`project`) on a project's labelled pictures with these settings
        (`from_run`: from that run's model), or go on with a stopped run (`resume`, a ResumableRun;
        `resume_project`: the project's stopped run, with its own settings)."""
        if self.train_task.is_running() or self.range_test.is_running():
            return
        if project is not None and not isinstance(project, (str, os.PathLike)):
            raise TypeError(f"start_training(project=...) takes a folder, not {project!r}")
        if not self.folder.text() and project is None:
            self.error.emit("No data folder", "Choose or drop a folder with one subfolder of images per class first.")
            return
        settings = self.train_settings()
        self.folder_row.setVisible(project is None)
        self.project_note.setVisible(project is not None)
        if resume is not None:
            settings.resume = str(resume.last_path)
            settings.out = str(resume.out)
            settings.epochs, settings.minutes = max(settings.epochs, resume.epochs_done + 1), None
            self.form.out.setText(settings.out)
        elif project is None:
            # Every run in the window gets a file of its own: an earlier model is never replaced.
            settings.out = str(unique_model_path(settings.out or Path.home() / WINDOW_MODEL_FILE))
            self.form.out.setText(settings.out)
        else:
            name = Path(project).name
            self.project_note.setText(f"Training on the labelled pictures of the project {name}; the model is kept "
                                      "in its models folder.")
            self.classes_found.show_note(f"Training on the labelled pictures of the project {name}.")
        self.results.reset()
        if resume is not None:
            self.results.plots.add_history(resume.history)  # the curves go on where the stopped run left them
        self.results.curves.setCurrentWidget(self.results.plots)
        self.form.find_lr_button.setEnabled(False)
        self._estimate = None
        self._training_began = 0.0
        self.save_as_button.setEnabled(False)
        self.result = None
        self.use_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.resume_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self._finishing = False
        self._project = project
        self.progress.setRange(0, 0)
        self.progress.setFormat("Preparing…")
        self._started_at = time.perf_counter()
        self._epoch = self._epochs = 0
        worker = Job(jobs.train, settings, project=project, keep_specimens=keep_specimens, from_run=from_run,
                     resume_project=resume_project and project is not None, torch_needed=True)
        self.train_task.start(worker, status=self.progress.setFormat, project_run=self.project_trained.emit,
                              data_ready=self._on_data_ready, input_chosen=self._on_input_chosen,
                              epoch_started=self._on_epoch_started, batches=self._on_batches,
                              epochs_chosen=self._on_epochs_chosen, estimated=self._on_estimated,
                              finishing=self._on_finishing,
                              epoch_ended=self._on_epoch_ended, returned=self._on_returned, errored=self._on_failed,
                              finished=self._on_finished)
        self.training_started.emit()

    def resume_training(self) -> None:
        """Go on with the stopped run that Resume names."""
        if self.resumable is not None:
            self.start_training(resume=self.resumable)

    def find_learning_rate(self) -> None:
        """The range test on the chosen folder with these settings; the suggestion goes into the rate box."""
        if self.train_task.is_running():
            return
        if not self.folder.text():
            self.error.emit("No data folder", "Choose or drop a folder with one subfolder of images per class first: "
                                              "the learning rate is found on your pictures.")
            return
        self.range_test.start(self.train_settings())

    def _on_estimated(self, seconds: float, batches_timed: int) -> None:
        self._estimate = seconds
        self.status_message.emit(f"This run will take about {duration(seconds)} (timed on its first "
                                 f"{batches_timed} batches).")

    def stop_training(self) -> None:
        if self.range_test.is_running():
            self.range_test.stop()
            return
        worker = self.train_task.current
        if worker is None:
            return
        if self._finishing:
            worker.request("skip")  # keep the best model as its epoch saved it
            self.stop_button.setEnabled(False)
            self.progress.setFormat("Keeping the best model as it is…")
            return
        worker.request("stop")  # after the current batch
        self.stop_button.setText("Skip finishing")
        self.stop_button.setToolTip(SKIP_TIP)
        self.progress.setFormat("Stopping after this batch…")

    def _on_finishing(self) -> None:
        """The best model is being calibrated and fitted: a press of the same button keeps it as it is."""
        self._finishing = True
        self.stop_button.setText("Skip finishing")
        self.stop_button.setToolTip(SKIP_TIP)
        self.stop_button.setEnabled(True)

    def _on_input_chosen(self, text: str) -> None:
        self.classes_found.add_input_choice(text)

    def _on_data_ready(self, info: dict) -> None:
        self.classes = info["classes"]
        self.classes_found.show_data(info)

    def _on_epoch_started(self, epoch: int, epochs: int) -> None:
        if not self._training_began:
            self._training_began = time.perf_counter()
        if epochs != self._epochs:
            self.results.plots.show_epochs(epochs)
        self._epoch, self._epochs = epoch, epochs

    def _on_epochs_chosen(self, epochs: int, text: str) -> None:
        """A run of set minutes chose its length in its first epoch."""
        self._on_epoch_started(1, epochs)
        self.classes_found.add_run_length(text)

    def _on_batches(self, events: list) -> None:
        self.results.plots.add_batches(events)
        e = events[-1]
        done = (e.epoch - 1) * e.batches + e.batch
        total = e.batches * self._epochs
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"Epoch {e.epoch}/{self._epochs} · batch {e.batch}/{e.batches}")
        elapsed = time.perf_counter() - (self._training_began or self._started_at)
        self.rate.setText(describe_pace(e.images_per_second, done, total, e.epoch == 1, elapsed, self._estimate))

    def _on_epoch_ended(self, event) -> None:
        self.results.plots.add_epoch(event)
        best = "  (best so far)" if event.improved else ""
        self.status_message.emit(f"Epoch {event.epoch}: validation accuracy {event.val_acc:.1%}{best}.")
        self.epoch_ended.emit(event)

    def _on_returned(self, result) -> None:
        self.result = result
        saved = self.results.show_result(result, from_project=self._project is not None)
        self.use_button.setEnabled(saved)
        self.save_as_button.setEnabled(saved)

    def _on_failed(self, exc: BaseException) -> None:
        self.error.emit("Training stopped", describe_error(exc))

    def _on_finished(self) -> None:
        from resnet_gui.core.training.saver import ResumableRun

        self.start_button.setEnabled(True)
        self.form.find_lr_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.stop_button.setText("Stop")
        self.stop_button.setToolTip(STOP_TIP)
        self._finishing = False
        r = self.result
        if r is not None and r.stopped == "cancelled" and r.last_path and self._project is None:
            done = r.history[-1]["epoch"] if r.history else 0
            self.set_resumable(ResumableRun(Path(r.last_path), Path(r.best_path or self.form.out.text()), done,
                                            self._epochs, tuple(r.history)))
        else:
            self.set_resumable(None)
        self.folder_row.setVisible(True)
        self.project_note.setVisible(False)
        total = self.progress.maximum()
        if total:
            self.progress.setValue(self.progress.value())
        self.progress.setFormat("Done" if self.result and self.result.stopped == "completed" else "Stopped")
        self.rate.setText("")
        self.training_ended.emit(self.result)

    def save_model_as(self) -> None:
        if self.result is not None and self.result.best_path:
            save_model_copy(self, self.result.best_path)

    def _on_use_model(self) -> None:
        if self.result is not None and self.result.best_path:
            self.use_model_requested.emit(str(self.result.best_path))

    def shutdown(self) -> None:
        for part in (self.scan_task, self.range_test, self.train_task, self.form.augment_preview):
            part.shutdown()
