"""The Project tab's ways to add pictures: files, a folder of unlabelled ones, class folders, a CSV of labels
(each a job on the panel's job task), and what was added, said."""

from __future__ import annotations

from resnet_gui.core.text import display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job
from resnet_gui.gui.project import jobs


def add_pictures(panel) -> None:
    paths = dialogs.open_image_files(panel, "")
    if paths:
        panel.add_paths(paths, panel.selected_class())


def add_folder(panel) -> None:
    folder = dialogs.open_folder(panel, "", "A folder of unlabelled pictures")
    if folder:
        panel.add_paths([folder], None)


def import_tree(panel) -> None:
    folder = dialogs.open_folder(panel, "", "A folder with one subfolder of pictures per class")
    if folder:
        panel.run_job(
            "Importing class folders…",
            Job(jobs.import_tree, str(panel.project.root), folder),
            lambda report: say_added(panel, report),
        )


def import_csv(panel) -> None:
    file = dialogs.open_csv(panel, "")
    if file:
        panel.run_job(
            "Importing labels…",
            Job(jobs.import_csv, str(panel.project.root), file),
            lambda report: say_added(panel, report),
        )


def say_added(panel, report) -> None:
    skipped = f"; {len(report.skipped)} skipped (hover the list for why)" if report.skipped else ""
    labelled = f", {report.labelled} labelled" if report.labelled else ""
    panel.status_message.emit(f"Added {len(report.added)} picture(s){labelled}{skipped}.")
    if report.skipped:
        panel.classes.setToolTip(
            "Skipped:\n" + "\n".join(f"{display_path(p)}: {why}" for p, why in report.skipped[:20])
        )
    panel.refresh_classes()
    panel.refresh_pictures()


def add_snapshot(panel, picture, label: str):
    """A camera frame saved into the project (PROJECT/snapshots/<class>/) and added to `label`'s pictures."""
    from resnet_gui.core.images.placing import folder_name_for
    from resnet_gui.core.live.camera import save_snapshot

    project = panel.project
    path = save_snapshot(picture, project.root / "snapshots" / folder_name_for(label), stem=folder_name_for(label))
    project.add_images([path], label)  # a label a person gave with a key; one small file: quick on the GUI thread
    panel.refresh_classes()
    panel.refresh_pictures()
    return path
