"""The box beside the Project tab's Train: a new run from scratch, or continuing from an earlier run's model
(core/projects/training.py, `from_run`)."""

from __future__ import annotations

from PySide6.QtCore import Qt


def offer_start_runs(panel, runs) -> None:
    """The runs a new run may start from, in the box beside Train: those with a model, newest first, after
    From scratch. Rebuilt only when they change (the title is drawn at every key press); the choice stays."""
    usable = [r for r in runs if r.status != "running" and r.checkpoint is not None]
    offered = [(f"From run {r.id}", r.id) for r in reversed(usable)]  # short: the row must fit 1024 px
    box = panel.start_from
    if [(box.itemText(i), box.itemData(i)) for i in range(1, box.count())] == offered:
        return
    chosen = box.currentData()
    box.blockSignals(True)
    while box.count() > 1:
        box.removeItem(1)
    for (text, run_id), run in zip(offered, reversed(usable), strict=True):
        box.addItem(text, run_id)
        if run.accuracy is not None:
            box.setItemData(box.count() - 1, f"Run {run.id}: {run.accuracy:.1%} on its validation pictures",
                            Qt.ItemDataRole.ToolTipRole)
    box.setCurrentIndex(max(0, box.findData(chosen)) if chosen is not None else 0)
    box.blockSignals(False)
    box.setVisible(bool(offered))
