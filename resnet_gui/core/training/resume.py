"""Going on with a stopped run (`--resume FILE.last.pt`): its settings, and its optimizer, schedule, epoch and
best-so-far restored. The one place that knows what a resumed run keeps and what it may change."""

from __future__ import annotations

from dataclasses import replace

import torch

from resnet_gui.core.errors import UserError
from resnet_gui.core.models.checkpoints import CheckpointContents, read_checkpoint
from resnet_gui.core.training.saver import CheckpointSaver
from resnet_gui.core.training.schedules import make_scheduler, restore_scheduler
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.setup import PreparedRun


def settings_for_run(s: TrainSettings) -> tuple[TrainSettings, CheckpointContents | None]:
    """The settings a run trains with, and for `--resume` the saved run: a resumed run goes on as it was set
    up; only its length, output, device, workers and data path may change."""
    if not s.resume:
        return s, None
    if s.minutes is not None:
        raise UserError("A stopped run goes on to the epochs it was set to, not for a time: leave out --minutes "
                        "(give --epochs N to make it longer).",
                        in_window="A stopped run goes on to the epochs it was set to: set Train for in epochs to "
                                  "resume it.")
    resumed = read_checkpoint(s.resume)
    saved = TrainSettings.from_dict(resumed.train)
    # minutes=None: a run of set minutes chose its epochs, and the saved settings hold them
    s = replace(saved, epochs=s.epochs or saved.epochs, minutes=None, device=s.device, workers=s.workers,
                weights="none",
                find_lr=False,  # the saved rate is the one found
                out=s.out or saved.out, data_dir=s.data_dir or saved.data_dir, resume=s.resume,
                keep_last=s.keep_last)
    return s, resumed


def restore_run(run: PreparedRun, saver: CheckpointSaver, resumed: CheckpointContents) -> int:
    """The saved optimizer, schedule and best-so-far into `run` and `saver`; the first epoch still to train.
    A file saved before the run's first epoch ended holds no state: the run starts at epoch 1."""
    state = resumed.extra.get("resume")
    if not state:
        return 1
    start_epoch = saver.restore(state)
    run.optimizer.load_state_dict(state["optimizer"])
    s = run.settings
    if isinstance(run.scheduler, torch.optim.lr_scheduler.OneCycleLR):
        # Loading the optimizer replaced the rates one-cycle keeps in its groups: built again on the
        # loaded optimizer, and replayed (its rate is a function of the step, not of the last rate).
        run.scheduler = make_scheduler(s.schedule, run.optimizer, s.epochs, len(run.train_loader), lr=s.lr)
    restore_scheduler(run.scheduler, state["scheduler"], (start_epoch - 1) * len(run.train_loader))
    return start_epoch
