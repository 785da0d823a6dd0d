"""Hostile names and files in the window: shown as plain text, never as markup; a bad model ends a
screenshot run instead of hanging it."""

from __future__ import annotations

import os
import sys
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.gui.classify.results_model import FILE, ROW_ROLE
from tests.support import TINY, save_noise, tiny_model

WAIT = 60_000
CLASSES = ["<img src=x>", "b&amp;c", "<b>bold</b>"]


def test_class_and_file_names_are_shown_as_written(qtbot, window, tmp_path):
    checkpoint = write_checkpoint(tmp_path / "m.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=CLASSES, small_input=True, preprocessing=TINY))
    folder = tmp_path / "imgs"
    save_noise(folder / "back\\slash.png")
    save_noise(folder / "<i>x.png", seed=1)
    with open(os.fsencode(folder) + b"/caf\xe9.png", "wb") as stream:
        stream.write((folder / "back\\slash.png").read_bytes())
    with qtbot.waitSignal(window.model_loaded, timeout=WAIT):
        window.use_checkpoint(str(checkpoint))
    assert "&lt;img src=x&gt;" in window.model_bar.summary.text()  # escaped where the label is rich text
    assert "&amp;amp;" in window.model_bar.summary.text()
    panel = window.classify_panel
    with qtbot.waitSignal(panel.all_done, timeout=WAIT):
        panel.classify([str(folder)])
    names = sorted(panel.model.data(panel.model.index(r, FILE)) for r in range(panel.model.rowCount()))
    assert names == ["<i>x.png", "back\\slash.png", "caf\\xe9.png"]
    row = next(r for r in panel.model.rows if r.name == "<i>x.png")
    tooltip = panel.model.data(panel.model.index(panel.model.rows.index(row), FILE), Qt.ItemDataRole.ToolTipRole)
    assert "&lt;i&gt;x.png" in tooltip
    panel.select_row(0)
    current = panel.proxy.data(panel.table.currentIndex(), ROW_ROLE)
    assert panel.chart_title.textFormat() == Qt.TextFormat.PlainText
    assert current.name in panel.chart_title.text()
    assert panel.preview.textFormat() == Qt.TextFormat.PlainText


def test_a_refused_checkpoint_ends_a_screenshot_run_with_the_picture(qapp, tmp_path, capsys, monkeypatch):
    """`resnet-gui gui --checkpoint BAD --screenshot` as the command line runs it, in this process."""
    from resnet_gui.cli import main

    monkeypatch.setattr(sys, "excepthook", sys.excepthook)  # the window installs its own
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"this is not a model")
    shot = tmp_path / "shot.png"
    started = time.perf_counter()
    code = main(["gui", "--checkpoint", str(bad), "--screenshot", str(shot)])
    err = capsys.readouterr().err
    assert code == 2 and time.perf_counter() - started < 120
    assert "bad.pt" in err and "Traceback" not in err
    assert QImage(str(shot)).width() == 1280
