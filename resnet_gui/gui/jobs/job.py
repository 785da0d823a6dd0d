"""One worker for every job of the window, as Orange3's concurrent tasks have it: `Job(function, *args)`
runs `function(state, *args)` on a task's thread (jobs/tasks.py), a plain function that reports through the
`JobState` it is handed (how far it is, what it is doing, results so far, events) and asks it whether to
stop. Only the `Job` knows Qt signals; the functions, in each tab's jobs.py, never touch a widget.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

from resnet_gui.core.errors import UserError

log = logging.getLogger(__name__)


class JobState:
    """What a job's function is handed. Thread-safe: the function calls it on the job's thread, the window
    asks the job to stop (or for anything else, by name: `Job.request`) from the GUI thread."""

    def __init__(self, job: Job, emit_interval_s: float):
        self._job = job
        self._interval = emit_interval_s
        self._abort = threading.Event()
        self._requests: set[str] = set()
        self._streams: dict[str, list] = {}  # items not yet sent, by stream name, in the order they came
        self._order: list[str] = []
        self._last_sent = 0.0

    # ------------------------------------------------------------ asked by the function
    def cancelled(self) -> bool:
        return self._abort.is_set()

    def requested(self, what: str) -> bool:
        """Whether the window asked for `what` ("stop", "skip", ...), or the job was cancelled."""
        return what in self._requests or self._abort.is_set()

    def progress(self, done: int, total: int) -> None:
        self._job.progress.emit(done, total)

    def status(self, text: str) -> None:
        self._job.status.emit(text)

    def partial(self, value: Any) -> None:
        """Results so far (a batch of answers): the window shows them before the job ends."""
        self._job.partial.emit(value)

    def event(self, name: str, *args: Any) -> None:
        """One event for the window's handler `name`, sent now (after the stream items before it)."""
        self._send([(name, args)])

    def stream(self, name: str, item: Any) -> None:
        """One of many fast items (a batch's loss): they reach the handler `name` as lists, at most about
        20 times a second, so the window never drowns in signals."""
        if name not in self._streams:
            self._streams[name] = []
            self._order.append(name)
        self._streams[name].append(item)
        if time.perf_counter() - self._last_sent >= self._interval:
            self._send([])

    def flush(self) -> None:
        self._send([])

    def _send(self, events: list[tuple[str, tuple]]) -> None:
        pending = [(name, (self._streams.pop(name),)) for name in self._order] + events
        self._order.clear()
        self._last_sent = time.perf_counter()
        if pending:
            self._job.events.emit(pending)

    # ------------------------------------------------------------ asked by the window
    def request(self, what: str) -> None:
        self._requests.add(what)

    def abort(self) -> None:
        self._abort.set()


class Job(QObject):
    """`function(state, *args, **kwargs)` on a task's thread; what it returns arrives in `returned`, what it
    raises in `errored` (a sentence by `describe_error`). `torch_needed`: torch is imported first, off the GUI
    thread and one thread at a time (jobs/torch_import.py)."""

    started = Signal()
    progress = Signal(int, int)
    status = Signal(str)
    partial = Signal(object)
    events = Signal(list)  # [(handler name, args), ...] in the order they happened
    returned = Signal(object)
    errored = Signal(object)  # the exception itself: describe_error() turns it into a sentence
    aborted = Signal()
    finished = Signal()

    def __init__(self, function: Callable[..., Any], *args: Any, torch_needed: bool = False,
                 emit_interval_s: float = 0.05, **kwargs: Any) -> None:
        super().__init__()
        self.function, self.args, self.kwargs, self.torch_needed = function, args, kwargs, torch_needed
        self.state = JobState(self, emit_interval_s)

    def abort(self) -> None:
        """Ask the job to stop at its next check (thread-safe)."""
        self.state.abort()

    def is_aborted(self) -> bool:
        return self.state.cancelled()

    def request(self, what: str) -> None:
        """Ask the job for something it checks by name (`state.requested`), such as "stop" after this batch."""
        self.state.request(what)

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            if self.torch_needed:
                from resnet_gui.gui.jobs.torch_import import import_core

                import_core()
            result = self.function(self.state, *self.args, **self.kwargs)
            self.state.flush()
            if self.state.cancelled():
                self.aborted.emit()
            else:
                self.returned.emit(result)
        except UserError as exc:
            self.errored.emit(exc)
        except Exception as exc:  # noqa: BLE001 - the window reports it as a sentence, logged in full
            log.exception("job failed")
            self.errored.emit(exc)
        finally:
            self.finished.emit()


def describe_error(exc: BaseException) -> str:
    """The sentence the window shows for a worker's exception: the user's own mistake as it was worded,
    anything else summarised (and logged in full)."""
    if isinstance(exc, UserError):
        return exc.for_window()
    return describe_unexpected(exc)


def describe_unexpected(exc: BaseException) -> str:
    """A sentence for an error nobody planned for; the traceback goes to the log file."""
    from resnet_gui.crash_log import write_crash_log

    if type(exc).__name__ == "OutOfMemoryError":
        return "The GPU ran out of memory. Lower the batch size, choose a smaller model, or choose the CPU."
    where = write_crash_log(exc)
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details were written to {where}."
