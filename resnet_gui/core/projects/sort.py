"""Sorting a project's pictures into one folder per class.

Labelled pictures go to `OUT/<label>/`; unlabelled ones to the class a run predicted, or to
`OUT/_unsure/` when its confidence is below the run's unsure threshold (or there is no prediction).
Nothing is ever overwritten: a name that is taken gets a suffix (`cell-2.png`), and a file appears
under its final name only whole (a link, or a rename of a finished copy). Every placement is logged
in `OUT/sort-log-<time>.csv` as it happens, and a moved picture's new place is recorded in the project
at once, so a sort stopped half-way leaves a log and a project that agree with the disk.
"""

from __future__ import annotations

import csv
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from resnet_gui.core.atomic_write import check_writable
from resnet_gui.core.errors import UserError
from resnet_gui.core.images.placing import folder_inside, place_file
from resnet_gui.core.inference.predictions import is_unsure
from resnet_gui.core.inference.results_csv import CSV_ENCODING, spreadsheet_row
from resnet_gui.core.projects.classes import check_class_name
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import UNFAMILIAR_FOLDER, UNSURE_FOLDER, ProjectView
from resnet_gui.core.projects.schema import ProjectError


@dataclass(frozen=True)
class SortItem:
    image_id: int
    source: Path
    folder: str  # a class name, UNSURE_FOLDER or UNFAMILIAR_FOLDER
    why: str  # "labelled", "predicted", "unsure" or "unfamiliar"
    prob: float | None = None


@dataclass
class SortPlan:
    out: Path
    items: list[SortItem]
    missing: list[str] = field(default_factory=list)
    run_id: int | None = None
    unsure_below: float | None = None
    folders: list[str] = field(default_factory=list)  # class folders in project order, then _unsure, _unfamiliar

    def counts(self) -> dict[str, int]:
        counter = Counter(item.folder for item in self.items)
        return {name: counter.get(name, 0) for name in self.folders}


@dataclass
class SortReport:
    placed: list[tuple[SortItem, Path]]
    failed: list[tuple[SortItem, str]]
    log: Path | None


def plan_sort(project: Project, out: str | os.PathLike, *, run_id: int | None = None,
              unsure_below: float | None = None) -> SortPlan:
    """Where every picture would go. `unsure_below`: the confidence under which a predicted picture counts as
    unsure (default: the run's own threshold from its validation set)."""
    out = Path(out).expanduser().absolute()
    if out == project.root or project.models_dir in (out, *out.parents):
        raise ProjectError(f"Sort into a folder of its own, not {out}: choose a new or empty folder.")
    if out.exists() and not out.is_dir():
        raise ProjectError(f"{out} is a file, not a folder, so nothing was sorted. Choose a new or empty folder to "
                           "sort into.")
    names = project.class_names()
    for name in names.values():
        # Names are checked when typed, but a shared project.sqlite can hold anything: a class named
        # "../../x" or "/elsewhere" sorted pictures outside OUT. Each is checked again where it becomes a path.
        try:
            check_class_name(name)
        except ProjectError:
            raise ProjectError(
                f"The project has a class named {name!r}, which cannot be a folder name, so nothing was sorted. "
                "Rename it first (resnet-gui project class PROJECT rename OLD NEW).",
                in_window=f"The project has a class named {name!r}, which cannot be a folder name, so nothing "
                          "was sorted. Rename the class first.") from None
    run_id = run_id if run_id is not None else project.latest_predicting_run()
    if run_id is not None and unsure_below is None:
        unsure_below = project.run(run_id).metrics.get("unsure_below")
    items, missing = [], []
    for picture in project.pictures(ProjectView("all"), run_id=run_id):
        if picture.excluded:
            continue
        if not picture.path.is_file():
            missing.append(str(picture.path))
            continue
        if picture.class_id is not None:
            items.append(SortItem(picture.id, picture.path, names[picture.class_id], "labelled"))
        elif picture.unfamiliar:
            # unlike every class the model knows: its best guess is no place for it
            items.append(SortItem(picture.id, picture.path, UNFAMILIAR_FOLDER, "unfamiliar", picture.prob))
        elif picture.predicted in names and not is_unsure(picture.prob, unsure_below):
            items.append(SortItem(picture.id, picture.path, names[picture.predicted], "predicted", picture.prob))
        else:
            items.append(SortItem(picture.id, picture.path, UNSURE_FOLDER, "unsure", picture.prob))
    return SortPlan(out, items, missing, run_id, unsure_below, [*names.values(), UNSURE_FOLDER, UNFAMILIAR_FOLDER])


def destination_folder(out: Path, name: str) -> Path:
    """OUT/<name> for a class name (checked) or one of the sort's own folders (core/images/placing.py)."""
    if name not in (UNSURE_FOLDER, UNFAMILIAR_FOLDER):
        check_class_name(name)
    return folder_inside(out, name)


def execute_sort(project: Project, plan: SortPlan, *, move: bool = False,
                 progress: Callable[[int, int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> SortReport:
    """Copy (default) or move the pictures as planned, logging each one as it is placed."""
    plan.out.mkdir(parents=True, exist_ok=True)
    stem = f"sort-log-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    check_writable(plan.out / f"{stem}.csv", "the sort log")
    placed, failed = [], []
    for n in range(1, 10_000):
        log = plan.out / (f"{stem}.csv" if n == 1 else f"{stem}-{n}.csv")
        try:
            # never written over another log; with a byte-order mark, as every CSV the app writes
            handle = open(log, "x", newline="", encoding=CSV_ENCODING)
            break
        except FileExistsError:
            continue
    folders: dict[str, Path] = {}  # each class folder checked once, not once per picture
    with handle:
        writer = csv.writer(handle)
        writer.writerow(["source", "destination", "folder", "why", "probability", "action"])
        for done, item in enumerate(plan.items, 1):
            if cancelled is not None and cancelled():
                break
            try:
                if item.folder not in folders:
                    folders[item.folder] = destination_folder(plan.out, item.folder)
                target = place_file(item.source, folders[item.folder], move=move)
            except OSError as exc:
                failed.append((item, exc.strerror or str(exc)))
                continue
            except UserError as exc:
                failed.append((item, str(exc)))
                continue
            if move:
                project.moved(item.image_id, target)  # the project follows the picture before the original goes
                item.source.unlink(missing_ok=True)
            placed.append((item, target))
            writer.writerow(spreadsheet_row([str(item.source), str(target), item.folder, item.why,
                                             "" if item.prob is None else f"{item.prob:.4f}",
                                             "moved" if move else "copied"]))
            handle.flush()
            if progress is not None:
                progress(done, len(plan.items))
    return SortReport(placed, failed, log)
