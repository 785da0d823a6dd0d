"""The training recipe: the learning-rate range test, the one-cycle schedule, and the time estimate."""

import json
import math
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

from resnet_gui.cli import main
from resnet_gui.core.models.checkpoints import read_checkpoint
from resnet_gui.core.training import lr_finder
from resnet_gui.core.training.clock import RunClock
from resnet_gui.core.training.events import TrainingCallback
from resnet_gui.core.training.schedules import make_scheduler, restore_scheduler
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer
from tests.support import make_shapes_dataset, tiny_model


def run_cli(capsys, *argv):
    try:
        code = main(list(argv))
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def _batches(count=8, size=8, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [(torch.randn(size, 3, 16, 16, generator=generator), torch.randint(0, 3, (size,), generator=generator))
            for _ in range(count)]


def _step_for(model, optimizer):
    criterion = nn.CrossEntropyLoss()

    def step(images, labels):
        loss = criterion(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        return loss

    return step


def test_the_range_test_restores_the_model_and_optimizer_and_suggests_a_rate_inside_its_sweep():
    model = tiny_model().train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    step = _step_for(model, optimizer)
    for images, labels in _batches(2, seed=1):  # an optimizer with state (moments) already, as mid-run
        step(images, labels)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    moments = {k: {n: t.clone() for n, t in v.items()} for k, v in optimizer.state_dict()["state"].items()}

    finding = lr_finder.sweep(model, optimizer, _batches(), step, steps=40, start=1e-6, end=10.0)

    assert finding.stopped in ("completed", "diverged")
    assert 10 <= len(finding.rates) <= 40 and len(finding.rates) == len(finding.losses)
    assert finding.rates[0] == pytest.approx(1e-6) and finding.rates == sorted(finding.rates)
    assert finding.rates[0] <= finding.suggestion <= finding.rates[-1]
    after = model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # weights and BatchNorm statistics
    state = optimizer.state_dict()
    assert state["param_groups"][0]["lr"] == 3e-3
    assert all(torch.equal(moments[k][n], state["state"][k][n]) for k in moments for n in moments[k])


def test_the_suggestion_is_inside_the_longest_fall():
    rates = lr_finder.sweep_rates(100)
    # flat, a long fall from step 20 to step 70, then a blow-up
    losses = [2.3] * 20 + [2.3 - 0.03 * i for i in range(50)] + [0.8 * 1.15 ** i for i in range(30)]
    suggestion = lr_finder.suggest(rates, losses)
    assert rates[25] < suggestion < rates[60]


def test_a_diverging_sweep_stops_early_and_says_so():
    model = tiny_model().train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    finding = lr_finder.sweep(model, optimizer, _batches(), _step_for(model, optimizer), steps=100, start=1e-4,
                              end=1e6)
    assert finding.stopped == "diverged" and len(finding.rates) < 100


def test_the_range_test_on_a_folder_writes_nothing(tmp_path, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "data", per_class=8, size=32)
    out = tmp_path / "model.pt"
    seen = []

    class Watch(TrainingCallback):
        def on_lr_sweep(self, step, steps, rate, loss):
            seen.append((step, rate))

    # from a checkpoint, the last layer only: the sweep's 100 batches cost a second, not ten
    settings = TrainSettings(data_dir=str(data), weights=str(tiny_checkpoint), freeze_backbone=True, image_size=16,
                             batch_size=8, out=str(out))
    finding = Trainer(settings, [Watch()]).find_learning_rate()
    assert finding.rates and finding.rates[0] <= finding.suggestion <= finding.rates[-1]
    assert [s for s, _ in seen] == list(range(1, len(seen) + 1)) and len(seen) == len(finding.rates)
    assert list(tmp_path.glob("*.pt")) == [tiny_checkpoint]  # nothing trained, nothing written: the start weights alone
    assert settings.lr == 1e-3 and not settings.find_lr


def test_lr_auto_trains_at_the_rate_found_and_records_it(tmp_path, capsys, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "data", per_class=8, size=32)
    out = tmp_path / "model.pt"
    code, stdout, _ = run_cli(capsys, "train", str(data), "--weights", str(tiny_checkpoint), "--freeze-backbone",
                              "--image-size", "16", "--epochs", "1", "--batch-size", "8", "--lr", "auto", "--out",
                              str(out), "--json")
    assert code == 0
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    # the start checkpoint's first layer is kept, and the first line says where it came from
    assert events[0]["text"].endswith("(the small-input stem: 3x3/1, no max-pool): kept from the start checkpoint.")
    found = [e for e in events if e["event"] == "lr_found"]
    assert len(found) == 1 and found[0]["rates"][0] <= found[0]["suggestion"] <= found[0]["rates"][-1]
    train = read_checkpoint(out).train
    assert train["lr"] == pytest.approx(found[0]["suggestion"]) and train["find_lr"] is True
    first_batch = next(e for e in events if e["event"] == "batch")
    assert first_batch["lr"] <= found[0]["suggestion"]  # the schedule starts from the rate found


def test_lr_auto_is_refused_as_a_word_it_does_not_know(capsys, tmp_path):
    code, _, stderr = run_cli(capsys, "train", str(tmp_path), "--lr", "fast")
    assert code == 2 and "'fast' is not a number" in stderr


def test_one_cycle_rises_for_a_quarter_then_falls_to_almost_nothing():
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    scheduler = make_scheduler("onecycle", optimizer, epochs=4, steps_per_epoch=25)
    rates = []
    for _ in range(100):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[0] == pytest.approx(1e-2 / 25)
    assert max(range(100), key=rates.__getitem__) in (24, 25) and max(rates) == pytest.approx(1e-2, rel=1e-3)
    assert rates[-1] < 1e-4 and rates == sorted(rates[:25]) + rates[25:]


@pytest.mark.parametrize("steps", [1, 2, 3, 4, 5, 8])
def test_one_cycle_takes_runs_of_a_few_steps(steps):
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    scheduler = make_scheduler("onecycle", optimizer, epochs=1, steps_per_epoch=steps)
    for _ in range(steps):
        optimizer.step()
        scheduler.step()
    assert all(math.isfinite(g["lr"]) and g["lr"] <= 1e-2 for g in optimizer.param_groups)


def test_a_one_cycle_run_resumed_for_longer_replays_its_schedule_and_does_not_overrun():
    parameter = nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.AdamW([parameter], lr=1e-2)
    first = make_scheduler("onecycle", optimizer, epochs=2, steps_per_epoch=10)
    for _ in range(20):
        optimizer.step()
        first.step()
    longer = make_scheduler("onecycle", torch.optim.AdamW([parameter], lr=1e-2), epochs=4, steps_per_epoch=10)
    restore_scheduler(longer, first.state_dict(), steps_done=20)
    for _ in range(20):  # the 20 steps the longer run has left: a saved total of 20 would raise here
        longer.optimizer.step()
        longer.step()
    assert longer.optimizer.param_groups[0]["lr"] < 1e-4


def test_the_clock_waits_for_its_timed_batches_and_counts_every_part_of_a_run():
    clock = RunClock(epochs=3, batches=20, val_batches=4, seconds_per_val_batch=0.5, seconds_per_write=0.25)
    said = [clock.batch_done(i, 2.0 if i <= 2 else 1.0) for i in range(1, 20)]
    assert said[:9] == [None] * 9 and said[10:] == [None] * 9  # once, after two warm-up and eight timed batches
    # 3 x (20 batches of 1 s + 4 validation batches of 0.5 s + the best model written) + the recovery file
    # (3 models) after the first two epochs, not after the last + the two warm-up batches' extra second each
    # + a last write (calibration reuses the best epoch's validation pass)
    assert said[9] == pytest.approx(3 * (20 + 2 + 0.25) + 2 * 0.75 + 2 + 0.25)
    # the familiarity fit: 6 batches of training pictures at the validation pace
    fitted = RunClock(epochs=3, batches=20, val_batches=4, fit_batches=6, seconds_per_val_batch=0.5,
                      seconds_per_write=0.25)
    assert fitted.estimate(1.0) == pytest.approx(3 * (20 + 2 + 0.25) + 2 * 0.75 + 3 + 0.25)
    assert RunClock(epochs=2, batches=1, val_batches=1).batch_done(1, 3.0) == pytest.approx(6.0)
    # Short epochs beside slow writes: the recovery file is written once, then at most a tenth of the time.
    short = RunClock(epochs=10, batches=1, val_batches=0, seconds_per_write=0.25)
    assert short.estimate(0.1) == pytest.approx(10 * (0.1 + 0.25) + 0.75 + 8 * 0.035 + 0.25)


ESTIMATE_RUN = textwrap.dedent("""
    import json, math, sys, time
    from resnet_gui.core.training.events import TrainingCallback
    from resnet_gui.core.training.settings import TrainSettings
    from resnet_gui.core.training.trainer import Trainer

    marks = {}

    class Watch(TrainingCallback):
        def on_epoch_start(self, epoch, epochs):
            marks.setdefault("start", time.perf_counter())

        def on_estimate(self, seconds, batches_timed):
            marks["estimate"] = seconds

        def on_finished(self, result):
            marks["end"] = time.perf_counter()

    settings = TrainSettings(data_dir=sys.argv[1], weights="none", image_size=32, epochs=3, batch_size=8,
                             out=sys.argv[2], workers=0)
    Trainer(settings, [Watch()]).run()
    print(json.dumps({"estimate": marks.get("estimate"), "real": marks["end"] - marks["start"]}))
""")


def test_the_estimate_said_before_training_is_within_a_quarter_of_the_real_time(tmp_path):
    """A run's estimate, said after its first timed batches, is within a quarter of the time the run then takes.
    Each run is a fresh process, as `resnet-gui train` is: inside the test process, after hundreds of tests, its
    first batches were timed against the suite's leftovers (33% under and 87% over in three quiet runs)."""
    data = make_shapes_dataset(tmp_path / "data", per_class=24, size=32)
    # The shared test machine's speed drifts by up to 30% from one minute to the next (DEVELOPERS.md), more
    # than the 25% asked of the estimate: a run that misses is measured once more, against the same bound,
    # and both runs are reported if that one misses too.
    misses = []
    for attempt in range(2):
        done = subprocess.run([sys.executable, "-c", ESTIMATE_RUN, str(data), str(tmp_path / f"model-{attempt}.pt")],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        marks = json.loads(done.stdout.strip().splitlines()[-1])
        real = marks["real"]
        assert marks["estimate"] is not None and math.isfinite(marks["estimate"])
        if abs(marks["estimate"] - real) <= 0.25 * real:
            break
        misses.append((marks["estimate"], real))
    assert len(misses) < 2, misses
