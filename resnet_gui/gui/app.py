"""QApplication set-up and the `resnet-gui gui` entry point.

The window is shown before torch is imported; torch loads in a worker thread.
`--screenshot` saves the window once the requested work is done and quits,
for README pictures and for checking the window headless.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

from resnet_gui.core.atomic_write import atomic_path
from resnet_gui.crash_log import write_crash_log
from resnet_gui.gui.icons import app_icon
from resnet_gui.gui.settings import APPLICATION, ORGANIZATION, Settings


def route_qt_messages() -> None:
    """Qt's own notices ("This plugin does not support propagateSizeHints()") go to the log, not the
    terminal: stderr carries only the app's sentences."""
    log = logging.getLogger("resnet_gui.qt")

    def handler(kind, context, message):
        level = logging.ERROR if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg) else logging.DEBUG
        log.log(level, "%s", message)

    qInstallMessageHandler(handler)


_garbage_collector = None


def collect_garbage_on_the_gui_thread() -> None:
    """Python's cycle collector runs on whichever thread allocates when a threshold is crossed: on a training
    thread it can free a closed dialog's widgets there, and a QWidget destroyed off the GUI thread deadlocks
    the window (seen: a learning-rate sweep hung in ~QObject, waiting for the GIL). pyqtgraph's collector turns
    automatic collection off and collects on a GUI-thread timer instead."""
    global _garbage_collector
    if _garbage_collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _garbage_collector = GarbageCollector(interval=1.0)


def make_application() -> QApplication:
    app = QApplication.instance()
    if app is None:
        route_qt_messages()
        QApplication.setHighDpiScaleFactorRoundingPolicy(Qt.HighDpiScaleFactorRoundingPolicy.PassThrough)
        app = QApplication(sys.argv[:1])
    collect_garbage_on_the_gui_thread()
    app.setOrganizationName(ORGANIZATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("resnet-gui")
    app.setDesktopFileName("resnet-gui")
    app.setWindowIcon(app_icon())  # the window and every dialog show it
    app.setStyle("Fusion")
    return app


def install_excepthook(window) -> None:
    """An exception nobody caught in a slot: logged to a file, summarised in a dialog."""

    def hook(kind, value, traceback):
        if issubclass(kind, KeyboardInterrupt):
            QApplication.quit()
            return
        where = write_crash_log(value.with_traceback(traceback))
        window.report_error(
            "Something went wrong",
            f"An unexpected error happened ({kind.__name__}: {value}). The window keeps working; "
            f"details were written to {where}.",
        )

    sys.excepthook = hook


class StallMonitor(QObject):
    """Measures the longest gap between ticks of a GUI-thread timer: how long the window froze."""

    def __init__(self, interval_ms: int = 10, parent=None):
        super().__init__(parent)
        self.interval = interval_ms / 1000
        self.max_stall_ms = 0.0
        self._last = time.perf_counter()
        self.timer = QTimer(self)
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.timeout.connect(self._tick)

    def start(self) -> None:
        self._last = time.perf_counter()
        self.timer.start(int(self.interval * 1000))

    def _tick(self) -> None:
        now = time.perf_counter()
        self.max_stall_ms = max(self.max_stall_ms, (now - self._last - self.interval) * 1000)
        self._last = now


class ScreenshotJob(QObject):
    """Waits until the window has done what the command line asked, saves it as PNG, quits."""

    def __init__(self, window, path: str, wait_for: str, limit_s: float = 900):
        super().__init__(window)
        self.window, self.path, self.wait_for = window, path, wait_for
        self.done = False
        self.messages: list[str] = []  # for the terminal: the command line prints them
        window.user_error.connect(self._on_error)
        window.model_failed.connect(self._on_model_failed)  # a refused model is a finished job too
        if wait_for == "classify":
            window.classify_panel.all_done.connect(self._on_classified)
        elif wait_for == "train":
            window.train_panel.training_ended.connect(lambda *_: QTimer.singleShot(300, self.save))
        else:
            window.model_loaded.connect(lambda *_: QTimer.singleShot(300, self.save))
        QTimer.singleShot(int(limit_s * 1000), self._on_timeout)

    def _on_classified(self) -> None:
        panel = self.window.classify_panel
        if panel.model.rowCount() == 0:
            self.save()
            return
        panel.table.setFocus()
        rows = panel.visible_rows()
        panel.select_row(next((i for i, row in enumerate(rows) if row.error is None), 0))
        current = panel.current_row()
        if current is not None and panel.shown_path == current.path:
            QTimer.singleShot(200, self.save)
        else:
            panel.preview_shown.connect(lambda *_: QTimer.singleShot(200, self.save))

    def _on_error(self, title: str, text: str) -> None:
        """An error ends the work asked for: the window is saved as it shows the error, exit 2."""
        self.messages.append(text)
        QTimer.singleShot(300, lambda: self.save(code=2))

    def _on_model_failed(self, text: str) -> None:
        """A model the user named that cannot be loaded ends the job (exit 2). No model at all (ImageNet
        weights that cannot be downloaded, none asked for) is the window's first-start state, not an error;
        and a training run does not wait for the Classify tab's model."""
        if self.wait_for == "train" or text in self.messages:
            return
        if self.window.model_bar.choice().checkpoint:
            self._on_error("The model could not be loaded", text)
        else:
            QTimer.singleShot(300, self.save)

    def _on_timeout(self) -> None:
        if not self.done:
            self.messages.append("the screenshot was taken before the work finished (time limit).")
            self.save(code=1)

    def save(self, code: int = 0) -> None:
        if self.done:
            return
        self.done = True
        QApplication.processEvents()
        try:
            with atomic_path(self.path, suffix="") as temporary:  # Qt picks the format by the extension
                if not self.window.grab().save(str(temporary)):
                    raise OSError("Qt could not write it")
        except OSError as exc:
            self.messages.append(f"could not write the screenshot to {self.path} ({exc.strerror or exc}).")
            code = 2
        QApplication.exit(code)


@dataclass
class GuiOutcome:
    """What a window session leaves for the terminal: exit status, messages, measurements."""

    code: int
    messages: list[str] = field(default_factory=list)
    max_stall_ms: float = 0.0
    window_shown_ms: float = 0.0


def run_gui(args) -> GuiOutcome:
    started = time.perf_counter()
    from resnet_gui.gui.platform_check import platform_problem

    problem = platform_problem()
    if problem:
        return GuiOutcome(2, [problem])
    app = make_application()
    settings = Settings()
    if getattr(args, "device", None):
        settings.set("model/device", args.device)
    from resnet_gui.gui.main_window import MainWindow

    window = MainWindow(settings, headless_errors=bool(args.screenshot))
    install_excepthook(window)
    if args.checkpoint:
        window.model_bar.set_choice(args.arch or window.model_bar.choice().arch, str(Path(args.checkpoint).resolve()),
                                    emit=False)
    elif args.arch:
        window.model_bar.set_choice(args.arch, None, emit=False)
    if args.screenshot:
        window.resize(1280, 800)  # pictures of the same size, whatever the saved geometry
    monitor = StallMonitor(parent=window)
    window.show()
    shown_after = time.perf_counter() - started
    monitor.start()
    QTimer.singleShot(0, window.start)

    training = bool(getattr(args, "train_dir", None)) and window.train_panel is not None
    if training:
        _fill_train_tab(window, args)
    if args.paths:
        window.classify_paths(args.paths)
    job = None
    if args.screenshot:
        wait_for = "train" if training and args.start_training else "classify" if args.paths else "model"
        job = ScreenshotJob(window, args.screenshot, wait_for)
    code = app.exec()
    monitor.timer.stop()
    window.shutdown()
    window.hide()  # a screenshot run ends with the window open; it goes with the Qt application it ran in
    window.deleteLater()
    return GuiOutcome(code, job.messages if job else [], monitor.max_stall_ms, shown_after * 1000)


def _fill_train_tab(window, args) -> None:
    """`resnet-gui gui --train-dir DIR [--arch] [--weights] [--epochs] [--image-size] --start-training`."""
    panel, form = window.train_panel, window.train_panel.form
    if args.arch:
        form.arch.setCurrentIndex(form.arch.findData(args.arch))
    if args.weights:
        form.set_start_weights(args.weights)
    if args.epochs:
        form.epochs.setValue(args.epochs)
    if args.image_size:
        form.image_size.setValue(args.image_size)  # the stem follows the size unless set
    panel.set_data_folder(args.train_dir)
    window.tabs.setCurrentWidget(panel)
    if args.start_training:
        panel.start_training()
