"""The Project tab's jobs. Each opens its own connection: a SQLite connection belongs to the thread that made
it. The example is written here too (the window's Help › Try an example)."""

from __future__ import annotations

from resnet_gui.core.projects.project import Project
from resnet_gui.gui.jobs.job import JobState


def add_pictures(state: JobState, folder: str, paths: list[str], label: str | None):
    with Project.open(folder) as project:
        return project.add_images(paths, label, progress=state.progress, cancelled=state.cancelled)


def import_tree(state: JobState, folder: str, root: str):
    with Project.open(folder) as project:
        return project.import_class_tree(root, progress=state.progress, cancelled=state.cancelled)


def import_csv(state: JobState, folder: str, file: str):
    with Project.open(folder) as project:
        return project.import_csv(file)


def plan_sort(state: JobState, folder: str, out: str):
    from resnet_gui.core.projects.sort import plan_sort as plan

    with Project.open(folder) as project:
        return plan(project, out)


def sort_pictures(state: JobState, folder: str, plan, move: bool):
    from resnet_gui.core.projects.sort import execute_sort

    with Project.open(folder) as project:
        return execute_sort(project, plan, move=move, progress=state.progress, cancelled=state.cancelled)


def missing_files(state: JobState, folder: str):
    with Project.open(folder) as project:
        return project.missing()


def locate_files(state: JobState, folder: str, where: str):
    with Project.open(folder) as project:
        return project.locate(where)


def predict(state: JobState, folder: str, device: str, amp: bool):
    """Run with torch_needed: the newest run labels the unlabelled pictures."""
    from resnet_gui.core.projects.training import predict_project

    return predict_project(folder, device=device, amp=amp, progress=state.progress, cancelled=state.cancelled)


def write_example_project(state: JobState, folder: str):
    """The example data set (a few seconds of drawing and PNG encoding), and a project of it."""
    from resnet_gui.core.projects.example import make_example_project, write_example

    made = write_example(folder)
    make_example_project(made)
    return made


def check_data(state: JobState, folder: str, device: str):
    """The check of the project's labelled pictures (with the newest run's model when there is one): the
    report, the page written into the project, the run that looked."""
    from resnet_gui.core.audit.check import CheckOptions
    from resnet_gui.core.projects.audit import check_project

    stages = {"reading": "Reading the pictures…", "features": "Looking at them with the model…",
              "labels": "Cross-checking the labels…"}

    def progress(stage: str, done: int, total: int, left) -> None:
        state.status(stages[stage])
        state.progress(done, total)

    return check_project(folder, options=CheckOptions(device=device), progress=progress, cancelled=state.cancelled)


def map_pictures(state: JobState, folder: str, device: str):
    """Every picture placed by what the newest run's model sees in it (PCA: at once; the map's window places
    them again by UMAP on a worker of its own)."""
    from resnet_gui.core.projects.audit import project_map

    state.status("Looking at the pictures with the model…")
    return project_map(folder, method="pca", device=device, progress=state.progress, cancelled=state.cancelled)


def watch_folder(state: JobState, folder: str, watched: str, device: str, amp: bool) -> int:
    """Run with torch_needed: the pictures written into `watched` join the project as they arrive, answered
    by its model (core/projects/watch.py); each batch a `partial`, what it waits for a `waiting` event."""
    from resnet_gui.core.projects.watch import ProjectWatch

    watch = ProjectWatch(folder, watched, device=device, amp=amp)
    watch.run(state.partial, cancelled=state.cancelled, on_status=lambda text: state.event("waiting", text),
              wait=0.25)
    return watch.added
