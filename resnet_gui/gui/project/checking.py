"""The Project tab's *Check data…* and *Map…*: the check of the labelled pictures as a job, then what it found in words,
with its page (thumbnails of every finding) a click away, and the review views it feeds (what Enter does there)."""

from __future__ import annotations

from resnet_gui.core.projects.records import ProjectView
from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.project import jobs
from resnet_gui.gui.project.class_list import CHECK_VIEW_TITLES


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
    if panel.project is None:
        return
    counts = panel.project.count_checks()
    listed = [f"{CHECK_VIEW_TITLES[view]} ({n})" for view, n in counts.items() if n]
    if listed:
        looked += (f" The pictures it found are listed on the left, under {', '.join(listed)}: the review keys act on "
                   "them (K keeps one as it is).")
    first = next((view for view, n in counts.items() if n), None)
    panel.refresh_classes(ProjectView(first) if first else None)
    panel.refresh_pictures()
    dialogs.show_check(panel, report.advice(), str(page), looked)


def take_proposal(panel, picture):
    """Enter in a check's view: a likely mislabelled picture gets the class it looks like; a copy is kept."""
    view = panel.current_view()
    suggested = panel._names.get(picture.suggested) if picture.suggested is not None else None
    if view.kind == "mislabelled" and suggested is not None and picture.suggested != picture.class_id:
        return panel.project.assign(picture.id, suggested, run_id=panel.review_run)
    return keep(panel, picture)


def keep(panel, picture):
    """K in a check's view: the check was wrong about this picture."""
    return panel.project.keep(picture.id, panel.current_view().kind, run_id=panel.review_run)


def view_title(view, count: int) -> str:
    """Short: beside the Map… button it must fit a 1024 px screen."""
    if not count:
        return "Nothing left here: all settled"
    return {"mislabelled": f"{count} likely mislabelled, most suspicious first",
            "copies": f"{count} in groups of copies", "leaking": f"{count} in copies across the split"}[view.kind]


def show_map(panel) -> None:
    if panel.project is None:
        return
    panel.run_job("Placing the pictures on a map…",
                  Job(jobs.map_pictures, str(panel.project.root), panel.options.device),
                  lambda made: _on_mapped(panel, made))


def _on_mapped(panel, made) -> None:
    from resnet_gui.gui.map.window import open_map

    open_map(panel, made)  # not modal: the review goes on beside it
    panel.picture_map.label_requested.connect(lambda ids, name: _label_from_map(panel, ids, name))
    panel.picture_map.exclude_requested.connect(lambda ids: _label_from_map(panel, ids, None))
    panel.picture_map.show()
    panel.status_message.emit(f"{made.placed} of {len(made.paths)} picture(s) placed by what the model of run "
                              f"{made.run} sees in them.")


def _label_from_map(panel, ids: list[int], name: str | None) -> None:
    """A selection drawn on the map, labelled `name` (None: excluded) in one transaction."""
    if panel.project is None or not ids:
        return
    if name is None:
        done = panel.change(lambda: panel.project.exclude_many(ids), f"{len(ids)} picture(s) excluded on the map.")
    else:
        done = panel.change(lambda: panel.project.assign_many(ids, name),
                            f"{len(ids)} picture(s) labelled {name} on the map.")
    if done and getattr(panel, "picture_map", None) is not None:
        panel.picture_map.labelled(name)
