"""Help › Try the example: make the example pictures as a project, train a small model on them from scratch,
then classify the test pictures with it: the whole path, offline, in under a minute on a 2-core laptop."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import Qt

from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.project.jobs import write_example_project


def example_folder() -> Path:
    """Where the window makes the example: the user's data folder for the app."""
    from PySide6.QtCore import QStandardPaths

    # AppDataLocation is DATA/<organisation>/<application>, both "resnet-gui": the example sat in a doubled
    # resnet-gui/resnet-gui/ folder. The generic data folder with the app's name once.
    base = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.GenericDataLocation)
    return (Path(base) / "resnet-gui" if base else Path.home() / ".resnet-gui") / "example"


def try_example(window) -> None:
    """Make the example pictures, train a small model on them from scratch, then classify the test
    pictures with it: the whole path, offline, in under a minute on a 2-core laptop."""
    if window.train_panel is None or window.train_panel.is_training() or window.example_task.is_running():
        return
    folder = example_folder()
    window.show_status(f"Making the example pictures in {folder}…")
    window.example_task.start(
        Job(write_example_project, folder),
        returned=lambda made: _train_on_the_example(window, made),
        errored=lambda exc: _example_failed(window, exc),
    )


def _train_on_the_example(window, made) -> None:
    """The example as a project: the training pictures labelled, the test pictures to be labelled by the
    model and reviewed; trained with the Train tab's settings for the example."""
    from resnet_gui.core.projects.example import example_project, example_settings

    window.project_panel.open_folder(str(example_project(made)))
    window.tabs.setCurrentWidget(window.train_panel)
    settings = example_settings(made)
    window.train_panel.use_settings(settings)
    window.train_panel.training_ended.connect(
        partial(_classify_the_test_pictures, window, str(made.test)), Qt.ConnectionType.SingleShotConnection
    )
    window.train_panel.start_training(project=str(example_project(made)))
    window.show_status("Training a small model on the example pictures; it will then classify the test pictures.")


def _example_failed(window, exc: BaseException) -> None:
    window.report_error("The example could not be made", describe_error(exc))


def _classify_the_test_pictures(window, test_folder: str, result) -> None:
    if result is None or not result.best_path:
        return
    window.use_checkpoint(str(result.best_path))
    window.classify_paths([test_folder])
