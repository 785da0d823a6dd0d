"""The map's window with many points: the time to its first view, the longest the window is frozen while the
map is panned and zoomed (each step is one repaint), the longest hover (finding the point under the mouse)
and a drawn selection (the points inside a hand-drawn loop), for 10,000 and 100,000 points.

    QT_QPA_PLATFORM=offscreen python benchmarks/map_points.py
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import ROOT  # noqa: F401,E402  (puts the project on sys.path)
from PySide6.QtCore import QPointF  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from resnet_gui.core.audit.map import PictureMap, points_inside  # noqa: E402
from resnet_gui.core.values import CLASS_COLOURS  # noqa: E402
from resnet_gui.gui.map.window import PictureMapWindow  # noqa: E402


def made(n: int, classes: int = 5) -> PictureMap:
    rng = np.random.default_rng(0)
    labels = [f"class {i % classes}" for i in range(n)]
    centres = rng.normal(0, 10, (classes, 2))
    xy = (centres[np.arange(n) % classes] + rng.normal(0, 2, (n, 2))).astype(np.float32)
    return PictureMap([f"/data/p{i}.png" for i in range(n)], labels, list(labels),
                      rng.uniform(0.3, 1, n).astype(np.float32), rng.random(n) < 0.05, np.zeros((n, 2), np.float32),
                      xy, "pca", {f"class {i}": CLASS_COLOURS[i] for i in range(classes)},
                      image_ids=list(range(n)), title=f"{n} pictures")


def main() -> None:
    app = QApplication.instance() or QApplication([])
    print("| points | first view | longest repaint, panning and zooming (20 steps) | longest hover (50) | "
          "drawn selection |")
    print("|---|---|---|---|---|")
    for n in (10_000, 100_000):
        data = made(n)
        started = time.perf_counter()
        view = PictureMapWindow(data, finer=False)
        view.show()
        view.plot.grab()  # the first paint, as a user sees it
        first = time.perf_counter() - started
        box = view.view
        longest = 0.0
        for step in range(20):
            t = time.perf_counter()
            box.translateBy(x=0.5) if step % 2 else box.scaleBy((0.9, 0.9))
            app.processEvents()
            view.plot.grab()
            longest = max(longest, time.perf_counter() - t)
        hover = 0.0
        rng = np.random.default_rng(1)
        for row in rng.integers(0, n, 50):
            t = time.perf_counter()
            view._on_mouse_moved(box.mapViewToScene(QPointF(*data.xy[row])))
            hover = max(hover, time.perf_counter() - t)
        angle = np.linspace(0, 2 * np.pi, 300)
        loop = np.c_[data.xy[0, 0] + 4 * np.cos(angle), data.xy[0, 1] + 4 * np.sin(angle)]
        t = time.perf_counter()
        view.select(points_inside(data.xy, loop))
        app.processEvents()
        view.plot.grab()
        lasso = time.perf_counter() - t
        print(f"| {n:,} | {first * 1000:.0f} ms | {longest * 1000:.0f} ms | {hover * 1000:.0f} ms | "
              f"{lasso * 1000:.0f} ms ({len(view.selected):,} points) |")
        view.shutdown()
        view.close()


if __name__ == "__main__":
    main()
