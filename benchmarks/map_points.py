"""The Project tab's map with many points: the time to its first view, and the longest the window is frozen
while the map is panned and zoomed (each step is one repaint), for 10,000 and 100,000 points.

    QT_QPA_PLATFORM=offscreen python benchmarks/map_points.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import ROOT  # noqa: F401,E402  (puts the project on sys.path)
from PySide6.QtWidgets import QApplication  # noqa: E402

from resnet_gui.gui.project.map_view import PictureMap  # noqa: E402


def made(n: int, classes: int = 5) -> dict:
    rng = np.random.default_rng(0)
    labels = [f"class {i % classes}" for i in range(n)]
    centres = rng.normal(0, 10, (classes, 2))
    xy = (centres[np.arange(n) % classes] + rng.normal(0, 2, (n, 2))).astype(np.float32)
    return {"method": "pca", "xy": xy, "labels": labels, "paths": [f"/data/p{i}.png" for i in range(n)],
            "colours": {f"class {i}": c for i, c in enumerate(["#4e79a7", "#f28e2b", "#e15759", "#76b7b2",
                                                                 "#59a14f"][:classes])}}


def main() -> None:
    app = QApplication.instance() or QApplication([])
    print("| points | first view | longest repaint while panning and zooming (20 steps) |")
    print("|---|---|---|")
    for n in (10_000, 100_000):
        started = time.perf_counter()
        view = PictureMap(made(n))
        view.show()
        view.plot.grab()  # the first paint, as a user sees it
        first = time.perf_counter() - started
        box = view.plot.getViewBox()
        longest = 0.0
        for step in range(20):
            t = time.perf_counter()
            box.translateBy(x=0.5) if step % 2 else box.scaleBy((0.9, 0.9))
            app.processEvents()
            view.plot.grab()
            longest = max(longest, time.perf_counter() - t)
        print(f"| {n:,} | {first * 1000:.0f} ms | {longest * 1000:.0f} ms |")
        view.close()


if __name__ == "__main__":
    main()
