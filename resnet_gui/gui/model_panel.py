"""The Model tab: what `resnet-gui info` prints, for the model in use."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from resnet_gui.core.architectures import ARCHITECTURES

COLUMNS = ("Stage", "Blocks", "Block type", "Output shape", "Parameters")


class ModelPanel(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.summary = QLabel("No model loaded yet.")
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.stages = QTableWidget(0, len(COLUMNS))
        self.stages.setHorizontalHeaderLabels(COLUMNS)
        self.stages.verticalHeader().setVisible(False)
        self.stages.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.stages.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.classes = QLabel("")
        self.classes.setWordWrap(True)
        self.classes.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.stages, 1)
        layout.addWidget(self.classes)

    def show_bundle(self, bundle) -> None:
        spec = ARCHITECTURES[bundle.arch]
        prep = bundle.preprocessing
        params = bundle.meta.get("params", 0)
        stem = "small-input stem (3×3 convolution, no max-pool)" if bundle.small_input else \
            "ImageNet stem (7×7/2 convolution + max-pool)"
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
        if bundle.temperature != 1.0 or bundle.unsure_below:
            lines.append(f"<b>Calibration:</b> temperature {bundle.temperature:.3f}"
                         + (f", suggested 'unsure' below {bundle.unsure_below:.1%}" if bundle.unsure_below else ""))
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
