"""The app's icon, from the resources installed with it (resources/ in the project)."""

from __future__ import annotations

from importlib import resources

from PySide6.QtGui import QIcon

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def app_icon() -> QIcon:
    """Every size of the icon, so each desktop picks a sharp one; an empty icon if none is installed."""
    icon = QIcon()
    try:
        folder = resources.files("resnet_gui.resources")
    except ModuleNotFoundError:
        return icon
    for size in SIZES:
        picture = folder / f"resnet-gui-{size}.png"
        if picture.is_file():
            with resources.as_file(picture) as path:
                icon.addFile(str(path))
    return icon
