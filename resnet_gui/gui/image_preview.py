"""The selected image, scaled to fit with its aspect ratio kept."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import QLabel, QSizePolicy

from resnet_gui.gui.widgets import breakable


class ImagePreview(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 120)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setStyleSheet("QLabel { background: #f4f5f7; border: 1px solid #d5d8dc; color: #555; }")
        self.setTextFormat(Qt.TextFormat.PlainText)  # messages carry file names, never markup
        self.setWordWrap(True)
        self.source: QPixmap | None = None
        self.show_message("Select a row to see the image.")

    def show_image(self, image: QImage) -> None:
        self.source = QPixmap.fromImage(image)
        self._rescale()

    def show_message(self, text: str) -> None:
        text = breakable(text)  # a long file name wraps inside the preview instead of being cut
        self.source = None
        self.clear()
        self.setText(text)

    def has_image(self) -> bool:
        return self.source is not None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self.source is None:
            return
        ratio = self.devicePixelRatioF()
        target = self.contentsRect().size() * ratio
        scaled = self.source.scaled(target, Qt.AspectRatioMode.KeepAspectRatio,
                                    Qt.TransformationMode.SmoothTransformation)
        scaled.setDevicePixelRatio(ratio)
        self.setPixmap(scaled)
