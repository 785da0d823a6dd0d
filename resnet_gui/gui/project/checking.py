"""The Project tab's *Check data…* and *Map…*: the check of the labelled pictures as a job, then what it found in words,
with its page (thumbnails of every finding) a click away."""

from __future__ import annotations

from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.project import jobs


def check(panel) -> None:
    if panel.project is None:
        return
    panel.run_job("Checking the pictures…", Job(jobs.check_data, str(panel.project.root), panel.options.device),
                  lambda found: _on_checked(panel, found))


def _on_checked(panel, found) -> None:
    report, page, run_id = found
    looked = f" The model of run {run_id} looked at them." if run_id is not None else \
        " No run has a model yet, so the pictures themselves at 8 x 8 pixels were compared; train once for a " \
        "better check."
    panel.status_message.emit(f"Checked {report.pictures} picture(s): {len(report.findings)} finding(s).")
    dialogs.show_check(panel, report.advice(), str(page), looked)


def show_map(panel) -> None:
    if panel.project is None:
        return
    panel.run_job("Placing the pictures on a map…",
                  Job(jobs.map_pictures, str(panel.project.root), panel.options.device),
                  lambda made: _on_mapped(panel, made))


def _on_mapped(panel, made: dict) -> None:
    from resnet_gui.gui.project.map_view import PictureMap

    panel.picture_map = PictureMap(made, panel)  # not modal: the review goes on beside it
    panel.picture_map.show()
    panel.status_message.emit(f"{made['placed']} of {made['pictures']} picture(s) placed by what the model of run "
                              f"{made['run']} sees in them.")
