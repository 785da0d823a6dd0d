"""The one way the app writes a file: whole or not at all, readable as any new file would be.

Every file the app writes (checkpoints, CSV results, reports, exported models,
pictures) goes through here: a temporary file in the target's own folder (so
the final rename never crosses a file system), flushed and fsynced, then
`os.replace`d over the target. A failure at any point removes the temporary
file and leaves the old target untouched.

`mkstemp` creates files with mode 0600, which would survive the rename and
make a model on a shared drive unreadable to colleagues; the file is given
the mode a plain `open()` would have given it under the user's umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (read by setting it and putting it back: there is no getter)."""
    with _UMASK_LOCK:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def new_file_mode() -> int:
    """The mode `open(path, "w")` gives a new file: 0666 less the umask (0644 under umask 022)."""
    return 0o666 & ~current_umask()


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, *, suffix: str = ".tmp") -> Iterator[Path]:
    """A temporary path beside `target` for a library that writes by file name; on success it
    replaces `target`, on any exception it is removed. Creates the target's folder if needed.

    The temporary name keeps the target's extension before `suffix` is added, so a library that
    picks a format by extension (Pillow) still sees it when `suffix` is "".
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f"{target.suffix}{suffix}",
                                    dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        _fsync_file(temporary)
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, target)
        _fsync_folder(target.parent)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise


@contextlib.contextmanager
def atomic_write(target: str | os.PathLike, mode: str = "wb", **open_args: Any) -> Iterator[IO]:
    """An open stream whose contents replace `target` when the block ends without an exception.

    `mode` is "wb" or "w" (with `encoding`, `newline` as for `open`).
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes new files only, not mode {mode!r}")
    with atomic_path(target) as temporary:
        with open(temporary, mode, **open_args) as stream:
            yield stream
            stream.flush()


class AtomicFile:
    """A stream to fill over time (a CSV that grows batch by batch), then `commit()` or `abort()`.

    The same guarantees as `atomic_write`, for writers whose life is not one `with` block.
    """

    def __init__(self, target: str | os.PathLike, mode: str = "w", **open_args: Any):
        self.path = Path(target)
        self._context = atomic_write(self.path, mode, **open_args)
        self.stream = self._context.__enter__()
        self._open = True

    def commit(self) -> Path:
        if self._open:
            self._open = False
            self._context.__exit__(None, None, None)
        return self.path

    def abort(self) -> None:
        if self._open:
            self._open = False
            with contextlib.suppress(Exception):
                self._context.__exit__(RuntimeError, RuntimeError("aborted"), None)

    def __enter__(self) -> "AtomicFile":
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.abort()


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as stream:
        os.fsync(stream.fileno())


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened (Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
