"""The Train tab's settings: the basic ones a non-expert can keep as they are, the advanced ones folded.
The form has no defaults of its own: it shows a TrainSettings, and gives one back."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from resnet_gui.core.models.architectures import ARCHITECTURES
from resnet_gui.core.models.files import WINDOW_MODEL_FILE
from resnet_gui.core.models.stems import IMAGENET_STEM, POOLED_STEM, SMALL_STEM
from resnet_gui.core.training.settings import (
    AUGMENTATIONS,
    DEFAULT_MINUTES,
    MAX_BUDGET_EPOCHS,
    MAX_MINUTES,
    SWEEP_STEPS,
    TrainSettings,
)
from resnet_gui.core.values import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE
from resnet_gui.gui import dialogs
from resnet_gui.gui.train.augment_preview import AugmentPreview

AUTO_SIZE = MIN_IMAGE_SIZE - 1  # the image-size box's "from the pictures"


class TrainForm(QWidget):
    """The settings column of the Train tab. Device and precision are the window's options (shared with the
    other tabs): shown and changed here too."""

    def __init__(self, settings, options, parent=None):
        super().__init__(parent)
        self.settings = settings  # the window's remembered folders
        self.options = options
        self._build()
        self.show_settings(TrainSettings())
        options.observe(self._on_option_changed)

    def _build(self) -> None:
        # Basic settings a non-expert can keep as they are.
        self.arch = QComboBox()
        for spec in ARCHITECTURES.values():
            self.arch.addItem(spec.title, spec.name)
        self.weights = QComboBox()
        self.weights.addItem("ImageNet (download)", "imagenet")
        self.weights.addItem("None (random start)", "none")
        self.weights.addItem("Checkpoint file…", "choose")
        self.weights.activated.connect(self._on_weights_activated)
        self.epochs = _spin(1, MAX_BUDGET_EPOCHS)
        self.minutes = QDoubleSpinBox()
        self.minutes.setDecimals(1)
        self.minutes.setRange(0.1, MAX_MINUTES)
        self.minutes.setValue(DEFAULT_MINUTES)
        self.minutes.setToolTip("About how long the whole run takes, reading the pictures and finishing the model "
                                "included: the number of epochs is chosen from the pace of its first batches.")
        self.length_unit = _combo([("epochs", "epochs"), ("minutes", "minutes")])
        self.length_unit.setToolTip("Train for a number of passes over your pictures (epochs), or for about a "
                                    "number of minutes")
        self.length_unit.currentIndexChanged.connect(self._on_length_unit_chosen)
        length_row = QHBoxLayout()
        length_row.setContentsMargins(0, 0, 0, 0)
        length_row.addWidget(self.epochs, 1)
        length_row.addWidget(self.minutes, 1)
        length_row.addWidget(self.length_unit)
        self.batch_size = _spin(1, 1024)
        self.lr = QDoubleSpinBox()
        self.lr.setDecimals(5)
        self.lr.setRange(0.00001, 1.0)
        self.lr.setSingleStep(0.0005)
        self.find_lr_button = QPushButton("Find…")
        self.find_lr_button.setToolTip(f"Try rates from 1e-7 to 10 over about {SWEEP_STEPS} batches, plot the loss, "
                                       "and put the suggested rate here (the model starts afresh afterwards)")
        lr_row = QHBoxLayout()
        lr_row.setContentsMargins(0, 0, 0, 0)
        lr_row.addWidget(self.lr, 1)
        lr_row.addWidget(self.find_lr_button)
        self.image_size = _spin(AUTO_SIZE, MAX_IMAGE_SIZE)
        self.image_size.setSpecialValueText("from the pictures")
        self.image_size.setToolTip("The input size. 'From the pictures': their typical size, 32 to 224 px.")
        basic = QGroupBox("Settings")
        form = QFormLayout(basic)
        form.addRow("Architecture", self.arch)
        form.addRow("Start from", self.weights)
        form.addRow("Train for", length_row)
        form.addRow("Batch size", self.batch_size)
        form.addRow("Learning rate", lr_row)
        form.addRow("Image size (px)", self.image_size)

        # Advanced settings, folded until asked for.
        self.advanced = QToolButton()
        self.advanced.setText("Advanced settings")
        self.advanced.setCheckable(True)
        self.advanced.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.advanced.setArrowType(Qt.ArrowType.RightArrow)
        self.advanced.setAutoRaise(True)
        self.advanced_body = QGroupBox()
        adv = QFormLayout(self.advanced_body)
        self.optimizer = _combo([("AdamW", "adamw"), ("SGD with momentum", "sgd")])
        self.schedule = _combo([("One cycle", "onecycle"), ("Cosine", "cosine"), ("Step (÷10 twice)", "step"),
                                ("Constant", "constant")])
        self.schedule.setToolTip("One cycle: the rate rises over the first quarter, then falls to almost 0, as "
                                 "fastai's fit_one_cycle. Cosine: a short warm-up, then a cosine decay.")
        self.crop_scale = QDoubleSpinBox()
        self.crop_scale.setRange(0.05, 1.0)
        self.crop_scale.setSingleStep(0.05)
        self.crop_scale.setToolTip("With the random resized crop: the smallest share of the picture a crop keeps. "
                                   "Lower is stronger augmentation, which pays only in long runs.")
        self.freeze = QCheckBox("Train the last layer only")
        self.freeze.setToolTip("Freeze the backbone (its BatchNorm statistics too) and train only the classifier: "
                               "fast, and enough when your pictures look like photographs.")
        self.stem = QComboBox()
        for text, name in STEM_CHOICES:
            self.stem.addItem(text, name)
        # as narrow as the other boxes: the open list shows the longer names whole
        self.stem.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.stem.setMinimumContentsLength(16)
        self.stem.setToolTip("The network's first layer (its stem), which decides how much of a picture's detail "
                             "reaches the rest, and the time each epoch takes. By picture size: the ImageNet stem "
                             "from 64 px, the pooled small-input stem (3x3, then a max-pool) from 32 px, the "
                             "small-input stem (3x3, no max-pool) below: the rule the command line follows too.")
        self.augment = {name: QCheckBox(text) for name, text in AUGMENTATIONS.items()}
        augment_box = QWidget()
        augment_grid = QGridLayout(augment_box)
        augment_grid.setContentsMargins(0, 0, 0, 0)
        for i, box in enumerate(self.augment.values()):
            augment_grid.addWidget(box, i // 2, i % 2)
        self.augment["crop"].toggled.connect(lambda on: self.crop_scale.setEnabled(on))
        self.augment_preview = AugmentPreview(self)
        self.label_smoothing = QDoubleSpinBox()
        self.label_smoothing.setRange(0.0, 0.5)
        self.label_smoothing.setSingleStep(0.05)
        self.balance = _combo([("None", "none"), ("Class-weighted loss", "loss"), ("Balanced sampling", "sampler")])
        self.val_split = QDoubleSpinBox()
        self.val_split.setRange(0.05, 0.5)
        self.val_split.setSingleStep(0.05)
        self.patience = _spin(0, 1000)
        self.patience.setSpecialValueText("off")
        self.seed = _spin(0, 2**31 - 1)
        self.device = QComboBox()
        self.device.addItem("Auto", "auto")
        self.device.setToolTip("The same device as the Classify tab's: changing one changes both.")
        self.device.currentIndexChanged.connect(self._on_device_chosen)
        self.amp = QCheckBox("Mixed precision")
        self.amp.setToolTip("16-bit arithmetic on a GPU, or on a CPU that computes bfloat16 in hardware: about "
                            "twice as fast. Off: full 32-bit precision everywhere. The same switch as "
                            "Options › Mixed precision.")
        self.amp.setChecked(self.options.amp)
        self.amp.toggled.connect(lambda on: setattr(self.options, "amp", on))
        self.out = QLineEdit(str(Path.home() / WINDOW_MODEL_FILE))
        for label, widget in [
            ("Optimizer", self.optimizer), ("Schedule", self.schedule), ("", self.freeze), ("First layer", self.stem),
            ("Augmentation", augment_box), ("Crop keeps at least", self.crop_scale),
            ("What it makes", self.augment_preview),
            ("Label smoothing", self.label_smoothing), ("Imbalance", self.balance),
            ("Validation share", self.val_split), ("Early stopping patience", self.patience), ("Seed", self.seed),
            ("Device", self.device), ("", self.amp), ("Save best model to", self.out),
        ]:
            adv.addRow(label, widget)
        self.advanced_body.setVisible(False)
        self.advanced.toggled.connect(self._on_advanced_toggled)
        self.augment_preview.form_ready()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(basic)
        layout.addWidget(self.advanced)
        layout.addWidget(self.advanced_body)

    def show_settings(self, d: TrainSettings) -> None:
        """Show `d`'s values: the form never has defaults of its own (TrainSettings owns them)."""
        self.arch.setCurrentIndex(self.arch.findData(d.arch))
        self.weights.setCurrentIndex(max(0, self.weights.findData(d.weights)))
        self.epochs.setValue(d.epochs)
        if d.minutes:
            self.minutes.setValue(d.minutes)
        self.length_unit.setCurrentIndex(self.length_unit.findData("minutes" if d.minutes else "epochs"))
        self._on_length_unit_chosen()
        self.batch_size.setValue(d.batch_size)
        self.lr.setValue(d.lr)
        self.stem.setCurrentIndex(max(0, self.stem.findData(d.stem_choice or AUTO_STEM)))
        self.image_size.setValue(d.image_size or AUTO_SIZE)
        self.optimizer.setCurrentIndex(self.optimizer.findData(d.optimizer))
        self.schedule.setCurrentIndex(self.schedule.findData(d.schedule))
        self.freeze.setChecked(d.freeze_backbone)
        for name, box in self.augment.items():
            box.setChecked(name in d.augment)
        self.crop_scale.setValue(d.crop_scale)
        self.crop_scale.setEnabled("crop" in d.augment)
        self.label_smoothing.setValue(d.label_smoothing)
        self.balance.setCurrentIndex(self.balance.findData(d.balance))
        self.val_split.setValue(d.val_split)
        self.patience.setValue(d.patience)
        self.seed.setValue(d.seed)

    def _on_device_chosen(self) -> None:
        if self.device.count() and self.device.currentData():
            self.options.device = self.device.currentData()

    def _on_option_changed(self, name: str, value) -> None:
        if name == "amp" and self.amp.isChecked() != value:
            self.amp.setChecked(value)
        elif name == "device" and self.device.findData(value) >= 0:
            self.device.setCurrentIndex(self.device.findData(value))

    def _on_length_unit_chosen(self, *_) -> None:
        in_minutes = self.length_unit.currentData() == "minutes"
        self.minutes.setVisible(in_minutes)
        self.epochs.setVisible(not in_minutes)

    def _on_advanced_toggled(self, shown: bool) -> None:
        self.advanced_body.setVisible(shown)
        self.advanced.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _on_weights_activated(self, index: int) -> None:
        if self.weights.itemData(index) != "choose":
            return
        path = dialogs.open_checkpoint(self, self.settings.get("files/last_folder"))
        if path:
            self.set_start_weights(path)
        else:
            self.weights.setCurrentIndex(0)

    def set_start_weights(self, weights: str) -> None:
        index = self.weights.findData(weights)
        if index < 0:
            self.weights.insertItem(2, os.path.basename(weights), weights)
            index = 2
        self.weights.setCurrentIndex(index)

    def set_devices(self, devices: list[tuple[str, str]]) -> None:
        self.device.blockSignals(True)
        self.device.clear()
        for spec, name in devices:
            self.device.addItem(name, spec)
        self.device.setCurrentIndex(max(0, self.device.findData(self.options.device)))
        self.device.blockSignals(False)

    def train_settings(self, data_dir: str) -> TrainSettings:
        """What the form says, for a run on `data_dir`: the user's intent, as TrainSettings holds it."""
        return TrainSettings(
            data_dir=data_dir, val_split=self.val_split.value(), arch=self.arch.currentData(),
            weights=self.weights.currentData(), freeze_backbone=self.freeze.isChecked(),
            epochs=self.epochs.value(),
            minutes=self.minutes.value() if self.length_unit.currentData() == "minutes" else None,
            batch_size=self.batch_size.value(), lr=self.lr.value(),
            optimizer=self.optimizer.currentData(), schedule=self.schedule.currentData(),
            image_size=None if self.image_size.value() == AUTO_SIZE else self.image_size.value(),
            stem=None if self.stem.currentData() == AUTO_STEM else self.stem.currentData(),
            augment=[name for name, box in self.augment.items() if box.isChecked()],
            crop_scale=self.crop_scale.value(),
            label_smoothing=self.label_smoothing.value(), balance=self.balance.currentData(),
            seed=self.seed.value(), device=self.options.device, amp=self.options.amp,
            patience=self.patience.value(), out=self.out.text() or None,
        )


AUTO_STEM = "auto"
# What the First layer box offers: the rule, then each stem (core/models/stems.py) in plain words.
STEM_CHOICES = (("By picture size", AUTO_STEM),
                ("For photographs (ImageNet stem)", IMAGENET_STEM),
                ("Small pictures, halved (pooled stem)", POOLED_STEM),
                ("Small pictures, every pixel (small-input stem)", SMALL_STEM))


def _spin(low: int, high: int) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low, high)
    return box


def _combo(items: list[tuple[str, str]]) -> QComboBox:
    box = QComboBox()
    for text, data in items:
        box.addItem(text, data)
    return box
