"""The Train tab: choose a class folder, pick settings, start and stop, watch it learn."""

from __future__ import annotations

import os
import time
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.models.files import WINDOW_MODEL_FILE, unique_model_path
from resnet_gui.core.text import display_name, display_path
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.gui import dialogs
from resnet_gui.gui.formatting import duration, plain_tooltip
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.train import jobs
from resnet_gui.gui.train.form import TrainForm
from resnet_gui.gui.train.results import TrainResults
from resnet_gui.gui.widgets import ElidedLabel, never_widens, on_click

STOP_TIP = "Stop after the current batch; the best model so far is kept, and Resume goes on later"
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
        self.train_task = Task(self, "train")
        self.lr_task = Task(self, "lr")
        self.finding = None  # the last range test's LRFinding
        self.result = None
        self.classes: list[str] = []
        self._epoch = self._epochs = 0
        self._started_at = self._training_began = 0.0
        self._estimate: float | None = None
        self._finishing = False  # the best model's finishing steps run: Stop now skips them
        self._project: str | None = None  # the project the running (or last) run trains on
        self.resumable = None  # a core.checkpoint_saver.ResumableRun that Resume goes on with
        self._build()

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        self.form = TrainForm(self.settings, self.options)
        on_click(self.form.find_lr_button.clicked, self.find_learning_rate)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("Drop, choose, type or paste a folder: one subfolder of images per class")
        self.folder.editingFinished.connect(self._on_folder_typed)
        choose = QPushButton("Choose folder…")
        on_click(choose.clicked, self.choose_folder)
        self.folder_row = QWidget()
        folder_row = QHBoxLayout(self.folder_row)
        folder_row.setContentsMargins(0, 0, 0, 0)
        folder_row.addWidget(QLabel("Data folder:"))
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(choose)
        self.project_note = ElidedLabel("")  # instead of the folder row while a project's pictures train
        self.project_note.setVisible(False)

        self.class_table = QTableWidget(0, 2)
        self.class_table.setHorizontalHeaderLabels(["Class", "Images"])
        self.class_table.verticalHeader().setVisible(False)
        self.class_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.class_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.class_table.setMinimumHeight(90)
        self.data_notes = never_widens(QLabel(""))
        self.data_notes.setTextFormat(Qt.TextFormat.PlainText)  # file names and reasons, shown as written
        self.data_notes.setStyleSheet("color: #8a5300;")
        data_box = QGroupBox("Classes found")
        data_layout = QVBoxLayout(data_box)
        data_layout.addWidget(self.class_table, 1)
        data_layout.addWidget(self.data_notes)

        self.start_button = QPushButton("Start training")
        self.start_button.setDefault(True)
        on_click(self.start_button.clicked, self.start_training)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setEnabled(False)
        self.stop_button.setToolTip(STOP_TIP)
        self.resume_button = QPushButton("Resume")
        self.resume_button.setEnabled(False)
        self.resume_button.setToolTip("A stopped run on this folder goes on from its last finished epoch")
        on_click(self.resume_button.clicked, self.resume_training)
        on_click(self.stop_button.clicked, self.stop_training)
        self.use_button = QPushButton("Use this model")
        self.use_button.setEnabled(False)
        self.use_button.setToolTip("Load the best checkpoint into the Classify tab")
        on_click(self.use_button.clicked, self._on_use_model)
        self.save_as_button = QPushButton("Save as…")
        self.save_as_button.setEnabled(False)
        self.save_as_button.setToolTip("Keep a copy of the best model under a name and in a folder you choose")
        on_click(self.save_as_button.clicked, self.save_model_as)
        buttons = QGridLayout()  # two rows: one of five buttons made the settings column scroll sideways
        buttons.addWidget(self.start_button, 0, 0)
        buttons.addWidget(self.stop_button, 0, 1)
        buttons.addWidget(self.resume_button, 0, 2)
        buttons.addWidget(self.use_button, 1, 0)
        buttons.addWidget(self.save_as_button, 1, 1)

        side = QWidget()
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(self.form)
        side_layout.addLayout(buttons)
        side_layout.addWidget(data_box, 1)
        scroll = QScrollArea()
        scroll.setWidget(side)
        scroll.setWidgetResizable(True)
        # Wide enough for the settings with the advanced ones unfolded and a vertical scroll bar, as it
        # starts; on a small screen the column may be narrowed, and scrolls sideways rather than clip.
        self.form.advanced_body.setVisible(True)
        needed = (side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
                  + 2 * scroll.frameWidth())
        self.form.advanced_body.setVisible(False)
        scroll.setMinimumWidth(300)
        self._settings_width = max(360, needed)

        self.results = TrainResults()

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(self.results)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([self._settings_width, 860])

        self.progress = QProgressBar()
        self.progress.setFormat("Not started")
        self.progress.setValue(0)
        self.rate = QLabel("")
        self.rate.setMinimumWidth(260)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress, 1)
        progress_row.addWidget(self.rate)

        layout = QVBoxLayout(self)
        layout.addWidget(self.folder_row)
        layout.addWidget(self.project_note)
        layout.addWidget(splitter, 1)
        layout.addLayout(progress_row)

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
        self.class_table.setRowCount(0)
        self.data_notes.setText("Looking for classes…")
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
            self.resume_button.setToolTip("A stopped run on this folder goes on from its last finished epoch")
            return
        self.resume_button.setText(f"Resume (epoch {run.epochs_done + 1})")
        self.resume_button.setToolTip(plain_tooltip(
            f"Go on with the stopped run from epoch {run.epochs_done + 1} of {max(run.epochs, run.epochs_done + 1)}. "
            f"Its state is kept in {display_path(run.last_path)}; the model is {display_path(run.out)}."))

    def _on_scanned(self, info: dict) -> None:
        if info["folder"] != self.folder.text():
            return
        self.classes = info["classes"]
        self._fill_class_table(info["counts"])
        notes = ["Validation: the val/ folder." if info["has_val"] else
                 f"Validation: {self.form.val_split.value():.0%} of each class, kept aside."]
        run = info.get("resumable")
        if run is not None and not self.is_training():
            self.set_resumable(run)
            notes.append(f"A stopped run on this folder can go on from epoch {run.epochs_done + 1}: press Resume "
                         f"(its state is kept in {display_name(run.last_path)}).")
        self.data_notes.setText("\n".join(notes))

    def _on_scan_failed(self, exc: BaseException) -> None:
        self.data_notes.setText(describe_error(exc))
        self.classes = []

    def _fill_class_table(self, counts: dict[str, int]) -> None:
        self.class_table.setRowCount(len(counts))
        for row, (name, count) in enumerate(counts.items()):
            self.class_table.setItem(row, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(str(count))
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.class_table.setItem(row, 1, item)

    # ------------------------------------------------------------ settings
    def train_settings(self) -> TrainSettings:
        """The form's settings for a run on the data folder shown."""
        return self.form.train_settings(self.folder.text())

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.form.set_devices(devices)

    def apply_command_line(self, args) -> None:
        """`resnet-gui gui --train-dir DIR [--arch] [--weights] [--epochs] [--image-size] --start-training`."""
        if args.arch:
            self.form.arch.setCurrentIndex(self.form.arch.findData(args.arch))
        if args.weights:
            self.form.set_start_weights(args.weights)
        if args.epochs:
            self.form.epochs.setValue(args.epochs)
        if args.image_size:
            self.form.image_size.setValue(args.image_size)  # the stem follows the size unless set
        self.set_data_folder(args.train_dir)
        window = self.window()
        if hasattr(window, "tabs"):
            window.tabs.setCurrentWidget(self)
        if args.start_training:
            self.start_training()

    # ------------------------------------------------------------ running
    def is_training(self) -> bool:
        return self.train_task.is_running()

    def start_training(self, project: str | None = None, keep_specimens: bool = False, resume=None,
                       resume_project: bool = False) -> None:
        """Train on the folder chosen here, or (`project`) on a project's labelled pictures with these settings,
        or go on with a stopped run (`resume`, a ResumableRun; `resume_project`: the project's stopped run,
        with its own settings)."""
        if self.train_task.is_running() or self.lr_task.is_running():
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
            settings.epochs = max(settings.epochs, resume.epochs_done + 1)
            self.form.out.setText(settings.out)
        elif project is None:
            # Every run in the window gets a file of its own: an earlier model is never replaced.
            settings.out = str(unique_model_path(settings.out or Path.home() / WINDOW_MODEL_FILE))
            self.form.out.setText(settings.out)
        else:
            name = Path(project).name
            self.project_note.setText(f"Training on the labelled pictures of the project {name}; the model is kept "
                                      "in its models folder.")
            self.data_notes.setText(f"Training on the labelled pictures of the project {name}.")
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
        worker = Job(jobs.train, settings, project=project, keep_specimens=keep_specimens,
                     resume_project=resume_project and project is not None, torch_needed=True)
        self.train_task.start(worker, status=self._on_status, project_run=self.project_trained.emit,
                              data_ready=self._on_data_ready, input_chosen=self._on_input_chosen,
                              epoch_started=self._on_epoch_started, batches=self._on_batches,
                              estimated=self._on_estimated, finishing=self._on_finishing,
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
        self.finding = None
        self.results.lr_plot.reset()
        self.results.curves.setCurrentWidget(self.results.lr_plot)
        self.form.find_lr_button.setEnabled(False)
        self.start_button.setEnabled(False)
        self.stop_button.setEnabled(True)
        self.progress.setRange(0, 0)
        self.progress.setFormat("Preparing the range test…")
        self.lr_task.start(Job(jobs.find_learning_rate, self.train_settings(), torch_needed=True),
                           status=self._on_status, lr_points=self._on_lr_points, returned=self._on_lr_found,
                           errored=self._on_lr_failed,
                           finished=self._on_lr_finished)

    def _on_lr_points(self, points: list) -> None:
        self.results.lr_plot.add_points(points)
        step, steps, rate, loss = points[-1]
        self.progress.setRange(0, steps)
        self.progress.setValue(step)
        self.progress.setFormat(f"Range test: rate {rate:.1e}, loss {loss:.3f}")

    def _on_lr_found(self, finding) -> None:
        if finding is None:
            return
        self.finding = finding
        self.results.lr_plot.show_finding(finding)
        rate = min(max(finding.suggestion, self.form.lr.minimum()), self.form.lr.maximum())
        self.form.lr.setValue(rate)
        notes = " ".join(finding.notes)
        self.status_message.emit(f"Suggested learning rate {finding.suggestion:.1e}, now in the Learning rate box "
                                 f"(from {len(finding.rates)} batches). {notes}".strip())

    def _on_lr_failed(self, exc: BaseException) -> None:
        self.error.emit("The learning rate was not found", describe_error(exc))

    def _on_lr_finished(self) -> None:
        self.form.find_lr_button.setEnabled(True)
        self.start_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        self.progress.setRange(0, 1)
        self.progress.setValue(1 if self.finding else 0)
        self.progress.setFormat(f"Suggested rate {self.finding.suggestion:.1e}" if self.finding else "Not started")

    def _on_estimated(self, seconds: float, batches_timed: int) -> None:
        self._estimate = seconds
        self.status_message.emit(f"This run will take about {duration(seconds)} (timed on its first "
                                 f"{batches_timed} batches).")

    def stop_training(self) -> None:
        if self.lr_task.is_running():
            self.lr_task.cancel()
            self.progress.setFormat("Stopped")
            self._on_lr_finished()
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

    def _on_status(self, text: str) -> None:
        self.progress.setFormat(text)

    def _on_input_chosen(self, text: str) -> None:
        lines = self.data_notes.text().split("\n")
        self.data_notes.setText("\n".join([lines[0], text, *lines[1:]]))  # after the split, before the notes

    def _on_data_ready(self, info: dict) -> None:
        self.classes = info["classes"]
        self._fill_class_table({c: a + b for c, a, b in zip(info["classes"], info["train"], info["val"], strict=False)})
        notes = list(info["warnings"])
        notes += [f"skipped {display_name(p)}: {e}" for p, e in info["skipped"][:5]]
        if len(info["skipped"]) > 5:
            notes.append(f"… and {len(info['skipped']) - 5} more skipped (hover for the list).")
        self.data_notes.setToolTip(plain_tooltip("\n".join(f"{display_path(p)}: {e}" for p, e in info["skipped"])))
        split = f"{sum(info['train'])} images to train on, {sum(info['val'])} to validate."
        self.data_notes.setText("\n".join([split, *notes]))

    def _on_epoch_started(self, epoch: int, epochs: int) -> None:
        if not self._training_began:
            self._training_began = time.perf_counter()
        if epochs != self._epochs:
            self.results.plots.show_epochs(epochs)
        self._epoch, self._epochs = epoch, epochs

    def _on_batches(self, events: list) -> None:
        self.results.plots.add_batches(events)
        e = events[-1]
        done = (e.epoch - 1) * e.batches + e.batch
        total = e.batches * self._epochs
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        self.progress.setFormat(f"Epoch {e.epoch}/{self._epochs} · batch {e.batch}/{e.batches}")
        elapsed = time.perf_counter() - (self._training_began or self._started_at)
        if self._estimate is None:
            self.rate.setText(f"{e.images_per_second:.0f} images/s · timing…")
            return
        # In the first epoch, the estimate (it knows the validation passes to come); later, the pace so far.
        left = self._estimate - elapsed if e.epoch == 1 else elapsed / done * (total - done)
        self.rate.setText(f"{e.images_per_second:.0f} images/s · about {duration(left)} left")

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
        if self.result is None or not self.result.best_path:
            return
        from resnet_gui.core.errors import UserError
        from resnet_gui.core.models.files import copy_model

        path = dialogs.save_model(self, str(self.result.best_path))
        if not path or Path(path) == Path(self.result.best_path):
            return
        try:
            copy_model(self.result.best_path, path)
        except UserError as exc:
            self.error.emit("The model was not saved", str(exc))
            return
        self.status_message.emit(f"The model was saved as {path}.")

    def _on_use_model(self) -> None:
        if self.result is not None and self.result.best_path:
            self.use_model_requested.emit(str(self.result.best_path))

    def shutdown(self) -> None:
        self.scan_task.shutdown()
        self.lr_task.shutdown()
        self.train_task.shutdown()
