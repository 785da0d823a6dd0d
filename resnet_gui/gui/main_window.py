"""The main window: composes the model bar and the tabs, routes drops, menus and settings."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QByteArray, Qt, QThread, Signal
from PySide6.QtGui import QAction, QActionGroup, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QLabel, QMainWindow, QTabWidget, QVBoxLayout, QWidget

from resnet_gui import __version__
from resnet_gui.core.errors import WeightsUnavailableError
from resnet_gui.core.inference.options import RunOptions
from resnet_gui.core.projects.records import is_project_folder
from resnet_gui.core.text import display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.classify.panel import ClassifyPanel
from resnet_gui.gui.evaluate.panel import EvaluatePanel
from resnet_gui.gui.icons import app_icon
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.model import jobs as model_jobs
from resnet_gui.gui.model.bar import ModelBar
from resnet_gui.gui.model.jobs import ModelChoice
from resnet_gui.gui.model.panel import ModelPanel
from resnet_gui.gui.project.jobs import write_example_project
from resnet_gui.gui.project.panel import ProjectPanel
from resnet_gui.gui.settings import Settings
from resnet_gui.gui.widgets import on_click

DOCUMENTATION_URL = "https://pypi.org/project/resnet-gui/"
QUICK_START = """Four steps:

1. A model. Choose a checkpoint (File › Open checkpoint…), use ImageNet weights (downloaded once), or
   train one: Train tab, or Help › Try the example to see it all work on made-up cell pictures.
2. Classify. Drop pictures or whole folders on the Classify tab; read the top classes in the chart.
3. Check. Evaluate tab: a folder with one subfolder of labelled pictures per class gives the accuracy
   and the confusion matrix; click a cell to see its pictures.
4. Keep. Export the table as CSV (Excel opens it), or the model as ONNX or TorchScript (Model tab).

Everything the window does, the resnet-gui command line does too: resnet-gui --help."""


TTA_CHOICES = (
    (None, "&Off: the centre crop", "Each picture is seen once, cropped in the centre."),
    ("flip", "&Mirror image too (2x the work)", "The probabilities of the picture and its mirror image, averaged."),
    ("five-crop", "&Five crops (5x)", "The probabilities of the four corners and the centre, averaged."),
    ("ten-crop", "&Ten crops, as the ResNet paper tested (10x)",
     "The five crops and their mirror images, averaged: about 1.8 points of ImageNet accuracy for 10x the work."),
)


def example_folder() -> Path:
    """Where the window makes the example: the user's data folder for the app."""
    from PySide6.QtCore import QStandardPaths

    # AppDataLocation is DATA/<organisation>/<application>, both "resnet-gui": the example sat in a doubled
    # resnet-gui/resnet-gui/ folder. The generic data folder with the app's name once.
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return (Path(base) / "resnet-gui" if base else Path.home() / ".resnet-gui") / "example"


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
                                  tta=self.settings.get("model/tta") or None)
        self.model_task = Task(self, "model")
        self.warmup_task = Task(self, "warmup")
        self.example_task = Task(self, "example")
        self._example_test_folder = ""
        self._load_user_initiated = False

        self.model_bar = ModelBar(self.options)
        self.classify_panel = ClassifyPanel(self.options)
        classify_tab = QWidget()
        tab_layout = QVBoxLayout(classify_tab)
        tab_layout.addWidget(self.model_bar)
        tab_layout.addWidget(self.classify_panel, 1)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("main_tabs")
        self.tabs.addTab(classify_tab, "&Classify")
        self.project_panel = ProjectPanel(self.options)
        self.tabs.addTab(self.project_panel, "&Project")
        self.project_panel.error.connect(self.report_error)
        self.project_panel.status_message.connect(self.show_status)
        self.project_panel.new_requested.connect(self.new_project)
        self.project_panel.open_requested.connect(self.open_project)
        self.project_panel.example_requested.connect(self.try_example)
        self.project_panel.project_opened.connect(self._on_project_opened)
        self.project_panel.train_requested.connect(self.train_project)
        self.project_panel.resume_requested.connect(lambda folder: self.train_project(folder, False, resume=True))
        self._add_train_tab()
        self.evaluate_panel = EvaluatePanel(self.settings, self.options)
        self.tabs.addTab(self.evaluate_panel, "&Evaluate")
        self.model_loaded.connect(self.evaluate_panel.set_bundle)
        self.evaluate_panel.error.connect(self.report_error)
        self.evaluate_panel.status_message.connect(self.show_status)
        self.model_panel = ModelPanel()
        self.tabs.addTab(self.model_panel, "&Model")
        self.model_loaded.connect(self.model_panel.show_bundle)
        self.model_panel.error.connect(self.report_error)
        self.model_panel.status_message.connect(self.show_status)
        self.setCentralWidget(self.tabs)
        self.torch_state = QLabel("Loading PyTorch…")
        self.statusBar().addPermanentWidget(self.torch_state)

        self._build_menus()
        self._error_from_thread.connect(self.report_error, Qt.ConnectionType.QueuedConnection)
        self.model_bar.choice_changed.connect(lambda choice: self.load_model(choice, user_initiated=True))
        self.model_bar.choose_checkpoint_requested.connect(self.choose_checkpoint)
        self.classify_panel.status_message.connect(self.show_status)
        self.classify_panel.error.connect(self.report_error)
        on_click(self.classify_panel.export_button.clicked, self.export_csv)
        empty = self.classify_panel.placeholder
        on_click(empty.choose_checkpoint.clicked, self.choose_checkpoint)
        on_click(empty.train.clicked, self.train_on_own_folder)
        on_click(empty.example.clicked, self.try_example)
        self._restore_settings()

    def _add_train_tab(self) -> None:
        """The Train tab, when the training front end is installed (issue 4)."""
        try:
            from resnet_gui.gui.train.panel import TrainPanel
        except ImportError:
            self.train_panel = None
            return
        self.train_panel = TrainPanel(self.settings, self.options)
        self.tabs.addTab(self.train_panel, "&Train")
        self.train_panel.use_model_requested.connect(self.use_checkpoint)
        self.train_panel.error.connect(self.report_error)
        self.train_panel.status_message.connect(self.show_status)
        self.train_panel.project_trained.connect(self.project_panel.training_finished)
        self.devices_ready.connect(self.train_panel.set_devices)

    # ------------------------------------------------------------ menus
    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._action(file_menu, "&Open images…", QKeySequence.StandardKey.Open, self.open_images)
        self._action(file_menu, "Open &folder…", QKeySequence("Ctrl+Shift+O"), self.open_folder)
        self._action(file_menu, "Open &checkpoint…", QKeySequence("Ctrl+K"), self.choose_checkpoint)
        file_menu.addSeparator()
        self._action(file_menu, "&New project…", QKeySequence("Ctrl+Shift+N"), self.new_project)
        self._action(file_menu, "Open &project…", QKeySequence("Ctrl+Shift+P"), self.open_project)
        self.recent_projects_menu = file_menu.addMenu("&Recent projects")
        self.recent_projects_menu.aboutToShow.connect(self._fill_recent_projects)
        file_menu.addSeparator()
        self.export_action = self._action(file_menu, "&Export shown results as CSV…", QKeySequence("Ctrl+E"),
                                          self.export_csv)
        file_menu.addSeparator()
        self._action(file_menu, "&Quit", QKeySequence.StandardKey.Quit, self.close)
        edit_menu = self.menuBar().addMenu("&Edit")
        self._action(edit_menu, "&Copy selected rows", QKeySequence.StandardKey.Copy, self.copy_selected)
        self._action(edit_menu, "Select &all", QKeySequence.StandardKey.SelectAll, self.classify_panel.table.selectAll)
        self._action(edit_menu, "C&lear results", QKeySequence("Ctrl+L"), self.classify_panel.clear)
        self._action(edit_menu, "Cancel classification", QKeySequence("Esc"), self.classify_panel.cancel)
        options_menu = self.menuBar().addMenu("&Options")
        self.mixed_precision_action = self._action(options_menu, "&Mixed precision (faster)", None,
                                                   self._on_mixed_precision_toggled, checkable=True)
        self.mixed_precision_action.setChecked(self.options.amp)
        self.options.observe(self._on_option_changed)
        self.mixed_precision_action.setStatusTip(
            "Classify and evaluate in 16-bit floating point on a GPU, or on a CPU that computes bfloat16 in "
            "hardware: about twice as fast, with probabilities that may differ in the third decimal. "
            "Off: full 32-bit precision everywhere.")
        self._add_tta_menu(options_menu.addMenu("&Test-time augmentation"))
        help_menu = self.menuBar().addMenu("&Help")
        self._action(help_menu, "&Quick start", QKeySequence.StandardKey.HelpContents, self.show_quick_start)
        self.example_action = self._action(help_menu, "Try the &example", None, self.try_example)
        help_menu.addSeparator()
        self._action(help_menu, "Open the &documentation", None, self.open_documentation)
        self._action(help_menu, "Show the &log folder", None, self.show_log_folder)
        help_menu.addSeparator()
        self._action(help_menu, "&About resnet-gui", None, self.show_about)

    def _add_tta_menu(self, menu) -> None:
        """One choice of several: the centre crop alone, or the average over 2, 5 or 10 views of each picture."""
        menu.setToolTipsVisible(True)
        group = QActionGroup(self)
        self.tta_actions: dict[str | None, QAction] = {}
        for mode, text, tip in TTA_CHOICES:
            action = QAction(text, self, checkable=True)
            action.setToolTip(tip)
            action.setStatusTip(tip)
            action.setChecked(mode == self.options.tta)
            action.triggered.connect(lambda _checked=False, mode=mode: setattr(self.options, "tta", mode))
            group.addAction(action)
            menu.addAction(action)
            self.tta_actions[mode] = action

    def _action(self, menu, text, shortcut, slot, *, checkable: bool = False) -> QAction:
        """A menu item; a checkable one's slot gets the new state, a plain one's gets no argument."""
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(shortcut)
        if checkable:
            action.setCheckable(True)
            action.triggered.connect(slot)  # triggered(checked): the user's change only
        else:
            on_click(action.triggered, slot)
        menu.addAction(action)
        return action

    # ------------------------------------------------------------ start-up
    def start(self) -> None:
        """Called once the window is shown: torch loads in a worker thread, then the model."""
        self.warmup_task.start(Job(model_jobs.list_devices, torch_needed=True), returned=self._on_torch_ready,
                               errored=self._on_torch_failed)
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

    def train_project(self, folder: str, keep_specimens: bool, resume: bool = False) -> None:
        """Train on a project's labelled pictures with the Train tab's settings, watched in the Train tab
        (`resume`: go on with its run that stopped early, with that run's settings)."""
        if self.train_panel is None or self.train_panel.is_training():
            self.show_status("A model is training already; wait for it or stop it in the Train tab.")
            return
        self.tabs.setCurrentWidget(self.train_panel)
        self.train_panel.start_training(project=folder, keep_specimens=keep_specimens, resume_project=resume)

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
        """Make the example pictures, train a small model on them from scratch, then classify the test
        pictures with it: the whole path, offline, in under a minute on a 2-core laptop."""
        if self.train_panel is None or self.train_panel.is_training() or self.example_task.is_running():
            return
        folder = example_folder()
        self.show_status(f"Making the example pictures in {folder}…")
        self.example_task.start(Job(write_example_project, folder), returned=self._on_example_written,
                                errored=self._on_example_failed)

    def _on_example_written(self, made) -> None:
        """The example as a project: the training pictures labelled, the test pictures to be labelled by the
        model and reviewed; trained with the Train tab's settings for the example."""
        from resnet_gui.core.projects.example import example_project, example_settings

        self.project_panel.open_folder(str(example_project(made)))
        self.tabs.setCurrentWidget(self.train_panel)
        settings = example_settings(made)
        self.train_panel.use_settings(settings)
        self._example_test_folder = str(made.test)
        self.train_panel.training_ended.connect(self._on_example_trained, Qt.ConnectionType.SingleShotConnection)
        self.train_panel.start_training(project=str(example_project(made)))
        self.show_status("Training a small model on the example pictures; it will then classify the test "
                         "pictures.")

    def _on_example_failed(self, exc: BaseException) -> None:
        self.report_error("The example could not be made", describe_error(exc))

    def _on_example_trained(self, result) -> None:
        if result is None or not result.best_path:
            return
        self.use_checkpoint(str(result.best_path))
        self.classify_paths([self._example_test_folder])

    def show_quick_start(self) -> None:
        dialogs.show_info(self, "Quick start", QUICK_START)

    def open_documentation(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl(DOCUMENTATION_URL))

    def show_log_folder(self) -> None:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        from resnet_gui.crash_log import log_dir

        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
            dialogs.show_info(self, "The log folder", f"Logs are written to {folder}.")

    def show_about(self) -> None:
        dialogs.show_info(
            self, "About resnet-gui",
            f"resnet-gui {__version__}\nClassify images and fine-tune ResNets with PyTorch and torchvision.",
        )

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

