"""A model card: what a checkpoint is, what it was trained on, how well it did, and how to use it, in Markdown.

`resnet-gui info --card` prints it, and a bioimage.io package carries it as
its documentation page. Everything in it is read from the checkpoint; nothing
is asked of the user. Local folder paths are reduced to their names: a card
is made to be shared.
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from resnet_gui.core.models.architectures import architecture
from resnet_gui.core.models.resnets import ModelBundle, count_parameters
from resnet_gui.core.models.stems import stem
from resnet_gui.core.summaries import describe_familiarity, describe_threshold

RESNET_PAPER = "He, Zhang, Ren and Sun, Deep Residual Learning for Image Recognition, CVPR 2016"
RESNET_DOI = "10.1109/CVPR.2016.90"


def model_name(bundle: ModelBundle) -> str:
    return Path(bundle.source).stem if bundle.checkpoint is not None else bundle.arch


def one_line(bundle: ModelBundle) -> str:
    classes = ", ".join(markdown_text(c) for c in bundle.classes[:6]) + (
        f" and {len(bundle.classes) - 6} more" if len(bundle.classes) > 6 else "")
    return (f"A {architecture(bundle.arch).title} that sorts {bundle.preprocessing.image_size} px RGB pictures "
            f"into {len(bundle.classes)} classes ({classes}), trained with resnet-gui.")


def data_summary(bundle: ModelBundle) -> dict[str, Any]:
    """Pictures and classes the model was trained and validated on, as far as the checkpoint records them."""
    contents = bundle.checkpoint
    metrics = contents.metrics if contents is not None else {}
    train = contents.train if contents is not None else {}
    matrix = metrics.get("confusion_matrix") or []
    per_class = {name: sum(row) for name, row in zip(bundle.classes, matrix, strict=False)} if matrix else {}
    return {
        "train_pictures": metrics.get("train_samples"),
        "val_pictures": metrics.get("val_samples"),
        "val_per_class": per_class,
        "folder": Path(train["data_dir"]).name if train.get("data_dir") else None,
        "val_folder": Path(train["val_dir"]).name if train.get("val_dir") else None,
    }


def model_card(bundle: ModelBundle) -> str:
    contents = bundle.checkpoint
    spec = architecture(bundle.arch)
    prep = bundle.preprocessing
    train = contents.train if contents is not None else {}
    metrics = contents.metrics if contents is not None else {}
    calibration = contents.extra.get("calibration") or {} if contents is not None else {}
    data = data_summary(bundle)
    lines = [f"# {markdown_text(model_name(bundle))}", "", one_line(bundle), ""]

    lines += ["## Model", "",
              f"- Architecture: {spec.title} (`{bundle.arch}`, torchvision), {count_parameters(bundle.model):,} "
              "parameters",
              f"- Stem: {stem(bundle.stem).technical}",
              f"- Input: RGB, shorter side resized to {prep.resize} px (bilinear, antialiased), centre crop "
              f"{prep.image_size} x {prep.image_size}, scaled to 0..1, minus mean {_three(prep.mean)}, divided by "
              f"std {_three(prep.std)}",
              f"- Output: {len(bundle.classes)} logits; probabilities are softmax(logits / {bundle.temperature:.4g})"
              " (the calibrated temperature)", ""]
    int8 = contents.extra.get("int8") if contents is not None else None
    if int8:
        lines += _int8_lines(int8)

    lines += ["## Classes", "", "| # | class | validation pictures |", "|---|---|---|"]
    for index, name in enumerate(bundle.classes):
        lines.append(f"| {index} | {_cell(name)} | {data['val_per_class'].get(name, '')} |")
    lines.append("")

    lines += ["## Training data", ""]
    if data["train_pictures"] is not None:
        where = f" from the folder {markdown_text(data['folder'])}" if data["folder"] else ""
        held = (f"the separate folder {markdown_text(data['val_folder'])}" if data["val_folder"]
                else f"{train.get('val_split', 0.2):.0%} held out of the same folder")
        lines.append(f"- {data['train_pictures']} training pictures{where}; {data['val_pictures']} validation "
                     f"pictures ({held})")
    else:
        lines.append("- Not recorded in this file.")
    if train:
        start = {"none": "a random start", "imagenet": "ImageNet weights"}.get(train.get("weights"),
                                                                               "the weights of another checkpoint")
        lines.append(f"- Trained from {start} for {train.get('epochs')} epochs, the best of them (epoch "
                     f"{metrics.get('epoch', '?')}) kept: "
                     f"{train.get('optimizer')}, learning rate {train.get('lr')}, {train.get('schedule')} schedule, "
                     f"batch {train.get('batch_size')}, augmentation {', '.join(train.get('augment') or []) or 'none'}"
                     f", seed {train.get('seed')}")
    lines.append("")

    lines += ["## Validation", ""]
    if "val_acc" in metrics:
        lines.append(f"- Accuracy on the validation pictures: {metrics['val_acc']:.1%} (epoch {metrics.get('epoch')}, "
                     f"the best epoch; loss {metrics.get('val_loss', float('nan')):.4f})")
        matrix = metrics.get("confusion_matrix") or []
        for name, row in zip(bundle.classes, matrix, strict=False):
            if sum(row):
                lines.append(f"  - {_cell(name)}: recall {row[bundle.classes.index(name)] / sum(row):.1%} "
                             f"of {sum(row)}")
    if calibration:
        before = calibration.get("reliability_before", {}).get("ece")
        after = calibration.get("reliability_after", {}).get("ece")
        ece = f"; expected calibration error {before:.3f} -> {after:.3f}" if before is not None else ""
        lines.append(f"- Calibration: temperature {bundle.temperature:.4g}{ece}; "
                     f"{describe_threshold(bundle.unsure_below)}")
    lines.append(f"- Unfamiliar pictures: {describe_familiarity(bundle.familiarity)}")
    golden = (contents.extra.get("golden") or {}) if contents is not None else {}
    if golden:
        lines.append(f"- {len(golden.get('inputs', []))} golden samples: validation inputs with the outputs they "
                     "gave, to check a copy still answers alike (`resnet-gui info --verify`)")
    lines += ["- To validate on pictures the model never saw: `resnet-gui evaluate TEST_FOLDER --checkpoint "
              f"{Path(bundle.source).name}` (one subfolder per class)", ""]

    lines += ["## Limitations", "",
              f"- It knows only its {len(bundle.classes)} classes: every picture gets one of them. The app marks "
              "pictures unlike the training pictures as unfamiliar; exported weights (ONNX, TorchScript) do not "
              "carry that check.",
              "- Figures come from the validation pictures, which chose the best epoch and the calibration: "
              "expect a little less on new pictures.", ""]
    lines += ["## Reference", "", f"{RESNET_PAPER}. doi:{RESNET_DOI}", ""]
    return "\n".join(lines)


def _int8_lines(int8: dict) -> list[str]:
    """What an INT8 copy's measurements were (core/packaging/int8.py)."""
    accuracy = ""
    if int8.get("float_accuracy") is not None:
        accuracy = (f"; accuracy {int8['int8_accuracy']:.1%} against the float model's {int8['float_accuracy']:.1%}"
                    f" ({100 * (int8['int8_accuracy'] - int8['float_accuracy']):+.1f} points)")
    speed = int8["int8_images_per_second"] / max(int8["float_images_per_second"], 1e-9)
    return ["## INT8 copy", "",
            f"- Quantized to INT8 with NNCF {int8.get('nncf', '')} for OpenVINO {int8.get('openvino', '')}, "
            f"calibrated on {int8['calibration_pictures']} pictures of {markdown_text(int8['source'])}",
            f"- Agrees with the float model on {int8['agreement']:.1%} of {int8['held_out']} other pictures{accuracy}",
            f"- {speed:.1f}x the float model's speed on OpenVINO where it was made; the float weights are kept, and "
            "run where OpenVINO is not installed", ""]


def _three(values) -> str:
    return "(" + ", ".join(f"{v:.3f}" for v in values) + ")"


def _cell(text: str) -> str:
    """A class name as Markdown table text (see markdown_text; a | would split the cell)."""
    return markdown_text(text)


def markdown_text(text: str) -> str:
    """A name (a class, a folder, the model's) as plain text in Markdown: HTML entities, as the HTML report
    escapes, since Markdown passes HTML through (a class named <script> or <img onerror=...> ran in a viewer),
    and a backslash before Markdown's own signs."""
    return re.sub(r"([\\`*_{}\[\]()#+!|~])", r"\\\1", html.escape(str(text), quote=True))
