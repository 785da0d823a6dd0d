"""The Train tab's check of a chosen folder before a run: the checks that need no model (copies across the
split or inside a folder the split is made from, copies under two classes, small classes) on the panel's
check task, warned of in words under the classes found. The user may still start."""

from __future__ import annotations

from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.train import jobs


def check_folder(panel, folder: str) -> None:
    panel.classes_found.show_check(None)
    panel.check_task.start(Job(jobs.check_training_folder, folder),
                           returned=lambda found: _on_checked(panel, found),
                           errored=lambda exc: panel.classes_found.show_check([]))


def _on_checked(panel, found: dict) -> None:
    if found["folder"] == panel.folder.text():  # the folder chosen since is checked by its own job
        panel.classes_found.show_check(found["warnings"], found["files"])
