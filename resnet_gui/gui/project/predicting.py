"""The Project tab's Predict: the newest run labels the unlabelled pictures (a job), and the review shows
them, most doubtful first."""

from __future__ import annotations

from resnet_gui.core.projects.records import ProjectView
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.project import jobs


def predict(panel) -> None:
    if panel.project is None:
        return
    panel.progress.show()
    panel.progress.setRange(0, 0)
    panel.status_message.emit("The model is labelling the unlabelled pictures…")
    panel.predict_task.start(
        Job(jobs.predict, str(panel.project.root), panel.options.device, panel.options.amp, torch_needed=True),
        progress=panel.show_progress,
        returned=lambda report: _on_predicted(panel, report),
        errored=panel.show_failure,
        finished=panel.progress.hide,
    )


def _on_predicted(panel, report) -> None:
    panel.review_run = report.run_id
    panel.status_message.emit(
        f"Run {report.run_id} labelled {report.predicted} picture(s): review the most "
        "doubtful first (Enter accepts, 1-9 assigns, Del excludes)."
    )
    panel.refresh_classes(select=ProjectView("review"))
    panel.refresh_pictures()

