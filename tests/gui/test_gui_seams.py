"""The window's seams: one task lifecycle, one source for each setting, evaluation of the model it holds."""

from __future__ import annotations

import dataclasses
import threading
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

from resnet_gui.core.models import checkpoints
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.jobs.tasks import Task

WAIT = 60_000


def slow(state, name: str, seconds: float, gate: threading.Event | None = None):
    if gate is not None:
        gate.wait(5)
    state.progress(1, 1)
    time.sleep(seconds)
    return name


def Slow(name: str, seconds: float, gate: threading.Event | None = None) -> Job:  # noqa: N802 - reads as a job
    return Job(slow, name, seconds, gate)


@pytest.fixture
def task(qtbot):
    parent = QWidget()
    qtbot.addWidget(parent)
    task = Task(parent, "test")
    yield task
    task.shutdown()


def test_a_new_job_cancels_the_old_one_and_its_results_never_arrive(qtbot, task):
    arrived, progress, finished = [], [], []
    gate = threading.Event()
    old = task.start(Slow("old", 0.2, gate), returned=arrived.append, progress=lambda *done: progress.append(done),
                     finished=lambda: finished.append("old"))
    new = task.start(Slow("new", 0.0), returned=arrived.append, finished=lambda: finished.append("new"))
    assert old.is_aborted() and task.current is new
    gate.set()  # the old job now emits and returns: too late, it was cancelled
    qtbot.waitUntil(lambda: not task.busy(), timeout=5000)
    assert arrived == ["new"] and progress == [] and finished == ["new"]
    assert not task.is_running()


def test_every_job_runs_on_one_thread_per_kind_and_shutdown_waits(qtbot, task):
    threads = []

    def where(state):
        threads.append(threading.get_ident())
        time.sleep(0.05)

    for _ in range(3):
        task.start(Job(where))
    qtbot.waitUntil(lambda: len(threads) == 3, timeout=5000)
    assert len(set(threads)) == 1 and threads[0] != threading.get_ident()  # one thread, not the GUI's
    task.start(Slow("last", 0.3))
    task.shutdown()
    assert not task.busy() and not task.is_running()


def test_a_jobs_events_arrive_in_order_and_a_stream_in_one_list(qtbot, task):
    """A training run's events travel on one signal: each event at once, in order, and the batches as a
    stream that reaches its handler as lists, not one signal a batch."""
    got, sent = [], []

    def chatty(state):
        state.event("begun", 1)
        for i in range(1000):
            state.stream("batches", i)
        state.event("ended", 2)
        return "done"

    job = Job(chatty, emit_interval_s=60.0)
    job.events.connect(lambda events: sent.append(len(events)), Qt.ConnectionType.DirectConnection)
    task.start(job, begun=lambda x: got.append(("begun", x)), batches=lambda items: got.append(("batches", items)),
               ended=lambda x: got.append(("ended", x)), returned=lambda r: got.append(("returned", r)))
    qtbot.waitUntil(lambda: not task.busy(), timeout=5000)
    assert got == [("begun", 1), ("batches", list(range(1000))), ("ended", 2), ("returned", "done")]
    assert sent == [1, 2]  # two signals for 1,002 events


def test_an_error_arrives_as_the_exception_itself(qtbot, task):
    errors = []

    def broken(state):
        raise MemoryError("out of memory")

    task.start(Job(broken), errored=errors.append)
    qtbot.waitUntil(lambda: bool(errors), timeout=5000)
    assert isinstance(errors[0], MemoryError)


def test_the_train_form_shows_train_settings_defaults(window):
    shown = window.train_panel.train_settings()
    defaults = TrainSettings()
    ignore = {"data_dir", "out", "device", "amp"}
    assert {k: v for k, v in dataclasses.asdict(shown).items() if k not in ignore} == \
        {k: v for k, v in dataclasses.asdict(defaults).items() if k not in ignore}
    assert shown.image_size is None and shown.small_input is None and shown.stem is None  # stem by size


def test_device_and_precision_have_one_source(qtbot, window):
    window.train_panel.form.amp.setChecked(False)  # the Train tab's box...
    assert window.options.amp is False and not window.mixed_precision_action.isChecked()  # ...is the menu's
    assert window.classify_panel.options.amp is False and window.evaluate_panel.options.amp is False
    window.mixed_precision_action.trigger()
    assert window.train_panel.form.amp.isChecked() and window.train_panel.train_settings().amp is True
    window.model_bar.top_k.setValue(3)
    assert window.options.top_k == 3 == window.classify_panel.top_k


def test_the_evaluate_tab_evaluates_the_loaded_model_without_reading_its_file(qtbot, window, tmp_path, colour_model,
                                                                              monkeypatch):
    data, result = colour_model
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(result.best_path))

    def never(*args, **kwargs):
        raise AssertionError("the checkpoint was read again")

    monkeypatch.setattr(checkpoints, "read_checkpoint", never)
    monkeypatch.setattr(checkpoints, "_load_raw", never)
    panel = window.evaluate_panel
    panel.set_folder(str(data))
    with qtbot.waitSignal(panel.evaluated, timeout=WAIT) as blocker:
        panel.evaluate()
    assert blocker.args[0]["samples"] == 42 and blocker.args[0]["accuracy"] >= 0.7

    # A model that has no file at all (as ImageNet weights have none) is evaluated too.
    panel.set_bundle(dataclasses.replace(window.bundle, checkpoint=None, source="in memory"))
    with qtbot.waitSignal(panel.evaluated, timeout=WAIT) as blocker:
        panel.evaluate()
    assert blocker.args[0]["checkpoint"] == "in memory" and blocker.args[0]["samples"] == 42


def test_a_superseded_model_load_never_shows(qtbot, window, tmp_path, tiny_checkpoint):
    from resnet_gui.gui.model.jobs import ModelChoice

    window.load_model(ModelChoice(arch="resnet18", checkpoint=str(tmp_path / "nope.pt")))  # would fail...
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT) as blocker:
        window.use_checkpoint(str(tiny_checkpoint))
    assert blocker.args[0].source == str(tiny_checkpoint)
    qtbot.waitUntil(lambda: not window.model_task.busy(), timeout=WAIT)
    assert window.model_problem is None and window.bundle.source == str(tiny_checkpoint)


def test_cycles_are_freed_on_the_gui_thread_never_on_a_worker(qtbot):
    """A worker's allocations must not run Python's cycle collector: it would free whatever garbage is pending
    there, widgets of a closed window too, and a QWidget destroyed off the GUI thread hung a training job."""
    import gc
    import weakref

    from resnet_gui.gui.app import make_application

    make_application()
    assert not gc.isenabled()
    freed_on = []

    class Node:
        pass

    node = Node()
    node.itself = node
    weakref.finalize(node, lambda: freed_on.append(threading.current_thread()))
    del node
    kept = []
    worker = threading.Thread(target=lambda: kept.extend([] for _ in range(20_000)))  # 28x gen 0's threshold
    worker.start()
    worker.join()
    assert freed_on == []
    qtbot.waitUntil(lambda: bool(freed_on), timeout=5000)
    assert freed_on == [threading.main_thread()]


def test_emitting_signals_keeps_pythons_booleans_alive():
    """PySide6 6.12.0's emit returned True without a reference: thousands of emits crashed the app on 3.11."""
    import sys

    from PySide6.QtCore import QObject, Signal

    class Source(QObject):
        said = Signal(str)

    source = Source()
    before = sys.getrefcount(True)
    for _ in range(200):
        source.said.emit("x")
    assert sys.getrefcount(True) >= before - 5


def test_the_help_menu_opens_the_documentation_and_the_log_folder(window, monkeypatch):
    """The two Help items that leave the window (no journey presses them): each asks the system to open its
    place, the web page and the log folder."""
    from PySide6.QtGui import QDesktopServices

    opened = []
    monkeypatch.setattr(QDesktopServices, "openUrl", staticmethod(lambda url: opened.append(url.toString()) or True))
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    for action in help_menu.actions():
        if action.text() in ("Open the &documentation", "Show the &log folder"):
            action.trigger()
    assert opened[0].startswith("https://") and opened[1].startswith("file://") and opened[1].endswith("resnet-gui")
