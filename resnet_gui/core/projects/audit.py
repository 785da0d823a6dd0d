"""The check of a project's data: its labelled pictures on the side of the stored split each is on (not
yet split: training), looked at by the newest run's model when there is one."""

from __future__ import annotations

import os
from pathlib import Path

from resnet_gui.core.audit.check import CheckOptions, Progress, check_pictures
from resnet_gui.core.audit.findings import AuditPicture, AuditReport
from resnet_gui.core.audit.report_page import write_report_page
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import CHECKS_FOLDER


def project_pictures(project: Project) -> list[AuditPicture]:
    names = {c.id: c.name for c in project.classes()}
    return [AuditPicture(str(path), side or "train", names[class_id])
            for _, path, class_id, _, side in project.training_pictures()]


def check_project(folder: str | os.PathLike, *, checkpoint: str | os.PathLike | None = None,
                  options: CheckOptions | None = None, progress: Progress | None = None,
                  cancelled=None, write_page: bool = True) -> tuple[AuditReport, Path | None, int | None]:
    """(the report, the page written into the project's checks/ folder, the run whose model looked) for the
    project in `folder`. `checkpoint` another model to look with."""
    from resnet_gui.core.errors import UserError

    options = options or CheckOptions()

    with Project.open(folder) as project:
        pictures = project_pictures(project)
        run_id = None
        if checkpoint is None and not options.cheap_only:
            run = project.latest_run()
            if run is not None:
                checkpoint, run_id = run.checkpoint, run.id
        name, root = project.name, project.root
    if not pictures:
        raise UserError(f"{name} has no labelled pictures to check yet; label some first.")
    bundle = None
    if checkpoint is not None and not options.cheap_only:
        from resnet_gui.core.models.resnets import load_checkpoint_bundle

        bundle = load_checkpoint_bundle(checkpoint)
    report = check_pictures(pictures, bundle, options, progress=progress, cancelled=cancelled)
    page = write_report_page(report, root / CHECKS_FOLDER, f"Check of the project {name}") if write_page else None
    return report, page, run_id
