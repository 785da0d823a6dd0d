"""How the Train tab is laid out: the data folder on top, the settings column (the form, the buttons, the
classes found) beside the curves and results, the progress below. As Qt Designer's `setupUi`: the widgets
are made here and connected to the panel's slots."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.gui.train.classes_found import ClassesFound
from resnet_gui.gui.train.form import TrainForm
from resnet_gui.gui.train.results import TrainResults
from resnet_gui.gui.widgets import ElidedLabel, on_click

STOP_TIP = "Stop after the current batch; the best model so far is kept, and Resume goes on later"
RESUME_TIP = "A stopped run on this folder goes on from its last finished epoch"


def build_train_panel(panel) -> None:
    """Make `panel`'s widgets (a TrainPanel) and connect them to its slots."""
    panel.form = TrainForm(panel.settings, panel.options)
    on_click(panel.form.find_lr_button.clicked, panel.find_learning_rate)
    panel.folder = QLineEdit()
    panel.folder.setPlaceholderText("Drop, choose, type or paste a folder: one subfolder of images per class")
    panel.folder.editingFinished.connect(panel._on_folder_typed)
    panel.folder.textChanged.connect(panel.form.augment_preview.set_folder)
    choose = QPushButton("Choose folder…")
    on_click(choose.clicked, panel.choose_folder)
    panel.folder_row = QWidget()
    folder_row = QHBoxLayout(panel.folder_row)
    folder_row.setContentsMargins(0, 0, 0, 0)
    folder_row.addWidget(QLabel("Data folder:"))
    folder_row.addWidget(panel.folder, 1)
    folder_row.addWidget(choose)
    panel.project_note = ElidedLabel("")  # instead of the folder row while a project's pictures train
    panel.project_note.setVisible(False)

    panel.classes_found = ClassesFound()

    panel.start_button = QPushButton("Start training")
    panel.start_button.setDefault(True)
    on_click(panel.start_button.clicked, panel.start_training)
    panel.stop_button = QPushButton("Stop")
    panel.stop_button.setEnabled(False)
    panel.stop_button.setToolTip(STOP_TIP)
    panel.resume_button = QPushButton("Resume")
    panel.resume_button.setEnabled(False)
    panel.resume_button.setToolTip(RESUME_TIP)
    on_click(panel.resume_button.clicked, panel.resume_training)
    on_click(panel.stop_button.clicked, panel.stop_training)
    panel.use_button = QPushButton("Use this model")
    panel.use_button.setEnabled(False)
    panel.use_button.setToolTip("Load the best checkpoint into the Classify tab")
    on_click(panel.use_button.clicked, panel._on_use_model)
    panel.save_as_button = QPushButton("Save as…")
    panel.save_as_button.setEnabled(False)
    panel.save_as_button.setToolTip("Keep a copy of the best model under a name and in a folder you choose")
    on_click(panel.save_as_button.clicked, panel.save_model_as)
    buttons = QGridLayout()  # two rows: one of five buttons made the settings column scroll sideways
    buttons.addWidget(panel.start_button, 0, 0)
    buttons.addWidget(panel.stop_button, 0, 1)
    buttons.addWidget(panel.resume_button, 0, 2)
    buttons.addWidget(panel.use_button, 1, 0)
    buttons.addWidget(panel.save_as_button, 1, 1)

    side = QWidget()
    side_layout = QVBoxLayout(side)
    side_layout.addWidget(panel.form)
    side_layout.addLayout(buttons)
    side_layout.addWidget(panel.classes_found, 1)
    scroll = QScrollArea()
    scroll.setWidget(side)
    scroll.setWidgetResizable(True)
    # Wide enough for the settings with the advanced ones unfolded and a vertical scroll bar, as it
    # starts; on a small screen the column may be narrowed, and scrolls sideways rather than clip.
    panel.form.advanced_body.setVisible(True)
    needed = (side.minimumSizeHint().width() + scroll.verticalScrollBar().sizeHint().width()
              + 2 * scroll.frameWidth())
    panel.form.advanced_body.setVisible(False)
    scroll.setMinimumWidth(300)
    panel._settings_width = max(360, needed)

    panel.results = TrainResults()

    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.addWidget(scroll)
    splitter.addWidget(panel.results)
    splitter.setStretchFactor(1, 1)
    splitter.setSizes([panel._settings_width, 860])

    panel.progress = QProgressBar()
    panel.progress.setFormat("Not started")
    panel.progress.setValue(0)
    panel.rate = QLabel("")
    panel.rate.setMinimumWidth(260)
    progress_row = QHBoxLayout()
    progress_row.addWidget(panel.progress, 1)
    progress_row.addWidget(panel.rate)

    layout = QVBoxLayout(panel)
    layout.addWidget(panel.folder_row)
    layout.addWidget(panel.project_note)
    layout.addWidget(splitter, 1)
    layout.addLayout(progress_row)
