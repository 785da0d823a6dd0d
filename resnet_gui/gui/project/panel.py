"""The Project tab: classes, pictures and review in one place, over core.project.

Left, the views (to review, unlabelled, all, excluded; those the last check of the data feeds) and the
classes, each a drop target for pictures.
In the middle, the pictures as a thumbnail grid; to review, most doubtful first. Right, the picture
large, the model's top classes as bars, and its history. Enter accepts the prediction, 1-9 or a click
on a bar assigns a class, Del excludes: every decision is one transaction, recorded with its source.
Reading the project happens here (quick queries); adding, importing, predicting and sorting are jobs.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QWidget,
)

from resnet_gui.core.errors import UserError
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectClass, ProjectView
from resnet_gui.core.text import display_path
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.project import adding, checking, jobs, predicting, starting
from resnet_gui.gui.project.layout import build_project_panel, show_review_boxes
from resnet_gui.gui.project.picture_grid import PictureGridModel, ThumbnailLoader


class ProjectPanel(QWidget):
    error = Signal(str, str)
    status_message = Signal(str)
    use_model_requested = Signal(str)  # a run's model file, for the Classify tab (Runs…)
    train_requested = Signal(str, bool, object)  # project folder, keep specimens on one side, run to start from
    resume_requested = Signal(str)  # project folder: go on with its run that stopped early
    project_opened = Signal(str)
    new_requested = Signal()
    open_requested = Signal()
    example_requested = Signal()

    def __init__(self, options, parent=None):
        super().__init__(parent)
        self.options = options
        self.project: Project | None = None
        self.review_run: int | None = None
        self.missing: list = []
        self._status = None
        self._labelled = self._unlabelled = 0  # the title's counts, as the last list or decision gave them
        self._names: dict[int, str] = {}  # class id: name, as the class list shows them
        self._run_names_of: int | None = None
        self._run_names_cache: dict[int, str] = {}
        self._showing = True  # False while a decision changes the current picture: it is shown once
        self.job_task = Task(self, "project-job")
        self.predict_task = Task(self, "project-predict")
        self.loader = ThumbnailLoader(self)
        self.model = PictureGridModel(self.loader, self)
        build_project_panel(self)
        self.show_project(None)

    # ------------------------------------------------------------ opening
    def show_project(self, project: Project | None) -> None:
        if self.project is not None:
            self.project.close()
        self.project = project
        self.job_task.cancel()
        self.predict_task.cancel()
        self.empty.setVisible(project is None)
        self.body.setVisible(project is not None)
        for widget in (self.add_button, self.import_button, self.keep_specimens, self.train_button,
                       self.predict_button, self.sort_button, self.check_button):
            widget.setVisible(project is not None)
        self.missing_button.hide()
        self.show_resumable()
        if project is None:
            self.title.setText("<b>No project open</b>")
            self.model.set_pictures([], {}, {})
            return
        self.loader.cache_dir = project.cache_dir
        self._run_names_of = None  # another project's run 1 is another run
        self.review_run = project.latest_predicting_run()
        self.refresh_classes(select=ProjectView("review" if self.review_run else "all"))
        self.refresh_pictures()
        self.job_task.start(Job(jobs.missing_files, str(project.root)), returned=self.show_missing)
        self.project_opened.emit(str(project.root))

    def open_folder(self, folder: str) -> bool:
        try:
            project = Project.open(folder)
        except UserError as exc:
            self.error.emit("The project could not be opened", exc.for_window())
            return False
        self.show_project(project)
        self.status_message.emit(f"Opened the project {project.name} ({project.count_images()} pictures).")
        return True

    def new_project(self, folder: str) -> bool:
        try:
            project = Project.create(folder)
        except UserError as exc:
            self.error.emit("The project could not be made", exc.for_window())
            return False
        self.show_project(project)
        self.status_message.emit(f"Made the project {project.name}. Add classes and pictures, or import class "
                                 "folders.")
        return True

    def show_missing(self, missing: list) -> None:
        if self.project is None:
            return
        self.missing = missing
        self.missing_button.setVisible(bool(missing))
        self.missing_button.setText(f"Find {len(missing)} missing…")
        self.missing_button.setToolTip("These pictures are not where the project expects them:\n" +
                                       "\n".join(display_path(p) for _, p in missing[:15]))
        self._update_title()

    # ------------------------------------------------------------ lists
    def class_list(self) -> list[ProjectClass]:
        return self.project.classes() if self.project is not None else []

    def refresh_classes(self, select: ProjectView | None = None) -> None:
        """The views and the classes with their counts, read from the project; `select` (or the view shown)
        stays selected."""
        if self.project is None:
            return
        status = self.project.status(check_files=False)
        counts = {"review": self.project.count_review(self.review_run), "unlabelled": status.unlabelled,
                  "all": self.project.count_images(), "excluded": status.excluded, **self.project.count_checks()}
        self.classes.show_classes(status.classes, counts, select or self.current_view())
        self._status = status
        self._names = {c.id: c.name for c in status.classes}
        self._labelled, self._unlabelled = sum(status.labelled.values()), status.unlabelled
        self._update_title()

    def show_counts(self, counts) -> None:
        """New counts (a core.projects.records.ViewCounts) in the list and the title as they stand: no query."""
        self.classes.show_counts(counts)
        self._labelled, self._unlabelled = sum(counts.classes.values()), counts.unlabelled
        self._update_title()

    def current_view(self) -> ProjectView:
        return self.classes.current_view()

    def _run_names(self) -> dict[int, str]:
        """{class id: name} as the reviewed run knew its classes (a class deleted since keeps its name)."""
        if not self.review_run:
            return {}
        if self._run_names_of != self.review_run:
            self._run_names_cache = dict(self.project.run(self.review_run).classes)
            self._run_names_of = self.review_run
        return self._run_names_cache

    def _update_title(self) -> None:
        if self.project is None:
            return
        self.title.setText(_title(self.project.name, self._labelled, self._unlabelled, self._status, len(self.missing)))
        starting.offer_start_runs(self, self._status.runs)

    def refresh_pictures(self) -> None:
        if self.project is None:
            return
        view = self.current_view()
        order = self.order.currentData()
        names = self.project.class_names()
        show_review_boxes(self, view.kind == "review", names)
        colours = {c.id: c.colour for c in self.class_list()}
        if view.kind == "review" and not self.review_run:
            pictures = []
        else:
            pictures = self.project.pictures(view, run_id=self.review_run, order=order,
                                             predicted=self.predicted.currentData())
        self.model.set_pictures(pictures, names, colours)
        self._show_view_title()
        if pictures:
            self.grid.setCurrentIndex(self.model.index(0))
        else:
            self.show_current()

    def _show_view_title(self) -> None:
        self.view_title.setText(_view_title(self.current_view(), self.model.rowCount(), self.review_run))

    def current_picture(self):
        index = self.grid.currentIndex()
        return self.model.data(index, PictureGridModel.PictureRole) if index.isValid() else None

    def show_current(self) -> None:
        picture = self.current_picture()
        if picture is None or self.project is None:
            self.pane.clear()
            return
        self.pane.show_picture(picture, self._names, self._run_names(), self.project.history(picture.id))

    # ------------------------------------------------------------ decisions
    def _decide(self, decide) -> None:
        """One decision on the current picture, as a key press or a button makes it: the core records it and
        hands back the changed picture and the new counts, so the list and the grid change without reading
        the database again (a key press costs at most 3 statements, the next picture's history included)."""
        picture = self.current_picture()
        if picture is None or self.project is None:
            return
        row = self.grid.currentIndex().row()
        try:
            decision = decide(picture)
        except UserError as exc:
            self.error.emit("Not possible", exc.for_window())
            return
        self.status_message.emit(f"{picture.path.name}: {_said(decision)}.")
        self._showing = False  # the current picture changes below: it is shown once, at the end
        try:
            if self.current_view().is_check:  # the decision may settle the picture's copies too: read again
                self.refresh_pictures()
            elif self.current_view().holds(decision.picture):
                self.model.replace_row(row, decision.picture)
            else:
                self.model.remove_row(row)
                self._show_view_title()
            self.show_counts(decision.counts)
            if self.model.rowCount():
                self.grid.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
        finally:
            self._showing = True
        self.show_current()

    def accept_current(self) -> None:
        if self.current_view().is_check:  # the check's proposal: the class it looks like, or keep it
            return self._decide(lambda p: checking.take_proposal(self, p))
        self._decide(lambda p: self.project.accept(p.id, run_id=self.review_run))

    def keep_current(self) -> None:
        if self.current_view().is_check:
            self._decide(lambda p: checking.keep(self, p))

    def assign_current(self, class_name: str) -> None:
        self._decide(lambda p: self.project.assign(p.id, class_name, run_id=self.review_run))

    def assign_number(self, number: int) -> None:
        names = list(self._names.values())  # in the list's order, as the digits show them: no query
        if number <= len(names):
            self.assign_current(names[number - 1])

    def exclude_current(self) -> None:
        self._decide(lambda p: self.project.exclude(p.id, run_id=self.review_run))

    def _on_bar_clicked(self, row: int) -> None:
        guesses = self.pane.chart.guesses
        if row < len(guesses) and guesses[row].class_id in self._names:
            self.assign_current(self._names[guesses[row].class_id])
        self.grid.setFocus(Qt.FocusReason.MouseFocusReason)  # the next key goes on with the review

    # ------------------------------------------------------------ classes
    def selected_class(self) -> str | None:
        view = self.current_view()
        return view.class_name if view.kind == "class" else None

    def change(self, change, done: str) -> bool:
        """Make one change to the project (a class action); say it, or why it was not possible."""
        try:
            change()
        except UserError as exc:
            self.error.emit("Not possible", exc.for_window())
            return False
        self.status_message.emit(done)
        self.refresh_classes()
        self.refresh_pictures()
        return True

    # ------------------------------------------------------------ adding
    def add_paths(self, paths: list[str], label: str | None) -> None:
        if self.project is None:
            return
        what = f" as {label}" if label else " unlabelled"
        self.run_job(f"Adding pictures{what}…", Job(jobs.add_pictures, str(self.project.root), paths, label),
                      lambda report: adding.say_added(self, report))

    def run_job(self, text: str, worker: Job, returned) -> None:
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status_message.emit(text)
        self.job_task.start(worker, progress=self.show_progress, returned=returned, errored=self.show_failure,
                            finished=self.progress.hide)

    def show_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def show_failure(self, exc: BaseException) -> None:
        self.error.emit("The project job stopped", describe_error(exc))

    # ------------------------------------------------------------ model
    def request_training(self) -> None:
        if self.project is not None:  # the run to start from: the box beside Train (gui/project/starting.py)
            self.train_requested.emit(str(self.project.root), self.keep_specimens.isChecked(),
                                      self.start_from.currentData())

    def request_resume(self) -> None:
        if self.project is not None:
            self.resume_button.hide()
            self.resume_requested.emit(str(self.project.root))

    def show_resumable(self) -> None:
        """Offer to go on with the run that stopped early (its process was killed, or it was stopped): a small
        query and one file check, on the GUI thread."""
        run = self.project.resumable_run() if self.project is not None else None
        self.resume_button.setVisible(run is not None)
        if run is not None:
            self.resume_button.setText(f"Resume run {run.id}")
            self.resume_button.setToolTip(_resume_tip(run))

    def training_finished(self, run) -> None:
        """A run trained from this project ended: show its comparison, then let it label the pool."""
        self.show_resumable()
        if self.project is None or run is None:
            return
        c = run.comparison
        if c and c["pictures"]:
            self.status_message.emit(
                f"Run {run.run_id}: {c['accuracy']:.1%} on the {c['pictures']} validation pictures run "
                f"{c['previous']} was validated on (run {c['previous']}: {c['previous_accuracy']:.1%}).")
        self.refresh_classes()
        if self.project.status(check_files=False).unlabelled:
            predicting.predict(self)

    def shutdown(self) -> None:
        windows = filter(None, [getattr(self, n, None) for n in ("picture_map", "runs_window", "folder_watch")])
        for part in (self.job_task, self.predict_task, self.pane, self.loader, *windows):
            part.shutdown()
        if self.project is not None:
            self.project.close()
            self.project = None


def _said(decision) -> str:
    return {"excluded": "excluded", "kept": "kept as it is"}.get(decision.source) or \
        f"{decision.label} ({decision.source})"


def _view_title(view: ProjectView, count: int, review_run: int | None) -> str:
    if view.is_check:
        return checking.view_title(view, count)
    if view.kind == "class":
        return f"{view.class_name}: {count} picture(s)"
    if view.kind == "review":
        return (f"{count} picture(s) labelled by run {review_run}" if review_run  # the order: in the box beside
                else "Nothing to review yet: train a model, then press Predict.")
    return f"{count} picture(s)"


def _title(name: str, labelled: int, unlabelled: int, status, missing: int) -> str:
    """The line above the project: its name, what is labelled, its runs (the pinned one), how many files are
    missing."""
    runs, pinned = status.runs, status.pinned
    measured = [r for r in runs if r.accuracy is not None]
    last = f" · last run {measured[-1].accuracy:.1%} on validation" if measured else ""
    last += f" · run {pinned} pinned as the model" if pinned is not None else ""
    missing_text = f" · <span style='color:#a33'>{missing} missing</span>" if missing else ""
    return (f"<b>{html.escape(name)}</b> · {labelled} labelled, {unlabelled} unlabelled · {len(runs)} run(s)"
            f"{last}{missing_text}")


def _resume_tip(run) -> str:
    why = "its process ended before it finished" if run.status == "interrupted" else "it was stopped"
    return (f"Run {run.id} stopped early ({why}). Go on from its last finished epoch, with its own settings; its "
            "best model so far is used meanwhile.")
