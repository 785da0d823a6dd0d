"""How good a loaded model is on a labelled folder: accuracy, per-class figures, curves, mistakes.

It takes a `ModelBundle` the caller already holds (the command line loads
one from a file; the window passes the model it is showing, ImageNet
weights included), so nothing is read twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import torch

from resnet_gui.core.errors import UserError
from resnet_gui.core.evaluation.metrics import confusion_matrix, one_vs_rest, summarize
from resnet_gui.core.evaluation.report import thumbnail_data_uri
from resnet_gui.core.images.folders import scan_class_folder
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.class_names import default_class_names
from resnet_gui.core.models.resnets import ModelBundle


def evaluate_model(
    bundle: ModelBundle,
    data_dir: str | os.PathLike,
    *,
    device: str = "auto",
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    thumbnails: int = 128,
    amp: bool = True,
    tta: str | None = None,
) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix on a class folder.

    The folder's subfolders are matched to the model's classes by name; a
    subfolder the model does not know is an error, not a silent zero.
    `cancelled` is checked between batches; a cancelled run raises InterruptedError.
    `tta`: test-time augmentation (core/inference/tta.py); the figures are with it, and `report["tta"]` holds the
    accuracy of the centre crop alone from the same pass. Pictures past the model's familiarity threshold
    are counted in `report["unfamiliar"]` (None when the model has no fit).
    """
    scan = scan_class_folder(data_dir, min_classes=1)
    notes = []
    if bundle.classes == default_class_names(len(bundle.classes)) and len(scan.classes) == len(bundle.classes):
        # A file without class names, trained on a folder like this one: torchvision's ImageFolder numbered
        # the classes in the sorted order of their folders, so that order is what the outputs mean.
        bundle = replace(bundle, classes=list(scan.classes))
        notes.append(f"The model does not name its classes; its {len(scan.classes)} outputs were taken to be the "
                     f"folder's classes in sorted order ({', '.join(scan.classes)}), as torchvision's ImageFolder "
                     "numbers them.")
    unknown = [c for c in scan.classes if c not in bundle.classes]
    if unknown:
        raise UserError(
            f"The folder has classes the model does not know: {', '.join(unknown)}. "
            f"The model's classes are: {', '.join(bundle.classes)}."
        )
    samples = scan.train + (scan.val or [])
    truth = [bundle.classes.index(scan.classes[label]) for _, label in samples]
    num_classes = len(bundle.classes)
    predictor = Predictor(bundle, device=device, batch_size=batch_size, top_k=num_classes,
                          thumbnail_size=thumbnails, amp=amp, tta=tta)
    predicted, targets, probabilities, failed, mistakes, items = [], [], [], [], [], []
    right_without_tta = unfamiliar = 0
    done = 0
    for batch in predictor.predict([p for p, _ in samples], cancelled=cancelled):
        for prediction in batch:
            if prediction.ok:
                probs = [0.0] * num_classes
                for guess in prediction.top_k:
                    probs[guess.index] = guess.prob
                probabilities.append(probs)
                predicted.append(prediction.best.index)
                targets.append(truth[done])
                right = prediction.best.index == truth[done]
                if prediction.without_tta is not None:
                    right_without_tta += prediction.without_tta.index == truth[done]
                unfamiliar += prediction.unfamiliar
                items.append({"path": prediction.path, "true": bundle.classes[truth[done]],
                              "predicted": prediction.best.label, "confidence": prediction.best.prob,
                              "unfamiliar": prediction.unfamiliar})
                if not right:
                    mistakes.append({**items[-1], "thumbnail": thumbnail_data_uri(prediction.thumbnail)
                                     if prediction.thumbnail is not None else None})
            else:
                failed.append((prediction.path, prediction.error))
            done += 1
        if progress is not None:
            progress(done, len(samples))
    if cancelled is not None and cancelled():
        raise InterruptedError("evaluation cancelled")
    if not targets:
        raise UserError("None of the images in the folder could be read.")
    matrix = confusion_matrix(torch.tensor(targets), torch.tensor(predicted), num_classes)
    report = summarize(matrix, bundle.classes)
    report.update(one_vs_rest(probabilities, targets, bundle.classes))
    report["skipped"] = [{"path": p, "error": e} for p, e in failed]  # could not be read: exit status 1
    report["passed_over"] = [{"path": p, "reason": r} for p, r in scan.skipped]  # not pictures, links, hidden
    report["checkpoint"] = bundle.source
    report["notes"] = notes
    absent = [c for c in bundle.classes if c not in scan.classes]
    if absent:
        notes.append(f"The folder has no pictures of {', '.join(absent)}: their recall and F1 are n/a.")
    report["data_dir"] = str(data_dir)
    report["unfamiliar"] = unfamiliar if predictor.familiarity is not None else None
    report["tta"] = ({"mode": predictor.tta, "accuracy": report["accuracy"],
                      "accuracy_without": right_without_tta / len(targets)} if predictor.tta else None)
    report["mistakes"] = mistakes
    report["items"] = items  # every classified file: what the window shows behind a matrix cell
    return report
