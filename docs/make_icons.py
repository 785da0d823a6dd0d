"""Render resources/resnet-gui.svg to the PNG sizes desktops ask for: python docs/make_icons.py"""

import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QGuiApplication, QImage, QPainter  # noqa: E402
from PySide6.QtSvg import QSvgRenderer  # noqa: E402

RESOURCES = Path(__file__).resolve().parent.parent / "resources"

app = QGuiApplication(sys.argv[:1])
renderer = QSvgRenderer(str(RESOURCES / "resnet-gui.svg"))
for size in (16, 24, 32, 48, 64, 128, 256, 512):
    image = QImage(size, size, QImage.Format.Format_ARGB32)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    renderer.render(painter)
    painter.end()
    image.save(str(RESOURCES / f"resnet-gui-{size}.png"))
print("written to", RESOURCES)
