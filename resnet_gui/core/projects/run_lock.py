"""Whether the process training a project's run is still there, told by an flock it holds.

A run is recorded as "running" before it trains; killed (kill -9, a power cut) it stayed "running" for
ever, and its saved model was never used. The training process holds an flock on a file of its own in the
project's models folder from before the run is recorded until it is finished; the kernel drops the lock
when the process ends, however it ends, so any later reader can tell a live run from a dead one. No torch.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; a run's death is not noticed there
    fcntl = None


class RunLock:
    """Held while a run trains: `name` is recorded with the run, in the folder `folder`."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.name = f".training-{uuid.uuid4().hex}.lock"
        self.path = self.folder / self.name
        self._fd: int | None = None

    def __enter__(self) -> "RunLock":
        if fcntl is None:
            return self
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file of our own: no one else holds it
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self._fd)  # closing drops the lock
            self._fd = None


def is_held(path: str | os.PathLike) -> bool:
    """Whether a live process holds the lock at `path`. A missing file is no one's; where locks cannot be
    told (no fcntl), every lock counts as held, so a live run is never taken for a dead one."""
    if fcntl is None:
        return True
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except FileNotFoundError:
        return False
    except OSError:
        return True  # cannot be looked at (a permission): not ours to declare dead
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    Path(path).unlink(missing_ok=True)  # a dead process's lock file
    return False
