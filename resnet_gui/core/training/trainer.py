"""Fine-tuning a ResNet on a class folder, with events for any front end and cancel between batches.

The loop follows torchvision's reference recipe (train_one_epoch, evaluate
under inference_mode) and reports through `TrainingCallback` hooks, every
one a no-op by default, in the manner of Lightning's callbacks: the command
line's progress bar and the window's live plots are just two consumers.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from resnet_gui.core.errors import CheckpointError, UserError, WeightsUnavailableError
from resnet_gui.core.evaluation.metrics import confusion_matrix
from resnet_gui.core.images.datasets import PreparedData, SampleDataset, class_weights, prepare_data
from resnet_gui.core.images.folders import FolderScan, scan_class_folder, typical_short_side
from resnet_gui.core.images.transforms import (
    Augmentation,
    Preprocessing,
    decode_transform,
    normalize_batch,
    train_transform,
)
from resnet_gui.core.models.architectures import architecture
from resnet_gui.core.models.checkpoints import CheckpointContents, checkpoint_payload, read_checkpoint, write_checkpoint
from resnet_gui.core.models.resnets import build_model, imagenet_state_dict
from resnet_gui.core.runtime.allocator import release_freed_memory
from resnet_gui.core.runtime.devices import DevicePolicy, default_num_workers, policy_for, resolve_device
from resnet_gui.core.runtime.distributed import (
    SYNC_BN_ON_CPU,
    World,
    device_for,
    end_process_group,
    start_process_group,
    synchronised_batchnorm,
    world_from_environment,
)
from resnet_gui.core.training.clock import RunClock
from resnet_gui.core.training.events import BatchEvent, EpochEvent, TrainingCallback, TrainResult
from resnet_gui.core.training.lr_finder import LRFinding, sweep
from resnet_gui.core.training.saver import BestEpoch, CheckpointSaver, OutputLock, last_path_for, unique_model_path
from resnet_gui.core.training.schedules import make_scheduler, restore_scheduler
from resnet_gui.core.training.settings import TrainSettings, input_choice
from resnet_gui.core.trust.calibration import calibrate
from resnet_gui.core.trust.familiarity import DEFAULT_METHOD as DEFAULT_FAMILIARITY
from resnet_gui.core.trust.familiarity import MAX_FIT_PICTURES, capture_features, fit_familiarity
from resnet_gui.core.trust.golden import make_golden

# Re-exported: front ends import the whole training vocabulary from here.
__all__ = ["BatchEvent", "EpochEvent", "TrainResult", "Trainer", "TrainingCallback", "TrainSettings",
           "last_path_for"]

GOLDEN_COUNT = 4  # validation inputs kept in the checkpoint to check its outputs later


@dataclass
class _Run:
    """Everything one run works with, made once by `Trainer._set_up`."""

    settings: TrainSettings
    policy: DevicePolicy
    prep: Preprocessing
    data: PreparedData
    model: nn.Module
    train_loader: DataLoader
    val_loader: DataLoader
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    criterion: nn.Module
    scaler: torch.amp.GradScaler
    world: World = field(default_factory=World)
    net: nn.Module | None = None  # what the training step runs: the model, or DistributedDataParallel around it
    sampler: DistributedSampler | None = None

    @property
    def step_net(self) -> nn.Module:
        return self.net if self.net is not None else self.model


def load_start_weights(s: TrainSettings) -> tuple[dict[str, torch.Tensor] | None, CheckpointContents | None]:
    """The weights a run starts from (None for a random start), and the checkpoint they came from.
    Called before any image is read, so a run that cannot have them fails at once."""
    if s.weights == "none":
        return None, None
    if s.weights == "imagenet":
        try:
            return imagenet_state_dict(s.arch), None
        except WeightsUnavailableError as exc:
            raise WeightsUnavailableError(
                f"{exc} To train without them, use --weights none (random start) or "
                "--weights FILE (a checkpoint you have).",
                in_window=f"{exc} To train without them, choose 'None (random start)' or 'Checkpoint file…' "
                          "under Start from.",
            ) from None
    contents = read_checkpoint(s.weights)
    if contents.arch != s.arch:
        held, chosen = architecture(contents.arch).title, architecture(s.arch).title
        raise CheckpointError(f"{Path(s.weights).name} holds a {held} ({contents.arch}), not the {chosen} chosen. "
                              f"Choose {held} as the architecture, or start from another checkpoint.")
    return contents.state_dict, contents


def build_start_model(s: TrainSettings, classes: list[str], state: dict[str, torch.Tensor] | None,
                      contents: CheckpointContents | None) -> nn.Module:
    """The network to train: `state` loaded where it fits; the head is kept only when the start
    checkpoint has exactly these classes, and a 7x7 ImageNet stem never seeds the 3x3 one."""
    model = build_model(s.arch, len(classes), small_input=s.small_input)
    if state is None:
        return model
    state = dict(state)
    same_head = contents is not None and contents.classes == classes
    if not same_head:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    if s.small_input and state.get("conv1.weight", torch.empty(0)).shape[-1:] != (3,):
        state.pop("conv1.weight", None)
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = {"fc.weight", "fc.bias", "conv1.weight"}
    if unexpected or set(missing) - allowed:
        raise CheckpointError(f"The start weights do not fit {s.arch}; choose a matching checkpoint.")
    return model


class FinishingSkipped(Exception):
    """The user chose not to wait for the best model's finishing steps."""


class Trainer:
    """Runs one training (or a resumed one) from `TrainSettings`; `cancelled` is polled between batches."""

    def __init__(
        self,
        settings: TrainSettings,
        callbacks: Sequence[TrainingCallback] = (),
        cancelled: Callable[[], bool] | None = None,
        scan: FolderScan | None = None,
        skip_finishing: Callable[[], bool] | None = None,
    ):
        """`scan`: the pictures to train on when they are not a class folder (a project's labelled
        pictures with their split); by default `settings.data_dir` is scanned.
        `skip_finishing`: polled while the best model is finished (calibration, the familiarity fit, golden
        samples); when it turns true the best checkpoint is kept as the epoch saved it, uncalibrated."""
        self.settings = settings
        self.callbacks = list(callbacks)
        self.cancelled = cancelled or (lambda: False)
        self.skip_finishing = skip_finishing or (lambda: False)
        self.scan = scan
        self._clock: RunClock | None = None

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    # ------------------------------------------------------------ set-up
    def _loaders(self, s: TrainSettings, data: PreparedData, prep: Preprocessing, device: torch.device,
                 world: World | None = None):
        world = world or World()
        policy = policy_for(device, amp=s.amp)
        train_set = SampleDataset(data.train, train_transform(prep, Augmentation.from_names(s.augment, s.crop_scale)))
        val_set = SampleDataset(data.val, decode_transform(prep))
        if s.workers is not None:
            workers = s.workers
        elif data.cached and device.type == "cpu":
            workers = 0  # cached pictures: augmenting costs less than feeding a worker process
        else:
            workers = default_num_workers(device)
        generator = torch.Generator().manual_seed(s.seed)
        sampler = None
        batch_size = s.batch_size
        if world.is_distributed:
            if s.balance == "sampler":
                raise UserError("Balanced sampling is not available with several processes; use --balance loss.",
                                in_window="Balanced sampling is not available with several processes; choose "
                                          "the class-weighted loss.")
            # --batch-size is the global batch, over all processes, as with one process.
            batch_size = max(1, s.batch_size // world.size)
            sampler = DistributedSampler(train_set, num_replicas=world.size, rank=world.rank, shuffle=True,
                                         seed=s.seed, drop_last=True)
        elif s.balance == "sampler":
            weights = class_weights(data.class_counts())[[x.label for x in data.train]]
            sampler = WeightedRandomSampler(weights.double(), len(data.train), replacement=True, generator=generator)
        common = dict(num_workers=workers, pin_memory=policy.pin_memory, persistent_workers=workers > 0)
        if workers:
            common["prefetch_factor"] = 4
        shard = len(train_set) // world.size
        train = DataLoader(train_set, batch_size=batch_size, shuffle=sampler is None, sampler=sampler,
                           generator=generator, drop_last=shard > batch_size, **common)
        # Every process validates on the whole set: the figures are exact, and every process takes the
        # same decisions (best epoch, early stopping) without another exchange.
        val = DataLoader(val_set, batch_size=s.batch_size * 2, shuffle=False, **common)
        return train, val, sampler if isinstance(sampler, DistributedSampler) else None

    def _optimizer(self, s: TrainSettings, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
        params = [p for p in model.parameters() if p.requires_grad]
        # fused kernels on CUDA, the foreach (multi-tensor) path elsewhere: one launch per group, not per tensor
        speed = {"fused": True} if device.type == "cuda" else {"foreach": True}
        if s.optimizer == "sgd":
            return torch.optim.SGD(params, lr=s.lr, momentum=0.9, nesterov=True, weight_decay=s.weight_decay, **speed)
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, **speed)

    # ------------------------------------------------------------ the run
    def run(self) -> TrainResult:
        try:
            return self._run()
        finally:
            release_freed_memory()  # the memory kept between batches goes back to the system

    def _settings_for_run(self) -> tuple[TrainSettings, CheckpointContents | None]:
        """The settings, and for `--resume` the saved run: a resumed run goes on as it was set up;
        only its length, output, device, workers and data path may change."""
        s = self.settings
        if not s.resume:
            return s, None
        resumed = read_checkpoint(s.resume)
        saved = TrainSettings.from_dict(resumed.train)
        s = replace(saved, epochs=s.epochs or saved.epochs, device=s.device, workers=s.workers, weights="none",
                    find_lr=False,  # the saved rate is the one found
                    out=s.out or saved.out, data_dir=s.data_dir or saved.data_dir, resume=s.resume,
                    keep_last=s.keep_last)
        return s, resumed

    def _set_up(self, s: TrainSettings, resumed: CheckpointContents | None, world: World) -> _Run:
        torch.manual_seed(s.seed)  # the same start weights in every process
        device = resolve_device(device_for(world, s.device))
        policy = policy_for(device, amp=s.amp)
        state, contents = (None, None) if resumed else load_start_weights(s)
        if contents is not None:
            s.small_input = contents.small_input  # the stem is part of the architecture the file holds

        self._emit("on_status", "Reading the images…")
        scan = self.scan or scan_class_folder(s.data_dir, s.val_dir)
        typical = None if s.image_size else typical_short_side([p for p, _ in scan.train])
        s.image_size, s.small_input, said = input_choice(s.image_size, s.small_input, typical)
        prep = Preprocessing.imagenet(s.crop)
        data = prepare_data(
            scan, image_size=s.crop, val_split=s.val_split, seed=s.seed,
            progress=lambda done, total: self._emit("on_status", f"Reading the images… {done}/{total}"),
            cancelled=self.cancelled,
        )
        self._emit("on_data_ready", data)
        self._emit("on_input_chosen", said)

        if resumed:
            if resumed.classes != data.classes:
                raise UserError(f"The folder's classes ({', '.join(data.classes)}) are not those of the run being "
                                f"resumed ({', '.join(resumed.classes)}).")
            model = build_model(s.arch, len(data.classes), small_input=s.small_input)
            model.load_state_dict(resumed.state_dict)
        else:
            model = build_start_model(s, data.classes, state, contents)
        if s.freeze_backbone:
            for name, parameter in model.named_parameters():
                parameter.requires_grad = name.startswith("fc.")
        model = model.to(device)
        if policy.channels_last:
            model = model.to(memory_format=torch.channels_last)

        if s.sync_bn and device.type == "cpu":
            # refused with one process too, as README says: accepted, it did nothing and looked obeyed
            raise UserError(SYNC_BN_ON_CPU)
        train_loader, val_loader, sampler = self._loaders(s, data, prep, device, world)
        net = None
        if world.is_distributed:
            from torch.nn.parallel import DistributedDataParallel

            if s.sync_bn:
                model = synchronised_batchnorm(model, world, device)

            net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
        optimizer = self._optimizer(s, model, device)
        scheduler = make_scheduler(s.schedule, optimizer, s.epochs, len(train_loader))
        weight = class_weights(data.class_counts()).to(device) if s.balance == "loss" else None
        return _Run(
            settings=s, policy=policy, prep=prep, data=data, model=model, train_loader=train_loader,
            val_loader=val_loader, optimizer=optimizer, scheduler=scheduler,
            criterion=nn.CrossEntropyLoss(weight=weight, label_smoothing=s.label_smoothing),
            scaler=torch.amp.GradScaler(device.type, enabled=policy.amp_dtype == torch.float16),
            world=world, net=net, sampler=sampler,
        )

    def _run(self) -> TrainResult:
        s, resumed = self._settings_for_run()
        s.validate()
        self.settings = s
        world = world_from_environment()
        if not world.is_main:
            self.callbacks = []  # one process speaks for a multi-process run
        if not s.out:
            s.out = "model.pt" if world.is_distributed else str(unique_model_path("model.pt"))
        start_process_group(world)
        try:
            if not world.is_main:
                return self._run_locked(s, resumed, world)
            with OutputLock(s.out):  # no other run writes this model meanwhile
                return self._run_locked(s, resumed, world)
        finally:
            end_process_group()

    def _run_locked(self, s: TrainSettings, resumed: CheckpointContents | None, world: World) -> TrainResult:
        run = self._set_up(s, resumed, world)
        saver = CheckpointSaver(s.out, resuming=resumed is not None, writes=world.is_main)
        history: list[dict[str, Any]] = list(resumed.history) if resumed else []
        start_epoch = 1
        resume_state = resumed.extra.get("resume") if resumed else None
        if resume_state:
            start_epoch = saver.restore(resume_state)
            run.optimizer.load_state_dict(resume_state["optimizer"])
            if isinstance(run.scheduler, torch.optim.lr_scheduler.OneCycleLR):
                # Loading the optimizer replaced the rates one-cycle keeps in its groups: built again on the
                # loaded optimizer, and replayed (its rate is a function of the step, not of the last rate).
                run.scheduler = make_scheduler(s.schedule, run.optimizer, s.epochs, len(run.train_loader))
            restore_scheduler(run.scheduler, resume_state["scheduler"], (start_epoch - 1) * len(run.train_loader))

        elif s.find_lr:
            self._use_found_rate(run)

        self._clock = self._start_clock(run, s.epochs - start_epoch + 1)
        stopped = "completed"
        for epoch in range(start_epoch, s.epochs + 1):
            stopped = self._one_epoch(run, saver, epoch, history)
            if stopped != "completed":
                break

        calibration: dict[str, Any] = {}
        finishing_skipped = False
        best = saver.best_epoch() if world.is_main else None
        if best is not None:  # also after Stop: the best model so far is the one the user keeps
            self._emit("on_finishing")
            self._emit("on_status", "Finishing the best model: calibrating its confidence on the validation set…")
            try:
                calibration = self._finish_best(saver.best_path, best, run)
            except FinishingSkipped:
                finishing_skipped = True  # the checkpoint the epoch wrote stays: complete, uncalibrated
            else:
                self._emit("on_calibrated", calibration)
        if stopped != "cancelled" and not s.keep_last and saver.best_path is not None and world.is_main:
            saver.last.unlink(missing_ok=True)  # a finished run needs no resuming; a stopped one keeps it
        result = TrainResult(saver.best_path, saver.last_if_written(), stopped, best.metrics if best else {},
                             history, run.data.classes, run.data.skipped, calibration,
                             finishing_skipped=finishing_skipped)
        self._emit("on_finished", result)
        return result

    def find_learning_rate(self) -> LRFinding:
        """Only the range test, on the run these settings would make: nothing is trained or written."""
        s = replace(self.settings, find_lr=False, resume=None)
        s.validate()
        world = World()
        try:
            run = self._set_up(s, None, world)
            return self._sweep(run)
        finally:
            release_freed_memory()

    def _sweep(self, run: _Run) -> LRFinding:
        self._emit("on_status", "Finding the learning rate…")
        reduce_loss = None
        if run.world.is_distributed:  # every process sees the same loss, so all stop at the same step
            import torch.distributed as dist

            def reduce_loss(loss: torch.Tensor) -> torch.Tensor:
                loss = loss.clone()
                dist.all_reduce(loss)
                return loss / run.world.size

        self._train_mode(run)
        finding = sweep(
            run.model, run.optimizer, run.train_loader, lambda images, labels: self._step(run, images, labels)[0],
            cancelled=self.cancelled, reduce_loss=reduce_loss,
            progress=lambda done, total, rate, loss: self._emit("on_lr_sweep", done, total, rate, loss),
        )
        if finding.stopped == "cancelled":
            raise InterruptedError("learning-rate search cancelled")
        self._emit("on_lr_found", finding)
        return finding

    def _use_found_rate(self, run: _Run) -> None:
        """`--lr auto`: the range test on this run's own model and data, then a fresh optimizer and schedule
        at the suggested rate (the model is as it was before the test)."""
        s = run.settings
        finding = self._sweep(run)
        if run.world.is_distributed:  # the first process's suggestion, to the last bit, for every process
            import torch.distributed as dist

            rate = torch.tensor([finding.suggestion], dtype=torch.float64, device=run.policy.device)
            dist.broadcast(rate, 0)
            finding.suggestion = rate.item()
        s.lr = finding.suggestion
        run.optimizer = self._optimizer(s, run.model, run.policy.device)
        run.scheduler = make_scheduler(s.schedule, run.optimizer, s.epochs, len(run.train_loader))

    def _start_clock(self, run: _Run, epochs: int) -> RunClock:
        """A clock for the estimate, with the validation pass and the checkpoints timed beforehand (the
        batches are timed as the first epoch runs)."""
        clock = RunClock(epochs, len(run.train_loader), len(run.val_loader))
        if not run.world.is_main:
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
        clock.seconds_per_write = self._time_saving(run)
        return clock

    @staticmethod
    def _time_saving(run: _Run) -> float:
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

    def _one_epoch(self, run: _Run, saver: CheckpointSaver, epoch: int, history: list[dict[str, Any]]) -> str:
        """Train and validate one epoch, save what the policy says; returns "completed" to go on, or why not."""
        s = run.settings
        self._emit("on_epoch_start", epoch, s.epochs)
        started = time.perf_counter()
        if run.sampler is not None:
            run.sampler.set_epoch(epoch)  # a different shuffle each epoch, the same in every process
        train_loss, train_acc, finished = self._train_one_epoch(run, epoch)
        if not finished:
            return "cancelled"  # the last finished epoch's state is on disk already
        val = self._evaluate(run)
        metrics = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val["loss"],
                   "val_acc": val["accuracy"], "confusion_matrix": val["confusion_matrix"],
                   "val_samples": len(run.data.val), "train_samples": len(run.data.train)}
        improved = saver.is_improvement(val["accuracy"], val["loss"])
        event = EpochEvent(epoch, s.epochs, train_loss, train_acc, val["loss"], val["accuracy"],
                           time.perf_counter() - started, run.optimizer.param_groups[0]["lr"], improved,
                           max(saver.best_acc, val["accuracy"]))
        history.append(event.to_dict())
        fields = dict(arch=s.arch, classes=run.data.classes, small_input=s.small_input, preprocessing=run.prep,
                      train=s.to_dict(), metrics=metrics, history=list(history))
        if saver.save_checkpoint(fields, run.model, val["accuracy"], val["loss"]):
            self._emit("on_checkpoint", saver.best_path, metrics)
        stopped = "completed"
        if s.patience and saver.since_best >= s.patience:
            stopped = "early_stopping"
        elif self.cancelled():
            stopped = "cancelled"
        saver.save_recovery(fields, run.model, epoch, run.optimizer, run.scheduler)
        self._emit("on_epoch_end", event)
        return stopped

    def _finish_best(self, best_path: Path, best: BestEpoch, run: _Run) -> dict[str, Any]:
        """Fit the temperature and the familiarity threshold, and keep golden samples, in the best checkpoint."""
        f = best.fields
        model = build_model(f["arch"], len(f["classes"]), small_input=f["small_input"])
        model.load_state_dict(best.state)
        model = model.to(run.policy.device).eval()
        logits, labels = [], []
        chosen, spare, classes_seen = [], [], set()  # golden samples: one per class first, as far as it goes
        with torch.inference_mode(), capture_features(model) as pooled:
            for images, target in run.val_loader:
                self._check_skip()
                x = normalize_batch(images.to(run.policy.device), run.prep)
                logits.append(model(x).float().cpu())
                labels.append(target)
                for image, label in zip(images, target.tolist(), strict=False):
                    if len(chosen) < GOLDEN_COUNT and label not in classes_seen:
                        chosen.append(image)
                        classes_seen.add(label)
                    elif len(spare) < GOLDEN_COUNT:
                        spare.append(image)
            features = [p.cpu() for p in pooled]
        golden_inputs = torch.stack((chosen + spare)[:GOLDEN_COUNT])
        val_logits = torch.cat(logits)
        calibration = calibrate(val_logits, torch.cat(labels))
        self._check_skip()
        self._emit("on_status", "Finishing the best model: learning what the training pictures look like…")
        familiarity = self._fit_familiarity(model, run, val_logits, torch.cat(features))
        self._check_skip()
        golden = make_golden(model, golden_inputs, run.prep)
        write_checkpoint(best_path, checkpoint_payload(model=model, **f, temperature=calibration["temperature"],
                                                       calibration=calibration, golden=golden,
                                                       familiarity=familiarity))
        calibration["unfamiliar"] = {"method": familiarity["method"], "threshold": familiarity["threshold"]}
        return calibration

    def _fit_familiarity(self, model: nn.Module, run: _Run, val_logits: torch.Tensor,
                         val_features: torch.Tensor) -> dict[str, Any]:
        """The out-of-distribution score, from the training pictures seen without augmentation (at most
        MAX_FIT_PICTURES, spread evenly) and a threshold from validation (core/trust/familiarity.py)."""
        train_features = train_labels = None
        if DEFAULT_FAMILIARITY == "mahalanobis":
            samples = run.data.train
            step = max(1, -(-len(samples) // MAX_FIT_PICTURES))
            dataset = SampleDataset(samples[::step], decode_transform(run.prep))
            loader = DataLoader(dataset, batch_size=run.val_loader.batch_size, shuffle=False,
                                num_workers=run.val_loader.num_workers)
            labels = []
            with torch.inference_mode(), capture_features(model) as pooled:
                for images, target in loader:
                    self._check_skip()
                    model(normalize_batch(images.to(run.policy.device), run.prep))
                    labels.append(target)
                train_features = torch.cat([p.cpu() for p in pooled])
            train_labels = torch.cat(labels)
        return fit_familiarity(DEFAULT_FAMILIARITY, val_logits=val_logits, val_features=val_features,
                               train_features=train_features, train_labels=train_labels,
                               num_classes=len(run.data.classes))

    def _check_skip(self) -> None:
        if self.skip_finishing():
            raise FinishingSkipped

    @staticmethod
    def _step(run: _Run, images: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
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

    @staticmethod
    def _train_mode(run: _Run) -> None:
        run.step_net.train()
        if run.settings.freeze_backbone:
            # A frozen backbone keeps its BatchNorm statistics too (Lightning's finetuning does the same).
            for module in run.step_net.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()

    def _train_one_epoch(self, run: _Run, epoch: int) -> tuple[float, float, bool]:
        policy, optimizer = run.policy, run.optimizer
        self._train_mode(run)
        total_loss = torch.zeros((), device=policy.device)
        total_correct = torch.zeros((), device=policy.device, dtype=torch.long)
        seen = 0
        batches = len(run.train_loader)
        rate = 0.0
        tick = time.perf_counter()
        for index, (images, labels) in enumerate(run.train_loader, 1):
            if self.cancelled():
                return 0.0, 0.0, False
            labels = labels.to(policy.device, non_blocking=policy.pin_memory)
            loss, logits = self._step(run, images, labels)
            run.scheduler.step()
            batch_loss = loss.detach()
            total_loss += batch_loss * labels.size(0)
            total_correct += (logits.argmax(1) == labels).sum()
            seen += labels.size(0)
            now = time.perf_counter()
            if self._clock is not None and (estimate := self._clock.batch_done(index, now - tick)) is not None:
                self._emit("on_estimate", estimate, self._clock.timed_needed)
            current = labels.size(0) / max(now - tick, 1e-9)
            rate = current if rate == 0 else 0.8 * rate + 0.2 * current
            tick = now
            self._emit("on_batch_end", BatchEvent(epoch, index, batches, batch_loss.item(),
                                                  optimizer.param_groups[0]["lr"], rate))
        seen_t = torch.tensor(float(seen), device=policy.device)
        if run.world.is_distributed:  # the epoch's figures over every process's share
            import torch.distributed as dist

            for value in (total_loss, total_correct, seen_t):
                dist.all_reduce(value)
        seen = max(seen_t.item(), 1)
        return (total_loss / seen).item(), total_correct.item() / seen, True

    @torch.inference_mode()
    def _evaluate(self, run: _Run) -> dict[str, Any]:
        model, policy = run.model, run.policy
        if run.world.is_distributed:  # BatchNorm statistics as the first process has them: one model
            import torch.distributed as dist

            for buffer in model.buffers():
                dist.broadcast(buffer, 0)
        model.eval()
        loss_sum = 0.0
        targets, predictions = [], []
        for images, labels in run.val_loader:
            x = normalize_batch(images.to(policy.device, non_blocking=policy.pin_memory), run.prep)
            if policy.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            labels = labels.to(policy.device)
            with policy.autocast():
                logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), labels, reduction="sum").item()
            targets.append(labels.cpu())
            predictions.append(logits.argmax(1).cpu())
        target = torch.cat(targets)
        matrix = confusion_matrix(target, torch.cat(predictions), len(run.data.classes))
        return {"loss": loss_sum / max(len(target), 1), "accuracy": matrix.diag().sum().item() / max(len(target), 1),
                "confusion_matrix": matrix.tolist()}
