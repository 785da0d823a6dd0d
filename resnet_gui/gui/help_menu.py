"""The Help menu: the quick start, the documentation, the log folder, About."""

from __future__ import annotations

from resnet_gui import __version__
from resnet_gui.gui import dialogs

DOCUMENTATION_URL = "https://pypi.org/project/resnet-gui/"
QUICK_START = """Four steps:

1. A model. Choose a checkpoint (File › Open checkpoint…), use ImageNet weights (downloaded once), or
   train one: Train tab, or Help › Try the example to see it all work on made-up cell pictures.
2. Classify. Drop pictures or whole folders on the Classify tab; read the top classes in the chart.
3. Check. Evaluate tab: a folder with one subfolder of labelled pictures per class gives the accuracy
   and the confusion matrix; click a cell to see its pictures.
4. Keep. Export the table as CSV (Excel opens it), or the model as ONNX or TorchScript (Model tab).

Everything the window does, the resnet-gui command line does too: resnet-gui --help."""


def show_quick_start(window) -> None:
    dialogs.show_info(window, "Quick start", QUICK_START)


def open_documentation(window) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    QDesktopServices.openUrl(QUrl(DOCUMENTATION_URL))


def show_log_folder(window) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    from resnet_gui.crash_log import log_dir

    folder = log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    if not QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder))):
        dialogs.show_info(window, "The log folder", f"Logs are written to {folder}.")


def show_about(window) -> None:
    dialogs.show_info(
        window,
        "About resnet-gui",
        f"resnet-gui {__version__}\nClassify images and fine-tune ResNets with PyTorch and torchvision.",
    )
