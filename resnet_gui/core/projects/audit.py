"""The check of a project's data: its labelled pictures on the side of the stored split each is on (not
yet split: training), looked at by the newest run's model when there is one. What it finds about pictures
is stored for the review views it feeds (likely mislabelled, copies, leaking into validation)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from resnet_gui.core.audit.check import CheckOptions, Progress, check_pictures
from resnet_gui.core.audit.findings import DUPLICATE, LEAKAGE, MISLABELLED, TWO_CLASSES, AuditPicture, AuditReport
from resnet_gui.core.audit.map import PictureMap, draw_map, look_and_place, write_coordinates
from resnet_gui.core.audit.report_page import write_report_page
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import CHECKS_FOLDER
from resnet_gui.core.projects.schema import SETTLE_LONE_COPIES
from resnet_gui.core.projects.undo import undo_paused

# Which of the review views each kind of finding feeds.
_VIEW_OF = {MISLABELLED: "mislabelled", DUPLICATE: "copies", TWO_CLASSES: "copies", LEAKAGE: "leaking"}
_SIDES = {"train": "training", "val": "validation", "test": "test"}


def project_pictures(project: Project) -> tuple[list[AuditPicture], dict[str, int]]:
    """The labelled pictures as the check takes them, and {their path: image id}."""
    names = {c.id: c.name for c in project.classes()}
    pictures, ids = [], {}
    for image_id, path, class_id, _, side in project.training_pictures():
        pictures.append(AuditPicture(str(path), side or "train", names[class_id]))
        ids[str(path)] = image_id
    return pictures, ids


def store_findings(project: Project, report: AuditReport, ids: dict[str, int]) -> dict[str, int]:
    """The report's findings about pictures, as the rows of the review views they feed, in place of the last
    check's (one transaction); returns how many pictures each view holds."""
    class_ids = {name.casefold(): class_id for class_id, name in project.class_names().items()}
    rows, position = [], 0
    for number, finding in enumerate(report.findings):
        view = _VIEW_OF.get(finding.kind)
        if view is None:
            continue
        suggested = class_ids.get(str(finding.details.get("suggested", "")).casefold())
        given = class_ids.get(str(finding.details.get("given", "")).casefold())
        guesses = None
        if suggested is not None and given is not None:
            guesses = json.dumps(sorted([[suggested, finding.details["suggested_probability"]],
                                         [given, finding.details["given_probability"]]], key=lambda g: -g[1]))
        for picture in finding.pictures:
            if picture.path not in ids:
                continue
            reason = finding.text if view == "mislabelled" else \
                f"the {_SIDES.get(picture.split, picture.split)} copy, in {picture.label}: {finding.text}"
            rows.append((ids[picture.path], view, position, number, reason, suggested, guesses))
            position += 1
    kept = set(project.db.execute("SELECT image_id, view FROM check_kept").fetchall())
    rows = [row for row in rows if (row[0], row[1]) not in kept]
    with project.transaction() as db, undo_paused(db):
        # a new check's findings: the ones an undo would bring back are the last check's, gone now
        db.execute("DELETE FROM undo_log WHERE kind IN ('finding-', 'kept+', 'kept-')")
        db.execute("DELETE FROM check_findings")
        db.executemany("INSERT OR IGNORE INTO check_findings(image_id, view, position, finding, reason, suggested, "
                       "guesses) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        db.execute(SETTLE_LONE_COPIES)  # a group of copies one of which the user kept is no group to review
    return project.count_checks()


def check_project(folder: str | os.PathLike, *, checkpoint: str | os.PathLike | None = None,
                  options: CheckOptions | None = None, progress: Progress | None = None,
                  cancelled=None, write_page: bool = True) -> tuple[AuditReport, Path | None, int | None]:
    """(the report, the page written into the project's checks/ folder, the run whose model looked) for the
    project in `folder`. `checkpoint` another model to look with."""
    from resnet_gui.core.errors import UserError

    options = options or CheckOptions()

    with Project.open(folder) as project:
        pictures, ids = project_pictures(project)
        run_id = None
        if checkpoint is None and not options.cheap_only:
            run = project.model_run()
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
    with Project.open(folder) as project:
        store_findings(project, report, ids)
    page = write_report_page(report, root / CHECKS_FOLDER, f"Check of the project {name}") if write_page else None
    return report, page, run_id


def project_map(folder: str | os.PathLike, out: str | os.PathLike | None = None, *,
                csv: str | os.PathLike | None = None, checkpoint: str | os.PathLike | None = None,
                method: str = "auto", device: str = "auto", progress=None, cancelled=None) -> PictureMap:
    """Every picture of the project (excluded ones aside) placed by a model's features (the newest run's,
    or `checkpoint`), with its label, the model's guess, its confidence and familiarity; the PNG at `out` and
    the coordinates at `csv` when asked."""
    from resnet_gui.core.errors import UserError
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.projects.records import ProjectView

    with Project.open(folder) as project:
        classes = project.classes()
        names = {c.id: c.name for c in classes}
        colours = {c.name: c.colour for c in classes}
        pictures = [p for p in project.pictures(ProjectView("all")) if not p.excluded]
        run_id = None
        if checkpoint is None:
            run = project.model_run()
            if run is None:
                raise UserError(f"The map places pictures by what a model sees in them: train {project.name} once "
                                "first (or give a model with --checkpoint FILE).",
                                in_window=f"The map places pictures by what a model sees in them: train "
                                          f"{project.name} once first.")
            checkpoint, run_id = run.checkpoint, run.id
        name = project.name
    if not pictures:
        raise UserError(f"{name} has no pictures to map yet; add some first.")
    paths = [str(p.path) for p in pictures]
    labels = [names.get(p.class_id) if p.class_id is not None else None for p in pictures]
    made = look_and_place(paths, labels, load_checkpoint_bundle(checkpoint), method=method, colours=colours,
                          device=device, progress=progress, cancelled=cancelled)
    made.image_ids, made.run = [p.id for p in pictures], run_id
    made.title = f"{name}: {len(paths)} pictures"
    if out is not None:
        draw_map(made.xy, labels, made.colours, out, title=f"{made.title} placed by {made.method.upper()}")
    if csv is not None:
        write_coordinates(paths, labels, made.xy, csv)
    return made
