"""The training engine on a tiny dataset it can learn: coloured squares at 32 px."""

import math

import pytest
import torch

from resnet_gui.core.errors import DatasetError, UserError, WeightsUnavailableError
from resnet_gui.core.evaluation.evaluate import evaluate_model
from resnet_gui.core.images.datasets import class_weights, prepare_data
from resnet_gui.core.images.folders import scan_class_folder, stratified_split
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.checkpoints import read_checkpoint
from resnet_gui.core.models.files import last_path_for
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.runtime import devices
from resnet_gui.core.training import finishing, loop
from resnet_gui.core.training import setup as training
from resnet_gui.core.training.events import TrainingCallback
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer
from tests.support import TINY, Recorder, make_shapes_dataset


def settings_for(data_dir, out, **overrides):
    base = dict(data_dir=str(data_dir), weights="none", small_input=True, image_size=32, epochs=4, batch_size=16,
                lr=2e-3, out=str(out), seed=0, keep_last=True)
    return TrainSettings(**{**base, **overrides})


@pytest.fixture
def trained(colour_run):
    """The session's real training run (conftest's colour_run), shared by the tests that read its outputs."""
    return colour_run


def test_loss_goes_down_and_accuracy_goes_up(trained):
    _, result, recorder = trained
    assert result.stopped == "completed" and len(recorder.epochs) == 6
    first, last = recorder.epochs[0], recorder.epochs[-1]
    assert last.train_loss < first.train_loss
    assert last.train_acc > first.train_acc
    assert result.metrics["val_acc"] >= 0.8
    assert result.metrics["val_acc"] == max(e.val_acc for e in recorder.epochs)
    # batch events: every batch, in order, with a learning rate and a speed
    assert len(recorder.batches) == 6 * recorder.batches[0].batches
    assert all(b.lr > 0 and b.images_per_second > 0 and math.isfinite(b.loss) for b in recorder.batches)


def test_best_checkpoint_round_trips_and_classifies(trained):
    data, result, _ = trained
    contents = read_checkpoint(result.best_path)
    assert contents.kind == "resnet-gui" and contents.classes == ["blue", "green", "red"]
    assert contents.small_input and contents.preprocessing.image_size == 32
    assert contents.train["epochs"] == 6 and len(contents.history) >= 1
    assert contents.metrics["val_acc"] == result.metrics["val_acc"]
    # The saved model, reloaded, reproduces the accuracy it recorded on the validation images.
    val_paths = {s.path for s in trained[2].data.val}
    scan = scan_class_folder(data)
    truth = {p: scan.classes[y] for p, y in scan.train if p in val_paths}
    predictions = Predictor(load_checkpoint_bundle(result.best_path), device="cpu").predict_all(sorted(truth))
    accuracy = sum(p.best.label == truth[p.path] for p in predictions) / len(predictions)
    assert accuracy == pytest.approx(result.metrics["val_acc"])
    report = evaluate_model(load_checkpoint_bundle(result.best_path), str(data), device="cpu")
    assert report["samples"] == 42 and report["accuracy"] >= 0.7
    assert sum(map(sum, report["confusion_matrix"])) == 42
    assert set(report["per_class"]) == {"blue", "green", "red"}


def test_bfloat16_training_learns_and_keeps_float32_weights(tmp_path, monkeypatch):
    """Where the CPU computes bfloat16 (or on a GPU), the step runs under autocast; the model still learns,
    its weights stay float32, and golden outputs are computed in full precision. The finishing reuses the best
    epoch's validation pass (calibration and the familiarity threshold) instead of passing over it again."""
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    heads = []  # (training mode?, dtype of the head's output) for every forward
    build = training.build_model

    def recording_build(*args, **kwargs):
        model = build(*args, **kwargs)
        model.fc.register_forward_hook(lambda module, inputs, output: heads.append((module.training, output.dtype)))
        return model

    monkeypatch.setattr(training, "build_model", recording_build)  # the model trained
    monkeypatch.setattr(finishing, "build_model", recording_build)  # the best one, finished
    again = []
    monkeypatch.setattr(finishing, "evaluate", lambda *args, **kwargs: again.append(args))
    data = make_shapes_dataset(tmp_path / "shapes", per_class=14)
    result = Trainer(settings_for(data, tmp_path / "bf16.pt", batch_size=8, epochs=4, lr=1e-3)).run()
    assert {dtype for is_training, dtype in heads if is_training} == {torch.bfloat16}
    assert torch.float32 in {dtype for is_training, dtype in heads if not is_training}  # golden
    assert again == [] and result.calibration["temperature"] > 0 and result.calibration["unfamiliar"]["threshold"]
    # Learns: the loss falls and nine validation pictures come out well above chance (1/3). CPUs emulate
    # bfloat16 differently (AMX, AVX-512 or neither), so an exact figure would test the CPU, not the loop.
    losses = [epoch["train_loss"] for epoch in result.history]
    assert losses[-1] < 0.5 * losses[0] and result.metrics["val_acc"] >= 0.7
    contents = read_checkpoint(result.best_path)
    assert {v.dtype for v in contents.state_dict.values() if v.is_floating_point()} == {torch.float32}
    assert contents.extra["golden"]["logits"].dtype == torch.float32


def test_last_state_is_written_for_resume(trained):
    _, result, _ = trained
    assert result.last_path == last_path_for(result.best_path)
    last = read_checkpoint(result.last_path)
    assert last.extra["resume"]["epoch"] == 6 and "optimizer" in last.extra["resume"]


def test_split_is_stratified_and_reproducible(tmp_path):
    labels = [0] * 10 + [1] * 20 + [2] * 5
    train_a, val_a = stratified_split(labels, 0.2, seed=1)
    train_b, val_b = stratified_split(labels, 0.2, seed=1)
    assert (train_a, val_a) == (train_b, val_b)
    assert sorted(train_a + val_a) == list(range(len(labels)))
    assert [sum(labels[i] == c for i in val_a) for c in range(3)] == [2, 4, 1]
    assert stratified_split(labels, 0.2, seed=2)[1] != val_a
    data = make_shapes_dataset(tmp_path / "d", per_class=10)
    first = prepare_data(scan_class_folder(data), image_size=32, val_split=0.2, seed=3)
    second = prepare_data(scan_class_folder(data), image_size=32, val_split=0.2, seed=3)
    assert [s.path for s in first.val] == [s.path for s in second.val]
    assert first.class_counts("val") == [2, 2, 2] and first.cached


def test_unreadable_files_are_skipped_and_reported(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=10)
    (data / "red" / "half.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    prepared = prepare_data(scan_class_folder(data), image_size=32)
    assert [p.rsplit("/", 1)[-1] for p, _ in prepared.skipped] == ["half.png"]
    assert len(prepared.train) + len(prepared.val) == 30
    assert any("Skipped 1 file" in w for w in prepared.warnings)


def test_warnings_for_few_images_and_imbalance(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=30, classes=("red", "green"))
    make_shapes_dataset(tmp_path / "d", per_class=4, classes=("blue",))
    prepared = prepare_data(scan_class_folder(data), image_size=32)
    text = " ".join(prepared.warnings)
    assert "Few images in blue (4)" in text and "imbalanced" in text


def test_folder_problems_are_sentences(tmp_path):
    with pytest.raises(DatasetError, match="not a folder"):
        scan_class_folder(tmp_path / "missing")
    (tmp_path / "one" / "only").mkdir(parents=True)
    with pytest.raises(DatasetError, match="only one class"):
        scan_class_folder(tmp_path / "one")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    (tmp_path / "empty" / "b").mkdir(parents=True)
    with pytest.raises(DatasetError, match="no images"):
        scan_class_folder(tmp_path / "empty")


def test_train_and_val_folders_are_used_as_given(tmp_path):
    make_shapes_dataset(tmp_path / "d" / "train", per_class=6)
    make_shapes_dataset(tmp_path / "d" / "val", per_class=2, seed=5)
    prepared = prepare_data(scan_class_folder(tmp_path / "d"), image_size=32)
    assert prepared.class_counts("train") == [6, 6, 6] and prepared.class_counts("val") == [2, 2, 2]


def test_cancel_between_batches_keeps_what_was_saved(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=10)
    recorder = Recorder()
    stop = {"after": None}

    class StopAfterFirstEpoch(TrainingCallback):
        def on_epoch_end(self, event):
            stop["after"] = event.epoch

    def cancelled():
        return stop["after"] == 1 and len(recorder.batches) > recorder.batches[0].batches

    result = Trainer(settings_for(data, tmp_path / "m.pt", epochs=5, batch_size=8), [recorder, StopAfterFirstEpoch()],
                     cancelled=cancelled).run()
    assert result.stopped == "cancelled"
    assert len(recorder.epochs) == 1 and result.best_path is not None and result.best_path.exists()
    assert len(recorder.batches) == recorder.batches[0].batches + 1  # stopped one batch into epoch 2


def test_resume_continues_where_it_stopped(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=8)
    first = Trainer(settings_for(data, tmp_path / "m.pt", epochs=2)).run()
    recorder = Recorder()
    resumed = Trainer(TrainSettings(resume=str(first.last_path), epochs=3, keep_last=True), [recorder]).run()
    assert [e.epoch for e in recorder.epochs] == [3]
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert resumed.history[:2] == first.history
    assert read_checkpoint(resumed.last_path).extra["resume"]["epoch"] == 3


def test_frozen_backbone_changes_only_the_head(tmp_path, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "d", per_class=6, classes=("cat", "dog"))
    before = read_checkpoint(tiny_checkpoint).state_dict
    result = Trainer(settings_for(data, tmp_path / "m.pt", weights=str(tiny_checkpoint), freeze_backbone=True,
                                  epochs=1, lr=0.05)).run()
    after = read_checkpoint(result.best_path).state_dict
    assert after["fc.weight"].shape == (2, 512)  # the head was replaced for the new classes
    changed = {k for k in after if not torch.equal(after[k], before[k]) and not k.startswith("fc.")}
    assert changed == set()  # weights and BatchNorm statistics of the backbone untouched


def test_start_from_checkpoint_with_same_classes_keeps_its_head(tmp_path, tiny_checkpoint):
    data = make_shapes_dataset(tmp_path / "d", per_class=6)  # red, green, blue as in the checkpoint...
    # ...but sorted differently (blue, green, red), so the head is not reused blindly.
    settings = settings_for(data, tmp_path / "m.pt", weights=str(tiny_checkpoint))
    state, contents = training.load_start_weights(settings)
    same = training.build_start_model(settings, ["red", "green", "blue"], state, contents)
    other = training.build_start_model(settings, ["blue", "green", "red"], state, contents)
    assert torch.equal(same.fc.weight, state["fc.weight"])
    assert not torch.equal(other.fc.weight, state["fc.weight"])
    assert torch.equal(other.layer1[0].conv1.weight, state["layer1.0.conv1.weight"])


def test_imagenet_weights_offline_fail_before_reading_images(tmp_path, monkeypatch):
    def offline(arch):
        raise WeightsUnavailableError("The ImageNet weights for resnet18 could not be downloaded (offline).")

    def never(*args, **kwargs):
        raise AssertionError("images were read before the weights were checked")

    monkeypatch.setattr(training, "imagenet_state_dict", offline)
    monkeypatch.setattr(training, "prepare_data", never)
    with pytest.raises(WeightsUnavailableError, match="--weights none.*--weights FILE"):
        Trainer(settings_for(tmp_path, tmp_path / "m.pt", weights="imagenet")).run()


def test_early_stopping_with_patience(tmp_path, monkeypatch):
    data = make_shapes_dataset(tmp_path / "d", per_class=6)
    flat = {"loss": 1.0, "accuracy": 0.5, "confusion_matrix": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}
    monkeypatch.setattr(loop, "evaluate", lambda run, keep=False: dict(flat))  # no pass kept...
    recorder = Recorder()
    result = Trainer(settings_for(data, tmp_path / "m.pt", epochs=6, patience=2), [recorder]).run()
    assert result.stopped == "early_stopping" and [e.epoch for e in recorder.epochs] == [1, 2, 3]
    extra = read_checkpoint(result.best_path).extra  # ...so the finishing passed over the validation set itself
    assert extra["temperature"] > 0 and extra["familiarity"]["method"] and extra["golden"]["inputs"].shape[0] >= 1


def test_class_weights_favour_rare_classes():
    weights = class_weights([30, 10, 0])
    assert weights[1] > weights[0] > 0 and weights[2] == 0
    assert weights[:2].mean() == pytest.approx(1.0)


def test_settings_are_checked():
    with pytest.raises(UserError, match="optimizer"):
        TrainSettings(optimizer="lbfgs").validate()
    with pytest.raises(UserError, match="augmentation"):
        TrainSettings(augment=["sparkle"]).validate()


def test_a_completed_run_removes_its_resumable_state_unless_kept(tmp_path, monkeypatch):
    from resnet_gui.core.training import saver

    written = []
    real = saver.write_checkpoint
    monkeypatch.setattr(saver, "write_checkpoint", lambda path, payload: (written.append(path), real(path, payload))[1])
    monkeypatch.setattr(saver.CheckpointSaver, "_recovery_due", lambda self: True)  # a slow run: every epoch
    data = make_shapes_dataset(tmp_path / "d", per_class=4)
    done = Trainer(settings_for(data, tmp_path / "m.pt", epochs=2, keep_last=False)).run()
    assert done.stopped == "completed" and done.last_path is None and not last_path_for(done.best_path).exists()
    # written after the first epoch; the last epoch's state, which the finished run drops, never was
    assert written.count(last_path_for(tmp_path / "m.pt")) == 1
    written.clear()
    kept = Trainer(settings_for(data, tmp_path / "k.pt", epochs=2, keep_last=True)).run()
    assert read_checkpoint(kept.last_path).extra["resume"]["epoch"] == 2


def test_without_out_a_run_never_replaces_a_model(tmp_path, monkeypatch):
    from resnet_gui.core.models.files import unique_model_path

    monkeypatch.chdir(tmp_path)
    (tmp_path / "model.pt").write_bytes(b"a model made before")
    assert unique_model_path("model.pt").name == "model-2.pt"
    data = make_shapes_dataset(tmp_path / "d", per_class=3)
    settings = settings_for(data, "unused", epochs=1)
    settings.out = None
    result = Trainer(settings).run()
    assert result.best_path.name == "model-2.pt" and (tmp_path / "model.pt").read_bytes() == b"a model made before"


def test_skipping_the_finishing_steps_keeps_the_best_epochs_checkpoint_whole(tmp_path):
    """Stop, then Skip finishing in the window: no calibration, no familiarity fit, and a model that loads."""
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.training.settings import TrainSettings
    from resnet_gui.core.training.trainer import Trainer
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "shapes", per_class=5, size=20)
    seen = []

    class Watch(TrainingCallback):
        def on_finishing(self):
            seen.append("finishing")

    result = Trainer(TrainSettings(data_dir=str(data), weights="none", small_input=True, image_size=16, epochs=1,
                                   batch_size=4, out=str(tmp_path / "m.pt")), [Watch()],
                     skip_finishing=lambda: True).run()
    assert seen == ["finishing"] and result.finishing_skipped and result.calibration == {}
    bundle = load_checkpoint_bundle(result.best_path)
    assert bundle.classes == ["blue", "green", "red"] and bundle.familiarity is None and bundle.temperature == 1.0



def test_the_recovery_file_takes_at_most_a_tenth_of_the_time_and_holds_a_copy_of_its_epoch(tmp_path, monkeypatch):
    """Epochs of 2 s, writes of 1 s: written after epoch 1, then once 10 s have passed since (epochs 6 and 11),
    and the newest epoch when the run stops; what is written is the epoch as it ended, not as training went on."""
    from resnet_gui.core.training import saver as checkpoint_saver

    now = {"t": 0.0}
    written = []

    def slow_write(path, payload):
        now["t"] += 1.0
        written.append(payload["resume"]["epoch"])
        return real_write(path, payload)

    real_write = checkpoint_saver.write_checkpoint
    monkeypatch.setattr(checkpoint_saver.time, "monotonic", lambda: now["t"])
    monkeypatch.setattr(checkpoint_saver, "write_checkpoint", slow_write)
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)
    saver = checkpoint_saver.CheckpointSaver(tmp_path / "m.pt")
    fields = dict(arch="resnet18", classes=["a", "b"], small_input=True, preprocessing=TINY)
    for epoch in range(1, 13):
        model(torch.ones(1, 2)).sum().backward()
        optimizer.step()
        now["t"] += 2.0
        saver.save_recovery(fields, model, epoch, optimizer, scheduler)
    assert written == [1, 6, 11]
    kept = {k: v.clone() for k, v in model.state_dict().items()}
    kept_moment = optimizer.state_dict()["state"][0]["exp_avg"].clone()
    with torch.no_grad():  # training goes on after epoch 12 ends...
        model.weight.add_(1.0)
        optimizer.state[model.weight]["exp_avg"].add_(1.0)
    saver.flush_recovery()  # ...then stops: the file holds epoch 12 as it ended
    assert written == [1, 6, 11, 12]
    contents = torch.load(saver.last, weights_only=True)  # a Linear, not a ResNet: read the file as it is
    assert contents["resume"]["epoch"] == 12
    assert torch.equal(contents["state_dict"]["weight"], kept["weight"])
    assert torch.equal(contents["resume"]["optimizer"]["state"][0]["exp_avg"], kept_moment)
    saver.flush_recovery()
    assert written == [1, 6, 11, 12]  # nothing newer: not written again


@pytest.mark.parametrize("how", ["stop", "error"])
def test_a_run_that_stops_resumes_from_its_last_finished_epoch_however_seldom_it_was_written(tmp_path, monkeypatch,
                                                                                              how):
    from resnet_gui.core.training import saver as checkpoint_saver

    monkeypatch.setattr(checkpoint_saver, "RECOVERY_SHARE", 1e-9)  # after epoch 1, never again while it runs
    data = make_shapes_dataset(tmp_path / "d", per_class=4, size=16)
    recorder = Recorder()

    class FailsInEpoch3(TrainingCallback):
        def on_batch_end(self, event):
            if how == "error" and event.epoch == 3:
                raise OSError("the disk went away (the test made it so)")

    def cancelled():
        return how == "stop" and any(batch.epoch == 3 for batch in recorder.batches)

    settings = settings_for(data, tmp_path / "m.pt", epochs=5, image_size=16, batch_size=4, keep_last=False)
    trainer = Trainer(settings, [recorder, FailsInEpoch3()], cancelled=cancelled)
    if how == "error":
        with pytest.raises(OSError, match="disk went away"):
            trainer.run()
    else:
        assert trainer.run().stopped == "cancelled"
    assert [event.epoch for event in recorder.epochs] == [1, 2]
    assert read_checkpoint(last_path_for(tmp_path / "m.pt")).extra["resume"]["epoch"] == 2
