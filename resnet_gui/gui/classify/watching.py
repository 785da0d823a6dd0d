"""The Classify tab's watched folder: each picture written into the folder is classified when it is whole
(core/live/watched_folder.py, on a job's thread); its row appears at the top of the table, the chart follows
the newest picture unless the user has chosen another row, and a line above the table counts each class and
says what the watch waits for."""

from __future__ import annotations

import os
from collections import Counter

from PySide6.QtCore import QObject, Signal

from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.text import display_name, display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.classify.jobs import ResultRow, watch_folder
from resnet_gui.gui.classify.layout import THUMBNAIL
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task

WATCH = "Watch a folder…"
STOP = "Stop watching"


class FolderWatching(QObject):
    """Starts and stops the watch job of `panel` (a ClassifyPanel) and shows what it reports."""

    changed = Signal()  # watching started or stopped

    def __init__(self, panel):
        super().__init__(panel)
        self.panel = panel
        self.start_in = lambda: ""  # where the folder dialog opens (the window sets it: the last folder used)
        self.task = Task(panel, "watch")
        self.folder: str | None = None
        self.counts: Counter[str] = Counter()
        self.waiting_for = ""
        self._followed: str | None = None  # the newest row's path, while the user has not chosen another

    def is_watching(self) -> bool:
        return self.task.is_running()

    def toggle(self) -> None:
        """The button: choose a folder and watch it, or stop watching."""
        if self.is_watching():
            self.stop()
        else:
            self.choose()

    def choose(self) -> None:
        """Ask which folder to watch, and watch it (instead of the one watched before, if any)."""
        folder = dialogs.open_folder(self.panel, self.start_in(), "Watch a folder for new pictures")
        if folder:
            self.start(folder)

    def start(self, folder: str) -> None:
        from resnet_gui.core.live.watched_folder import WatchSettings

        panel = self.panel
        if panel.bundle is None:
            panel.error.emit("No model yet", "Load a model first (File › Open checkpoint…), then watch the folder.")
            return
        options = panel.options
        job = Job(watch_folder, panel.bundle, WatchSettings(folder),
                  PredictOptions(device=options.device, batch_size=panel.batch_size, top_k=10,
                                 thumbnail_size=THUMBNAIL, amp=options.amp, tta=options.tta,
                                 runtime=options.runtime), torch_needed=True)
        self.folder, self.counts, self._followed = folder, Counter(), None
        self.waiting_for = "starting"
        self.task.start(job, partial=self._on_batch, waiting=self._on_waiting, errored=self._on_failed,
                        finished=self._on_finished)
        panel.stack.setCurrentWidget(panel.table)
        self._show()
        panel.status_message.emit(f"Watching {display_path(folder)}: new pictures are classified as they arrive.")
        self.changed.emit()

    def stop(self, why: str = "") -> None:
        if not self.is_watching():
            return
        self.task.cancel()
        self._show()
        done = sum(self.counts.values())
        self.panel.status_message.emit(why or f"Stopped watching {display_path(self.folder)} after {done} "
                                             "picture(s).")
        self.changed.emit()

    def _on_batch(self, rows: list[ResultRow]) -> None:
        panel = self.panel
        current = panel.current_row()
        follow = current is None or current.path == self._followed
        newest_first = rows[::-1]  # a batch comes oldest first
        panel.model.prepend(newest_first)
        if panel.classify_task.is_running():
            panel.shift_running_rows(len(rows))
        for row in rows:
            self.counts[self._verdict(row)] += 1
        panel.refresh_filter()
        if follow:
            self._followed = newest_first[0].path
            panel.select_source_row(0)
        self._show()

    def _verdict(self, row: ResultRow) -> str:
        if row.error is not None:
            return "could not be read"
        if row.prediction.unfamiliar:
            return "unfamiliar"
        return "unsure" if self.panel.model.is_unsure(row) else row.label

    def _on_waiting(self, text: str) -> None:
        self.waiting_for = text
        self._show()

    def _on_failed(self, exc: BaseException) -> None:
        self.panel.error.emit("Watching stopped", describe_error(exc))

    def _on_finished(self) -> None:
        self._show()
        self.changed.emit()

    def _show(self) -> None:
        panel = self.panel
        watching = self.is_watching()
        panel.watch_button.setText(STOP if watching else WATCH)
        panel.watch_line.setVisible(watching)
        if watching:
            counts = " · ".join(f"{label} {n}" for label, n in self.counts.most_common())
            name = display_name(os.path.normpath(self.folder))
            panel.watch_line.setText(f"Watching {name}: {counts or 'nothing yet'} — {self.waiting_for}.")

    def shutdown(self) -> None:
        self.task.shutdown()
