"""The map's window on pictures it is handed (no model needed): hovering shows a picture, a click keeps it, a
double click opens it, a drawn selection holds the points inside the line and goes to the project as one
request, and the finer placement arrives from a worker."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from resnet_gui.core.audit.map import PictureMap, points_inside


@pytest.fixture
def made(tmp_path) -> PictureMap:
    rng = np.random.default_rng(0)
    centres = {"round": (0.0, 0.0), "cluster": (10.0, 0.0), "fibre": (5.0, 8.0)}
    paths, labels, xy = [], [], []
    for name, (x, y) in centres.items():
        for i in range(20):
            path = tmp_path / f"{name}-{i:02d}.png"
            Image.new("RGB", (40, 30), (30 * i % 255, 90, 160)).save(path)
            paths.append(str(path))
            labels.append(name)
            xy.append((x + rng.normal(0, 0.8), y + rng.normal(0, 0.8)))
    n = len(paths)
    confidence = rng.uniform(0.3, 1.0, n).astype(np.float32)
    return PictureMap(paths, labels, list(labels), confidence, np.arange(n) % 7 == 0, rng.normal(size=(n, 8)),
                      np.array(xy, dtype=np.float32), "pca", {"round": "#4e79a7", "cluster": "#f28e2b",
                                                               "fibre": "#e15759"},
                      image_ids=list(range(100, 100 + n)), run=1, title="test: 60 pictures")


def open_map(qtbot, made):
    from resnet_gui.gui.map.window import PictureMapWindow

    window = PictureMapWindow(made, finer=False)
    qtbot.addWidget(window, before_close_func=lambda w: w.shutdown())
    window.show()
    qtbot.waitExposed(window)
    window.view.setRange(xRange=(-5, 15), yRange=(-5, 12), padding=0)  # every corner drawn below is in view
    qtbot.wait(50)
    return window


def on_screen(window, x: float, y: float) -> QPoint:
    """Where a point of the map's coordinates is on the plot widget."""
    return window.plot.mapFromScene(window.view.mapViewToScene(QPointF(x, y)))


def drag(widget, points: list[QPoint]) -> None:
    """Press the left button at the first point, move through the others holding it, let go at the last
    (QTest.mouseMove moves with no button held, so a plot would see no drag). At a hand's pace: pyqtgraph
    drops moves that come faster than a screen redraws."""
    import time

    from PySide6.QtGui import QMouseEvent
    from PySide6.QtWidgets import QApplication

    def send(kind, point, buttons):
        local = QPointF(point)
        QApplication.sendEvent(widget, QMouseEvent(kind, local, widget.mapToGlobal(local), Qt.MouseButton.LeftButton,
                                                   buttons, Qt.KeyboardModifier.NoModifier))
        QApplication.processEvents()
        time.sleep(0.02)

    held, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send(QMouseEvent.Type.MouseButtonPress, points[0], held)
    for point in points[1:]:
        send(QMouseEvent.Type.MouseMove, point, held)
    send(QMouseEvent.Type.MouseButtonRelease, points[-1], none)


def test_hover_shows_the_picture_a_click_keeps_it_a_double_click_opens_it(qtbot, made, monkeypatch):
    window = open_map(qtbot, made)
    assert window.point_count() == 60 and set(window.scatters) == {"round", "cluster", "fibre"}
    row = 25
    QTest.mouseMove(window.plot.viewport(), on_screen(window, *made.xy[row]))
    qtbot.waitUntil(lambda: window.shown is not None)
    shown = window.shown
    assert np.linalg.norm(made.xy[shown] - made.xy[row]) < 0.5  # the point under the mouse, or its neighbour
    assert window.picked.text().startswith(f"cluster-{shown - 20:02d}.png\ncluster · guess cluster")
    qtbot.waitUntil(lambda: window.thumbnail.pixmap() is not None and not window.thumbnail.pixmap().isNull())
    assert window.thumbnail.pixmap().width() == 200  # 40 x 30 scaled to fit the pane
    opened = []
    monkeypatch.setattr("resnet_gui.gui.map.window.QDesktopServices.openUrl", lambda url: opened.append(url))
    QTest.mouseDClick(window.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      on_screen(window, *made.xy[shown]))
    assert [url.toLocalFile() for url in opened][-1:] == [made.paths[window.shown]]
    window.colour_by.setCurrentIndex(window.colour_by.findData("unfamiliar"))
    assert {name: len(s.data) for name, s in window.scatters.items()} == {"familiar": 51, "unfamiliar": 9}


def test_a_drawn_selection_holds_the_points_inside_and_is_excluded_at_once(qtbot, made):
    window = open_map(qtbot, made)
    assert not window.exclude_button.isEnabled()
    qtbot.mouseClick(window.draw_button, Qt.MouseButton.LeftButton)
    assert window.view.drawing
    corners = [(7.0, -3.0), (13.0, -3.0), (13.0, 3.0), (7.0, 3.0)]  # around the cluster cloud
    path = [on_screen(window, x0 + (x1 - x0) * step / 5, y0 + (y1 - y0) * step / 5)  # a hand moves in steps
            for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1], strict=True) for step in range(5)]
    drag(window.plot.viewport(), path)
    qtbot.waitUntil(lambda: len(window.selected) > 0)
    expected = set(points_inside(made.xy, np.array(corners)).tolist())
    assert set(window.selected.tolist()) == expected and set(range(20, 40)) <= expected
    assert window.selection_note.text().startswith(f"{len(expected)} selected (cluster {len(expected)}")
    with qtbot.waitSignal(window.exclude_requested) as asked:
        qtbot.mouseClick(window.exclude_button, Qt.MouseButton.LeftButton)
    assert sorted(asked.args[0]) == sorted(100 + r for r in expected)
    window.labelled(None)  # the project excluded them: they leave the map
    assert window.point_count() == 60 - len(expected) and not window.exclude_button.isEnabled()


def test_the_finer_placement_arrives_from_a_worker(qtbot, made, monkeypatch):
    """The wiring of the second placement (umap-learn is not in the test install, so a stand-in places the
    points: what matters here is that the map takes the worker's answer and says which method placed it)."""
    import threading

    from resnet_gui.gui.map import window as map_window

    threads = []

    def stand_in(state, features):
        threads.append(threading.current_thread() is threading.main_thread())
        return np.asarray(features[:, :2], dtype=np.float32), "umap"

    monkeypatch.setattr(map_window, "umap_available", lambda: True)
    monkeypatch.setattr(map_window, "place_by_umap", stand_in)
    window = map_window.PictureMapWindow(made)
    qtbot.addWidget(window, before_close_func=lambda w: w.shutdown())
    assert "placing by UMAP on a worker" in window.method_note.text()
    qtbot.waitUntil(lambda: made.method == "umap")
    assert threads == [False] and np.allclose(made.xy, made.features[:, :2])
    assert window.method_note.text().startswith("60 pictures placed by UMAP.")
