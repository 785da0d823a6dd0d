"""Every dialog the window opens, in one place, so tests can patch them at this module path."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

IMAGE_FILTER = "Images (*.jpg *.jpeg *.png *.bmp *.gif *.tif *.tiff *.webp);;All files (*)"
CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth *.safetensors *.ckpt *.bin);;All files (*)"


def show_error(parent: QWidget | None, title: str, text: str) -> None:
    _message(parent, QMessageBox.Icon.Warning, title, text)


def ask_stop_training(parent: QWidget | None) -> bool:
    """Quitting while a model trains: stop it (the best model so far is kept), or go on training."""
    box = QMessageBox(QMessageBox.Icon.Question, "Training is running",
                      "A model is still training. Stop it and quit? The best model so far is kept.",
                      QMessageBox.StandardButton.NoButton, parent)
    stop = box.addButton("Stop and quit", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Keep training", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is stop


def save_model(parent: QWidget | None, suggested: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Save the model as", suggested, "Checkpoints (*.pt)")
    return path


def save_export(parent: QWidget | None, suggested: str, fmt: str) -> str:
    pattern = "ONNX models (*.onnx)" if fmt == "onnx" else "TorchScript models (*.ts *.pt)"
    path, _ = QFileDialog.getSaveFileName(parent, "Export the model", suggested, pattern)
    return path


def show_info(parent: QWidget | None, title: str, text: str) -> None:
    _message(parent, QMessageBox.Icon.Information, title, text)


def _message(parent: QWidget | None, icon: QMessageBox.Icon, title: str, text: str) -> None:
    """A message box whose text is shown as written: a file or class name is never read as HTML."""
    box = QMessageBox(icon, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.exec()


def open_image_files(parent: QWidget | None, folder: str) -> list[str]:
    paths, _ = QFileDialog.getOpenFileNames(parent, "Open images", folder, IMAGE_FILTER)
    return paths


def open_folder(parent: QWidget | None, folder: str, title: str = "Open a folder of images") -> str:
    return QFileDialog.getExistingDirectory(parent, title, folder)


def open_checkpoint(parent: QWidget | None, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a checkpoint", folder, CHECKPOINT_FILTER)
    return path


def save_csv(parent: QWidget | None, folder: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Export results", folder, "CSV files (*.csv)")
    if path and not path.lower().endswith(".csv"):
        path += ".csv"
    return path
