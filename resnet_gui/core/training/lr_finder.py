"""The learning-rate range test (Smith 2015, fastai's `lr_find`): train a few batches while the rate
grows exponentially, watch the loss, suggest a rate from the curve, and put the model back as it was.

The sweep runs on the training run's own set-up (model, data, optimizer, mixed precision), so what
it measures is what the run will do. The suggestion follows fastai's default, `valley`: the middle
of the longest stretch over which the smoothed loss keeps falling, a little towards its low end.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from resnet_gui.core.training.settings import SWEEP_STEPS

START_LR, END_LR = 1e-7, 10.0
SMOOTHING = 0.98  # the exponential moving average of the loss fastai plots
DIVERGED = 4.0  # the sweep stops once the smoothed loss exceeds 4x its lowest: the rate is far too high


@dataclass
class LRFinding:
    """The sweep's curve and what it suggests."""

    rates: list[float]
    losses: list[float]  # smoothed
    suggestion: float
    stopped: str  # "diverged", "completed" (all the steps) or "cancelled"
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sweep_rates(steps: int = SWEEP_STEPS, start: float = START_LR, end: float = END_LR) -> list[float]:
    """`steps` rates from `start` to `end`, evenly spaced on a log scale."""
    if steps < 2:
        return [start]
    ratio = end / start
    return [start * ratio ** (i / (steps - 1)) for i in range(steps)]


def valley(rates: list[float], losses: list[float]) -> float:
    """fastai's `valley` rule: find the longest run of (not necessarily adjacent) falling losses, and
    take the rate a half of the way into it (a third, plus a sixth)."""
    n = len(losses)
    if n == 0:
        return 1e-3
    longest = [1] * n
    start = end = 0
    for i in range(1, n):
        for j in range(i):
            if losses[i] < losses[j] and longest[i] < longest[j] + 1:
                longest[i] = longest[j] + 1
        if longest[end] < longest[i]:
            end = i
            start = end - longest[end]
    section = (end - start) / 3
    return float(rates[min(n - 1, max(0, start + int(section) + int(section / 2)))])


def suggest(rates: list[float], losses: list[float]) -> float:
    """The suggested rate from a sweep; the first tenth (still warming up) and the last few points (the
    blow-up) are left out, as fastai leaves them out."""
    n = len(losses)
    lo, hi = n // 10, max(n // 10 + 2, n - 5)
    if hi - lo < 3:
        lo, hi = 0, n
    return valley(rates[lo:hi], losses[lo:hi])


def sweep(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    batches,
    train_step: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    steps: int = SWEEP_STEPS,
    start: float = START_LR,
    end: float = END_LR,
    cancelled: Callable[[], bool] = lambda: False,
    progress: Callable[[int, int, float, float], None] | None = None,
    reduce_loss: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> LRFinding:
    """Run the range test and restore `model` and `optimizer` to their state before it.

    `batches`: an iterable of (images, labels), restarted when it runs out before `steps`;
    `train_step(images, labels)`: one forward, backward and optimizer step, returning the loss;
    `reduce_loss`: makes the loss the same in every process of a distributed run, so that all of them
    stop at the same step.
    """
    model_state = copy.deepcopy(model.state_dict())
    optimizer_state = copy.deepcopy(optimizer.state_dict())
    rates, smoothed, average, best = [], [], 0.0, math.inf
    stopped = "completed"
    schedule = sweep_rates(steps, start, end)
    iterator = iter(batches)
    try:
        for index, rate in enumerate(schedule):
            if cancelled():
                stopped = "cancelled"
                break
            try:
                images, labels = next(iterator)
            except StopIteration:
                iterator = iter(batches)
                images, labels = next(iterator)
            for group in optimizer.param_groups:
                group["lr"] = rate
            loss = train_step(images, labels).detach().float()
            if reduce_loss is not None:
                loss = reduce_loss(loss)
            value = loss.item()
            if not math.isfinite(value):
                stopped = "diverged"
                break
            average = SMOOTHING * average + (1 - SMOOTHING) * value
            current = average / (1 - SMOOTHING ** (index + 1))
            rates.append(rate)
            smoothed.append(current)
            best = min(best, current)
            if progress is not None:
                progress(index + 1, len(schedule), rate, current)
            if index > 5 and current > DIVERGED * best:
                stopped = "diverged"
                break
    finally:
        model.load_state_dict(model_state)
        optimizer.load_state_dict(optimizer_state)
    notes = []
    if len(rates) < 10:
        notes.append("The sweep was too short to read; the suggestion is only a guess.")
    return LRFinding(rates, smoothed, suggest(rates, smoothed) if len(rates) >= 3 else 1e-3, stopped, notes)
