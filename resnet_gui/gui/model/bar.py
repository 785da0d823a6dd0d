"""Choosing the model: architecture, weights (ImageNet or a checkpoint file); and the run options
(device, top-k, "unsure below"), which are views of the window's one RunOptions."""

from __future__ import annotations

import html
import os

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QDoubleSpinBox, QGridLayout, QGroupBox, QLabel, QSpinBox

from resnet_gui.core.models.architectures import ARCHITECTURES
from resnet_gui.gui.formatting import plain_tooltip
from resnet_gui.gui.model.jobs import ModelChoice
from resnet_gui.gui.widgets import never_widens

IMAGENET = "imagenet"
CHOOSE = "\x00choose"


class ModelBar(QGroupBox):
    """Emits `choice_changed` when the architecture or weights change; shows what was loaded."""

    choice_changed = Signal(object)  # ModelChoice
    choose_checkpoint_requested = Signal()

    def __init__(self, options, parent=None):
        super().__init__("Model", parent)
        self.options = options
        layout = QGridLayout(self)
        self.arch = QComboBox()
        for spec in ARCHITECTURES.values():
            self.arch.addItem(spec.title, spec.name)
        self.weights = QComboBox()
        self.weights.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.weights.setMinimumContentsLength(28)
        self.device = QComboBox()
        self.device.addItem("Auto", "auto")
        self.device.setToolTip("Auto uses a CUDA or Apple GPU when there is one, else the CPU.")
        self.top_k = QSpinBox()
        self.top_k.setRange(1, 10)
        self.top_k.setValue(options.top_k)
        self.top_k.setToolTip("How many classes the chart shows")
        self.unsure = QDoubleSpinBox()
        self.unsure.setRange(0.0, 100.0)
        self.unsure.setDecimals(1)
        self.unsure.setSingleStep(5.0)
        self.unsure.setSuffix("%")
        self.unsure.setSpecialValueText("off")
        self.unsure.setToolTip("Answers below this confidence are reported as 'unsure' (the best guess is kept "
                               "beside it). A trained checkpoint suggests a value from its validation set.")
        self.summary = never_widens(QLabel("Loading PyTorch…"))
        # Two rows, so that the window fits a small screen: the model, then how it is run.
        rows = [[("&Architecture", self.arch), ("&Weights", self.weights)],
                [("&Device", self.device), ("Top-&k", self.top_k), ("&Unsure below", self.unsure)]]
        for row, pairs in enumerate(rows):
            for column, (text, widget) in enumerate(pairs):
                label = QLabel(text)
                label.setBuddy(widget)
                layout.addWidget(label, row, 2 * column)
                wide = widget is self.weights  # the file name takes the rest of its row
                layout.addWidget(widget, row, 2 * column + 1, 1, 4 if wide else 1)
        layout.setColumnStretch(6, 1)
        layout.addWidget(self.summary, 2, 0, 1, 7)
        self._recent: list[str] = []
        self._in_use = IMAGENET
        self._suspend = False
        self.set_recent_checkpoints([])
        self.arch.currentIndexChanged.connect(self._on_arch_changed)
        self.weights.activated.connect(self._on_weights_activated)
        self.top_k.valueChanged.connect(lambda k: setattr(self.options, "top_k", k))
        self.unsure.valueChanged.connect(lambda value: setattr(self.options, "unsure_below", value / 100))
        self.device.currentIndexChanged.connect(self._on_device_changed)
        self._stop_observing = options.observe(self._on_option_changed)
        self._on_option_changed("unsure_below", options.unsure_below)

    # ------------------------------------------------------------ state
    def choice(self) -> ModelChoice:
        weights = self.weights.currentData()
        checkpoint = weights if weights not in (IMAGENET, CHOOSE, None) else None
        return ModelChoice(arch=self.arch.currentData(), checkpoint=checkpoint)

    def set_choice(self, arch: str, checkpoint: str | None, emit: bool = True) -> None:
        """Select `arch` and `checkpoint` (None for ImageNet); emit `choice_changed` once if asked."""
        self._suspend = True
        try:
            index = self.arch.findData(arch)
            if index >= 0:
                self.arch.setCurrentIndex(index)
            if checkpoint:
                if checkpoint not in self._recent:
                    self.set_recent_checkpoints([checkpoint, *self._recent])
                self.weights.setCurrentIndex(self.weights.findData(checkpoint))
            else:
                self.weights.setCurrentIndex(self.weights.findData(IMAGENET))
            self._in_use = checkpoint or IMAGENET
            self.arch.setEnabled(checkpoint is None)
        finally:
            self._suspend = False
        if emit:
            self.choice_changed.emit(self.choice())

    def set_recent_checkpoints(self, paths: list[str]) -> None:
        current = self.weights.currentData()
        self._recent = list(paths)
        self.weights.blockSignals(True)
        self.weights.clear()
        self.weights.addItem("ImageNet (download)", IMAGENET)
        for path in self._recent:
            self.weights.addItem(os.path.basename(path), path)
            self.weights.setItemData(self.weights.count() - 1, plain_tooltip(path), 3)  # Qt.ToolTipRole
        self.weights.addItem("Choose checkpoint file…", CHOOSE)
        index = self.weights.findData(current)
        self.weights.setCurrentIndex(index if index >= 0 and current != CHOOSE else 0)
        self.weights.blockSignals(False)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        """Fill the device list once torch knows what is present; the current option stays chosen if it can."""
        wanted = self.options.device
        self.device.blockSignals(True)
        self.device.clear()
        for spec, name in devices:
            self.device.addItem(name, spec)
        self.device.blockSignals(False)
        index = self.device.findData(wanted)
        self.device.setCurrentIndex(max(0, index))
        self._on_device_changed()

    def device_spec(self) -> str:
        return self.device.currentData() or "auto"

    def _on_device_changed(self) -> None:
        if self.device.count():
            self.options.device = self.device_spec()

    def _on_option_changed(self, name: str, value) -> None:
        if name == "top_k" and self.top_k.value() != value:
            self.top_k.setValue(value)
        elif name == "unsure_below" and abs(self.unsure.value() - (value or 0) * 100) > 1e-6:
            self.unsure.setValue((value or 0) * 100)
        elif name == "device" and self.device.findData(value) >= 0:
            self.device.setCurrentIndex(self.device.findData(value))

    def show_loaded(self, bundle) -> None:
        """Show what the loaded model is: read from the file, not asked of the user."""
        self._suspend = True
        self.arch.setCurrentIndex(self.arch.findData(bundle.arch))
        self._suspend = False
        prep = bundle.preprocessing
        names = ", ".join(html.escape(c) for c in bundle.classes[:6])
        names += f", … ({bundle.num_classes} classes)" if bundle.num_classes > 6 else ""
        stem = ", first layer for small pictures" if bundle.small_input else ""  # the stem, in the Model tab
        calibrated = f" · calibrated (T = {bundle.temperature:.2f})" if bundle.temperature != 1.0 else ""
        self.summary.setStyleSheet("")
        self.summary.setText(
            f"<b>{ARCHITECTURES[bundle.arch].title}</b> · {bundle.num_classes} classes: {names} · "
            f"input {prep.image_size}×{prep.image_size} px{stem}{calibrated}"
        )

    def show_loading(self, text: str = "Loading the model…") -> None:
        self.summary.setStyleSheet("color: #555;")
        self.summary.setText(html.escape(text))

    def show_no_model(self) -> None:
        self.summary.setStyleSheet("color: #555;")
        self.summary.setText("No model yet: choose a checkpoint, train one, or try the example (Help menu).")

    def show_problem(self, text: str) -> None:
        self.summary.setStyleSheet("color: #a01818;")
        self.summary.setText(html.escape(text))  # the sentence may quote a file name

    # ------------------------------------------------------------ slots
    def _on_arch_changed(self) -> None:
        if not self._suspend and self.weights.currentData() == IMAGENET:
            self.choice_changed.emit(self.choice())

    def _on_weights_activated(self, index: int) -> None:
        data = self.weights.itemData(index)
        if data == CHOOSE:
            # Show the weights in use until a file is actually chosen.
            self.weights.setCurrentIndex(max(0, self.weights.findData(self._in_use)))
            self.choose_checkpoint_requested.emit()
            return
        self._in_use = data
        self.arch.setEnabled(data == IMAGENET)
        self.choice_changed.emit(self.choice())
