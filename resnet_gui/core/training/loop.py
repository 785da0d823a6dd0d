"""The epoch loop of a training run, as torchvision's reference recipe has it: `train_one_epoch`, then
`evaluate` under inference mode, then the checkpoints; plain functions over a `PreparedRun`."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from resnet_gui.core.evaluation.metrics import confusion_matrix
from resnet_gui.core.images.transforms import normalize_batch
from resnet_gui.core.training.budget import fit_to_budget
from resnet_gui.core.training.clock import RunClock
from resnet_gui.core.training.events import BatchEvent, EpochEvent
from resnet_gui.core.training.saver import CheckpointSaver
from resnet_gui.core.training.setup import PreparedRun, train_mode
from resnet_gui.core.trust.familiarity import DEFAULT_METHOD as DEFAULT_FAMILIARITY
from resnet_gui.core.trust.familiarity import MAX_FIT_PICTURES, capture_features

GOLDEN_COUNT = 4  # validation inputs kept in the checkpoint to check its outputs later


def train_step(run: PreparedRun, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward, backward and optimizer step on a batch; the loss and the logits."""
    policy = run.policy
    images = images.to(policy.device, non_blocking=policy.pin_memory)
    labels = labels.to(policy.device, non_blocking=policy.pin_memory)
    x = normalize_batch(images, run.prep)
    if policy.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    with policy.autocast():
        logits = run.step_net(x)
        loss = run.criterion(logits, labels)
    run.optimizer.zero_grad(set_to_none=True)
    run.scaler.scale(loss).backward()
    run.scaler.step(run.optimizer)
    run.scaler.update()
    return loss, logits


def train_one_epoch(run: PreparedRun, epoch: int, *, emit: Callable[..., None], cancelled: Callable[[], bool],
                    clock: RunClock | None) -> tuple[float, float, bool]:
    policy, optimizer = run.policy, run.optimizer
    train_mode(run)
    total_loss = torch.zeros((), device=policy.device)
    total_correct = torch.zeros((), device=policy.device, dtype=torch.long)
    seen = 0
    batches = len(run.train_loader)
    rate = 0.0
    tick = time.perf_counter()
    for index, (images, labels) in enumerate(run.train_loader, 1):
        if cancelled():
            return 0.0, 0.0, False
        labels = labels.to(policy.device, non_blocking=policy.pin_memory)
        loss, logits = train_step(run, images, labels)
        run.scheduler.step()
        batch_loss = loss.detach()
        total_loss += batch_loss * labels.size(0)
        total_correct += (logits.argmax(1) == labels).sum()
        seen += labels.size(0)
        now = time.perf_counter()
        if clock is not None and (estimate := clock.batch_done(index, now - tick)) is not None:
            if run.settings.minutes:
                estimate = fit_to_budget(run, clock, index, emit)
            emit("on_estimate", estimate, clock.timed_needed)
        current = labels.size(0) / max(now - tick, 1e-9)
        rate = current if rate == 0 else 0.8 * rate + 0.2 * current
        tick = now
        emit("on_batch_end", BatchEvent(epoch, index, batches, batch_loss.item(),
                                              optimizer.param_groups[0]["lr"], rate))
    seen_t = torch.tensor(float(seen), device=policy.device)
    if run.world.is_distributed:  # the epoch's figures over every process's share
        import torch.distributed as dist

        for value in (total_loss, total_correct, seen_t):
            dist.all_reduce(value)
    seen = max(seen_t.item(), 1)
    return (total_loss / seen).item(), total_correct.item() / seen, True


@dataclass
class ValidationPass:
    """What one validation pass saw, for the finishing of the best epoch (calibration, the familiarity
    threshold, golden samples), so that it need not pass over the validation pictures again."""

    logits: torch.Tensor  # [N, C] float32, as the run's precision computed them
    labels: torch.Tensor  # [N]
    features: torch.Tensor  # [N, D] the pooled features (the input of fc)
    golden_inputs: torch.Tensor  # uint8 [G, 3, S, S]: one picture per class first, as far as it goes


class GoldenPicker:
    """Picks `count` validation inputs to keep as golden samples, batch by batch: one per class first, as
    far as the pass goes, then the first others."""

    def __init__(self, num_classes: int, count: int = GOLDEN_COUNT):
        self.count = count
        self.distinct = min(count, num_classes)  # classes it can find one picture of
        self.chosen: list[torch.Tensor] = []
        self.spare: list[torch.Tensor] = []
        self.classes_seen: set[int] = set()

    def see(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        if len(self.chosen) >= self.distinct and len(self.chosen) + len(self.spare) >= self.count:
            return  # done: no more looking at every picture of every batch
        for image, label in zip(images, labels.tolist(), strict=False):
            if len(self.chosen) < self.count and label not in self.classes_seen:
                self.chosen.append(image.clone())
                self.classes_seen.add(label)
            elif len(self.spare) < self.count:
                self.spare.append(image.clone())

    def inputs(self) -> torch.Tensor:
        return torch.stack((self.chosen + self.spare)[:self.count])


@torch.inference_mode()
def evaluate(run: PreparedRun, keep: bool = False, model: nn.Module | None = None) -> dict[str, Any]:
    """The validation figures of the run's model (or of `model`, in the first process only); with `keep`,
    also the pass itself (under "pass", a ValidationPass)."""
    policy = run.policy
    if model is None and run.world.is_distributed:  # BatchNorm statistics as the first process has them: one model
        import torch.distributed as dist

        for buffer in run.model.buffers():
            dist.broadcast(buffer, 0)
    model = model if model is not None else run.model
    model.eval()
    loss_sum = 0.0
    targets, all_logits, golden = [], [], GoldenPicker(len(run.data.classes))
    with capture_features(model) if keep else contextlib.nullcontext([]) as pooled:
        for images, labels in run.val_loader:
            if keep:
                golden.see(images, labels)
            x = normalize_batch(images.to(policy.device, non_blocking=policy.pin_memory), run.prep)
            if policy.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            labels = labels.to(policy.device)
            with policy.autocast():
                logits = model(x).float()
            loss_sum += nn.functional.cross_entropy(logits, labels, reduction="sum").item()
            targets.append(labels.cpu())
            all_logits.append(logits.cpu())
    target, logits = torch.cat(targets), torch.cat(all_logits)
    matrix = confusion_matrix(target, logits.argmax(1), len(run.data.classes))
    figures = {"loss": loss_sum / max(len(target), 1), "accuracy": matrix.diag().sum().item() / max(len(target), 1),
               "confusion_matrix": matrix.tolist()}
    if keep:
        figures["pass"] = ValidationPass(logits, target, torch.cat([p.cpu() for p in pooled]),
                                         golden.inputs())
    return figures


def one_epoch(run: PreparedRun, saver: CheckpointSaver, epoch: int, history: list[dict[str, Any]], *,
              emit: Callable[..., None], cancelled: Callable[[], bool], clock: RunClock | None) -> str:
    """Train and validate one epoch, save what the policy says; returns "completed" to go on, or why not."""
    emit("on_epoch_start", epoch, run.settings.epochs)
    started = time.perf_counter()
    if run.sampler is not None:
        run.sampler.set_epoch(epoch)  # a different shuffle each epoch, the same in every process
    train_loss, train_acc, finished = train_one_epoch(run, epoch, emit=emit, cancelled=cancelled, clock=clock)
    if not finished:
        return "cancelled"  # the last finished epoch's state is kept; the trainer writes it as it stops
    val = evaluate(run, keep=run.world.is_main)
    metrics = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val["loss"],
               "val_acc": val["accuracy"], "confusion_matrix": val["confusion_matrix"],
               "val_samples": len(run.data.val), "train_samples": len(run.data.train)}
    s = run.settings  # as its first epoch may have chosen the run's length (budget.py)
    improved = saver.is_improvement(val["accuracy"], val["loss"])
    event = EpochEvent(epoch, s.epochs, train_loss, train_acc, val["loss"], val["accuracy"],
                       time.perf_counter() - started, run.optimizer.param_groups[0]["lr"], improved,
                       max(saver.best_acc, val["accuracy"]))
    history.append(event.to_dict())
    fields = dict(arch=s.arch, classes=run.data.classes, small_input=s.small_input, stem=s.stem, preprocessing=run.prep,
                  train=s.to_dict(), metrics=metrics, history=list(history))
    if saver.save_checkpoint(fields, run.model, val["accuracy"], val["loss"], val.get("pass")):
        emit("on_checkpoint", saver.best_path, metrics)
    stopped = "completed"
    if s.patience and saver.since_best >= s.patience:
        stopped = "early_stopping"
    elif cancelled():
        stopped = "cancelled"
    # after the run's last epoch the state is held: the trainer drops it (a run that ended as it should) or
    # writes it (stopped, or --keep-last) as the run ends
    last = stopped != "completed" or epoch >= s.epochs
    saver.save_recovery(fields, run.model, epoch, run.optimizer, run.scheduler, last=last)
    emit("on_epoch_end", event)
    return stopped


def start_clock(run: PreparedRun, epochs: int, started: float) -> RunClock:
    """A clock for the estimate, with the validation pass and the checkpoints timed beforehand (the
    batches are timed as the first epoch runs); `started`: the run's start, on time.perf_counter."""
    # the finishing's familiarity fit (Mahalanobis) looks at up to MAX_FIT_PICTURES training pictures, in
    # validation batches
    fitted = min(len(run.data.train), MAX_FIT_PICTURES) if DEFAULT_FAMILIARITY == "mahalanobis" else 0
    fit_batches = -(-fitted // run.val_loader.batch_size)
    clock = RunClock(epochs, len(run.train_loader), len(run.val_loader), fit_batches=fit_batches)
    if not run.world.is_main:
        clock.seconds_before = time.perf_counter() - started
        return clock
    run.model.eval()
    times = []
    with torch.inference_mode():
        tick = time.perf_counter()
        for index, (images, _) in enumerate(run.val_loader):
            x = normalize_batch(images.to(run.policy.device), run.prep)
            with run.policy.autocast():
                run.model(x).float().sum().item()
            now = time.perf_counter()
            times.append(now - tick)
            tick = now
            if index >= 1:
                break
    clock.seconds_per_val_batch = times[-1] if times else 0.0
    clock.seconds_per_write = time_saving(run)
    clock.seconds_before = time.perf_counter() - started
    return clock


def time_saving(run: PreparedRun) -> float:
    """Seconds to write the model once where the run writes its checkpoints, flushed to the disk as
    checkpoints are."""
    folder = Path(run.settings.out).resolve().parent
    started = time.perf_counter()
    try:
        with tempfile.TemporaryFile(dir=folder) as stream:
            torch.save(run.model.state_dict(), stream)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError:  # the run itself will say what is wrong with the folder
        return 0.0
    return time.perf_counter() - started
