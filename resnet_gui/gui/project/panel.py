"""The Project tab: classes, pictures and review in one place, over core.project.

Left, the views (to review, unlabelled, all, excluded) and the classes, each a drop target for pictures.
In the middle, the pictures as a thumbnail grid; to review, most doubtful first. Right, the picture
large, the model's top classes as bars, and its history. Enter accepts the prediction, 1-9 or a click
on a bar assigns a class, Del excludes: every decision is one transaction, recorded with its source.
Reading the project happens here (quick queries); adding, importing, predicting and sorting are jobs.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.errors import UserError
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectClass, ProjectView
from resnet_gui.core.text import display_path
from resnet_gui.gui import dialogs
from resnet_gui.gui.charts.topk_chart import TopKChart
from resnet_gui.gui.image_preview import ImagePreview
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.pictures import decode_preview
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.project import jobs
from resnet_gui.gui.project.picture_grid import PictureGrid, PictureGridModel, ThumbnailLoader
from resnet_gui.gui.widgets import ElidedLabel, never_widens, on_click

VIEWS = (("review", "To review (most doubtful first)"), ("unlabelled", "Unlabelled"), ("all", "All pictures"),
         ("excluded", "Excluded"))
ViewRole = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True)
class _Guess:
    label: str
    prob: float
    class_id: int


class ClassList(QListWidget):
    """The views and the classes; pictures dropped on a class are added with that label."""

    files_dropped = Signal(list, object)  # paths, class name or None (unlabelled)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setIconSize(QSize(14, 14))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        item = self.itemAt(event.position().toPoint())
        target = item.data(ViewRole) if item is not None else None
        label = target.class_name if target is not None and target.kind == "class" else None
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths, label)


class ProjectPanel(QWidget):
    error = Signal(str, str)
    status_message = Signal(str)
    train_requested = Signal(str, bool)  # project folder, keep specimens on one side
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
        self._names: dict[int, str] = {}  # class id: name, as the class list shows them
        self._run_names_of: int | None = None
        self._run_names_cache: dict[int, str] = {}
        self._showing = True  # False while a decision changes the current picture: it is shown once
        self.job_task = Task(self, "project-job")
        self.predict_task = Task(self, "project-predict")
        self.preview_task = Task(self, "project-preview")
        self.loader = ThumbnailLoader(self)
        self.model = PictureGridModel(self.loader, self)
        self._build()
        self.show_project(None)

    # ------------------------------------------------------------ layout
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = never_widens(QLabel())  # a project's folder can be long: it never widens the window
        self.title.setTextFormat(Qt.TextFormat.RichText)
        top.addWidget(self.title, 1)
        self.add_button = QPushButton("Add pictures…")
        self.add_button.setToolTip("Add image files; drop files or folders on a class to add them labelled.")
        on_click(self.add_button.clicked, self.add_pictures_dialog)
        self.import_button = QToolButton()
        self.import_button.setText("Import")
        self.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(self.import_button)
        menu.addAction("Class folders (labels from folder names)…", self.import_tree_dialog)
        menu.addAction("A CSV of path,label…", self.import_csv_dialog)
        menu.addAction("A folder of unlabelled pictures…", self.add_folder_dialog)
        self.import_button.setMenu(menu)
        self.keep_specimens = QCheckBox("Keep each subfolder on one side")
        self.keep_specimens.setToolTip("Pictures of one subfolder (slide, patient) are all trained on or all "
                                       "validated on, never split between the two.")
        self.train_button = QPushButton("Train")
        self.train_button.setToolTip("Train a new model on the labelled pictures with the Train tab's settings.")
        on_click(self.train_button.clicked, self.request_training)
        self.resume_button = QPushButton("Resume run")
        self.resume_button.setProperty("journey_name", "Resume run")
        on_click(self.resume_button.clicked, self.request_resume)
        self.resume_button.hide()
        self.predict_button = QPushButton("Predict")
        self.predict_button.setToolTip("Let the newest model label the unlabelled pictures, for review.")
        on_click(self.predict_button.clicked, self.predict)
        self.sort_button = QPushButton("Sort into folders…")
        on_click(self.sort_button.clicked, self.sort_dialog)
        self.missing_button = QPushButton("Find missing…")
        on_click(self.missing_button.clicked, self.locate_dialog)
        self.missing_button.hide()
        for widget in (self.add_button, self.import_button, self.keep_specimens, self.train_button,
                       self.resume_button, self.predict_button, self.sort_button, self.missing_button):
            top.addWidget(widget)
        layout.addLayout(top)
        self.progress = QProgressBar()
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        self.progress.hide()
        layout.addWidget(self.progress)

        self.empty = QWidget()
        empty_layout = QVBoxLayout(self.empty)
        empty_layout.addStretch(1)
        intro = QLabel("<h3>Keep your pictures, labels and models together as a project</h3>"
                       "Make classes, add pictures, train, let the model label new pictures, review the doubtful "
                       "ones first, correct, train again, and sort the pictures into folders.")
        intro.setWordWrap(True)
        intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
        empty_layout.addWidget(intro)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for text, signal in (("New project…", self.new_requested), ("Open project…", self.open_requested),
                             ("Try the example", self.example_requested)):
            button = QPushButton(text)
            button.setMinimumHeight(36)
            on_click(button.clicked, signal.emit)
            buttons.addWidget(button)
        buttons.addStretch(1)
        empty_layout.addLayout(buttons)
        empty_layout.addStretch(2)
        layout.addWidget(self.empty, 1)

        self.body = QSplitter()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.classes = ClassList()
        self.classes.currentItemChanged.connect(lambda *_: self.refresh_pictures())
        self.classes.files_dropped.connect(self.add_paths)
        left_layout.addWidget(self.classes, 1)
        class_buttons = QHBoxLayout()
        for text, slot, tip in (("+", self.add_class_dialog, "Add a class"),
                                ("Rename", self.rename_class_dialog, "Rename the selected class"),
                                ("Merge…", self.merge_class_dialog, "Move the selected class's pictures into another"),
                                ("Colour", self.colour_class_dialog, "Choose the selected class's colour"),
                                ("Delete", self.delete_class_dialog, "Delete the selected class (its pictures stay, "
                                                                     "unlabelled)")):
            button = QPushButton(text)
            button.setToolTip(tip)
            on_click(button.clicked, slot)
            class_buttons.addWidget(button)
        left_layout.addLayout(class_buttons)
        self.body.addWidget(left)

        middle = QWidget()
        middle_layout = QVBoxLayout(middle)
        middle_layout.setContentsMargins(0, 0, 0, 0)
        order_row = QHBoxLayout()
        self.view_title = ElidedLabel()
        order_row.addWidget(self.view_title, 1)
        self.order = QComboBox()
        self.order.addItem("Lowest confidence first", "confidence")
        self.order.addItem("Smallest margin first", "margin")
        self.order.setToolTip("Margin: the first class's probability minus the second's.")
        self.order.currentIndexChanged.connect(lambda *_: self.refresh_pictures())
        order_row.addWidget(self.order)
        middle_layout.addLayout(order_row)
        self.grid = PictureGrid(self.model)
        self.grid.selectionModel().currentChanged.connect(lambda *_: self._showing and self.show_current())
        middle_layout.addWidget(self.grid, 1)
        self.body.addWidget(middle)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        self.preview = ImagePreview()
        self.preview.setMinimumSize(240, 240)
        right_layout.addWidget(self.preview, 3)
        self.chart = TopKChart()
        self.chart.setMinimumHeight(130)
        self.chart.bar_clicked.connect(self._on_bar_clicked)
        self.chart.setToolTip("Click a bar to give the picture that class.")
        right_layout.addWidget(self.chart, 2)
        self.info = never_widens(QLabel())
        self.info.setTextFormat(Qt.TextFormat.RichText)
        right_layout.addWidget(self.info)
        decide = QHBoxLayout()
        self.accept_button = QPushButton("Accept (Enter)")
        on_click(self.accept_button.clicked, self.accept_current)
        self.exclude_button = QPushButton("Exclude (Del)")
        on_click(self.exclude_button.clicked, self.exclude_current)
        decide.addWidget(self.accept_button)
        decide.addWidget(self.exclude_button)
        right_layout.addLayout(decide)
        # The review is done with the keys on the grid: a click on a bar or a button must not take them away
        # (after a bar click, Enter, the digits and Del used to do nothing, silently).
        for widget in (self.chart, self.accept_button, self.exclude_button, self.preview):
            widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.body.addWidget(right)
        left.setMaximumWidth(300)
        self.body.setStretchFactor(0, 0)
        self.body.setStretchFactor(1, 3)
        self.body.setStretchFactor(2, 1)
        self.body.setSizes([220, 640, 340])
        layout.addWidget(self.body, 1)

        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._shortcut(QKeySequence(key), self.accept_current)
        for key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self._shortcut(QKeySequence(key), self.exclude_current)
        for n in range(1, 10):
            self._shortcut(QKeySequence(str(n)), lambda n=n: self.assign_number(n))

    def _shortcut(self, keys: QKeySequence, slot) -> None:
        shortcut = QShortcut(keys, self.grid)
        shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(slot)

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
                       self.predict_button, self.sort_button):
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
        self.job_task.start(Job(jobs.missing_files, str(project.root)), returned=self._on_missing)
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

    def _on_missing(self, missing: list) -> None:
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
        if self.project is None:
            return
        current = select or self.current_view()
        status = self.project.status(check_files=False)
        review = self.project.count_review(self.review_run)
        counts = {"review": review, "unlabelled": status.unlabelled, "all": self.project.count_images(),
                  "excluded": status.excluded}
        self.classes.blockSignals(True)
        self.classes.clear()
        for key, text in VIEWS:
            item = QListWidgetItem(f"{text}  ({counts[key]})")
            item.setData(ViewRole, ProjectView(key))
            self.classes.addItem(item)
        header = QListWidgetItem("Classes (drop pictures on one)")
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        self.classes.addItem(header)
        for number, c in enumerate(status.classes, 1):
            key = f"{number}  " if number <= 9 else "   "
            item = QListWidgetItem(_swatch(c.colour), f"{key}{c.name}  ({c.count})")
            item.setData(ViewRole, ProjectView.of_class(c))
            self.classes.addItem(item)
        for row in range(self.classes.count()):
            if current.same_as(self.classes.item(row).data(ViewRole)):
                self.classes.setCurrentRow(row)
                break
        else:
            self.classes.setCurrentRow(2)
        self.classes.blockSignals(False)  # the counts changed, not the view: the list is not read again
        self._status = status
        self._names = {c.id: c.name for c in status.classes}

    def show_counts(self, counts) -> None:
        """New counts (a core.projects.project.ViewCounts) in the list as it stands: no query."""
        views = {"review": counts.review, "unlabelled": counts.unlabelled, "all": counts.all,
                 "excluded": counts.excluded}
        texts = dict(VIEWS)
        number = 0
        for row in range(self.classes.count()):
            item = self.classes.item(row)
            view = item.data(ViewRole)
            if view is None:
                continue
            if view.kind in views:
                item.setText(f"{texts[view.kind]}  ({views[view.kind]})")
            else:
                number += 1
                key = f"{number}  " if number <= 9 else "   "
                item.setText(f"{key}{view.class_name}  ({counts.classes.get(view.class_id, 0)})")

    def _run_names(self) -> dict[int, str]:
        """{class id: name} as the reviewed run knew its classes (a class deleted since keeps its name),
        read once per run."""
        if not self.review_run:
            return {}
        if self._run_names_of != self.review_run:
            self._run_names_cache = dict(self.project.run(self.review_run).classes)
            self._run_names_of = self.review_run
        return self._run_names_cache
        self._update_title()

    def _update_title(self) -> None:
        if self.project is None:
            return
        s = self._status
        runs = [r for r in s.runs if r.accuracy is not None]
        last = f" · last run {runs[-1].accuracy:.1%} on validation" if runs else ""
        missing = len(getattr(self, "missing", []))
        missing_text = f" · <span style='color:#a33'>{missing} missing</span>" if missing else ""
        self.title.setText(f"<b>{html.escape(self.project.name)}</b> · {sum(s.labelled.values())} labelled, "
                           f"{s.unlabelled} unlabelled · {len(s.runs)} run(s){last}{missing_text}")

    def current_view(self) -> ProjectView:
        item = self.classes.currentItem()
        view = item.data(ViewRole) if item is not None else None
        return view if view is not None else ProjectView("all")

    def refresh_pictures(self) -> None:
        if self.project is None:
            return
        view = self.current_view()
        order = self.order.currentData()
        self.order.setVisible(view.kind == "review")
        names = self.project.class_names()
        colours = {c.id: c.colour for c in self.class_list()}
        if view.kind == "review" and not self.review_run:
            pictures = []
        else:
            pictures = self.project.pictures(view, run_id=self.review_run, order=order)
        self.model.set_pictures(pictures, names, colours)
        self._show_view_title()
        if pictures:
            self.grid.setCurrentIndex(self.model.index(0))
        else:
            self.show_current()

    def _show_view_title(self) -> None:
        view, count = self.current_view(), self.model.rowCount()
        if view.kind == "class":
            title = f"{view.class_name}: {count} picture(s)"
        elif view.kind == "review":
            title = (f"{count} picture(s) labelled by run {self.review_run}, most doubtful first"
                     if self.review_run else "Nothing to review yet: train a model, then press Predict.")
        else:
            title = f"{count} picture(s)"
        self.view_title.setText(title)

    def current_picture(self):
        index = self.grid.currentIndex()
        return self.model.data(index, PictureGridModel.PictureRole) if index.isValid() else None

    def show_current(self) -> None:
        picture = self.current_picture()
        if picture is None or self.project is None:
            self.preview.show_message("")
            self.chart.show_guesses([])
            self.info.setText("")
            return
        names = self._names
        run_names = self._run_names()
        guesses = [_Guess(names.get(c, run_names.get(c, "?")), p, c) for c, p in picture.top_k()]
        self.chart.show_guesses(guesses)
        self.accept_button.setEnabled(bool(guesses) and picture.class_id is None)
        self.preview.show_message("Loading…")
        self.preview_task.start(Job(decode_preview, str(picture.path)), returned=self._on_preview)
        label = names.get(picture.class_id, "unlabelled") if not picture.excluded else "excluded"
        history = self.project.history(picture.id)
        said = "<br>".join(f"{html.escape(h['source'])}: {html.escape(h['label'] or '-')}"
                           + (f" (run {h['run']} said {html.escape(h['predicted'] or '?')})" if h["run"] else "")
                           for h in history[-4:])
        if picture.unfamiliar and picture.class_id is None and not picture.excluded:
            label += (" · unfamiliar: unlike the pictures the model was trained on, so its guess is not to be "
                      "trusted; a sort puts it into _unfamiliar")
        self.info.setText(f"<b>{html.escape(picture.path.name)}</b> · {html.escape(label)}<br>"
                          f"<span style='color:#666'>{html.escape(display_path(picture.path))}</span><br>{said}")

    def _on_preview(self, result) -> None:
        _, image, error = result
        if image is not None:
            self.preview.show_image(image)
        else:
            self.preview.show_message(f"This picture cannot be shown: {error}.")

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
        said = {"excluded": "excluded"}.get(decision.source, f"{decision.label} ({decision.source})")
        self.status_message.emit(f"{picture.path.name}: {said}.")
        self._showing = False  # the current picture changes below: it is shown once, at the end
        try:
            if self.current_view().holds(decision.picture):
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
        self._decide(lambda p: self.project.accept(p.id, run_id=self.review_run))

    def assign_current(self, class_name: str) -> None:
        self._decide(lambda p: self.project.assign(p.id, class_name, run_id=self.review_run))

    def assign_number(self, number: int) -> None:
        names = list(self._names.values())  # in the list's order, as the digits show them: no query
        if number <= len(names):
            self.assign_current(names[number - 1])

    def exclude_current(self) -> None:
        self._decide(lambda p: self.project.exclude(p.id, run_id=self.review_run))

    def _on_bar_clicked(self, row: int) -> None:
        guesses = self.chart.guesses
        if row < len(guesses) and guesses[row].class_id in self._names:
            self.assign_current(self._names[guesses[row].class_id])
        self.grid.setFocus(Qt.FocusReason.MouseFocusReason)  # the next key goes on with the review

    # ------------------------------------------------------------ classes
    def selected_class(self) -> str | None:
        view = self.current_view()
        return view.class_name if view.kind == "class" else None

    def _change(self, change, done: str) -> None:
        try:
            change()
        except UserError as exc:
            self.error.emit("Not possible", exc.for_window())
            return
        self.status_message.emit(done)
        self.refresh_classes()
        self.refresh_pictures()

    def add_class_dialog(self) -> None:
        name = dialogs.ask_text(self, "New class", "Name of the class:")
        if name:
            self._change(lambda: self.project.add_class(name), f"Added the class {name}.")

    def rename_class_dialog(self) -> None:
        old = self.selected_class()
        if old is None:
            self.status_message.emit("Select a class to rename.")
            return
        new = dialogs.ask_text(self, "Rename class", f"New name for {old}:", old)
        if new and new != old:
            self._change(lambda: self.project.rename_class(old, new), f"Renamed {old} to {new}.")

    def merge_class_dialog(self) -> None:
        source = self.selected_class()
        others = [c.name for c in self.class_list() if c.name != source]
        if source is None or not others:
            self.status_message.emit("Select a class to merge into another.")
            return
        into = dialogs.ask_choice(self, "Merge classes", f"Move every picture of {source} into:", others)
        if into:
            self._change(lambda: self.project.merge_classes(source, into), f"Merged {source} into {into}.")

    def colour_class_dialog(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        current = next(c.colour for c in self.class_list() if c.name == name)
        colour = dialogs.ask_colour(self, current)
        if colour:
            self._change(lambda: self.project.set_colour(name, colour), f"{name} has a new colour.")

    def delete_class_dialog(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        count = next(c.count for c in self.class_list() if c.name == name)
        if dialogs.ask_yes(self, "Delete class", f"Delete the class {name}? Its {count} picture(s) stay in the "
                                                 "project, unlabelled; their history is kept.", "Delete"):
            self._change(lambda: self.project.delete_class(name), f"Deleted the class {name}.")

    # ------------------------------------------------------------ adding
    def add_pictures_dialog(self) -> None:
        paths = dialogs.open_image_files(self, "")
        if paths:
            self.add_paths(paths, self.selected_class())

    def add_folder_dialog(self) -> None:
        folder = dialogs.open_folder(self, "", "A folder of unlabelled pictures")
        if folder:
            self.add_paths([folder], None)

    def add_paths(self, paths: list[str], label: str | None) -> None:
        if self.project is None:
            return
        what = f" as {label}" if label else " unlabelled"
        self._run_job(f"Adding pictures{what}…", Job(jobs.add_pictures, str(self.project.root), paths, label),
                      self._on_added)

    def import_tree_dialog(self) -> None:
        folder = dialogs.open_folder(self, "", "A folder with one subfolder of pictures per class")
        if folder:
            self._run_job("Importing class folders…", Job(jobs.import_tree, str(self.project.root), folder),
                          self._on_added)

    def import_csv_dialog(self) -> None:
        file = dialogs.open_csv(self, "")
        if file:
            self._run_job("Importing labels…", Job(jobs.import_csv, str(self.project.root), file),
                          self._on_added)

    def _run_job(self, text: str, worker: Job, returned) -> None:
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status_message.emit(text)
        self.job_task.start(worker, progress=self._on_progress, returned=returned, errored=self._on_failed,
                            finished=self.progress.hide)

    def _on_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_added(self, report) -> None:
        skipped = f"; {len(report.skipped)} skipped (hover the list for why)" if report.skipped else ""
        labelled = f", {report.labelled} labelled" if report.labelled else ""
        self.status_message.emit(f"Added {len(report.added)} picture(s){labelled}{skipped}.")
        if report.skipped:
            self.classes.setToolTip("Skipped:\n" + "\n".join(f"{display_path(p)}: {why}"
                                                              for p, why in report.skipped[:20]))
        self.refresh_classes()
        self.refresh_pictures()

    def _on_failed(self, exc: BaseException) -> None:
        self.error.emit("The project job stopped", describe_error(exc))

    # ------------------------------------------------------------ model
    def request_training(self) -> None:
        if self.project is not None:
            self.train_requested.emit(str(self.project.root), self.keep_specimens.isChecked())

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
            why = "its process ended before it finished" if run.status == "interrupted" else "it was stopped"
            self.resume_button.setToolTip(f"Run {run.id} stopped early ({why}). Go on from its last finished "
                                          "epoch, with its own settings; its best model so far is used meanwhile.")

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
            self.predict()

    def predict(self) -> None:
        if self.project is None:
            return
        self.progress.show()
        self.progress.setRange(0, 0)
        self.status_message.emit("The model is labelling the unlabelled pictures…")
        self.predict_task.start(
            Job(jobs.predict, str(self.project.root), self.options.device, self.options.amp,
                             torch_needed=True),
            progress=self._on_progress, returned=self._on_predicted, errored=self._on_failed,
            finished=self.progress.hide)

    def _on_predicted(self, report) -> None:
        self.review_run = report.run_id
        self.status_message.emit(f"Run {report.run_id} labelled {report.predicted} picture(s): review the most "
                                 "doubtful first (Enter accepts, 1-9 assigns, Del excludes).")
        self.refresh_classes(select=ProjectView("review"))
        self.refresh_pictures()

    # ------------------------------------------------------------ sorting and finding
    def sort_dialog(self) -> None:
        out = dialogs.open_folder(self, "", "The folder to sort into (one subfolder per class is made)")
        if out:
            self._run_job("Counting…", Job(jobs.plan_sort, str(self.project.root), out), self._on_sort_planned)

    def _on_sort_planned(self, plan) -> None:
        answer = dialogs.ask_sort(self, str(plan.out), plan.counts(), len(plan.missing))
        if answer:
            self._run_job("Sorting…", Job(jobs.sort_pictures, str(self.project.root), plan, answer == "move"),
                          self._on_sorted)

    def _on_sorted(self, report) -> None:
        failed = f"; {len(report.failed)} could not be placed" if report.failed else ""
        self.status_message.emit(f"Placed {len(report.placed)} picture(s){failed}. The log is "
                                 f"{display_path(report.log)}.")
        self.refresh_pictures()

    def locate_dialog(self) -> None:
        folder = dialogs.open_folder(self, "", "Where are the missing pictures now?")
        if folder:
            self._run_job("Looking for the missing pictures by their content…",
                          Job(jobs.locate_files, str(self.project.root), folder), self._on_located)

    def _on_located(self, found: int) -> None:
        self.status_message.emit(f"Found {found} missing picture(s).")
        # the follow-up job takes the task's place: the locate job's own `finished` (which hid the bar) is
        # no longer delivered, and a full progress bar stayed under the header
        self.job_task.start(Job(jobs.missing_files, str(self.project.root)), returned=self._on_missing,
                            finished=self.progress.hide)
        self.loader.forget_unreadable()  # found files are read again, not shown as "cannot be read"
        self.refresh_pictures()

    def shutdown(self) -> None:
        for task in (self.job_task, self.predict_task, self.preview_task):
            task.shutdown()
        self.loader.shutdown()
        if self.project is not None:
            self.project.close()
            self.project = None


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)

