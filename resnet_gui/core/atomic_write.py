"""The one way the app writes a file: whole or not at all, readable as any new file would be.

Every file the app writes (checkpoints, CSV results, reports, exported models,
pictures) goes through here: a temporary file in the target's own folder (so
the final rename never crosses a file system), flushed and fsynced, then
`os.replace`d over the target. A failure at any point removes the temporary
file and leaves the old target untouched.

A temporary file is created with mode 0600, which would survive the rename and
make a model on a shared drive unreadable to colleagues; the file is given
the mode a plain `open()` would have given it under the user's umask.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from resnet_gui.core.errors import UserError

_UMASK_LOCK = threading.Lock()

# Failures that are about the place written to, which the user can change: said as a sentence.
_PLACE_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                 errno.EROFS: "the disk is read-only", errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied", errno.EISDIR: "it is a folder",
                 errno.ENOTDIR: "a part of the path is a file, not a folder",
                 errno.ENAMETOOLONG: "the name is too long"}


class WriteError(UserError):
    """A file the app was asked to write could not be written there."""


def _write_error(target: Path, what: str, reason: str) -> WriteError:
    return WriteError(f"{what.capitalize()} {target} cannot be written: {reason}. Choose another place.")


def check_writable(target: str | os.PathLike, what: str = "the file") -> Path:
    """Refuse, before any work starts, a target that cannot be written: a folder, a read-only file,
    a folder that is read-only or cannot be made. Raises WriteError naming the path."""
    target = Path(target)
    if target.is_dir():
        raise WriteError(f"{target} is a folder; give {what} a file name, like {target / 'results.csv'}.")
    folder = target.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise _write_error(target, what, f"{existing} is a file, not a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _write_error(target, what, f"the folder {existing} is read-only")
    if target.exists() and not os.access(target, os.W_OK):
        raise _write_error(target, what, "the file is read-only")
    return target


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
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f"{target.suffix}{suffix}",
                                        dir=target.parent)
    except OSError as exc:
        raise _place_error(exc, target) from None
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        _fsync_file(temporary)
        os.chmod(temporary, new_file_mode())
        os.replace(temporary, target)
        _fsync_folder(target.parent)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if isinstance(exc, OSError) and exc.errno in _PLACE_ERRORS:
            raise _place_error(exc, target) from None
        raise


@contextlib.contextmanager
def said_as_place_errors(target: str | os.PathLike) -> Iterator[None]:
    """Inside the block, a write that fails for the place written to (a full disk, a read-only one) raises a
    WriteError naming `target`, not an OSError: for writers that fill a file over time."""
    try:
        yield
    except OSError as exc:
        if exc.errno in _PLACE_ERRORS:
            raise _place_error(exc, Path(target)) from None
        raise


def _place_error(exc: OSError, target: Path) -> BaseException:
    if exc.errno in _PLACE_ERRORS:
        return _write_error(target, "the file", _PLACE_ERRORS[exc.errno])
    return exc


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
