"""Shared fixtures: tiny seeded models, checkpoints and images made in tmp_path (helpers in support.py).

torch is imported before any Qt module (see shared/STYLE.md: PySide6 first
has broken torch's DLL loading on Windows), and Qt runs offscreen.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("RESNET_GUI_WORKERS", "0")  # tests decode in-process unless they ask for workers

import pytest
import torch  # noqa: F401  (import order matters, see above)

from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from tests.support import (
    COLOURS,
    TINY,
    TRAINING_THREADS,
    Recorder,
    fixed_threads,
    make_shapes_dataset,
    save_noise,
    tiny_model,
)

# What puts a test in the slow groups, read from its own source (and its fixtures' names): a rule instead of
# a hand-kept list, so a new test is sorted as it is written.
_STARTS_PROCESSES = ("subprocess.", "Popen(", "torch.distributed.run")
_TRAINS = ("Trainer(", "train_project(", '"train", ', "find_learning_rate(", "start_button", "train_button",
           "Try the example", "try_example")
_TRAINED_FIXTURES = {"colour_model", "colour_run", "familiar_and_not", "trained"}


def pytest_collection_modifyitems(items):
    import inspect

    for item in items:
        function = getattr(item, "function", None)
        try:
            source = inspect.getsource(function) if function is not None else ""
        except (OSError, TypeError):
            source = ""
        fixtures = set(getattr(item, "fixturenames", ()))
        if "qtbot" in fixtures:
            item.add_marker(pytest.mark.gui)
        if any(word in source for word in _STARTS_PROCESSES):
            item.add_marker(pytest.mark.processes)
        if any(word in source for word in _TRAINS) or fixtures & _TRAINED_FIXTURES:
            item.add_marker(pytest.mark.trains)


def _child_processes() -> set[int]:
    """This process's live children (Linux /proc; elsewhere none are seen)."""
    me, found = str(os.getpid()), set()
    for entry in os.scandir("/proc") if os.path.isdir("/proc") else ():
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if fields[1].decode() == me and fields[0] != b"Z":  # ppid; a zombie has ended already
            found.add(int(entry.name))
    return found


@pytest.fixture(autouse=True)
def _threads_for_training(request):
    """A test that trains computes on TRAINING_THREADS threads: what a model learns depends on the order of
    its sums, so a statistical test gets the same model, bit for bit, on every machine with the cores."""
    if request.node.get_closest_marker("trains") is None:
        yield
        return
    with fixed_threads(TRAINING_THREADS):
        yield


@pytest.fixture(autouse=True)
def _nothing_left_running():
    """A test fails when it leaves a window task's QThread, a torch process group or a child process
    running: each would slow, or hang, the tests after it."""
    import sys
    import time

    before = _child_processes()
    yield
    left = []
    tasks = sys.modules.get("resnet_gui.gui.jobs.tasks")
    if tasks is not None:
        import shiboken6

        for task in list(tasks.Task._all):
            thread = getattr(task, "_thread", None) if shiboken6.isValid(task) else None
            if thread is not None and shiboken6.isValid(thread) and thread.isRunning():
                left.append(f"the window task {task.name!r}'s thread")
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()
        left.append("a torch.distributed process group")
    deadline = time.monotonic() + 10
    children = _child_processes() - before
    while children and time.monotonic() < deadline:  # a process that is ending is given a moment
        time.sleep(0.05)
        children = _child_processes() - before
    if children:
        import signal

        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        left.append(f"child processes {sorted(children)}")
    assert not left, "the test left running: " + ", ".join(left)


@pytest.fixture(autouse=True)
def _garbage_collected_on_the_gui_thread(request):
    """As in the app (gui/app.py): once a test has a QApplication, cycles are collected on the GUI thread only,
    or a window closed by an earlier test can be freed, and hang, on a later test's training thread."""
    if "qtbot" in request.fixturenames:
        from resnet_gui.gui.app import collect_garbage_on_the_gui_thread

        request.getfixturevalue("qapp")
        collect_garbage_on_the_gui_thread()
    yield


@pytest.fixture(scope="session")
def _shared_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session", autouse=True)
def _isolated_session(tmp_path_factory, _shared_cache):
    """The same folders for what the session's own fixtures make (a model trained once, its decoded pictures):
    they are set up before any test's `_isolated_state`, and wrote into the developer's ~/.cache without this."""
    with pytest.MonkeyPatch.context() as patched:
        state = tmp_path_factory.mktemp("session-state")
        patched.setenv("XDG_STATE_HOME", str(state))
        patched.setenv("XDG_CONFIG_HOME", str(state / "config"))
        patched.setenv("XDG_CACHE_HOME", str(_shared_cache))
        patched.setenv("RESNET_GUI_RUNTIME", "torch")
        yield


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch, _shared_cache):
    """Logs and settings go to a temporary folder, never the developer's home; converted models to one cache
    for the session. The front ends run PyTorch unless a test asks for OpenVINO
    (tests/core/inference/test_openvino_runtime.py): its bfloat16 answers are not PyTorch's to the last digit."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(_shared_cache))
    monkeypatch.setenv("RESNET_GUI_RUNTIME", "torch")


@pytest.fixture(scope="session")
def _tiny_checkpoint_made(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.pt"
    write_checkpoint(path, checkpoint_payload(model=tiny_model(), arch="resnet18", classes=list(COLOURS),
                                              small_input=True, preprocessing=TINY))
    return path


@pytest.fixture
def tiny_checkpoint(tmp_path, _tiny_checkpoint_made):
    """A seeded resnet18 (small-input stem, 32 px) saved in the app's format, with 3 colour classes: written
    once per session (0.2 s) and copied into this test's folder (0.02 s), so a test may change its own."""
    import shutil

    path = tmp_path / "tiny.pt"
    shutil.copyfile(_tiny_checkpoint_made, path)
    return path


@pytest.fixture
def image_folder(tmp_path):
    """Five distinct PNG images (one in a subfolder with spaces and non-Latin letters) and one broken file."""
    root = tmp_path / "images"
    paths = [save_noise(root / f"noise {i}.png", seed=i) for i in range(3)]
    paths += [save_noise(root / "sous dossier" / f"образец {i}.png", seed=10 + i) for i in range(2)]
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.fixture
def shapes(tmp_path):
    return make_shapes_dataset(tmp_path / "shapes")


@pytest.fixture(scope="session")
def colour_run(tmp_path_factory):
    """A resnet18 trained once per test session to tell red, green and blue squares apart (6 epochs at 32 px,
    the loss weighted by class, its last state kept): (data folder, TrainResult, the run's events)."""
    from resnet_gui.core.training.settings import TrainSettings
    from resnet_gui.core.training.trainer import Trainer

    root = tmp_path_factory.mktemp("colours")
    data = make_shapes_dataset(root / "shapes", per_class=14)
    recorder = Recorder()
    with fixed_threads(TRAINING_THREADS):
        result = Trainer(TrainSettings(data_dir=str(data), weights="none", small_input=True, image_size=32, epochs=6,
                                       batch_size=8, lr=2e-3, seed=0, balance="loss", keep_last=True,
                                       out=str(root / "colours.pt")), [recorder]).run()
    return data, result, recorder


@pytest.fixture(scope="session")
def colour_model(colour_run):
    """(data folder, TrainResult) of the session's colour run, for the tests that need a model that learned."""
    return colour_run[:2]


# ---------------------------------------------------------------- the window (Qt imported only by the tests that ask)
@pytest.fixture
def settings(tmp_path):
    """The window's settings in a file of this test's own."""
    from PySide6.QtCore import QSettings

    from resnet_gui.gui.settings import Settings

    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def errors(monkeypatch):
    """The sentences the window showed in error dialogs (dialogs are recorded, never opened)."""
    import threading

    from resnet_gui.gui import dialogs

    shown = []

    def record(parent, title, text):
        assert threading.current_thread() is threading.main_thread(), "a dialog opened off the GUI thread"
        shown.append(text)

    monkeypatch.setattr(dialogs, "show_error", record)
    return shown


@pytest.fixture
def window(qtbot, settings, errors):
    """A shown main window, 1280x800; every background job is stopped afterwards."""
    from resnet_gui.gui.main_window import MainWindow

    win = MainWindow(settings)
    # pytest-qt closes its widgets before fixtures end: a test that failed mid-run would leave the window's
    # "Training is running" question open, and the teardown would wait on it for ever.
    qtbot.addWidget(win, before_close_func=lambda w: w.shutdown())
    win.resize(1280, 800)
    win.show()
    yield win
    win.shutdown()


@pytest.fixture
def user(qtbot, window, errors, request):
    """A person at the window (tests/journeys/journey.py), 1366x768 unless the test is marked `small_screen`. The
    journey fails if it ends with an error dialog shown or a traceback written to the log."""
    from resnet_gui.crash_log import log_dir
    from tests.journeys.journey import PRESSED, User
    from tests.journeys.journey_inventory import CLICKED_BY

    screen = "small" if request.node.get_closest_marker("small_screen") else "laptop"
    # torch is loaded as the app loads it at start (its version in the status bar, the devices in the model
    # bar); the default model is not: each journey chooses its own
    window.start(with_model=False)
    qtbot.waitUntil(lambda: window.torch_state.text().startswith("PyTorch "), timeout=60_000)
    person = User(qtbot, window, screen)
    PRESSED.clear()
    yield person
    left = person.unanswered()
    person._answers.clear()  # no answer of this journey's is left to a dialog of the next one
    assert left == 0, f"the journey queued {left} answer(s) for dialogs that never opened"
    claimed = CLICKED_BY.get(request.node.originalname, [])
    missed = [name for name in claimed if name not in PRESSED]
    assert not missed, f"the journey claims to press {missed} (tests/journeys/journey_inventory.py) but did not"
    assert errors == [], f"the journey ended with error dialogs: {errors}"
    log = log_dir() / "errors.log"
    assert not log.exists(), f"a traceback was written to the log:\n{log.read_text()}"
