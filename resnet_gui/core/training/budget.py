"""Training for about a given time (`--minutes`, the Train tab's "Train for … minutes"): the number of epochs
is chosen once, from the first epoch's timed batches, and the schedule is made again for that many.

A run's length is chosen, not cut: the one-cycle and cosine schedules need their end to be known to anneal,
and a run stopped at a deadline mid-schedule ends at a high rate, worse than a shorter whole one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import torch

from resnet_gui.core.summaries import duration
from resnet_gui.core.training.clock import RunClock
from resnet_gui.core.training.schedules import make_scheduler, replay_scheduler
from resnet_gui.core.training.settings import MAX_BUDGET_EPOCHS
from resnet_gui.core.training.setup import PreparedRun


def epochs_within(seconds: float, clock: RunClock) -> int:
    """The most epochs whose whole run (what was spent before the first epoch, then the clock's estimate of
    the rest at its timed pace) takes at most `seconds`; at least 1."""
    left = seconds - clock.seconds_before
    low, high = 1, MAX_BUDGET_EPOCHS
    while low < high:  # the estimate grows with the epochs
        middle = (low + high + 1) // 2
        if clock.estimate(clock.seconds_per_batch, middle) <= left:
            low = middle
        else:
            high = middle - 1
    return low


def budget_sentence(minutes: float, epochs: int, clock: RunClock) -> str:
    per_epoch = duration(clock.seconds_per_epoch())
    length = f"{minutes:g} min" if minutes >= 1 else duration(minutes * 60)
    if epochs == 1 and clock.seconds_before + clock.estimate(clock.seconds_per_batch, 1) > minutes * 60:
        return (f"One epoch takes about {per_epoch}, so a run of about {length} has room for no more than "
                f"one: training 1 epoch.")
    if epochs == MAX_BUDGET_EPOCHS:
        return f"Training {epochs} epochs, the most a run of set minutes takes (about {per_epoch} each)."
    plural = "s" if epochs > 1 else ""
    return (f"Training {epochs} epoch{plural} to fit about {length}: about {per_epoch} each, at the pace of the "
            f"{clock.timed_needed} timed batches, with the reading and the finishing counted.")


def fit_to_budget(run: PreparedRun, clock: RunClock, steps_done: int, emit: Callable[..., None]) -> float:
    """Choose the run's epochs for its minutes, rebuild its schedule for them (`steps_done` steps into it);
    the run's estimate in seconds, for those epochs. Every process takes the first one's choice."""
    s = run.settings
    epochs = epochs_within(s.minutes * 60, clock)
    if run.world.is_distributed:
        import torch.distributed as dist

        chosen = torch.tensor([epochs], dtype=torch.int64, device=run.policy.device)
        dist.broadcast(chosen, 0)
        epochs = int(chosen.item())
    run.settings = replace(s, epochs=epochs)
    clock.epochs = epochs
    run.scheduler = make_scheduler(s.schedule, run.optimizer, epochs, len(run.train_loader), lr=s.lr)
    replay_scheduler(run.scheduler, steps_done)
    emit("on_epochs_chosen", epochs, budget_sentence(s.minutes, epochs, clock))
    return clock.estimate(clock.seconds_per_batch)
