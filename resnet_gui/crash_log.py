"""Where unexpected errors go: a log file, so users read a sentence and never a traceback."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from pathlib import Path

from resnet_gui import __version__


def log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(Path.home(), ".local", "state")
    return Path(base) / "resnet-gui"


def write_crash_log(exc: BaseException) -> Path:
    """Append the traceback of `exc` to errors.log and return the file's path."""
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    header = f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} resnet-gui {__version__}\n"
    for folder in (log_dir(), Path(tempfile.gettempdir())):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / "errors.log"
            with path.open("a", encoding="utf-8") as stream:
                stream.write(header + text)
            return path
        except OSError:
            continue
    return Path(os.devnull)
