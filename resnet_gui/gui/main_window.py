"""The main window: composes the model bar and the tabs, routes drops, menus and settings."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, QThread, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMainWindow

from resnet_gui.core.errors import WeightsUnavailableError
from resnet_gui.core.inference.options import RunOptions, default_runtime
from resnet_gui.core.projects.records import is_project_folder
from resnet_gui.core.text import display_path
from resnet_gui.gui import dialogs, example_flow
from resnet_gui.gui.icons import app_icon
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.main_window_layout import build_main_window
from resnet_gui.gui.model import jobs as model_jobs
from resnet_gui.gui.model.jobs import ModelChoice
from resnet_gui.gui.settings import Settings


class MainWindow(QMainWindow):
    model_loaded = Signal(object)  # the ModelBundle now in use
    model_failed = Signal(str)  # the sentence saying why the chosen model could not be loaded
    devices_ready = Signal(list)
    user_error = Signal(str, str)  # title, sentence: every error the user is shown
    _error_from_thread = Signal(str, str)

    def __init__(self, settings: Settings | None = None, *, headless_errors: bool = False):
        super().__init__()
        self.settings = settings or Settings()
        self.headless_errors = headless_errors  # --screenshot runs: report errors, never block on a dialog
        self.setWindowTitle("resnet-gui")
        self.setWindowIcon(app_icon())
        self.setAcceptDrops(True)
        self.bundle = None
        self.model_problem: str | None = None
        self.options = RunOptions(device=self.settings.get("model/device"),
                                  amp=self.settings.get("model/mixed_precision"), top_k=self.settings.get("view/top_k"),
                                  tta=self.settings.get("model/tta") or None,
                                  runtime=self.settings.get("model/runtime") or default_runtime())
        self.model_task = Task(self, "model")
        self.warmup_task = Task(self, "warmup")
        self.example_task = Task(self, "example")
        self._load_user_initiated = False

        build_main_window(self)
        self._restore_settings()

    # ------------------------------------------------------------ start-up
    def start(self, with_model: bool = True) -> None:
        """Called once the window is shown: torch loads in a worker thread, then (`with_model`) the model."""
        self.warmup_task.start(Job(model_jobs.list_devices, torch_needed=True), returned=self._on_torch_ready,
                               errored=self._on_torch_failed)
        if with_model:
            self.load_model(self.model_bar.choice(), user_initiated=False)

    def _on_torch_failed(self, exc: BaseException) -> None:
        self.torch_state.setText("PyTorch failed to load")
        self.report_error("PyTorch could not start", describe_error(exc))

    def _on_torch_ready(self, devices: list) -> None:
        self.model_bar.set_devices(devices)
        import torch  # already imported by the worker: this costs nothing on the GUI thread

        self.torch_state.setText(f"PyTorch {torch.__version__.split('+')[0]}")
        self.devices_ready.emit(devices)

    # ------------------------------------------------------------ model
    def load_model(self, choice: ModelChoice, user_initiated: bool = True) -> None:
        """Load `choice`; a newer wish cancels an older one, whose result is then never shown."""
        self.bundle = None
        self.classify_panel.set_bundle(None)
        what = os.path.basename(choice.checkpoint) if choice.checkpoint else f"{choice.arch} ImageNet weights"
        self.model_bar.show_loading(f"Loading {what}…")
        self._load_user_initiated = user_initiated
        self.model_task.start(Job(model_jobs.load_model, choice, torch_needed=True), returned=self._on_model_loaded,
                              errored=self._on_model_failed)

    def _on_model_loaded(self, bundle) -> None:
        self.bundle = bundle
        self.model_problem = None
        self.classify_panel.placeholder.show_model_actions(False)
        self.model_bar.show_loaded(bundle)
        # The checkpoint's own suggestion, from its validation set; off for models without one.
        self.options.unsure_below = bundle.unsure_below
        self.classify_panel.set_bundle(bundle)
        if bundle.checkpoint is not None:
            where = str(Path(bundle.checkpoint.path).resolve())
            self.settings.set("model/weights", where)
            self.model_bar.set_recent_checkpoints(self.settings.add_recent_checkpoint(where))
        else:
            self.settings.set("model/weights", "imagenet")
        self.settings.set("model/arch", bundle.arch)
        self.show_status(f"Model ready: {bundle.source}.")
        self.model_loaded.emit(bundle)

    def _on_model_failed(self, exc: BaseException) -> None:
        text = describe_error(exc)
        self.model_problem = text
        first_start = isinstance(exc, WeightsUnavailableError) and not self._load_user_initiated \
            and not self.model_bar.choice().checkpoint
        if first_start:
            # No ImageNet weights offline and nothing chosen: the first-start state, with ways forward.
            self.model_bar.show_no_model()
            self.classify_panel.placeholder.show_model_actions(True)
        else:
            self.model_bar.show_problem(text)
        if self._load_user_initiated or self.classify_panel.pending():
            self.report_error("The model could not be loaded", text)
        self.model_failed.emit(text)

    def use_checkpoint(self, path: str) -> None:
        """Load `path` in the Classify tab (from the file dialog, the command line or the Train tab)."""
        self.tabs.setCurrentIndex(0)
        self.model_bar.set_choice(self.model_bar.choice().arch, str(Path(path).resolve()))

    def choose_checkpoint(self) -> None:
        folder = self.settings.get("files/last_folder")
        path = dialogs.open_checkpoint(self, folder)
        if path:
            self.use_checkpoint(path)

    def _on_mixed_precision_toggled(self, checked: bool) -> None:
        self.options.amp = checked

    def _on_option_changed(self, name: str, value) -> None:
        if name == "amp":
            self.mixed_precision_action.setChecked(value)
            self.settings.set("model/mixed_precision", value)
        elif name == "tta":
            self.tta_actions[value].setChecked(True)
            self.settings.set("model/tta", value or "")
        elif name == "runtime":
            self.runtime_actions[value].setChecked(True)
            self.settings.set("model/runtime", value)

    # ------------------------------------------------------------ files
    def classify_paths(self, paths: list[str]) -> None:
        if not paths:
            return
        self.tabs.setCurrentIndex(0)
        first = Path(paths[0]).resolve()  # settings keep absolute paths: the next start may be elsewhere
        self.settings.set("files/last_folder", str(first if first.is_dir() else first.parent))
        self.classify_panel.classify(paths)
        if self.bundle is None and not self.model_task.is_running() and self.model_problem:
            self.report_error("The model could not be loaded", self.model_problem)
        elif self.bundle is None:
            self.show_status("The files will be classified as soon as the model is loaded.")

    def open_images(self) -> None:
        self.classify_paths(dialogs.open_image_files(self, self.settings.get("files/last_folder")))

    def open_folder(self) -> None:
        folder = dialogs.open_folder(self, self.settings.get("files/last_folder"))
        if folder:
            self.classify_paths([folder])

    def dragEnterEvent(self, event) -> None:
        if local_paths(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        paths = local_paths(event.mimeData())
        if not paths:
            event.ignore()
            return
        event.acceptProposedAction()
        if self.train_panel is not None and self.tabs.currentWidget() is self.train_panel:
            self.train_panel.set_data_folder(paths[0])
        elif self.tabs.currentWidget() is self.project_panel and self.project_panel.project is not None:
            self.project_panel.add_paths(paths, None)
        elif self.tabs.currentWidget() is self.evaluate_panel:
            self.evaluate_panel.set_folder(paths[0])
        else:
            self.classify_paths(paths)

    def export_csv(self) -> None:
        if not self.classify_panel.model.rows:
            self.report_error("Nothing to export", "Classify some images first, then export the table.")
            return
        folder = self.settings.get("files/last_folder")
        path = dialogs.save_csv(self, os.path.join(folder, "results.csv") if folder else "results.csv")
        if not path:
            return
        try:
            self.classify_panel.export_csv(path)
        except OSError as exc:
            self.report_error("Export failed", f"The table could not be written to {path}: {exc.strerror or exc}. "
                                               "Choose another folder.")
            return
        self.show_status(f"Exported {len(self.classify_panel.visible_rows())} row(s) to {path}.")

    def copy_selected(self) -> None:
        count = self.classify_panel.copy_selected()
        self.show_status(f"Copied {count} row(s)." if count else "Select rows to copy first.")

    # ------------------------------------------------------------ projects
    def new_project(self) -> None:
        folder = dialogs.choose_project_folder(self, self.settings.get("files/last_folder"), new=True)
        if folder:
            self.tabs.setCurrentWidget(self.project_panel)
            self.project_panel.new_project(folder)

    def open_project(self, folder: str | None = None) -> None:
        folder = folder or dialogs.choose_project_folder(self, self.settings.get("project/last"), new=False)
        if folder:
            self.tabs.setCurrentWidget(self.project_panel)
            self.project_panel.open_folder(folder)

    def _on_project_opened(self, folder: str) -> None:
        self.settings.set("project/last", folder)
        self.settings.add_recent_project(folder)
        self.setWindowTitle(f"{Path(folder).name} – resnet-gui")

    def _fill_recent_projects(self) -> None:
        menu = self.recent_projects_menu
        menu.clear()
        recent = list(self.settings.get("project/recent"))
        for folder in recent:
            if is_project_folder(folder):
                menu.addAction(display_path(folder), lambda *_ignored, folder=folder: self.open_project(folder))
            else:
                # Kept in its place, greyed: a project that silently dropped out made the next one take its
                # place at the top, and a click opened another project.
                gone = menu.addAction(f"{display_path(folder)} (moved or deleted)")
                gone.setEnabled(False)
        if not recent:
            menu.addAction("No recent projects").setEnabled(False)

    def train_project(self, folder: str, keep_specimens: bool, from_run: int | None = None,
                      resume: bool = False) -> None:
        """Train on a project's labelled pictures with the Train tab's settings (`from_run`: from that run's
        model), watched in the Train tab (`resume`: go on with its run that stopped early, as it was)."""
        if self.train_panel is None or self.train_panel.is_training():
            self.show_status("A model is training already; wait for it or stop it in the Train tab.")
            return
        self.tabs.setCurrentWidget(self.train_panel)
        self.train_panel.start_training(project=folder, keep_specimens=keep_specimens, resume_project=resume,
                                        from_run=from_run)

    # ------------------------------------------------------------ messages
    def show_status(self, text: str) -> None:
        self.statusBar().showMessage(text, 15000)

    def report_error(self, title: str, text: str) -> None:
        if QThread.currentThread() is not self.thread():
            self._error_from_thread.emit(title, text)  # queued: the dialog opens on the GUI thread
            return
        self.user_error.emit(title, text)
        self.statusBar().showMessage(text, 30000)
        if not self.headless_errors:
            dialogs.show_error(self, title, text)

    def train_on_own_folder(self) -> None:
        if self.train_panel is None:
            return
        self.tabs.setCurrentWidget(self.train_panel)
        self.train_panel.choose_folder()

    def try_example(self) -> None:
        example_flow.try_example(self)

    # ------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        s = self.settings
        self.model_bar.set_recent_checkpoints(s.get("model/recent_checkpoints"))
        weights = s.get("model/weights")
        checkpoint = weights if weights and weights != "imagenet" and os.path.exists(weights) else None
        self.model_bar.set_choice(s.get("model/arch"), checkpoint, emit=False)
        geometry = s.get("window/geometry")
        if geometry:
            self.restoreGeometry(QByteArray(geometry))
        else:
            self.resize(1280, 800)
        self.fit_to_screen()
        last = s.get("project/last")
        if last and is_project_folder(last):
            self.project_panel.open_folder(last)  # the lab's work goes on where it was left

    def fit_to_screen(self) -> None:
        """Never larger than the screen it opens on (a laptop after a large monitor), and on it."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None:
            return
        room = screen.availableGeometry()
        frame = self.frameGeometry().size() - self.geometry().size()
        width = min(self.width(), room.width() - frame.width())
        height = min(self.height(), room.height() - frame.height())
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, 640), max(height, 480))
        if not room.intersects(self.frameGeometry()):
            self.move(room.topLeft())

    def save_settings(self) -> None:
        s = self.settings
        s.set("model/device", self.options.device)
        s.set("view/top_k", self.options.top_k)
        s.set("window/geometry", bytes(self.saveGeometry().data()))
        s.sync()

    def shutdown(self) -> None:
        """Stop every background job (waiting for each thread), then save the settings."""
        for task in self.findChildren(Task):
            task.shutdown()
        self.project_panel.shutdown()
        self.save_settings()

    def closeEvent(self, event) -> None:
        if self.train_panel is not None and self.train_panel.is_training() and not self.headless_errors:
            if not dialogs.ask_stop_training(self):
                event.ignore()
                return
            self.train_panel.stop_training()  # the best model so far is kept; shutdown waits for it
        self.shutdown()
        super().closeEvent(event)


def local_paths(mime) -> list[str]:
    """Local file and folder paths carried by a drag (URLs that are not local files are ignored)."""
    if not mime.hasUrls():
        return []
    return [url.toLocalFile() for url in mime.urls() if url.isLocalFile() and url.toLocalFile()]

