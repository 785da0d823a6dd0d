"""The Classify tab's *Map…*: the pictures the table shows, placed by what the loaded model sees in them and
coloured by its guess, in the map's window (gui/map/window.py). The look runs as a job, with progress."""

from __future__ import annotations

from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task


def map_folder(state, bundle, paths: list[str], device: str):
    from resnet_gui.core.audit.map import look_and_place

    state.status(f"Looking at {len(paths)} picture(s) with the model to place them on a map…")
    made = look_and_place(paths, [None] * len(paths), bundle, device=device, progress=state.progress,
                          cancelled=state.cancelled)
    made.title = f"{len(paths)} classified picture(s)"
    return made


def show_map(panel) -> None:
    paths = [row.prediction.path for row in panel.visible_rows() if not row.prediction.error]
    if panel.bundle is None or not paths:
        panel.status_message.emit("Classify some pictures first: the map shows the ones the table shows.")
        return
    task = _task(panel)
    panel.status_message.emit(f"Placing {len(paths)} picture(s) on a map…")
    task.start(Job(map_folder, panel.bundle, paths, panel.options.device, torch_needed=True),
               returned=lambda made: _on_mapped(panel, made),
               errored=lambda exc: panel.error.emit("The map could not be made", describe_error(exc)))


def _task(panel) -> Task:
    if getattr(panel, "map_task", None) is None:
        panel.map_task = Task(panel, "classify-map")
    return panel.map_task


def _on_mapped(panel, made) -> None:
    from resnet_gui.gui.map.window import open_map

    open_map(panel, made)
    panel.status_message.emit(f"{made.placed} of {len(made.paths)} picture(s) placed by what the model sees in them.")


def shutdown(panel) -> None:
    for part in (getattr(panel, "map_task", None), getattr(panel, "picture_map", None)):
        if part is not None:
            part.shutdown()
