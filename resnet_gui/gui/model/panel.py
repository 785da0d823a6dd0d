"""The Model tab: what `resnet-gui info` prints, for the model in use."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.models.architectures import ARCHITECTURES
from resnet_gui.core.models.stems import STEMS
from resnet_gui.core.summaries import describe_familiarity, describe_package_checks
from resnet_gui.gui import dialogs
from resnet_gui.gui.jobs.job import Job, describe_error
from resnet_gui.gui.jobs.tasks import Task
from resnet_gui.gui.model.jobs import export_model, make_int8_copy
from resnet_gui.gui.widgets import never_widens

COLUMNS = ("Stage", "Blocks", "Block type", "Output shape", "Parameters")


PACKAGE_TIP = ("A zip the bioimage ecosystem opens (bioimageio.core, ilastik, deepImageJ): TorchScript and ONNX "
               "weights, test pictures, classes, preprocessing and a model card; tested with bioimageio.core "
               "when it is installed")


INT8_TIP = ("A copy for computers without a GPU: quantized to 8-bit integers (OpenVINO and NNCF) on a few hundred of "
            "the pictures it was trained on, about twice as fast as the float model. It is measured on other "
            "pictures and only saved when it agrees with the float model on 98% of them or more.")


def has_golden(bundle) -> bool:
    return bundle.checkpoint is not None and bool(bundle.checkpoint.extra.get("golden"))


class ModelPanel(QWidget):
    error = Signal(str, str)
    status_message = Signal(str)
    exported = Signal(object)  # (model path, sidecar path, golden check), or a bioimage.io package's (path, checks)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bundle = None
        self._ran_with = (None, "")  # (the bundle, the runtime its last classification ran on)
        self.export_task = Task(self, "export")
        self.int8_task = Task(self, "int8")  # its own: an export meanwhile would cancel it
        self.export_buttons = {fmt: QPushButton(text) for fmt, text in
                               (("onnx", "Export as ONNX…"), ("torchscript", "Export as TorchScript…"),
                                ("bioimageio", "bioimage.io package…"))}
        export_row = QHBoxLayout()
        export_row.addWidget(QLabel("Use the model in other programs:"))
        for fmt, button in self.export_buttons.items():
            button.setEnabled(False)
            button.setToolTip("Writes the network and FILE.json beside it (classes, input size, normalisation); "
                              "the file is checked on the model's golden samples and refused if its answers moved")
            button.clicked.connect(lambda checked=False, f=fmt: self.export(f))
            export_row.addWidget(button)
        self.export_buttons["bioimageio"].setToolTip(PACKAGE_TIP)
        export_row.addStretch(1)
        self.int8_button = QPushButton("Make a fast INT8 copy…")
        self.int8_button.setEnabled(False)
        self.int8_button.setToolTip(INT8_TIP)
        self.int8_button.clicked.connect(lambda checked=False: self.make_int8_copy())
        self.int8_note = never_widens(QLabel(""))
        self.int8_note.setTextFormat(Qt.TextFormat.PlainText)  # a folder's name is shown as written
        int8_row = QHBoxLayout()
        int8_row.addWidget(QLabel("On this PC's processor:"))
        int8_row.addWidget(self.int8_button)
        int8_row.addWidget(self.int8_note, 1)
        self.summary = never_widens(QLabel("No model loaded yet."))
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stages = QTableWidget(0, len(COLUMNS))
        self.stages.setHorizontalHeaderLabels(COLUMNS)
        self.stages.verticalHeader().setVisible(False)
        self.stages.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.stages.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.classes = never_widens(QLabel(""))
        self.classes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addLayout(export_row)
        layout.addLayout(int8_row)
        layout.addWidget(self.summary)
        layout.addWidget(self.stages, 1)
        layout.addWidget(self.classes)

    def export(self, fmt: str, path: str | None = None) -> None:
        if self.bundle is None:
            return
        stem = (self.bundle.checkpoint.path.stem if self.bundle.checkpoint is not None else self.bundle.arch)
        suffix = {"onnx": ".onnx", "bioimageio": ".zip"}.get(fmt, ".ts")
        path = path or dialogs.save_export(self, f"{stem}{suffix}", fmt)
        if not path:
            return
        for button in self.export_buttons.values():
            button.setEnabled(False)
        self.status_message.emit(f"Exporting {fmt} to {path} and checking it…")
        self.export_task.start(Job(export_model, self.bundle, fmt, path, torch_needed=True), returned=self._on_exported,
                               errored=self._on_export_failed, finished=self._on_export_finished)

    def make_int8_copy(self, path: str | None = None) -> None:
        """Quantize the model on the pictures it was trained on (or a folder the user chooses when those are not
        here), into a checkpoint beside it; refused with a sentence when its answers move too much."""
        contents = self.bundle.checkpoint if self.bundle is not None else None
        if contents is None:
            return
        folder = contents.train.get("data_dir") or ""
        if not os.path.isdir(folder):
            folder = dialogs.open_folder(self, os.path.dirname(str(contents.path)),
                                         "Choose pictures like the ones it will classify, to calibrate on")
            if not folder:
                return
        path = path or dialogs.save_model(self, str(contents.path.with_name(f"{contents.path.stem}-int8.pt")))
        if not path:
            return
        self.int8_button.setEnabled(False)
        self.int8_note.setText("Making the INT8 copy (a minute or two)…")
        self.int8_task.start(Job(make_int8_copy, self.bundle, path, folder, torch_needed=True),
                             status=self.int8_note.setText, returned=self._on_int8_made, errored=self._on_int8_failed,
                             finished=self._enable_exports)

    def _on_int8_made(self, copy) -> None:
        self.int8_note.setText(f"Saved as {copy.path.name}. {copy.sentence()} Open it to classify with it.")
        self.status_message.emit(f"INT8 copy saved as {copy.path}.")

    def _on_int8_failed(self, exc: BaseException) -> None:
        self.int8_note.setText("")
        self.error.emit("No INT8 copy was saved", describe_error(exc))

    def _on_exported(self, result) -> None:
        if len(result) == 2:  # a bioimage.io package
            self.status_message.emit(f"bioimage.io package written to {result[0]}: "
                                     f"{describe_package_checks(result[1])}.")
            self.exported.emit(result)
            return
        model_path, side, check = result
        checked = (f"checked on the {check['checked_with']}" if check.get("verified")
                   else f"not checked: {check.get('reason')}")
        self.status_message.emit(f"Exported to {model_path} with {side.name} beside it ({checked}).")
        self.exported.emit(result)

    def _on_export_failed(self, exc: BaseException) -> None:
        self.error.emit("The model was not exported", describe_error(exc))

    def _on_export_finished(self) -> None:
        self._enable_exports()

    def _enable_exports(self) -> None:
        for fmt, button in self.export_buttons.items():
            button.setEnabled(self.bundle is not None and (fmt != "bioimageio" or has_golden(self.bundle)))
        contents = self.bundle.checkpoint if self.bundle is not None else None
        copied = contents is not None and bool(contents.extra.get("int8"))
        can_copy = self.bundle is not None and has_golden(self.bundle)
        self.int8_button.setEnabled(can_copy and not copied and not self.int8_task.is_running())
        if copied:
            self.int8_button.setToolTip("This model is an INT8 copy already.")
        elif self.bundle is not None and not can_copy:
            self.int8_button.setToolTip("Needs a checkpoint trained by resnet-gui: its golden samples check the copy "
                                        "each time it opens.")
        else:
            self.int8_button.setToolTip(INT8_TIP)
        self.export_buttons["bioimageio"].setToolTip(
            PACKAGE_TIP if self.bundle is None or has_golden(self.bundle)
            else "Needs a checkpoint trained by resnet-gui: the package's test pictures are its golden samples.")

    def show_runtime(self, summary: dict) -> None:
        """Which runtime ran this model's last classification (a run's summary), in the Model tab."""
        if self.bundle is not None and summary.get("files"):
            self._ran_with = (self.bundle, f"{summary.get('runtime', 'PyTorch')} on {summary.get('device', '?')}")
            self.show_bundle(self.bundle)

    def show_bundle(self, bundle) -> None:
        self.bundle = bundle
        self._enable_exports()
        spec = ARCHITECTURES[bundle.arch]
        prep = bundle.preprocessing
        params = bundle.meta.get("params", 0)
        stem = STEMS[bundle.stem].technical
        lines = [
            f"<h3>{html.escape(spec.title)} <small>({bundle.arch})</small></h3>",
            f"<b>Weights:</b> {html.escape(bundle.source)}",
            f"<b>Stages:</b> {list(spec.layers)} {spec.block} blocks"
            + (f", {spec.groups} groups × {spec.width_per_group} wide" if spec.groups > 1 else "")
            + (f", width {spec.width_per_group}" if spec.groups == 1 and spec.width_per_group != 64 else ""),
            f"<b>Parameters:</b> {params:,}",
            f"<b>Input:</b> {prep.image_size}×{prep.image_size} px after resizing the shorter side to "
            f"{prep.resize} px; {stem}",
            f"<b>Normalisation:</b> mean {tuple(round(v, 3) for v in prep.mean)}, "
            f"std {tuple(round(v, 3) for v in prep.std)}",
        ]
        calibrated = bundle.checkpoint is not None and bool(bundle.checkpoint.extra.get("calibration"))
        if calibrated or bundle.temperature != 1.0 or bundle.unsure_below:
            lines.append(f"<b>Calibration:</b> temperature {bundle.temperature:.3f}"
                         + (f", suggested 'unsure' below {bundle.unsure_below:.1%}" if bundle.unsure_below else ""))
        if bundle.checkpoint is not None:
            familiarity = describe_familiarity(bundle.familiarity)
            lines.append(f"<b>Unfamiliar pictures:</b> {html.escape(familiarity[0].upper() + familiarity[1:])}")
        int8 = bundle.checkpoint.extra.get("int8") if bundle.checkpoint is not None else None
        if int8:
            lines.append(f"<b>INT8 copy:</b> agreed with the float model on {int8['agreement']:.1%} of "
                         f"{int8['held_out']} pictures it was not calibrated on; it runs with OpenVINO, and its "
                         "float weights where OpenVINO is not installed")
        ran = self._ran_with
        lines.append("<b>Runs with:</b> " + (f"{html.escape(ran[1])}, in its last classification" if ran[0] is bundle
                     else "decided when it first classifies: on a CPU, OpenVINO where installed and its answers "
                          "agree, else PyTorch (Options › Runtime on a CPU)"))
        metrics = bundle.checkpoint.metrics if bundle.checkpoint is not None else {}
        if "val_acc" in metrics:
            lines.append(f"<b>Validation accuracy when saved:</b> {metrics['val_acc']:.1%} "
                         f"(epoch {metrics.get('epoch', '?')})")
        self.summary.setText("<br>".join(lines))
        rows = bundle.meta.get("stages", [])
        self.stages.setRowCount(len(rows))
        for r, row in enumerate(rows):
            values = (row.name, str(row.blocks or ""), spec.block if row.blocks else "",
                      " × ".join(str(d) for d in row.output_shape), f"{row.params:,}")
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                if c in (1, 4):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.stages.setItem(r, c, item)
        names = ", ".join(html.escape(c) for c in bundle.classes[:60])
        more = f", … ({bundle.num_classes} in all)" if bundle.num_classes > 60 else ""
        self.classes.setText(f"<b>{bundle.num_classes} classes:</b> {names}{more}")
