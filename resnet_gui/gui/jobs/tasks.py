"""One lifecycle for every background job in the window.

A `Task` is one kind of job (classify, preview, train, ...). `start(Job(function, ...),
returned=..., errored=...)` cancels the job of that kind that is running,
so that none of its signals can reach the window any more (a stale preview
or an old model's answers never arrive), keeps a reference to every worker
until it has ended, and runs the new one on the task's own thread (one
QThread object per task, not one per click; it stops when the task is idle,
so a closed widget never destroys a running thread, and starts again with
the next job). `Task.shutdown_all()` stops and waits
for every task's thread when the window closes. (Orange3's ConcurrentMixin
and superqt's thread workers are the models.)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import ClassVar

import shiboken6
from PySide6.QtCore import QMetaObject, QObject, Qt, QThread, Signal

from resnet_gui.gui.jobs.job import Job

SIGNALS = ("started", "yielded", "returned", "errored", "aborted", "finished")


class _Relay(QObject):
    """Receives one signal of one worker on the GUI thread and passes it on only while that worker is
    still its task's current job. Being a QObject of the GUI thread is what makes the connection queued."""

    def __init__(self, task: "Task", worker: Job, callback: Callable | None, after: Callable | None = None):
        super().__init__(task)
        self.task, self.worker, self.callback, self.after = task, worker, callback, after

    def deliver(self, *args) -> None:
        current = self.task.current is self.worker
        if self.after is not None:
            self.after()  # the job has ended: by the time its `finished` handler runs, the task is idle
        if current and self.callback is not None:
            self.callback(*args)


class Task(QObject):
    _all: ClassVar[weakref.WeakSet] = weakref.WeakSet()

    def __init__(self, parent: QObject, name: str):
        super().__init__(parent)
        self.name = name
        self.current: Job | None = None
        self._thread: QThread | None = None
        self._quitting = False
        self._alive: dict[Job, list[_Relay]] = {}  # every worker started and not yet ended
        Task._all.add(self)

    # ------------------------------------------------------------ starting and stopping
    def start(self, worker: Job, **handlers: Callable) -> Job:
        """Run `worker` on this task's thread, after cancelling the one before it.

        `handlers` maps a signal of the job (`returned`, `errored`, `finished`, `progress`, `status`,
        `partial`) or the name of an event its function sends (`state.event` or `state.stream`) to a
        callable run on the GUI thread while this job is current.
        """
        self.cancel()
        thread = self._running_thread()
        worker.moveToThread(thread)
        relays = []
        by_event = {}
        for name, callback in handlers.items():
            if name == "finished":
                continue
            if not isinstance(getattr(type(worker), name, None), Signal):
                by_event[name] = callback
                continue
            relay = _Relay(self, worker, callback)
            getattr(worker, name).connect(relay.deliver)
            relays.append(relay)
        if by_event:
            relay = _Relay(self, worker, lambda events: _dispatch(events, by_event))
            worker.events.connect(relay.deliver)
            relays.append(relay)
        ended = _Relay(self, worker, handlers.get("finished"), after=lambda: self._ended(worker))
        worker.finished.connect(ended.deliver)
        relays.append(ended)
        self._alive[worker] = relays
        self.current = worker
        QMetaObject.invokeMethod(worker, "run", Qt.ConnectionType.QueuedConnection)
        return worker

    def cancel(self) -> None:
        """Ask the current job to stop at its next check; nothing more of it reaches the window."""
        if self.current is not None:
            self.current.abort()
            self.current = None

    def is_running(self) -> bool:
        return self.current is not None

    def busy(self) -> bool:
        """Whether any job of this kind (current or cancelled but not yet ended) is still on the thread."""
        return bool(self._alive)

    def shutdown(self, wait_ms: int = 30000) -> None:
        """Abort every job of this kind and wait for the thread: a QThread destroyed while running
        takes the app down."""
        self.cancel()
        for worker in list(self._alive):
            worker.abort()
        thread = self._thread
        if thread is not None and shiboken6.isValid(thread):
            thread.quit()
            thread.wait(wait_ms)
        self._quitting = False
        self._alive.clear()

    @classmethod
    def shutdown_all(cls, wait_ms: int = 30000) -> None:
        for task in list(cls._all):
            if shiboken6.isValid(task):
                task.shutdown(wait_ms)

    @classmethod
    def any_busy(cls) -> bool:
        return any(shiboken6.isValid(t) and t.busy() for t in list(cls._all))

    # ------------------------------------------------------------ inside
    def _running_thread(self) -> QThread:
        if self._thread is None or not shiboken6.isValid(self._thread):
            self._thread = QThread(self)
            self._thread.setObjectName(f"resnet-gui-{self.name}")
            self._quitting = False
        if self._quitting:
            self._thread.wait()  # an idle thread told to stop: it ends at once; then it can start again
            self._quitting = False
        if not self._thread.isRunning():
            self._thread.start()
        return self._thread

    def _ended(self, worker: Job) -> None:
        if self.current is worker:
            self.current = None
        for relay in self._alive.pop(worker, []):
            relay.deleteLater()
        if not self._alive and self._thread is not None and shiboken6.isValid(self._thread):
            self._thread.quit()
            self._quitting = True


def _dispatch(events: list[tuple[str, tuple]], handlers: dict[str, Callable]) -> None:
    for name, args in events:
        handler = handlers.get(name)
        if handler is not None:
            handler(*args)
