"""Training for about a given time: the epochs chosen from the first batches' pace, the schedule made for them."""

import json
import time

import pytest
import torch
from torch import nn

from resnet_gui.cli import main
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.checkpoints import read_checkpoint
from resnet_gui.core.training.budget import MAX_BUDGET_EPOCHS, budget_sentence, epochs_within
from resnet_gui.core.training.clock import RunClock
from resnet_gui.core.training.events import TrainingCallback
from resnet_gui.core.training.schedules import make_scheduler, restore_scheduler
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer
from tests.support import Recorder, make_shapes_dataset


def timed_clock(seconds_per_batch=0.1, batches=50, before=4.0) -> RunClock:
    """A clock as the first epoch leaves it: 2 warm-up and 8 timed batches said."""
    clock = RunClock(epochs=10, batches=batches, val_batches=5, fit_batches=5, seconds_per_val_batch=0.05,
                     seconds_per_write=0.0, seconds_before=before)
    for batch in range(1, 11):
        clock.batch_done(batch, seconds_per_batch)
    return clock


def test_the_epochs_chosen_are_the_most_whose_whole_run_fits_the_time():
    clock = timed_clock()
    # an epoch: 50 x 0.1 s + 5 x 0.05 s = 5.25 s; the finishing 0.25 s; 4 s spent before the first epoch
    assert clock.seconds_per_epoch() == pytest.approx(5.25)
    assert epochs_within(60.0, clock) == 10  # 4 + 10 x 5.25 + 0.25 = 56.75 <= 60; 11 epochs would be 62
    assert epochs_within(62.5, clock) == 11
    assert epochs_within(1.0, clock) == 1  # not even one fits: one, said so
    assert "room for no more than one" in budget_sentence(1 / 60, 1, clock)
    assert epochs_within(10 ** 7, clock) == MAX_BUDGET_EPOCHS
    sentence = budget_sentence(1.0, 10, clock)
    assert sentence.startswith("Training 10 epochs to fit about 1 min: about 5 s each")


def test_a_one_cycle_schedule_made_again_on_a_loaded_optimizer_peaks_at_the_runs_rate():
    """A resumed run loads its optimizer, whose groups hold the rate of the moment it stopped: the schedule
    made on it must still rise to the run's rate, not to that one."""
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    first = make_scheduler("onecycle", optimizer, epochs=4, steps_per_epoch=10)
    for _ in range(15):
        optimizer.step()
        first.step()
    loaded = torch.optim.AdamW([parameter], lr=1e-2)
    loaded.load_state_dict(optimizer.state_dict())
    again = make_scheduler("onecycle", loaded, epochs=4, steps_per_epoch=10, lr=1e-2)
    restore_scheduler(again, first.state_dict(), steps_done=15)
    for _ in range(5):
        optimizer.step(), first.step(), loaded.step(), again.step()
        assert loaded.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"])


class Chosen(TrainingCallback):
    def __init__(self):
        self.chosen, self.estimates, self.starts = [], [], []

    def on_epochs_chosen(self, epochs, text):
        self.chosen.append((epochs, text))

    def on_estimate(self, seconds, batches_timed):
        self.estimates.append(seconds)

    def on_epoch_start(self, epoch, epochs):
        self.starts.append((epoch, epochs))


def test_a_run_of_set_minutes_trains_the_epochs_it_chose_and_its_schedule_ends_where_they_do(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=6)
    recorder, chosen = Recorder(), Chosen()
    settings = TrainSettings(data_dir=str(data), weights="none", image_size=16, batch_size=4, lr=2e-3,
                             minutes=0.05, out=str(tmp_path / "m.pt"), seed=0)
    result = Trainer(settings, [recorder, chosen]).run()
    (epochs, text), = chosen.chosen
    assert 1 <= epochs <= MAX_BUDGET_EPOCHS and f"Training {epochs} epoch" in text
    assert len(recorder.epochs) == epochs == result.settings.epochs
    assert [e.epochs for e in recorder.epochs] == [epochs] * epochs
    assert chosen.starts[1:] == [(n, epochs) for n in range(2, epochs + 1)]
    # one-cycle over the chosen epochs: the last step's rate is near nothing, as the schedule's end
    assert recorder.batches[-1].lr < settings.lr / 20  # a schedule made for 10 epochs would be near its top
    saved = read_checkpoint(result.best_path).train
    assert saved["epochs"] == epochs and saved["minutes"] == 0.05


def test_the_command_line_refuses_minutes_with_epochs_or_resume_and_says_why(capsys, tmp_path):
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path), "--minutes", "5", "--epochs", "3"])
    assert "not allowed with argument" in capsys.readouterr().err
    assert main(["train", str(tmp_path), "--minutes", "0"]) == 2
    assert "The training time must be above 0" in capsys.readouterr().err
    with pytest.raises(UserError, match="leave out --minutes"):
        Trainer(TrainSettings(resume=str(tmp_path / "m.last.pt"), minutes=5)).run()


def test_time_spent_before_the_trainer_counts_against_the_minutes(tmp_path):
    """The command line's own start (torch's import) is part of the minutes a user asked for."""
    data = make_shapes_dataset(tmp_path / "d", per_class=6)
    chosen = Chosen()
    settings = TrainSettings(data_dir=str(data), weights="none", image_size=16, batch_size=4, minutes=0.05,
                             out=str(tmp_path / "m.pt"))
    Trainer(settings, [chosen], started=time.perf_counter() - 3.0).run()  # the 3 s were spent before it began
    (epochs, text), = chosen.chosen
    assert epochs == 1 and "room for no more than one" in text, text


def trainer_starts(monkeypatch) -> list:
    """The `started` every Trainer made from now on is given."""
    starts, real_init = [], Trainer.__init__

    def init(self, *args, started=None, **options):
        starts.append(started)
        real_init(self, *args, started=started, **options)

    monkeypatch.setattr(Trainer, "__init__", init)
    return starts


def test_the_command_line_says_the_chosen_epochs_in_its_events(capsys, tmp_path, monkeypatch):
    starts = trainer_starts(monkeypatch)
    data = make_shapes_dataset(tmp_path / "d", per_class=4)
    before = time.perf_counter()
    code = main(["train", str(data), "--weights", "none", "--image-size", "16", "--batch-size", "4",
                 "--minutes", "0.05", "--out", str(tmp_path / "m.pt"), "--json"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    kinds = [e["event"] for e in events]
    assert kinds.index("epochs_chosen") < kinds.index("estimate") < kinds.index("epoch")
    said = next(e for e in events if e["event"] == "epochs_chosen")
    assert said["epochs"] == sum(1 for e in events if e["event"] == "epoch")
    assert len(starts) == 1 and before <= starts[0] <= time.perf_counter()  # the command's start, not the run's


def test_project_train_counts_the_commands_start_too(capsys, tmp_path, monkeypatch):
    data = make_shapes_dataset(tmp_path / "d", per_class=4)
    assert main(["project", "new", str(tmp_path / "P"), "--from", str(data)]) == 0
    starts = trainer_starts(monkeypatch)
    before = time.perf_counter()
    assert main(["project", "train", str(tmp_path / "P"), "--weights", "none", "--image-size", "16",
                 "--batch-size", "4", "--minutes", "0.05"]) == 0
    assert len(starts) == 1 and before <= starts[0] <= time.perf_counter()
