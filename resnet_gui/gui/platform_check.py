"""Before Qt starts: can a window open here? One sentence naming what is missing, instead of Qt's own
hint (which suggests reinstalling the application) followed by an abort.

No Qt import here: a missing platform library makes Qt abort the process, past any Python handler.
"""

from __future__ import annotations

import ctypes
import os
import sys
from collections.abc import Callable, Mapping

# What Qt 6's xcb platform plugin loads, and the Debian/Ubuntu package of each.
XCB_LIBRARIES = {
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
}


def _loads(name: str) -> bool:
    try:
        ctypes.CDLL(name)
        return True
    except OSError:
        return False


def platform_problem(environ: Mapping[str, str] | None = None, loads: Callable[[str], bool] = _loads,
                     platform: str = sys.platform) -> str | None:
    """None when the window can open; else the sentence to print."""
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return None
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen and not chosen.startswith("xcb"):
        return None  # offscreen, wayland, vnc...: the user chose; Qt says what it needs
    if not chosen and environ.get("WAYLAND_DISPLAY"):
        return None
    if not environ.get("DISPLAY"):
        return ("There is no display to open the window on (DISPLAY is not set). Start resnet-gui from a "
                "desktop session, or use the command line: resnet-gui --help.")
    missing = [package for library, package in XCB_LIBRARIES.items() if not loads(library)]
    if missing:
        return ("The window cannot open: Qt needs system libraries that are not installed "
                f"({', '.join(missing)}). On Debian or Ubuntu: sudo apt install {' '.join(missing)}")
    return None
