"""How the Classify tab is laid out: the results table (or, before any file, what to do) with its filter,
the preview with Grad-CAM's controls and the top-k chart beside it, the progress below. As Qt Designer's
`setupUi`: the widgets are made here and connected to the panel's slots."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.gui.charts.topk_chart import TopKChart
from resnet_gui.gui.classify import mapping
from resnet_gui.gui.classify.results_model import ALL_LABELS, CONFIDENCE, ERROR, FILE, IMAGE, LABEL
from resnet_gui.gui.image_preview import ImagePreview
from resnet_gui.gui.widgets import ElidedLabel, on_click, stacked

THUMBNAIL = 40


class EmptyState(QWidget):
    """What the Classify tab shows before any file: where to drop pictures and, while there is no model
    (a first start offline, with no ImageNet weights), the three ways to get one. Never a red error."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("emptyState")
        self.setStyleSheet("#emptyState { border: 2px dashed #9aa5b1; border-radius: 10px; background: #fafbfc; }"
                           " QLabel { color: #3c4650; }")
        self.drop_hint = QLabel(
            "<p style='font-size:15pt'>Drop images or folders here</p>"
            "<p>or use <b>File › Open images…</b> (Ctrl+O) or <b>Open folder…</b> (Ctrl+Shift+O).<br>"
            "Folders are searched recursively; files that are not images are skipped.</p>")
        self.drop_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.drop_hint.setWordWrap(True)
        self.no_model = QLabel(
            "<p style='font-size:13pt'><b>First, a model.</b></p>"
            "<p>There is no model to classify with yet (the ImageNet weights need the internet once).<br>"
            "Choose a checkpoint you have, train one on your own pictures, or try the example: it makes "
            "pictures of four kinds of cells, trains a small model on them in under a minute and "
            "classifies the rest.</p>")
        self.no_model.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.no_model.setWordWrap(True)
        self.choose_checkpoint = QPushButton("Choose a checkpoint…")
        self.train = QPushButton("Train on your own folder…")
        self.example = QPushButton("Try the example")
        self.example.setDefault(True)
        actions = QHBoxLayout()
        actions.addStretch(1)
        for button in (self.choose_checkpoint, self.train, self.example):
            button.setMinimumHeight(34)
            actions.addWidget(button)
        actions.addStretch(1)
        self.actions = QWidget()
        self.actions.setLayout(actions)
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        layout.addWidget(self.drop_hint)
        layout.addSpacing(18)
        layout.addWidget(self.no_model)
        layout.addWidget(self.actions)
        layout.addStretch(1)
        self.show_model_actions(False)

    def show_model_actions(self, shown: bool) -> None:
        self.no_model.setVisible(shown)
        self.actions.setVisible(shown)


def build_classify_panel(panel) -> None:
    """Make `panel`'s widgets (a ClassifyPanel) and connect them to its slots."""
    panel.filter = QComboBox()
    panel.filter.setMinimumContentsLength(12)
    panel.filter.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.filter.setToolTip("Show the rows of one predicted label, or only the files that failed")
    panel.filter.currentIndexChanged.connect(lambda *_: panel.proxy.set_label(panel.filter.currentData() or ALL_LABELS))
    panel.counts = ElidedLabel("", mode=Qt.TextElideMode.ElideRight)
    panel.export_button = QPushButton("Export shown rows…")
    panel.export_button.setToolTip("Save the rows the Show filter shows as a CSV file (Excel opens it)")
    panel.clear_button = QPushButton("Clear")
    on_click(panel.clear_button.clicked, panel.clear)
    panel.map_button = QPushButton("Map…")
    panel.map_button.setToolTip("Place the pictures the table shows by what the model sees in them: pictures it "
                                "sees alike lie close together")
    panel.map_button.setEnabled(False)
    on_click(panel.map_button.clicked, lambda: mapping.show_map(panel))
    filter_label = QLabel("&Show:")
    filter_label.setBuddy(panel.filter)
    bar = QHBoxLayout()
    bar.addWidget(filter_label)
    bar.addWidget(panel.filter)
    bar.addWidget(panel.counts, 1)
    bar.addWidget(panel.export_button)
    bar.addWidget(panel.map_button)
    bar.addWidget(panel.clear_button)

    panel.table = QTableView()
    panel.table.setModel(panel.proxy)
    panel.table.setSortingEnabled(True)
    panel.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
    panel.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    panel.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
    panel.table.setIconSize(QSize(THUMBNAIL, THUMBNAIL))
    panel.table.setAlternatingRowColors(True)
    panel.table.setWordWrap(False)
    panel.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
    panel.table.verticalHeader().setVisible(False)
    panel.table.verticalHeader().setDefaultSectionSize(THUMBNAIL + 6)
    header = panel.table.horizontalHeader()
    header.setSectionResizeMode(FILE, QHeaderView.ResizeMode.Stretch)
    header.setSectionResizeMode(ERROR, QHeaderView.ResizeMode.Interactive)
    # the file name gets what is left: on a 1024 px screen a 170 px error column (empty on most rows) left it
    # 30 px; the label keeps room for "unfamiliar (elongated?)"
    for column, width in ((IMAGE, THUMBNAIL + 12), (LABEL, 150), (CONFIDENCE, 84), (ERROR, 80)):
        panel.table.setColumnWidth(column, width)
    panel.table.selectionModel().currentRowChanged.connect(panel._on_current_changed)
    panel.table.setAccessibleName("Results")

    panel.placeholder = EmptyState()
    panel.stack = QStackedWidget()
    panel.stack.addWidget(panel.placeholder)
    panel.stack.addWidget(panel.table)

    # While a folder is watched: its counts per class and what it waits for (gui/classify/watching.py).
    panel.watch_line = ElidedLabel("", mode=Qt.TextElideMode.ElideMiddle)
    panel.watch_line.setStyleSheet("background: #eef6ee; border: 1px solid #b9d8b9; padding: 3px;")
    panel.watch_line.setVisible(False)
    left = stacked(bar, panel.watch_line, panel.stack)

    panel.preview = ImagePreview()
    panel.explain_toggle = QCheckBox("Where it looks")
    panel.explain_toggle.setToolTip("Grad-CAM on the last stage: warm colours mark the regions that "
                                   "raised the chosen class's score")
    panel.explain_class = QComboBox()
    panel.explain_class.setToolTip("The class to explain, from this image's top-k")
    panel.explain_class.setMinimumContentsLength(6)
    panel.explain_class.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    panel.opacity = QSlider(Qt.Orientation.Horizontal)
    panel.opacity.setRange(10, 90)
    panel.opacity.setValue(50)
    panel.opacity.setToolTip("Opacity of the heat map over the picture")
    panel.opacity.setMaximumWidth(90)
    explain_row = QHBoxLayout()
    explain_row.setContentsMargins(0, 0, 0, 0)
    explain_row.addWidget(panel.explain_toggle)
    explain_row.addWidget(panel.explain_class, 1)
    explain_row.addWidget(panel.opacity)
    panel.colour_key = QLabel()  # what the overlay's colours mean: drawn once torch-free numpy is at hand
    panel.colour_key.setToolTip("Grad-CAM: blue, the model barely looks there; red, where it looks most")
    panel.colour_key.setVisible(False)
    explain_row.addWidget(panel.colour_key)
    preview_box = stacked(explain_row, panel.preview)
    panel.chart = TopKChart()
    panel.chart_title = ElidedLabel("Top classes")  # class and file names: cut short, never widening
    panel.chart_title.setStyleSheet("font-weight: bold;")
    chart_box = stacked(panel.chart_title, panel.chart)
    right = QSplitter(Qt.Orientation.Vertical)
    right.addWidget(preview_box)
    right.addWidget(chart_box)
    right.setSizes([320, 260])

    panel.splitter = QSplitter(Qt.Orientation.Horizontal)
    panel.splitter.addWidget(left)
    panel.splitter.addWidget(right)
    panel.splitter.setStretchFactor(0, 3)
    panel.splitter.setStretchFactor(1, 2)

    panel.progress = QProgressBar()
    panel.progress.setTextVisible(True)
    panel.progress.setFormat("Idle")
    panel.progress.setValue(0)
    panel.eta = QLabel("")
    panel.eta.setMinimumWidth(220)
    panel.watch_button = QPushButton("Watch a folder…")
    panel.watch_button.setToolTip("Classify each picture written into a folder as it arrives (a microscope's "
                                  "output folder); the newest row is at the top")
    panel.cancel_button = QPushButton("Cancel")
    panel.cancel_button.setEnabled(False)
    on_click(panel.cancel_button.clicked, panel.cancel)
    progress_row = QHBoxLayout()
    progress_row.addWidget(panel.progress, 1)
    progress_row.addWidget(panel.eta)
    progress_row.addWidget(panel.watch_button)
    progress_row.addWidget(panel.cancel_button)

    layout = QVBoxLayout(panel)
    layout.addWidget(panel.splitter, 1)
    layout.addLayout(progress_row)
    panel.refresh_filter()
