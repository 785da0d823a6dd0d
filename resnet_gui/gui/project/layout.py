"""How the Project tab is laid out: the project's title and actions on top (or, with no project open, the
ways to one), then the class list, the picture grid and the picture pane side by side. As Qt Designer's
`setupUi`: the widgets are made here and connected to the panel's slots."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.projects.records import DEFAULT_REVIEW_ORDER, REVIEW_ORDERS
from resnet_gui.gui.project import adding, checking, class_dialogs, predicting, runs_window, sorting, watching
from resnet_gui.gui.project.class_list import ClassList
from resnet_gui.gui.project.picture_grid import PictureGrid
from resnet_gui.gui.project.picture_pane import PicturePane
from resnet_gui.gui.widgets import ElidedLabel, never_widens, on_click


def build_project_panel(panel) -> None:
    """Make `panel`'s widgets (a ProjectPanel) and connect them to its slots."""
    layout = QVBoxLayout(panel)
    top = QHBoxLayout()
    panel.title = never_widens(QLabel())  # a project's folder can be long: it never widens the window
    panel.title.setTextFormat(Qt.TextFormat.RichText)
    layout.addWidget(panel.title)  # a line of its own: beside the buttons it was squeezed into a column at 1024 px
    top.addStretch(1)
    panel.add_button = QPushButton("Add pictures…")
    panel.add_button.setToolTip("Add image files; drop files or folders on a class to add them labelled.")
    on_click(panel.add_button.clicked, lambda: adding.add_pictures(panel))
    panel.import_button = QToolButton()
    panel.import_button.setText("Import")
    panel.import_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
    menu = QMenu(panel.import_button)
    menu.addAction("Class folders (labels from folder names)…", lambda: adding.import_tree(panel))
    menu.addAction("A CSV of path,label…", lambda: adding.import_csv(panel))
    menu.addAction("A folder of unlabelled pictures…", lambda: adding.add_folder(panel))
    menu.addSeparator()
    watch = menu.addAction(watching.WATCH)
    panel.folder_watch = watching.ProjectFolderWatching(panel, watch)
    on_click(watch.triggered, panel.folder_watch.toggle)
    panel.import_button.setMenu(menu)
    panel.keep_specimens = QCheckBox("One side per subfolder")
    panel.keep_specimens.setToolTip("Pictures of one subfolder (slide, patient) are all trained on or all "
                                   "validated on, never split between the two.")
    panel.start_from = QComboBox()
    panel.start_from.setToolTip("Train a new model from random weights (or the Train tab's start), or continue "
                                "from an earlier run's model with the labels of today: fewer epochs needed.")
    panel.start_from.addItem("From scratch", None)
    panel.start_from.setMinimumContentsLength(10)
    panel.start_from.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.start_from.hide()  # until a run has a model
    panel.train_button = QPushButton("Train")
    panel.train_button.setToolTip("Train a new model on the labelled pictures with the Train tab's settings.")
    on_click(panel.train_button.clicked, panel.request_training)
    panel.resume_button = QPushButton("Resume run")
    panel.resume_button.setProperty("journey_name", "Resume run")
    on_click(panel.resume_button.clicked, panel.request_resume)
    panel.resume_button.hide()
    panel.predict_button = QPushButton("Predict")
    panel.predict_button.setToolTip("Let the project's model (the pinned run, or the newest) label the unlabelled "
                                    "pictures, for review.")
    on_click(panel.predict_button.clicked, lambda: predicting.predict(panel))
    panel.sort_button = QPushButton("Sort into folders…")
    on_click(panel.sort_button.clicked, lambda: sorting.sort(panel))
    panel.check_button = QPushButton("Check data…")
    panel.check_button.setToolTip("Look for copies across the split, duplicates, pictures that look mislabelled, "
                                  "small classes and odd pictures among the labelled ones.")
    on_click(panel.check_button.clicked, lambda: checking.check(panel))
    panel.runs_button = QPushButton("Runs…")
    panel.runs_button.setToolTip("Every run side by side: what changed, per-class figures, where two runs "
                                 "disagree; pin one as the project's model.")
    on_click(panel.runs_button.clicked, lambda: runs_window.show_runs(panel))
    panel.missing_button = QPushButton("Find missing…")
    on_click(panel.missing_button.clicked, lambda: sorting.locate(panel))
    panel.missing_button.hide()
    for widget in (panel.add_button, panel.import_button, panel.keep_specimens, panel.start_from, panel.train_button,
                   panel.resume_button, panel.predict_button, panel.runs_button, panel.sort_button,
                   panel.check_button, panel.missing_button):
        top.addWidget(widget)
    layout.addLayout(top)
    panel.progress = QProgressBar()
    panel.progress.setMaximumHeight(14)
    panel.progress.setTextVisible(False)
    panel.progress.hide()
    layout.addWidget(panel.progress)

    panel.empty = QWidget()
    empty_layout = QVBoxLayout(panel.empty)
    empty_layout.addStretch(1)
    intro = QLabel("<h3>Keep your pictures, labels and models together as a project</h3>"
                   "Make classes, add pictures, train, let the model label new pictures, review the doubtful "
                   "ones first, correct, train again, and sort the pictures into folders.")
    intro.setWordWrap(True)
    intro.setAlignment(Qt.AlignmentFlag.AlignCenter)
    empty_layout.addWidget(intro)
    buttons = QHBoxLayout()
    buttons.addStretch(1)
    for text, signal in (("New project…", panel.new_requested), ("Open project…", panel.open_requested),
                         ("Try the example", panel.example_requested)):
        button = QPushButton(text)
        button.setMinimumHeight(36)
        on_click(button.clicked, signal.emit)
        buttons.addWidget(button)
    buttons.addStretch(1)
    empty_layout.addLayout(buttons)
    empty_layout.addStretch(2)
    layout.addWidget(panel.empty, 1)

    panel.body = QSplitter()
    left = QWidget()
    left_layout = QVBoxLayout(left)
    left_layout.setContentsMargins(0, 0, 0, 0)
    panel.classes = ClassList()
    panel.classes.currentItemChanged.connect(lambda *_: panel.refresh_pictures())
    panel.classes.files_dropped.connect(panel.add_paths)
    left_layout.addWidget(panel.classes, 1)
    class_buttons = QHBoxLayout()
    for text, action, tip in (("+", class_dialogs.add_class, "Add a class"),
                              ("Rename", class_dialogs.rename_class, "Rename the selected class"),
                              ("Merge…", class_dialogs.merge_class, "Move the selected class's pictures into another"),
                              ("Colour", class_dialogs.colour_class, "Choose the selected class's colour"),
                              ("Delete", class_dialogs.delete_class, "Delete the selected class (its pictures stay, "
                                                                     "unlabelled)")):
        button = QPushButton(text)
        button.setToolTip(tip)
        on_click(button.clicked, lambda action=action: action(panel))
        class_buttons.addWidget(button)
    left_layout.addLayout(class_buttons)
    panel.body.addWidget(left)

    middle = QWidget()
    middle_layout = QVBoxLayout(middle)
    middle_layout.setContentsMargins(0, 0, 0, 0)
    order_row = QHBoxLayout()
    panel.view_title = ElidedLabel()
    middle_layout.addWidget(panel.view_title)  # a line of its own: beside the review's boxes it had no room at 1024 px
    panel.order = QComboBox()
    for order, text in REVIEW_ORDERS.items():
        panel.order.addItem(text, order)
    panel.order.setMinimumContentsLength(16)  # the longest order's name would squeeze the title beside it
    panel.order.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.order.setCurrentIndex(list(REVIEW_ORDERS).index(DEFAULT_REVIEW_ORDER))
    panel.order.setToolTip("Margin: the first class's probability minus the second's. Entropy: how evenly the "
                           "probability is spread over the classes. Diverse: pictures unlike those labelled and "
                           "unlike each other, so a batch holds no copies of one doubt. Mixed: the most doubtful "
                           "quarter, spread out. Per-class quota: the most doubtful of each predicted class in "
                           "turn, so a rare class is seen early.")
    panel.order.currentIndexChanged.connect(lambda *_: panel.refresh_pictures())
    panel.predicted = PredictedFilter()
    panel.predicted.currentIndexChanged.connect(lambda *_: panel.refresh_pictures())
    panel.map_button = QPushButton("Map…")
    panel.map_button.setToolTip("Every picture as a point placed by what the newest model sees in it, coloured by "
                                "class: a picture deep inside another class's cloud is a likely mistake.")
    on_click(panel.map_button.clicked, lambda: checking.show_map(panel))
    order_row.addWidget(panel.order, 1)
    order_row.addWidget(panel.predicted, 1)
    order_row.addStretch(0)
    order_row.addWidget(panel.map_button)
    middle_layout.addLayout(order_row)
    panel.grid = PictureGrid(panel.model)
    panel.grid.selectionModel().currentChanged.connect(lambda *_: panel._showing and panel.show_current())
    middle_layout.addWidget(panel.grid, 1)
    panel.body.addWidget(middle)

    panel.pane = PicturePane()
    panel.pane.chart.bar_clicked.connect(panel._on_bar_clicked)
    on_click(panel.pane.accept_button.clicked, panel.accept_current)
    on_click(panel.pane.exclude_button.clicked, panel.exclude_current)
    on_click(panel.pane.keep_button.clicked, panel.keep_current)
    panel.body.addWidget(panel.pane)
    left.setMaximumWidth(300)
    panel.body.setStretchFactor(0, 0)
    panel.body.setStretchFactor(1, 3)
    panel.body.setStretchFactor(2, 1)
    panel.body.setSizes([220, 640, 340])
    layout.addWidget(panel.body, 1)

    for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
        _shortcut(panel.grid, QKeySequence(key), panel.accept_current)
    for key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
        _shortcut(panel.grid, QKeySequence(key), panel.exclude_current)
    _shortcut(panel.grid, QKeySequence(Qt.Key.Key_K), panel.keep_current)  # in the check's views
    for n in range(1, 10):
        _shortcut(panel.grid, QKeySequence(str(n)), lambda n=n: panel.assign_number(n))


def _shortcut(grid: QWidget, keys: QKeySequence, slot) -> None:
    """A review key, active while the grid (or a child of it) has the focus."""
    shortcut = QShortcut(keys, grid)
    shortcut.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
    shortcut.activated.connect(slot)


def show_review_boxes(panel, shown: bool, names: dict[int, str]) -> None:
    """The review's order and "predicted as" boxes, shown in the review only, offering today's classes."""
    for box in (panel.order, panel.predicted):
        box.setVisible(shown)
    panel.predicted.offer(names)


class PredictedFilter(QComboBox):
    """The review's "predicted as" box: every picture, or only those the run predicted as one class."""

    def __init__(self):
        super().__init__()
        self.addItem("Any prediction", None)
        self.setToolTip("Only the pictures the model predicted as this class: to check one class's answers "
                        "together.")
        self.setMinimumContentsLength(12)
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)

    def offer(self, names: dict[int, str]) -> None:
        """The project's classes now (a rename shows, a deleted class's choice goes back to any), without a
        signal: the list it filters is being shown."""
        chosen = self.currentData()
        if [self.itemData(i) for i in range(1, self.count())] == list(names) and all(
                self.itemText(i + 1) == f"Predicted {name}" for i, name in enumerate(names.values())):
            return
        self.blockSignals(True)
        self.clear()
        self.addItem("Any prediction", None)
        for class_id, name in names.items():
            self.addItem(f"Predicted {name}", class_id)
        self.setCurrentIndex(max(0, self.findData(chosen)) if chosen is not None else 0)
        self.blockSignals(False)
