"""How the main window is laid out: the tabs (the model bar above the Classify tab) and the menus, with the
panels' signals connected to the window. As Qt Designer's `setupUi`: made here, the window's slots do the work."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from resnet_gui.gui import help_menu as help_actions
from resnet_gui.gui.classify import camera_window
from resnet_gui.gui.classify.panel import ClassifyPanel
from resnet_gui.gui.evaluate.panel import EvaluatePanel
from resnet_gui.gui.model.bar import ModelBar
from resnet_gui.gui.model.panel import ModelPanel
from resnet_gui.gui.project import adding, undoing
from resnet_gui.gui.project.panel import ProjectPanel
from resnet_gui.gui.widgets import on_click

TTA_CHOICES = (
    (None, "&Off: the centre crop", "Each picture is seen once, cropped in the centre."),
    ("flip", "&Mirror image too (2x the work)", "The probabilities of the picture and its mirror image, averaged."),
    ("five-crop", "&Five crops (5x)", "The probabilities of the four corners and the centre, averaged."),
    ("ten-crop", "&Ten crops, as the ResNet paper tested (10x)",
     "The five crops and their mirror images, averaged: about 1.8 points of ImageNet accuracy for 10x the work."),
)


def build_main_window(window) -> None:
    """Make `window`'s tabs and menus (a MainWindow) and connect them to its slots."""
    window.model_bar = ModelBar(window.options)
    window.classify_panel = ClassifyPanel(window.options)
    classify_tab = QWidget()
    tab_layout = QVBoxLayout(classify_tab)
    tab_layout.addWidget(window.model_bar)
    tab_layout.addWidget(window.classify_panel, 1)
    window.tabs = QTabWidget()
    window.tabs.setObjectName("main_tabs")
    window.tabs.addTab(classify_tab, "&Classify")
    window.project_panel = ProjectPanel(window.options)
    window.tabs.addTab(window.project_panel, "&Project")
    window.project_panel.error.connect(window.report_error)
    window.project_panel.status_message.connect(window.show_status)
    window.project_panel.new_requested.connect(window.new_project)
    window.project_panel.open_requested.connect(window.open_project)
    window.project_panel.example_requested.connect(window.try_example)
    window.project_panel.project_opened.connect(window._on_project_opened)
    window.project_panel.train_requested.connect(window.train_project)
    window.project_panel.use_model_requested.connect(window.use_checkpoint)
    window.project_panel.resume_requested.connect(lambda folder: window.train_project(folder, False, resume=True))
    _add_train_tab(window)
    window.evaluate_panel = EvaluatePanel(window.settings, window.options)
    window.tabs.addTab(window.evaluate_panel, "&Evaluate")
    window.model_loaded.connect(window.evaluate_panel.set_bundle)
    window.evaluate_panel.error.connect(window.report_error)
    window.evaluate_panel.status_message.connect(window.show_status)
    window.model_panel = ModelPanel()
    window.tabs.addTab(window.model_panel, "&Model")
    window.model_loaded.connect(window.model_panel.show_bundle)
    window.classify_panel.run_finished.connect(window.model_panel.show_runtime)
    window.model_panel.error.connect(window.report_error)
    window.model_panel.status_message.connect(window.show_status)
    window.setCentralWidget(window.tabs)
    window.torch_state = QLabel("Loading PyTorch…")
    window.statusBar().addPermanentWidget(window.torch_state)

    _build_menus(window)
    window._error_from_thread.connect(window.report_error, Qt.ConnectionType.QueuedConnection)
    window.model_bar.choice_changed.connect(lambda choice: window.load_model(choice, user_initiated=True))
    window.model_bar.choose_checkpoint_requested.connect(window.choose_checkpoint)
    window.classify_panel.status_message.connect(window.show_status)
    window.classify_panel.error.connect(window.report_error)
    window.classify_panel.watching.start_in = lambda: window.settings.get("files/last_folder")
    on_click(window.classify_panel.export_button.clicked, window.export_csv)
    empty = window.classify_panel.placeholder
    on_click(empty.choose_checkpoint.clicked, window.choose_checkpoint)
    on_click(empty.train.clicked, window.train_on_own_folder)
    on_click(empty.example.clicked, window.try_example)


def _add_train_tab(window) -> None:
    """The Train tab, when the training front end is installed (issue 4)."""
    try:
        from resnet_gui.gui.train.panel import TrainPanel
    except ImportError:
        window.train_panel = None
        return
    window.train_panel = TrainPanel(window.settings, window.options)
    window.tabs.addTab(window.train_panel, "&Train")
    window.train_panel.use_model_requested.connect(window.use_checkpoint)
    window.train_panel.error.connect(window.report_error)
    window.train_panel.status_message.connect(window.show_status)
    window.train_panel.project_trained.connect(window.project_panel.training_finished)
    window.devices_ready.connect(window.train_panel.set_devices)


def _build_menus(window) -> None:
    file_menu = window.menuBar().addMenu("&File")
    _action(window, file_menu, "&Open images…", QKeySequence.StandardKey.Open, window.open_images)
    _action(window, file_menu, "Open &folder…", QKeySequence("Ctrl+Shift+O"), window.open_folder)
    _action(window, file_menu, "&Watch a folder…", QKeySequence("Ctrl+Shift+W"),
            lambda: (window.tabs.setCurrentIndex(0), window.classify_panel.watching.choose()))
    _action(window, file_menu, "&Live camera…", QKeySequence("Ctrl+Shift+L"),
            lambda: camera_window.show_camera(window, adding.add_snapshot))
    _action(window, file_menu, "Open &checkpoint…", QKeySequence("Ctrl+K"), window.choose_checkpoint)
    file_menu.addSeparator()
    _action(window, file_menu, "&New project…", QKeySequence("Ctrl+Shift+N"), window.new_project)
    _action(window, file_menu, "Open &project…", QKeySequence("Ctrl+Shift+P"), window.open_project)
    window.recent_projects_menu = file_menu.addMenu("&Recent projects")
    window.recent_projects_menu.aboutToShow.connect(window._fill_recent_projects)
    file_menu.addSeparator()
    window.export_action = _action(window, file_menu, "&Export shown results as CSV…", QKeySequence("Ctrl+E"),
                                      window.export_csv)
    file_menu.addSeparator()
    _action(window, file_menu, "&Quit", QKeySequence.StandardKey.Quit, window.close)
    edit_menu = window.menuBar().addMenu("&Edit")
    panel = window.project_panel
    window.undo_action = _action(window, edit_menu, "&Undo", QKeySequence.StandardKey.Undo,
                                 lambda: undoing.undo(panel))
    window.redo_action = _action(window, edit_menu, "&Redo", QKeySequence("Ctrl+Shift+Z"),
                                 lambda: undoing.undo(panel, redo=True))
    for action, name in ((window.undo_action, "Undo"), (window.redo_action, "Redo")):
        action.setProperty("journey_name", name)  # its words change with what it undoes
    edit_menu.aboutToShow.connect(lambda: undoing.name_actions(panel, window.undo_action, window.redo_action))
    edit_menu.addSeparator()
    _action(window, edit_menu, "&Copy selected rows", QKeySequence.StandardKey.Copy, window.copy_selected)
    _action(window, edit_menu, "Select &all", QKeySequence.StandardKey.SelectAll, window.classify_panel.table.selectAll)
    _action(window, edit_menu, "C&lear results", QKeySequence("Ctrl+L"), window.classify_panel.clear)
    _action(window, edit_menu, "Cancel classification", QKeySequence("Esc"), window.classify_panel.cancel)
    options_menu = window.menuBar().addMenu("&Options")
    window.mixed_precision_action = _action(window, options_menu, "&Mixed precision (faster)", None,
                                               window._on_mixed_precision_toggled, checkable=True)
    window.mixed_precision_action.setChecked(window.options.amp)
    window.options.observe(window._on_option_changed)
    window.mixed_precision_action.setStatusTip(
        "Classify and evaluate in 16-bit floating point on a GPU, or on a CPU that computes bfloat16 in "
        "hardware: about twice as fast, with probabilities that may differ in the third decimal. "
        "Off: full 32-bit precision everywhere.")
    _add_tta_menu(window, options_menu.addMenu("&Test-time augmentation"))
    _add_runtime_menu(window, options_menu.addMenu("&Runtime on a CPU"))
    help_menu = window.menuBar().addMenu("&Help")
    _action(window, help_menu, "&Quick start", QKeySequence.StandardKey.HelpContents,
            lambda: help_actions.show_quick_start(window))
    window.example_action = _action(window, help_menu, "Try the &example", None, window.try_example)
    help_menu.addSeparator()
    _action(window, help_menu, "Open the &documentation", None, lambda: help_actions.open_documentation(window))
    _action(window, help_menu, "Show the &log folder", None, lambda: help_actions.show_log_folder(window))
    help_menu.addSeparator()
    _action(window, help_menu, "&About resnet-gui", None, lambda: help_actions.show_about(window))


def _add_tta_menu(window, menu) -> None:
    """One choice of several: the centre crop alone, or the average over 2, 5 or 10 views of each picture."""
    window.tta_actions = _add_choice_menu(window, menu, TTA_CHOICES, "tta")


RUNTIME_CHOICES = (
    ("auto", "Automatic: OpenVINO when it is installed and agrees",
     "OpenVINO runs the model faster on a CPU (up to twice as fast, most on recent Intel CPUs); it is used when "
     "it is installed and answers the checkpoint's own samples as the checkpoint did, else PyTorch"),
    ("torch", "PyTorch", "PyTorch runs the model, as it does on a GPU and for training"),
    ("openvino", "OpenVINO", "OpenVINO runs the model on the CPU when it can (pip install \"resnet-gui[openvino]\")"),
)


def _add_runtime_menu(window, menu) -> None:
    """Which library runs the model on a CPU (core/inference/openvino_runtime.py)."""
    window.runtime_actions = _add_choice_menu(window, menu, RUNTIME_CHOICES, "runtime")


def _add_choice_menu(window, menu, choices, option: str) -> dict:
    """One checkable item per (value, text, tip) of `choices`, one of them checked: the window's option
    `option`; a choice sets it. Returns value -> item, for the window to check the one an option change names."""
    menu.setToolTipsVisible(True)
    group = QActionGroup(window)
    actions: dict = {}
    for value, text, tip in choices:
        action = QAction(text, window, checkable=True)
        action.setToolTip(tip)
        action.setStatusTip(tip)
        action.setChecked(value == getattr(window.options, option))
        action.triggered.connect(lambda _checked=False, value=value: setattr(window.options, option, value))
        group.addAction(action)
        menu.addAction(action)
        actions[value] = action
    return actions


def _action(window, menu, text, shortcut, slot, *, checkable: bool = False) -> QAction:
    """A menu item; a checkable one's slot gets the new state, a plain one's gets no argument."""
    action = QAction(text, window)
    if shortcut is not None:
        action.setShortcut(shortcut)
    if checkable:
        action.setCheckable(True)
        action.triggered.connect(slot)  # triggered(checked): the user's change only
    else:
        on_click(action.triggered, slot)
    menu.addAction(action)
    return action
