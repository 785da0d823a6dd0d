"""Pictures for the window, made off the GUI thread: a file decoded for a preview, pixels as a QImage."""

from __future__ import annotations

from PySide6.QtGui import QImage

from resnet_gui.gui.jobs.job import JobState


def to_qimage(rgb) -> QImage:
    """uint8 [h, w, 3] array -> QImage (a deep copy, safe to hand to the GUI thread)."""
    height, width, _ = rgb.shape
    data = rgb.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


def decode_preview(state: JobState, path: str, size: int = 1024) -> tuple[str, QImage | None, str | None]:
    """One image for the preview, scaled to fit `size`: (path, image, None), or (path, None, why not)."""
    import numpy as np

    from resnet_gui.core.images.files import ImageDecodeError, load_rgb

    try:
        image = load_rgb(path, draft_size=size)
    except ImageDecodeError as exc:
        return path, None, str(exc)
    image.thumbnail((size, size))
    return path, to_qimage(np.asarray(image)), None
