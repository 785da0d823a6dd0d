"""The Classify tab: results table, image preview, top-k chart, progress and cancel.

The panel starts `classify` jobs (classify/jobs.py) and draws what they report; decoding,
inference and thumbnails all happen on the job's thread.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QWidget,
)

from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.summaries import duration
from resnet_gui.core.text import display_path
from resnet_gui.gui.classify import mapping
from resnet_gui.gui.classify.grad_cam import GradCamOverlay
from resnet_gui.gui.classify.jobs import ClassifyJob, ResultRow, classify
from resnet_gui.gui.classify.layout import THUMBNAIL, build_classify_panel
from resnet_gui.gui.classify.results_model import (
    ALL_LABELS,
    FILE,
    ROW_ROLE,
    LabelFilter,
    ResultsModel,
    chart_title,
    filter_choices,
)
from resnet_gui.gui.classify.watching import FolderWatching
from resnet_gui.gui.formatting import plain_tooltip
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.pictures import decode_preview
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.widgets import on_click


class ClassifyPanel(QWidget):
    status_message = Signal(str)
    error = Signal(str, str)  # title, sentence
    run_finished = Signal(dict)  # summary of one run
    all_done = Signal()  # nothing running and nothing queued
    preview_shown = Signal(str)  # path
    explained = Signal(str, int)  # path, class index: a Grad-CAM overlay is on screen

    def __init__(self, options, parent=None):
        super().__init__(parent)
        self.options = options  # device, precision, top-k and threshold: read here, never copied
        self.model = ResultsModel(self)
        self.proxy = LabelFilter(self)
        self.proxy.setSourceModel(self.model)
        self.bundle = None
        self.batch_size = 32
        self._queue: list[list[str]] = []
        self._running_paths: list[str] = []
        self.skipped: list[tuple[str, str]] = []  # (path, reason) of every file passed over, named on hover
        self._rows_before_run = 0
        self.classify_task = Task(self, "classify")
        self.preview_task = Task(self, "preview")
        self._total = self._done = 0
        self._started_at = 0.0
        self.shown_path: str | None = None  # the file whose preview is on screen
        self.preview_shown.connect(lambda path: setattr(self, "shown_path", path))
        build_classify_panel(self)
        self.watching = FolderWatching(self)
        on_click(self.watch_button.clicked, self.watching.toggle)
        self.grad_cam = GradCamOverlay(self)
        self.grad_cam.explained.connect(self.explained.emit)
        self.grad_cam.failed.connect(lambda why: self.error.emit("Grad-CAM failed", why))
        self.model.set_threshold(options.unsure_below)
        options.observe(self._on_option_changed)

    @property
    def top_k(self) -> int:
        return self.options.top_k

    def _on_option_changed(self, name: str, value) -> None:
        if name == "top_k":
            self.set_top_k(value)
        elif name == "unsure_below":
            self.set_threshold(value)

    # ------------------------------------------------------------ running
    def set_bundle(self, bundle) -> None:
        """The model to classify with. When it changes, the rows of the old one are taken off the table
        and their files classified again with the new one: no row ever shows one model's answer beside
        another model's name, threshold or counts."""
        if bundle is self.bundle:
            return
        self.watching.stop("Watching stopped: the model changed. Watch the folder again to use the new model.")
        if self.bundle is not None and (self.model.rowCount() or self.classify_task.is_running()):
            running = self._running_paths if self.classify_task.is_running() else []
            finished = self.model.rows[: self._rows_before_run] if running else self.model.rows
            files = [r.path for r in finished]  # the running job's own paths go again whole
            self.classify_task.cancel()
            self._queue = [p for p in ([files] if files else []) + ([running] if running else []) + self._queue if p]
            self._clear_table()
            self._total = self._done = 0
            self._show_idle()
            self.status_message.emit("The model changed: the files will be classified again with it.")
        self.bundle = bundle
        self._start_next()

    def is_running(self) -> bool:
        return self.classify_task.is_running()

    def classify(self, paths: list[str]) -> None:
        """Queue `paths` (files or folders); runs start once a model is loaded."""
        if paths:
            self._queue.append(list(paths))
            self._start_next()

    def shift_running_rows(self, rows: int) -> None:  # rows were put above the running classification's
        self._rows_before_run += rows

    def pending(self) -> bool:
        return bool(self._queue)

    def _start_next(self) -> None:
        if self.classify_task.is_running() or not self._queue or self.bundle is None:
            return
        paths = self._queue.pop(0)
        self._running_paths = list(paths)
        self._rows_before_run = self.model.rowCount()
        o = self.options
        job = ClassifyJob(paths, PredictOptions(device=o.device, batch_size=self.batch_size, top_k=10,
                                                thumbnail_size=THUMBNAIL, amp=o.amp, tta=o.tta, runtime=o.runtime))
        self._total = self._done = 0
        self._started_at = time.perf_counter()
        self.progress.setRange(0, 0)  # busy until the files are counted
        self.progress.setFormat("Looking for images…")
        self.eta.setText("")
        self.cancel_button.setEnabled(True)
        self.classify_task.start(Job(classify, self.bundle, job, torch_needed=True), discovered=self._on_discovered,
                                 partial=self._on_batch, returned=self._on_returned,
                                 errored=self._on_run_failed, finished=self._on_finished)

    def cancel(self) -> None:
        self._queue.clear()
        if self.classify_task.is_running():
            self.classify_task.cancel()
            self.status_message.emit(f"Cancelled after {self._done} of {self._total} image(s).")
            self._show_idle()
            self.all_done.emit()

    def _on_discovered(self, found: int, passed_over: list) -> None:
        self._total = found
        self.progress.setRange(0, max(found, 1))
        self.progress.setValue(0)
        self.progress.setFormat("%v of %m images")
        message = f"Found {found} image(s)"
        self.skipped += passed_over
        if passed_over:
            message += f"; skipped {len(passed_over)} file(s) (hover over the file count for the list)"
        self.status_message.emit(message + ".")
        self.refresh_filter()

    def _on_batch(self, rows: list[ResultRow]) -> None:
        first = self.model.rowCount() == self._rows_before_run  # this run's first rows
        self.model.append(rows)
        self._done += len(rows)
        self.progress.setValue(self._done)
        elapsed = time.perf_counter() - self._started_at
        rate = self._done / elapsed if elapsed > 0 else 0.0
        left = (self._total - self._done) / rate if rate > 0 else 0.0
        self.eta.setText(f"{rate:.1f} images/s · about {duration(left)} left")
        self.refresh_filter()
        if first:
            # The newest run's first picture is selected and scrolled to: appended below earlier results, it
            # would otherwise arrive out of sight.
            self.stack.setCurrentWidget(self.table)
            self.select_source_row(self._rows_before_run)

    def _on_returned(self, summary: dict) -> None:
        files, seconds = summary.get("files", 0), summary.get("seconds", 0.0)
        if files == 0:
            self.status_message.emit("No images were found there. Supported: JPEG, PNG, BMP, GIF, TIFF, WebP.")
        else:
            skipped = (f"; skipped {len(self.skipped)} file(s) (hover over the file count for the list)"
                       if self.skipped else "")
            self.status_message.emit(
                f"Classified {files} image(s) in {seconds:.1f}s on {summary.get('device', '?')} with "
                f"{summary.get('runtime', 'PyTorch')}{skipped}."
            )
        self.run_finished.emit(summary)

    def _on_run_failed(self, exc: BaseException) -> None:
        self.error.emit("Classification stopped", describe_error(exc))

    def _on_finished(self) -> None:
        self._show_idle()
        self._start_next()
        if not self.classify_task.is_running():
            self.all_done.emit()

    def _show_idle(self) -> None:
        self.cancel_button.setEnabled(False)
        self.progress.setRange(0, max(self._total, 1))
        self.progress.setValue(self._done)
        self.progress.setFormat(f"{self._done} of {self._total} images" if self._total else "Idle")
        self.eta.setText("")

    # ------------------------------------------------------------ table
    def clear(self) -> None:
        self.cancel()
        self._clear_table()

    def _clear_table(self) -> None:
        self.model.clear()
        self.skipped = []
        self.stack.setCurrentWidget(self.placeholder)
        self.preview.show_message("Select a row to see the image.")
        self.chart.show_guesses([])
        self.refresh_filter()

    def refresh_filter(self) -> None:
        current = self.filter.currentData()
        errors = self.model.error_count()
        wanted = filter_choices(self.model)
        existing = [(self.filter.itemText(i), self.filter.itemData(i)) for i in range(self.filter.count())]
        if existing != wanted:
            self.filter.blockSignals(True)
            self.filter.clear()
            for text, data in wanted:
                self.filter.addItem(text, data)
            index = self.filter.findData(current)
            self.filter.setCurrentIndex(max(index, 0))
            self.filter.blockSignals(False)
            if index < 0:  # the chosen entry is gone (no more unsure rows, say): show everything again
                self.proxy.set_label(ALL_LABELS)
        total = self.model.rowCount()
        skipped = f", {len(self.skipped)} skipped" if self.skipped else ""
        self.counts.setText(f"{total} file(s), {errors} failed{skipped}" if total else "")
        self.counts.setToolTip(plain_tooltip("Skipped:\n" + "\n".join(f"{display_path(p)}: {why}"
                                                                       for p, why in self.skipped))
                               if self.skipped else "")
        for button in (self.export_button, self.map_button, self.clear_button):
            button.setEnabled(total > 0)

    def select_row(self, row: int) -> None:
        index = self.proxy.index(row, FILE)
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows
            )

    def select_source_row(self, source_row: int) -> None:
        """Select the model's row `source_row` wherever sorting and the filter put it, and show it."""
        index = self.proxy.mapFromSource(self.model.index(source_row, FILE))
        if not index.isValid():
            index = self.proxy.index(0, FILE)
        if index.isValid():
            self.table.selectionModel().setCurrentIndex(
                index, QItemSelectionModel.SelectionFlag.ClearAndSelect | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(index)

    def current_row(self) -> ResultRow | None:
        return self.proxy.data(self.table.currentIndex(), ROW_ROLE)

    def selected_rows(self) -> list[ResultRow]:
        indexes = self.table.selectionModel().selectedRows()
        return [self.proxy.data(i, ROW_ROLE) for i in sorted(indexes, key=lambda i: i.row())]

    def visible_rows(self) -> list[ResultRow]:
        return [self.proxy.data(self.proxy.index(r, 0), ROW_ROLE) for r in range(self.proxy.rowCount())]

    def _on_current_changed(self, current: QModelIndex, previous: QModelIndex) -> None:
        row = self.proxy.data(current, ROW_ROLE) if current.isValid() else None
        if row is None:
            return
        self._show_chart(row)
        self.grad_cam.show_row(row, self.top_k)
        if row.error:
            self.preview.show_message(f"{row.name}\n\nCould not be read: {row.error}")
            self.preview_shown.emit(row.path)
            return
        self.preview.show_message("Loading…")
        self.preview_task.start(Job(decode_preview, row.path), returned=self._on_preview)

    def _on_preview(self, result) -> None:
        path, image, error = result
        current = self.proxy.data(self.table.currentIndex(), ROW_ROLE)
        if current is None or current.path != path:
            return  # the user has moved on
        if image is None:
            self.preview.show_message(f"Could not show the image: {error}")
        else:
            self.grad_cam.show_picture(image)
        self.preview_shown.emit(path)

    def set_top_k(self, k: int) -> None:
        row = self.proxy.data(self.table.currentIndex(), ROW_ROLE)
        if row is not None:
            self._show_chart(row)

    def set_threshold(self, threshold: float | None) -> None:
        """'Unsure' below `threshold` (0..1), None for off: the table, chart and export follow."""
        self.model.set_threshold(threshold)
        self.refresh_filter()
        row = self.current_row()
        if row is not None:
            self._show_chart(row)
        else:
            self.chart.show_guesses([])
            self.chart_title.setText("Top classes")

    def _show_chart(self, row: ResultRow) -> None:
        self.chart.show_guesses(row.guesses, self.top_k, self.model.threshold, row.prediction.unfamiliar)
        self.chart_title.setText(chart_title(row.prediction, row.name, self.model.is_unsure(row), self.model.threshold,
                                             self.top_k))

    # ------------------------------------------------------------ export
    def export_csv(self, path: str) -> None:
        from resnet_gui.core.inference.results_csv import write_predictions_csv

        # What the Show filter shows, in the order on screen; a BOM so that Excel reads it as UTF-8.
        # as many label columns as the model has classes: a 4-class model with top-k 5 wrote an empty label_5
        columns = min(self.top_k, len(self.bundle.classes)) if self.bundle is not None else self.top_k
        write_predictions_csv(path, self.model.predictions(self.visible_rows()), columns)

    def copy_selected(self) -> int:
        """Copy the selected rows as tab-separated text (pastes into a spreadsheet)."""
        from resnet_gui.core.inference.results_csv import predictions_as_tsv

        rows = self.selected_rows()
        if rows:
            QGuiApplication.clipboard().setText(predictions_as_tsv(self.model.predictions(rows), self.top_k))
        return len(rows)

    def shutdown(self) -> None:
        """Stop every job of this tab and wait for its threads: called before the window closes."""
        self._queue.clear()
        self.watching.shutdown()
        self.grad_cam.shutdown()
        mapping.shutdown(self)
        for task in (self.classify_task, self.preview_task):
            task.shutdown()
