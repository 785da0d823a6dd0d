"""The Project tab's sorting into folders (counted first, then copied or moved as the user says) and finding
pictures that moved (by their content), each a job on the panel's job task."""

from __future__ import annotations

from resnet_gui.core.text import display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.project import jobs


def sort(panel) -> None:
    out = dialogs.open_folder(panel, "", "The folder to sort into (one subfolder per class is made)")
    if out:
        panel.run_job(
            "Counting…", Job(jobs.plan_sort, str(panel.project.root), out), lambda plan: _on_sort_planned(panel, plan)
        )


def _on_sort_planned(panel, plan) -> None:
    answer = dialogs.ask_sort(panel, str(plan.out), plan.counts(), len(plan.missing))
    if answer:
        panel.run_job(
            "Sorting…",
            Job(jobs.sort_pictures, str(panel.project.root), plan, answer == "move"),
            lambda report: _on_sorted(panel, report),
        )


def _on_sorted(panel, report) -> None:
    failed = f"; {len(report.failed)} could not be placed" if report.failed else ""
    panel.status_message.emit(f"Placed {len(report.placed)} picture(s){failed}. The log is {display_path(report.log)}.")
    panel.refresh_pictures()


def locate(panel) -> None:
    folder = dialogs.open_folder(panel, "", "Where are the missing pictures now?")
    if folder:
        panel.run_job(
            "Looking for the missing pictures by their content…",
            Job(jobs.locate_files, str(panel.project.root), folder),
            lambda found: _on_located(panel, found),
        )


def _on_located(panel, found: int) -> None:
    panel.status_message.emit(f"Found {found} missing picture(s).")
    # the follow-up job takes the task's place: the locate job's own `finished` (which hid the bar) is
    # no longer delivered, and a full progress bar stayed under the header
    panel.job_task.start(
        Job(jobs.missing_files, str(panel.project.root)), returned=panel.show_missing, finished=panel.progress.hide
    )
    panel.loader.forget_unreadable()  # found files are read again, not shown as "cannot be read"
    panel.refresh_pictures()
