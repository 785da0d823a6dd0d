"""Fine-tuning a ResNet on a class folder, with events for any front end and cancel between batches.

The loop follows torchvision's reference recipe (train_one_epoch, evaluate
under inference_mode) and reports through `TrainingCallback` hooks, every
one a no-op by default, in the manner of Lightning's callbacks: the command
line's progress bar and the window's live plots are just two consumers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader, WeightedRandomSampler

from resnet_gui.core.allocator import release_freed_memory
from resnet_gui.core.calibration import calibrate
from resnet_gui.core.checkpoints import checkpoint_payload, read_checkpoint, write_checkpoint
from resnet_gui.core.data import PreparedData, SampleDataset, class_weights, prepare_data, scan_class_folder
from resnet_gui.core.devices import default_num_workers, policy_for, resolve_device
from resnet_gui.core.errors import CheckpointError, UserError, WeightsUnavailableError
from resnet_gui.core.golden import make_golden
from resnet_gui.core.metrics import confusion_matrix, summarize
from resnet_gui.core.models import build_model, imagenet_state_dict
from resnet_gui.core.train_config import TrainSettings
from resnet_gui.core.transforms import Augmentation, Preprocessing, decode_transform, normalize_batch, train_transform

GOLDEN_COUNT = 4  # validation inputs kept in the checkpoint to check its outputs later
LAST_STATE_EVERY_S = 60.0  # how often, at most, the resumable last state is written mid-run


@dataclass(frozen=True)
class BatchEvent:
    epoch: int
    batch: int
    batches: int
    loss: float
    lr: float
    images_per_second: float


@dataclass(frozen=True)
class EpochEvent:
    epoch: int
    epochs: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    lr: float
    improved: bool
    best_val_acc: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    best_path: Path | None
    last_path: Path | None
    stopped: str  # "completed", "early_stopping" or "cancelled"
    metrics: dict[str, Any]
    history: list[dict[str, Any]]
    classes: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    calibration: dict[str, Any] = field(default_factory=dict)


class TrainingCallback:
    """Hooks called by the Trainer; every one does nothing unless overridden."""

    def on_status(self, text: str) -> None: ...
    def on_data_ready(self, data: PreparedData) -> None: ...
    def on_epoch_start(self, epoch: int, epochs: int) -> None: ...
    def on_batch_end(self, event: BatchEvent) -> None: ...
    def on_epoch_end(self, event: EpochEvent) -> None: ...
    def on_checkpoint(self, path: Path, metrics: dict[str, Any]) -> None: ...
    def on_calibrated(self, calibration: dict[str, Any]) -> None: ...
    def on_finished(self, result: TrainResult) -> None: ...


def last_path_for(out: str | Path) -> Path:
    out = Path(out)
    return out.with_name(f"{out.stem}.last{out.suffix or '.pt'}")


class Trainer:
    def __init__(
        self,
        settings: TrainSettings,
        callbacks: Sequence[TrainingCallback] = (),
        cancelled: Callable[[], bool] | None = None,
    ):
        self.settings = settings
        self.callbacks = list(callbacks)
        self.cancelled = cancelled or (lambda: False)

    def _emit(self, hook: str, *args) -> None:
        for callback in self.callbacks:
            getattr(callback, hook)(*args)

    # ------------------------------------------------------------ set-up
    def _start_weights(self, s: TrainSettings):
        """Fail fast, before reading any image, when the start weights cannot be had."""
        if s.weights == "none":
            return None, None
        if s.weights == "imagenet":
            try:
                return imagenet_state_dict(s.arch), None
            except WeightsUnavailableError as exc:
                raise WeightsUnavailableError(
                    f"{exc} To train without them, use --weights none (random start) or "
                    "--weights FILE (a checkpoint you have)."
                ) from None
        contents = read_checkpoint(s.weights)
        return contents.state_dict, contents

    def _build(self, s: TrainSettings, classes: list[str], state, contents) -> nn.Module:
        model = build_model(s.arch, len(classes), small_input=s.small_input)
        if state is None:
            return model
        state = dict(state)
        same_head = contents is not None and contents.classes == classes
        if not same_head:
            state = {k: v for k, v in state.items() if not k.startswith("fc.")}
        if s.small_input and state.get("conv1.weight", torch.empty(0)).shape[-1:] != (3,):
            state.pop("conv1.weight", None)  # a 7x7 ImageNet stem cannot seed the 3x3 one
        missing, unexpected = model.load_state_dict(state, strict=False)
        allowed = {"fc.weight", "fc.bias", "conv1.weight"}
        if unexpected or set(missing) - allowed:
            raise CheckpointError(f"The start weights do not fit {s.arch}; choose a matching checkpoint.")
        return model

    def _loaders(self, s: TrainSettings, data: PreparedData, prep: Preprocessing, device: torch.device):
        policy = policy_for(device, amp=s.amp)
        train_set = SampleDataset(data.train, train_transform(prep, Augmentation.from_names(s.augment)))
        val_set = SampleDataset(data.val, decode_transform(prep))
        if s.workers is not None:
            workers = s.workers
        elif data.cached and device.type == "cpu":
            workers = 0  # cached pictures: augmenting costs less than feeding a worker process
        else:
            workers = default_num_workers(device)
        generator = torch.Generator().manual_seed(s.seed)
        sampler = None
        if s.balance == "sampler":
            weights = class_weights(data.class_counts())[[x.label for x in data.train]]
            sampler = WeightedRandomSampler(weights.double(), len(data.train), replacement=True, generator=generator)
        common = dict(num_workers=workers, pin_memory=policy.pin_memory, persistent_workers=workers > 0)
        if workers:
            common["prefetch_factor"] = 4
        train = DataLoader(train_set, batch_size=s.batch_size, shuffle=sampler is None, sampler=sampler,
                           generator=generator, drop_last=len(train_set) > s.batch_size, **common)
        val = DataLoader(val_set, batch_size=s.batch_size * 2, shuffle=False, **common)
        return train, val

    def _optimizer(self, s: TrainSettings, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
        params = [p for p in model.parameters() if p.requires_grad]
        # fused kernels on CUDA, the foreach (multi-tensor) path elsewhere: one launch per group, not per tensor
        speed = {"fused": True} if device.type == "cuda" else {"foreach": True}
        if s.optimizer == "sgd":
            return torch.optim.SGD(params, lr=s.lr, momentum=0.9, nesterov=True, weight_decay=s.weight_decay, **speed)
        return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, **speed)

    def _schedule(self, s: TrainSettings, optimizer, steps_per_epoch: int):
        total = max(1, s.epochs * steps_per_epoch)
        warmup = min(steps_per_epoch, total // 10)

        if s.schedule == "cosine":
            def factor(step: int) -> float:
                if step < warmup:
                    return (step + 1) / (warmup + 1)
                progress = (step - warmup) / max(1, total - warmup)
                return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
        elif s.schedule == "step":
            step_epochs = max(1, s.epochs // 3)

            def factor(step: int) -> float:
                return 0.1 ** (step // (steps_per_epoch * step_epochs))
        else:
            def factor(step: int) -> float:
                return 1.0
        return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)

    # ------------------------------------------------------------ the run
    def run(self) -> TrainResult:
        try:
            return self._run()
        finally:
            release_freed_memory()  # the memory kept between batches goes back to the system

    def _run(self) -> TrainResult:
        s = self.settings
        resume_state: dict[str, Any] = {}
        history: list[dict[str, Any]] = []
        if s.resume:
            resumed = read_checkpoint(s.resume)
            saved = TrainSettings.from_dict(resumed.train)
            # A resumed run goes on as it was set up; only its length, output, device and data path may change.
            s = replace(saved, epochs=s.epochs, device=s.device, workers=s.workers, weights="none",
                        out=s.out or saved.out, data_dir=s.data_dir or saved.data_dir, resume=s.resume)
            resume_state = resumed.extra.get("resume") or {}
            history = list(resumed.history)
        s.validate()
        self.settings = s
        torch.manual_seed(s.seed)
        device = resolve_device(s.device)
        policy = policy_for(device, amp=s.amp)

        state, contents = (None, None) if s.resume else self._start_weights(s)
        if contents is not None:
            s.arch, s.small_input = contents.arch, contents.small_input

        self._emit("on_status", "Reading the images…")
        scan = scan_class_folder(s.data_dir, s.val_dir)
        prep = Preprocessing.imagenet(s.crop)
        data = prepare_data(
            scan, image_size=s.crop, val_split=s.val_split, seed=s.seed,
            progress=lambda done, total: self._emit("on_status", f"Reading the images… {done}/{total}"),
            cancelled=self.cancelled,
        )
        self._emit("on_data_ready", data)

        if s.resume:
            model = build_model(s.arch, len(data.classes), small_input=s.small_input)
            model.load_state_dict(resumed.state_dict)
            if resumed.classes != data.classes:
                raise UserError(f"The folder's classes ({', '.join(data.classes)}) are not those of the run being "
                                f"resumed ({', '.join(resumed.classes)}).")
        else:
            model = self._build(s, data.classes, state, contents)
        if s.freeze_backbone:
            for name, parameter in model.named_parameters():
                parameter.requires_grad = name.startswith("fc.")
        model = model.to(device)
        if policy.channels_last:
            model = model.to(memory_format=torch.channels_last)

        train_loader, val_loader = self._loaders(s, data, prep, device)
        optimizer = self._optimizer(s, model, device)
        scheduler = self._schedule(s, optimizer, len(train_loader))
        start_epoch = 1
        best_acc, best_loss = -1.0, math.inf
        if resume_state:
            optimizer.load_state_dict(resume_state["optimizer"])
            scheduler.load_state_dict(resume_state["scheduler"])
            start_epoch = int(resume_state["epoch"]) + 1
            best_acc = float(resume_state.get("best_val_acc", -1.0))
            best_loss = float(resume_state.get("best_val_loss", math.inf))
        weight = class_weights(data.class_counts()).to(device) if s.balance == "loss" else None
        criterion = nn.CrossEntropyLoss(weight=weight, label_smoothing=s.label_smoothing)
        scaler = torch.amp.GradScaler(device.type, enabled=policy.amp_dtype == torch.float16)

        out = Path(s.out or "model.pt")
        last = last_path_for(out)
        best_path: Path | None = out if out.exists() and s.resume else None
        stopped = "completed"
        since_best = 0
        best_metrics: dict[str, Any] = {}
        last_written = time.perf_counter()
        best: dict[str, Any] | None = None  # the best epoch's checkpoint contents, kept for calibration
        unsaved: dict[str, Any] | None = None  # the last finished epoch, when its state is not on disk yet

        def write_last(payload: dict[str, Any], epoch: int) -> None:
            resume = {"epoch": epoch, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                      "best_val_acc": best_acc, "best_val_loss": best_loss}
            write_checkpoint(last, checkpoint_payload(**payload, resume=resume))

        for epoch in range(start_epoch, s.epochs + 1):
            self._emit("on_epoch_start", epoch, s.epochs)
            started = time.perf_counter()
            train_loss, train_acc, finished = self._train_one_epoch(
                model, train_loader, criterion, optimizer, scheduler, scaler, policy, prep, epoch
            )
            if not finished:
                stopped = "cancelled"
                if unsaved is not None:
                    # Stopped mid-epoch: keep the run resumable from the last finished epoch (the
                    # weights are the current ones; the partial epoch is simply trained again).
                    write_last(unsaved["payload"], unsaved["epoch"])
                break
            val = self._evaluate(model, val_loader, criterion, policy, prep, len(data.classes))
            improved = val["accuracy"] > best_acc or (val["accuracy"] == best_acc and val["loss"] < best_loss)
            if improved:
                best_acc, best_loss = val["accuracy"], val["loss"]
            event = EpochEvent(epoch, s.epochs, train_loss, train_acc, val["loss"], val["accuracy"],
                               time.perf_counter() - started, optimizer.param_groups[0]["lr"], improved, best_acc)
            history.append(event.to_dict())
            metrics = {"epoch": epoch, "train_loss": train_loss, "train_acc": train_acc, "val_loss": val["loss"],
                       "val_acc": val["accuracy"], "confusion_matrix": val["confusion_matrix"],
                       "val_samples": len(data.val), "train_samples": len(data.train)}
            payload = dict(model=model, arch=s.arch, classes=data.classes, small_input=s.small_input,
                           preprocessing=prep, train=s.to_dict(), metrics=metrics, history=list(history))
            if improved:
                best_path = write_checkpoint(out, checkpoint_payload(**payload))
                best = {**payload, "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
                best_metrics = metrics
                since_best = 0
                self._emit("on_checkpoint", best_path, metrics)
            else:
                since_best += 1
            if s.patience and since_best >= s.patience:
                stopped = "early_stopping"
            elif self.cancelled():
                stopped = "cancelled"
            # The resumable state (weights and optimizer: three times the model's size) is written at
            # the end, when stopping, and otherwise at most once a minute: on small datasets epochs
            # take seconds, and writing it every epoch cost 15% of the run.
            due = time.perf_counter() - last_written >= LAST_STATE_EVERY_S
            if epoch == s.epochs or stopped != "completed" or due:
                write_last(payload, epoch)
                last_written, unsaved = time.perf_counter(), None
            else:
                unsaved = {"payload": payload, "epoch": epoch}
            self._emit("on_epoch_end", event)
            if stopped != "completed":
                break
        if not best_metrics and best_path is not None:
            best_metrics = read_checkpoint(best_path).metrics
        calibration: dict[str, Any] = {}
        if best_path is not None:  # also after Stop: the best model so far is the one the user keeps
            self._emit("on_status", "Calibrating confidence on the validation set…")
            calibration = self._finish_best(best_path, best, val_loader, policy, prep)
            self._emit("on_calibrated", calibration)
        result = TrainResult(best_path, last if last.exists() else None, stopped, best_metrics, history,
                             data.classes, data.skipped, calibration)
        self._emit("on_finished", result)
        return result

    def _finish_best(self, best_path: Path, best: dict[str, Any] | None, val_loader, policy, prep) -> dict[str, Any]:
        """Fit the temperature and keep golden samples, in the best checkpoint itself.

        The best epoch is still in memory; a resumed run that did not improve reads it from the file.
        """
        if best is None:
            contents = read_checkpoint(best_path)
            best = dict(arch=contents.arch, classes=contents.classes, small_input=contents.small_input,
                        preprocessing=contents.preprocessing, train=contents.train, metrics=contents.metrics,
                        history=contents.history, state=contents.state_dict)
        model = build_model(best["arch"], len(best["classes"]), small_input=best["small_input"])
        model.load_state_dict(best["state"])
        model = model.to(policy.device).eval()
        inputs, logits, labels = [], [], []
        kept = 0
        with torch.inference_mode():
            for images, target in val_loader:
                x = normalize_batch(images.to(policy.device), prep)
                logits.append(model(x).float().cpu())
                labels.append(target)
                if kept < GOLDEN_COUNT:
                    inputs.append(images[: GOLDEN_COUNT - kept])
                    kept += len(inputs[-1])
        calibration = calibrate(torch.cat(logits), torch.cat(labels))
        golden = make_golden(model, torch.cat(inputs), prep)
        payload = checkpoint_payload(
            model=model, arch=best["arch"], classes=best["classes"], small_input=best["small_input"],
            preprocessing=best["preprocessing"], train=best["train"], metrics=best["metrics"],
            history=best["history"], temperature=calibration["temperature"], calibration=calibration,
            golden=golden,
        )
        write_checkpoint(best_path, payload)
        return calibration

    def _train_one_epoch(self, model, loader, criterion, optimizer, scheduler, scaler, policy, prep, epoch):
        model.train()
        if self.settings.freeze_backbone:
            # A frozen backbone keeps its BatchNorm statistics too (Lightning's finetuning does the same).
            for module in model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        total_loss = torch.zeros((), device=policy.device)
        total_correct = torch.zeros((), device=policy.device, dtype=torch.long)
        seen = 0
        batches = len(loader)
        rate = 0.0
        tick = time.perf_counter()
        for index, (images, labels) in enumerate(loader, 1):
            if self.cancelled():
                return 0.0, 0.0, False
            images = images.to(policy.device, non_blocking=policy.pin_memory)
            labels = labels.to(policy.device, non_blocking=policy.pin_memory)
            x = normalize_batch(images, prep)
            if policy.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            with policy.autocast():
                logits = model(x)
                loss = criterion(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            batch_loss = loss.detach()
            total_loss += batch_loss * labels.size(0)
            total_correct += (logits.argmax(1) == labels).sum()
            seen += labels.size(0)
            now = time.perf_counter()
            current = labels.size(0) / max(now - tick, 1e-9)
            rate = current if rate == 0 else 0.8 * rate + 0.2 * current
            tick = now
            self._emit("on_batch_end", BatchEvent(epoch, index, batches, batch_loss.item(),
                                                  optimizer.param_groups[0]["lr"], rate))
        return (total_loss / max(seen, 1)).item(), total_correct.item() / max(seen, 1), True

    @torch.inference_mode()
    def _evaluate(self, model, loader, criterion, policy, prep, num_classes: int) -> dict[str, Any]:
        model.eval()
        loss_sum = 0.0
        targets, predictions = [], []
        for images, labels in loader:
            x = normalize_batch(images.to(policy.device, non_blocking=policy.pin_memory), prep)
            if policy.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            labels = labels.to(policy.device)
            with policy.autocast():
                logits = model(x)
            loss_sum += nn.functional.cross_entropy(logits.float(), labels, reduction="sum").item()
            targets.append(labels.cpu())
            predictions.append(logits.argmax(1).cpu())
        target = torch.cat(targets)
        matrix = confusion_matrix(target, torch.cat(predictions), num_classes)
        return {"loss": loss_sum / max(len(target), 1), "accuracy": matrix.diag().sum().item() / max(len(target), 1),
                "confusion_matrix": matrix.tolist()}


def evaluate_folder(
    checkpoint: str,
    data_dir: str,
    *,
    image_size: int | None = None,
    device: str = "auto",
    batch_size: int = 64,
    progress: Callable[[int, int], None] | None = None,
    thumbnails: int = 128,
    amp: bool = True,
) -> dict[str, Any]:
    """Accuracy, per-class precision / recall / F1 and the confusion matrix on a class folder.

    The folder's subfolders are matched to the checkpoint's classes by name;
    a subfolder the model does not know is an error, not a silent zero.
    """
    from resnet_gui.core.inference import Predictor
    from resnet_gui.core.metrics import one_vs_rest
    from resnet_gui.core.models import load_checkpoint_bundle
    from resnet_gui.core.report import thumbnail_data_uri

    bundle = load_checkpoint_bundle(checkpoint, image_size=image_size)
    scan = scan_class_folder(data_dir)
    unknown = [c for c in scan.classes if c not in bundle.classes]
    if unknown:
        raise UserError(
            f"The folder has classes the model does not know: {', '.join(unknown)}. "
            f"The model's classes are: {', '.join(bundle.classes)}."
        )
    samples = scan.train + (scan.val or [])
    truth = [bundle.classes.index(scan.classes[label]) for _, label in samples]
    num_classes = len(bundle.classes)
    predictor = Predictor(bundle, device=device, batch_size=batch_size, top_k=num_classes,
                          thumbnail_size=thumbnails, amp=amp)
    predicted, targets, probabilities, failed, mistakes, items = [], [], [], [], [], []
    done = 0
    for batch in predictor.predict([p for p, _ in samples]):
        for prediction in batch:
            if prediction.ok:
                probs = [0.0] * num_classes
                for guess in prediction.top_k:
                    probs[guess.index] = guess.prob
                probabilities.append(probs)
                predicted.append(prediction.best.index)
                targets.append(truth[done])
                right = prediction.best.index == truth[done]
                items.append({"path": prediction.path, "true": bundle.classes[truth[done]],
                              "predicted": prediction.best.label, "confidence": prediction.best.prob})
                if not right:
                    mistakes.append({**items[-1], "thumbnail": thumbnail_data_uri(prediction.thumbnail)
                                     if prediction.thumbnail is not None else None})
            else:
                failed.append((prediction.path, prediction.error))
            done += 1
        if progress is not None:
            progress(done, len(samples))
    if not targets:
        raise UserError("None of the images in the folder could be read.")
    matrix = confusion_matrix(torch.tensor(targets), torch.tensor(predicted), num_classes)
    report = summarize(matrix, bundle.classes)
    report.update(one_vs_rest(probabilities, targets, bundle.classes))
    report["skipped"] = [{"path": p, "error": e} for p, e in failed]
    report["checkpoint"] = str(checkpoint)
    report["data_dir"] = str(data_dir)
    report["mistakes"] = mistakes
    report["items"] = items  # every classified file: what the window shows behind a matrix cell
    return report
