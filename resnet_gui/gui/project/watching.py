"""The Project tab's watched folder (Import › Watch a folder…): pictures written into it join the project as
they arrive, unlabelled and answered by its model, on a job of their own; the lists follow, and the status bar
says what the watch waits for. Opening another project stops it."""

from __future__ import annotations

from PySide6.QtCore import QObject

from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.project import jobs

WATCH = "Watch a folder: add pictures as they arrive…"


class ProjectFolderWatching(QObject):
    def __init__(self, panel, action):
        super().__init__(panel)
        self.panel, self.action = panel, action  # the Import menu's item: it says Stop while watching
        self.task = Task(panel, "project-watch")
        self.watched: str | None = None
        self.added = 0
        panel.project_opened.connect(lambda folder: self.stop())

    def is_watching(self) -> bool:
        return self.task.is_running()

    def toggle(self) -> None:
        if self.is_watching():
            self.stop()
            return
        folder = dialogs.open_folder(self.panel, "", "Watch a folder: its new pictures join the project")
        if folder:
            self.start(folder)

    def start(self, watched: str) -> None:
        panel = self.panel
        if panel.project is None:
            return
        self.watched, self.added = watched, 0
        options = panel.options
        self.task.start(Job(jobs.watch_folder, str(panel.project.root), watched, options.device, options.amp,
                            torch_needed=True),
                        partial=self._on_batch, waiting=self._on_waiting, errored=self._on_failed,
                        finished=self._show)
        panel.status_message.emit(f"Watching {display_path(watched)}: its new pictures join the project as they "
                                  "arrive.")
        self._show()

    def stop(self) -> None:
        if not self.is_watching():
            return
        self.task.cancel()
        self.panel.status_message.emit(f"Stopped watching {display_path(self.watched)}: {self.added} picture(s) "
                                       "added.")
        self._show()

    def _on_batch(self, arrived) -> None:
        self.added += len(arrived.added)
        self.panel.refresh_classes()
        self.panel.refresh_pictures()
        self._on_waiting(f"{len(arrived.added)} added")

    def _on_waiting(self, text: str) -> None:
        self.panel.status_message.emit(f"Watching {display_name(self.watched)} ({self.added} added so far): {text}.")

    def _on_failed(self, exc: BaseException) -> None:
        self.panel.error.emit("Watching the folder stopped", describe_error(exc))

    def _show(self) -> None:
        watching = self.is_watching()
        self.action.setText(f"Stop watching {display_name(self.watched)}" if watching else WATCH)

    def shutdown(self) -> None:
        self.task.shutdown()
