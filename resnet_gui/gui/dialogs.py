"""Every dialog the window opens, in one place, so tests can patch them at this module path."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

CHECKPOINT_FILTER = "Checkpoints (*.pt *.pth *.safetensors *.ckpt *.bin);;All files (*)"


def image_filter() -> str:
    """The file dialogs' filter: every extension the app reads (the list lives in core.images), .avif and
    .heic included, in lower and upper case (a phone's IMG_0001.HEIC)."""
    from resnet_gui.core.images.files import IMAGE_EXTENSIONS

    patterns = sorted({f"*{ext}" for ext in IMAGE_EXTENSIONS} | {f"*{ext.upper()}" for ext in IMAGE_EXTENSIONS})
    return f"Images ({' '.join(patterns)});;All files (*)"


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
    pattern = {"onnx": "ONNX models (*.onnx)", "bioimageio": "bioimage.io packages (*.zip)"}.get(
        fmt, "TorchScript models (*.ts *.pt)")
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
    paths, _ = QFileDialog.getOpenFileNames(parent, "Open images", folder, image_filter())
    return paths


def open_folder(parent: QWidget | None, folder: str, title: str = "Open a folder of images") -> str:
    return QFileDialog.getExistingDirectory(parent, title, folder)


def open_video(parent: QWidget | None, folder: str) -> str:
    from resnet_gui.core.live.camera import VIDEO_EXTENSIONS

    patterns = " ".join(f"*{ext}" for ext in VIDEO_EXTENSIONS)
    return QFileDialog.getOpenFileName(parent, "Play a recorded video", folder,
                                       f"Videos ({patterns});;All files (*)")[0]


def open_checkpoint(parent: QWidget | None, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "Choose a checkpoint", folder, CHECKPOINT_FILTER)
    return path


def save_csv(parent: QWidget | None, folder: str) -> str:
    path, _ = QFileDialog.getSaveFileName(parent, "Export results", folder, "CSV files (*.csv)")
    if path and not path.lower().endswith(".csv"):
        path += ".csv"
    return path


def choose_project_folder(parent: QWidget | None, folder: str, new: bool) -> str:
    """A project folder to open, or (`new`) the name of a folder to make for a new project: a folder
    dialog answers "Directory not found" to a name that does not exist yet, so a new project is named in
    a save dialog, where the typed name is the folder to be made."""
    if not new:
        return QFileDialog.getExistingDirectory(parent, "Open a project folder", folder)
    dialog = QFileDialog(parent, "Name the new project's folder (it is made for you)", folder)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    dialog.setLabelText(QFileDialog.DialogLabel.FileName, "Project folder:")
    dialog.setLabelText(QFileDialog.DialogLabel.Accept, "Create")
    dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)  # an existing empty folder may be chosen
    if not dialog.exec():
        return ""
    chosen = dialog.selectedFiles()
    return chosen[0] if chosen else ""


def open_csv(parent: QWidget | None, folder: str) -> str:
    path, _ = QFileDialog.getOpenFileName(parent, "A CSV of path,label rows", folder,
                                          "CSV files (*.csv);;All files (*)")
    return path


def ask_text(parent: QWidget | None, title: str, label: str, text: str = "") -> str | None:
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getText(parent, title, label, text=text)
    return value.strip() if ok and value.strip() else None


def ask_choice(parent: QWidget | None, title: str, label: str, items: list[str]) -> str | None:
    from PySide6.QtWidgets import QInputDialog

    value, ok = QInputDialog.getItem(parent, title, label, items, 0, False)
    return value if ok else None


def ask_yes(parent: QWidget | None, title: str, text: str, yes: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, title, text, QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    confirm = box.addButton(yes, QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    return box.clickedButton() is confirm


def ask_colour(parent: QWidget | None, current: str) -> str | None:
    from PySide6.QtGui import QColor
    from PySide6.QtWidgets import QColorDialog

    colour = QColorDialog.getColor(QColor(current), parent, "Class colour")
    return colour.name() if colour.isValid() else None


def ask_sort(parent: QWidget | None, out: str, counts: dict[str, int], missing: int) -> str | None:
    """The counts a sort would make, before anything is copied: 'copy', 'move' or None."""
    lines = "\n".join(f"  {name}: {count}" for name, count in counts.items())
    extra = f"\n\n{missing} missing picture(s) will be passed over." if missing else ""
    if counts.get("_unfamiliar"):
        extra += ("\n\n_unfamiliar: pictures unlike anything the model was trained on; its guess for them is "
                  "not to be trusted.")
    box = QMessageBox(QMessageBox.Icon.Question, "Sort into folders",
                      f"Into {out}:\n\n{lines}{extra}\n\nNothing there is overwritten: a name that is taken gets a "
                      "suffix, and a log of what went where is written beside the folders.",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    copy = box.addButton("Copy", QMessageBox.ButtonRole.AcceptRole)
    move = box.addButton("Move", QMessageBox.ButtonRole.DestructiveRole)
    box.addButton("Cancel", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(copy)
    box.exec()
    return {copy: "copy", move: "move"}.get(box.clickedButton())


def show_check(parent: QWidget | None, advice: list[str], page: str, looked: str) -> None:
    """What the check of the data found, one sentence a kind, and a button that opens its page."""
    box = QMessageBox(QMessageBox.Icon.Information, "Check of the data",
                      "\n\n".join(advice) + f"\n\n{looked.strip()}\n\nThe pictures of every finding are in {page}.",
                      QMessageBox.StandardButton.NoButton, parent)
    box.setTextFormat(Qt.TextFormat.PlainText)
    open_page = box.addButton("Open the report", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Close", QMessageBox.ButtonRole.RejectRole)
    box.exec()
    if box.clickedButton() is open_page:
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices

        QDesktopServices.openUrl(QUrl.fromLocalFile(page))
