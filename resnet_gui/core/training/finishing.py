"""Finishing the best model of a run: its confidence calibrated (temperature), what the training pictures
look like (the familiarity fit) and golden samples, written into its checkpoint."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from resnet_gui.core.images.datasets import SampleDataset
from resnet_gui.core.images.transforms import decode_transform, normalize_batch
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.core.models.resnets import build_model
from resnet_gui.core.training.loop import ValidationPass, evaluate
from resnet_gui.core.training.saver import BestEpoch
from resnet_gui.core.training.setup import PreparedRun
from resnet_gui.core.trust.calibration import calibrate
from resnet_gui.core.trust.familiarity import DEFAULT_METHOD as DEFAULT_FAMILIARITY
from resnet_gui.core.trust.familiarity import MAX_FIT_PICTURES, capture_features, fit_familiarity
from resnet_gui.core.trust.golden import make_golden


class FinishingSkipped(Exception):
    """The user chose not to wait for the best model's finishing steps."""


def finish_best(best_path: Path, best: BestEpoch, run: PreparedRun, *, emit: Callable[..., None],
                skipped: Callable[[], bool]) -> dict[str, Any]:
    """Fit the temperature and the familiarity threshold, and keep golden samples, in the best checkpoint.
    `skipped` is polled between batches: when it turns true, FinishingSkipped is raised and the checkpoint the
    epoch wrote stays as it is.

    The best epoch's own validation pass is reused where the run kept it (not after a resume that never
    improved), and the model runs as it classifies (the run's precision and memory layout), so that the
    finishing costs a few percent of a short run (benchmarks/small_pictures.py)."""
    check_skip = _skip_check(skipped)
    f = best.fields
    model = build_model(f["arch"], len(f["classes"]), small_input=f["small_input"], stem=f.get("stem"))
    model.load_state_dict(best.state)
    model = model.to(run.policy.device).eval()
    if run.policy.channels_last:
        model = model.to(memory_format=torch.channels_last)
    seen = best.validation if isinstance(best.validation, ValidationPass) else None
    if seen is None:
        check_skip()
        seen = evaluate(run, keep=True, model=model)["pass"]
    # made under inference mode, which autograd (the temperature's fit) cannot use: copies outside it
    logits, labels, features = seen.logits.clone(), seen.labels.clone(), seen.features.clone()
    calibration = calibrate(logits, labels)
    check_skip()
    emit("on_status", "Finishing the best model: learning what the training pictures look like…")
    familiarity = _fit_familiarity(model, run, logits, features, check_skip)
    check_skip()
    golden = make_golden(model.to(memory_format=torch.contiguous_format), seen.golden_inputs, run.prep)
    write_checkpoint(best_path, checkpoint_payload(model=model, **f, temperature=calibration["temperature"],
                                                   calibration=calibration, golden=golden,
                                                   familiarity=familiarity))
    calibration["unfamiliar"] = {"method": familiarity["method"], "threshold": familiarity["threshold"]}
    return calibration


def _fit_familiarity(model: nn.Module, run: PreparedRun, val_logits: torch.Tensor, val_features: torch.Tensor,
                     check_skip: Callable[[], None]) -> dict[str, Any]:
    """The out-of-distribution score, from the training pictures seen without augmentation (at most
    MAX_FIT_PICTURES, spread evenly) and a threshold from validation (core/trust/familiarity.py)."""
    train_features = train_labels = None
    if DEFAULT_FAMILIARITY == "mahalanobis":
        samples = fit_samples(run.data.train)
        dataset = SampleDataset(samples, decode_transform(run.prep))
        loader = DataLoader(dataset, batch_size=run.val_loader.batch_size, shuffle=False,
                            num_workers=run.val_loader.num_workers)
        labels = []
        policy = run.policy
        with torch.inference_mode(), capture_features(model) as pooled:
            for images, target in loader:
                check_skip()
                x = normalize_batch(images.to(policy.device), run.prep)
                if policy.channels_last:
                    x = x.contiguous(memory_format=torch.channels_last)
                with policy.autocast():
                    model(x)
                labels.append(target)
            train_features = torch.cat([p.cpu() for p in pooled])
        train_labels = torch.cat(labels)
    return fit_familiarity(DEFAULT_FAMILIARITY, val_logits=val_logits, val_features=val_features,
                           train_features=train_features, train_labels=train_labels,
                           num_classes=len(run.data.classes))


def fit_samples(samples: list, most: int = MAX_FIT_PICTURES) -> list:
    """At most `most` of `samples`, spread evenly over the list (which is in class order, so over the
    classes too)."""
    if len(samples) <= most:
        return list(samples)
    return [samples[i * len(samples) // most] for i in range(most)]


def _skip_check(skipped: Callable[[], bool]) -> Callable[[], None]:
    def check() -> None:
        if skipped():
            raise FinishingSkipped

    return check
