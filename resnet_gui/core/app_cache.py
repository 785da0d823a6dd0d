"""Where the app keeps what it can make again (converted models, decoded training pictures): the user's cache
folder, safe to delete."""

from __future__ import annotations

import os
import sys
from pathlib import Path


def app_cache_dir(*parts: str) -> Path:
    """`~/.cache/resnet-gui/PARTS` (XDG_CACHE_HOME where set; `%LOCALAPPDATA%` on Windows)."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base, "resnet-gui", *parts)
