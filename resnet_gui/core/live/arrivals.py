"""Pictures arriving in a folder, each handed on once, when it is whole.

A microscope or a plate reader writes a file every few seconds; a picture must not be read while it is
still being written. The operating system's events (watchdog: inotify, FSEvents, ReadDirectoryChangesW)
say that something changed; whether a file is whole is decided by looking at it:

- a file that was closed after writing, or renamed into place, and then stays the same for `after_close`
  seconds is whole (Linux says when a writer closes a file); so is one whose own modification time is a
  `settle` old (a finished file moved in from elsewhere, or one there before the watch began);
- any other file is whole once its size and modification time have not changed for `settle` seconds
  (macOS, Windows and network shares do not say when a file is closed);
- an empty file is not whole until it has stayed empty for five times `settle`.

Events are not always delivered (network shares, a folder that is deleted and made again, too many
watches), so the folder is also listed every `rescan` seconds; a folder that is gone is looked for every
second, and watched again when it is back. Nothing here reads a picture: the caller does, and hands back
(`again`) a file that changed while it was read or could not be read, to be looked at once more later.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from resnet_gui.core.images.files import is_image_path

SETTLE_SECONDS = 2.0
AFTER_CLOSE_SECONDS = 0.25
RESCAN_SECONDS = 10.0
POLL_SECONDS = 0.25  # how often files still being written are looked at
GONE_POLL_SECONDS = 1.0
EMPTY_SETTLES = 5


@dataclass(slots=True)
class _Pending:
    size: int
    mtime_ns: int
    changed: float  # when its size or time last changed (monotonic clock)
    closed: bool = False  # a writer closed it after its last change
    again: bool = False  # handed back once: it waits a full settle, and is not handed back twice


class FolderArrivals:
    """Watch `root` (and its subfolders with `recursive`) for pictures; `whole(timeout)` waits for the ones
    that are complete and hands each out once. `is_done(path)`: files handled before (a CSV holds them).
    `ignore`: folders whose files are never handed out (the sorted output, when it is inside `root`)."""

    def __init__(self, root: str | os.PathLike, *, recursive: bool = False, settle: float = SETTLE_SECONDS,
                 after_close: float = AFTER_CLOSE_SECONDS, rescan: float = RESCAN_SECONDS,
                 is_done: Callable[[str], bool] | None = None, ignore: Iterable[str | os.PathLike] = (),
                 clock: Callable[[], float] = time.monotonic):
        self.root = Path(os.path.abspath(root))  # the events name files under it as it is spelled here
        self.recursive = recursive
        self.settle, self.after_close, self.rescan_every = settle, after_close, rescan
        self._is_done = is_done or (lambda path: False)
        self._ignore = [os.path.realpath(p) for p in ignore]
        self._clock = clock
        self._events: list[tuple[str, str]] = []  # (kind, path) from the watching thread, in order
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pending: dict[str, _Pending] = {}
        self._handed: set[str] = set()
        self._handed_back: set[str] = set()
        self._observer = None
        self._watched_id: tuple[int, int] | None = None  # the folder being watched (device, inode)
        self._next_rescan = 0.0
        self.events_delivered = False  # the system's events reach us (else only the listing finds files)
        self.present = False

    # ------------------------------------------------------------------ starting and stopping
    def start(self) -> None:
        self._look_at_folder()

    def stop(self) -> None:
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._observer = None

    def __enter__(self) -> FolderArrivals:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ what the caller asks
    def whole(self, timeout: float, limit: int | None = None) -> list[Path]:
        """The pictures that are whole now, oldest first (at most `limit`), waiting up to `timeout` seconds
        for one; an empty list when none came."""
        deadline = self._clock() + timeout
        while True:
            self._take_events()
            if self._clock() >= self._next_rescan:
                self._look_at_folder()
            found = self._take_whole(limit)
            now = self._clock()
            if found or now >= deadline:
                return found
            wake_at = min(deadline, self._next_rescan, now + POLL_SECONDS if self._pending else deadline)
            self._wake.wait(max(0.005, wake_at - now))
            self._wake.clear()

    def again(self, path: str | os.PathLike) -> bool:
        """Look at `path` once more after a full settle (it changed while it was read, or could not be read
        and may still be being written). False when it was handed back before: the caller keeps its answer."""
        key = os.fspath(path)
        if key in self._handed_back:
            return False
        self._handed_back.add(key)
        try:
            info = os.stat(key)
        except OSError:
            self._handed.discard(key)
            return True  # gone: nothing to answer for
        self._handed.discard(key)
        self._pending[key] = _Pending(info.st_size, info.st_mtime_ns, self._clock(), again=True)
        return True

    @property
    def waiting(self) -> int:
        """Pictures seen that are not whole yet."""
        return len(self._pending)

    def status(self) -> str:
        """What the watch waits for, in a phrase (the front end says which folder)."""
        if not self.present:
            return "the folder is not there; waiting for it to come back"
        if self._pending:
            return f"waiting for {len(self._pending)} picture(s) to finish being written"
        how = "" if self.events_delivered else f" (looking every {self.rescan_every:g} s: no change events here)"
        return f"waiting for new pictures{how}"

    # ------------------------------------------------------------------ inside
    def _take_events(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        for kind, path in events:
            if kind == "folder":
                self._next_rescan = 0.0  # a subfolder came or the folder went: list it now
                continue
            if not self._wanted(path):
                continue
            pending = self._pending.get(path)
            if pending is None:
                if path in self._handed or self._is_done(path):
                    continue
                pending = self._pending[path] = _Pending(-1, -1, self._clock())
            pending.closed = kind == "closed"

    def _take_whole(self, limit: int | None) -> list[Path]:
        now, wall_now = self._clock(), time.time()
        found: list[tuple[int, str]] = []
        for key, pending in list(self._pending.items()):
            try:
                info = os.stat(key)
            except OSError:
                del self._pending[key]  # deleted, or renamed: its new name is an event of its own
                continue
            if (info.st_size, info.st_mtime_ns) != (pending.size, pending.mtime_ns):
                pending.size, pending.mtime_ns, pending.changed = info.st_size, info.st_mtime_ns, now
                continue
            quiet = now - pending.changed
            if pending.size == 0:
                is_whole = quiet >= EMPTY_SETTLES * self.settle
            elif pending.again:
                is_whole = quiet >= self.settle
            elif pending.closed or wall_now - pending.mtime_ns / 1e9 >= self.settle:
                # closed by its writer, or not written to for a settle by its own time (a finished file
                # moved in, or there before the watch began): whole once it stays so a moment
                is_whole = quiet >= self.after_close
            else:
                is_whole = quiet >= self.settle
            if is_whole:
                found.append((pending.mtime_ns, key))
        found.sort()
        if limit is not None:
            found = found[:limit]
        for _, key in found:
            self._pending.pop(key)
            self._handed.add(key)
        return [Path(key) for _, key in found]

    def _wanted(self, path: str) -> bool:
        name = os.path.basename(path)
        if name.startswith(".") or not is_image_path(name):
            return False  # hidden and temporary files: a writer's `.name.partial` becomes `name` when whole
        if not self.recursive and os.path.dirname(path) != os.fspath(self.root):
            return False
        if self._ignore:
            real = os.path.realpath(path)
            if any(real == folder or real.startswith(folder + os.sep) for folder in self._ignore):
                return False
        return True

    def _look_at_folder(self) -> None:
        """List the folder (the fallback for events that never come) and watch it again if it was made anew."""
        now = self._clock()
        try:
            info = os.stat(self.root)
        except OSError:
            self.present = False
            self._watched_id = None
            self._next_rescan = now + GONE_POLL_SECONDS
            return
        self.present = True
        if (info.st_dev, info.st_ino) != self._watched_id:
            self._watch()
            self._watched_id = (info.st_dev, info.st_ino)
        for path in self._listed():
            if path not in self._pending and path not in self._handed and self._wanted(path) \
                    and not self._is_done(path):
                self._pending[path] = _Pending(-1, -1, now)
        self._next_rescan = now + self.rescan_every

    def _listed(self) -> list[str]:
        found: list[str] = []
        folders = [os.fspath(self.root)]
        while folders:
            folder = folders.pop()
            try:
                with os.scandir(folder) as entries:
                    for entry in entries:
                        if entry.is_dir(follow_symlinks=False):
                            if self.recursive and not entry.name.startswith("."):
                                folders.append(entry.path)
                        elif entry.is_file():
                            found.append(entry.path)
            except OSError:
                continue  # a subfolder that went while it was listed
        return found

    def _watch(self) -> None:
        """Ask the system for change events on the folder (again, after it was made anew)."""
        self.stop()
        self.events_delivered = False
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            return  # the listing alone finds the files
        arrivals = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event) -> None:
                kind = event.event_type
                if event.is_directory:
                    if kind in ("created", "deleted", "moved"):
                        arrivals._event("folder", "")
                    return
                if kind in ("created", "modified"):
                    arrivals._event("touched", os.fsdecode(event.src_path))
                elif kind == "closed":
                    arrivals._event("closed", os.fsdecode(event.src_path))
                elif kind == "moved":  # renamed into place: the writer's last step
                    arrivals._event("closed", os.fsdecode(event.dest_path))

        observer = Observer()
        try:
            observer.schedule(Handler(), os.fspath(self.root), recursive=self.recursive)
            observer.start()
        except OSError:  # too many watches (inotify's limit), or a file system without events
            return
        self._observer = observer
        self.events_delivered = True

    def _event(self, kind: str, path: str) -> None:
        with self._lock:
            self._events.append((kind, path))
        self._wake.set()


def follow(arrivals: FolderArrivals, handle: Callable[[list[Path]], None], batch_size: int, *,
           cancelled: Callable[[], bool] = lambda: False, on_status: Callable[[str], None] | None = None,
           stop_after_idle: float | None = None, wait: float = 0.5) -> None:
    """Watch until `cancelled()` (or `stop_after_idle` seconds with nothing new and nothing being written),
    handing the whole pictures to `handle` in batches of at most `batch_size` (a burst: several batches in
    turn), and `on_status` each change of what the watch waits for."""
    said = None

    def say() -> None:
        nonlocal said
        status = arrivals.status()
        if status != said and on_status is not None:
            on_status(status)
        said = status

    idle_since = time.monotonic()
    arrivals.start()
    try:
        while not cancelled():
            whole = arrivals.whole(wait, limit=batch_size * 4)
            if not whole:
                say()
                if stop_after_idle is not None and not arrivals.waiting \
                        and time.monotonic() - idle_since >= stop_after_idle:
                    return
                continue
            for start in range(0, len(whole), batch_size):
                handle(whole[start:start + batch_size])
                if cancelled():
                    return
            idle_since = time.monotonic()
            say()  # at once: "waiting for 1 picture" must not outlive it
    finally:
        arrivals.stop()
