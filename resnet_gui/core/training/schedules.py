"""Learning-rate schedules, built from torch's own schedulers and stepped once per batch."""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch.optim import lr_scheduler

FINAL_COSINE_FACTOR = 0.01  # cosine ends at 1% of the starting rate, not 0: the last epochs still learn
# fastai's fit_one_cycle: a quarter of the run rising from rate/25, then cosine down to rate/25/1e5
ONE_CYCLE_RISE, ONE_CYCLE_START_DIVISOR, ONE_CYCLE_END_DIVISOR = 0.25, 25.0, 1e5


def make_scheduler(name: str, optimizer: torch.optim.Optimizer, epochs: int,
                   steps_per_epoch: int, lr: float | None = None) -> lr_scheduler.LRScheduler:
    """A schedule for a run of `epochs`, starting from its first step. `lr`: the run's rate, for an optimizer
    that has stepped or was loaded (its groups hold the rate of the moment, not the run's); by default the
    rate a fresh optimizer holds.
    `cosine`: a linear warm-up over the first epoch (at most a tenth of the run), then cosine decay;
    `onecycle`: Smith's one-cycle policy as fastai's `fit_one_cycle` sets it (the rate rises over the
    first quarter while the momentum falls, then both go back); `step`: divided by 10 every third of
    the run; `constant`: the rate as given (also for a one-cycle run of fewer than 3 steps)."""
    if lr is not None:
        for group in optimizer.param_groups:
            group["lr"] = lr
            group.pop("initial_lr", None)  # else a new scheduler would start from the old one's start
    total = max(1, epochs * steps_per_epoch)
    if name == "onecycle" and total >= 3:
        # The rise takes at least two steps: OneCycleLR divides by its length less one.
        return lr_scheduler.OneCycleLR(optimizer, max_lr=optimizer.param_groups[0]["lr"], total_steps=total,
                                       pct_start=max(ONE_CYCLE_RISE, 2 / total), div_factor=ONE_CYCLE_START_DIVISOR,
                                       final_div_factor=ONE_CYCLE_END_DIVISOR)
    if name == "cosine":
        warmup = min(steps_per_epoch, total // 10)
        base_lr = optimizer.param_groups[0]["lr"]
        cosine = lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, total - warmup),
                                                eta_min=FINAL_COSINE_FACTOR * base_lr)
        if warmup == 0:
            return cosine
        ramp = lr_scheduler.LinearLR(optimizer, start_factor=1 / (warmup + 1), end_factor=1.0, total_iters=warmup)
        return lr_scheduler.SequentialLR(optimizer, [ramp, cosine], milestones=[warmup])
    if name == "step":
        return lr_scheduler.StepLR(optimizer, step_size=steps_per_epoch * max(1, epochs // 3), gamma=0.1)
    return lr_scheduler.ConstantLR(optimizer, factor=1.0, total_iters=0)


def restore_scheduler(scheduler: lr_scheduler.LRScheduler, state: dict[str, Any], steps_done: int) -> None:
    """Load a saved scheduler state; a state from an older app (another scheduler class) is replayed
    instead, by stepping `steps_done` times, which lands on the same rate. A one-cycle schedule is always
    replayed: its saved state holds the old run's length, and a resumed run may be longer."""
    if not isinstance(scheduler, lr_scheduler.OneCycleLR):
        try:
            scheduler.load_state_dict(state)
            return
        except (KeyError, ValueError, TypeError, IndexError, AttributeError):
            pass
    replay_scheduler(scheduler, steps_done)


def replay_scheduler(scheduler: lr_scheduler.LRScheduler, steps_done: int) -> None:
    """Step a new schedule to where a run that has taken `steps_done` steps stands."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "step() before optimizer.step()": intended here
        for _ in range(steps_done):
            scheduler.step()
