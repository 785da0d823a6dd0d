"""Setting up a training run: the start weights, the data, the model, the loaders, the optimizer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, WeightedRandomSampler

from resnet_gui.core.errors import CheckpointError, UserError, WeightsUnavailableError
from resnet_gui.core.images.datasets import PreparedData, SampleDataset, class_weights, prepare_data
from resnet_gui.core.images.folders import FolderScan, scan_class_folder
from resnet_gui.core.images.transforms import Augmentation, Preprocessing, decode_transform, train_transform
from resnet_gui.core.models.architectures import architecture
from resnet_gui.core.models.checkpoints import CheckpointContents, read_checkpoint
from resnet_gui.core.models.resnets import build_model, imagenet_state_dict
from resnet_gui.core.models.stems import is_small_input
from resnet_gui.core.runtime.devices import DevicePolicy, default_num_workers, policy_for, resolve_device
from resnet_gui.core.runtime.distributed import SYNC_BN_ON_CPU, World, device_for, synchronised_batchnorm
from resnet_gui.core.training.schedules import make_scheduler
from resnet_gui.core.training.settings import TrainSettings, input_for


@dataclass
class PreparedRun:
    """Everything one run works with, made once by `set_up`; `settings` as the run resolved them."""

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
    model = build_model(s.arch, len(classes), stem=s.stem)
    if state is None:
        return model
    state = dict(state)
    same_head = contents is not None and contents.classes == classes
    if not same_head:
        state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    if tuple(state.get("conv1.weight", torch.empty(0)).shape[-2:]) != tuple(model.conv1.weight.shape[-2:]):
        state.pop("conv1.weight", None)
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = {"fc.weight", "fc.bias", "conv1.weight"}
    if unexpected or set(missing) - allowed:
        raise CheckpointError(f"The start weights do not fit {s.arch}; choose a matching checkpoint.")
    return model


def make_loaders(s: TrainSettings, data: PreparedData, prep: Preprocessing, device: torch.device,
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


def make_optimizer(s: TrainSettings, model: nn.Module, device: torch.device) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    # fused kernels on CUDA, the foreach (multi-tensor) path elsewhere: one launch per group, not per tensor
    speed = {"fused": True} if device.type == "cuda" else {"foreach": True}
    if s.optimizer == "sgd":
        return torch.optim.SGD(params, lr=s.lr, momentum=0.9, nesterov=True, weight_decay=s.weight_decay, **speed)
    return torch.optim.AdamW(params, lr=s.lr, weight_decay=s.weight_decay, **speed)


def set_up(s: TrainSettings, resumed: CheckpointContents | None, world: World, *, scan: FolderScan | None,
           emit: Callable[..., None], cancelled: Callable[[], bool]) -> PreparedRun:
    """Everything a run works with: the device, the data read (and cached), the model with its start weights,
    the loaders, the optimizer and its schedule. `s` is not changed: what was chosen on the way (the input size
    and the stem) is in the returned run's `settings`."""
    torch.manual_seed(s.seed)  # the same start weights in every process
    device = resolve_device(device_for(world, s.device))
    policy = policy_for(device, amp=s.amp)
    state, contents = (None, None) if resumed else load_start_weights(s)
    if contents is not None:
        # the stem is part of the architecture the file holds
        s = replace(s, small_input=contents.small_input, stem=contents.stem)
    elif resumed is not None and s.stem is None:  # a run from before stems had names
        s = replace(s, stem=resumed.stem)

    emit("on_status", "Reading the images…")
    scan = scan or scan_class_folder(s.data_dir, s.val_dir)
    image_size, stem_name, said = input_for(s, [p for p, _ in scan.train],
                                            "kept from the start checkpoint" if contents is not None else "as set")
    s = replace(s, image_size=image_size, stem=stem_name, small_input=is_small_input(stem_name))
    emit("on_input_chosen", said)  # first: a run's first line says how it will see the pictures
    prep = Preprocessing.imagenet(s.crop)
    data = prepare_data(
        scan, image_size=s.crop, val_split=s.val_split, seed=s.seed,
        progress=lambda done, total: emit("on_status", f"Reading the images… {done}/{total}"),
        cancelled=cancelled,
    )
    emit("on_data_ready", data)

    if resumed:
        if resumed.classes != data.classes:
            raise UserError(f"The folder's classes ({', '.join(data.classes)}) are not those of the run being "
                            f"resumed ({', '.join(resumed.classes)}).")
        model = build_model(s.arch, len(data.classes), stem=s.stem)
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
    train_loader, val_loader, sampler = make_loaders(s, data, prep, device, world)
    net = None
    if world.is_distributed:
        from torch.nn.parallel import DistributedDataParallel

        if s.sync_bn:
            model = synchronised_batchnorm(model, world, device)

        net = DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(s, model, device)
    scheduler = make_scheduler(s.schedule, optimizer, s.epochs, len(train_loader))
    weight = class_weights(data.class_counts()).to(device) if s.balance == "loss" else None
    return PreparedRun(
        settings=s, policy=policy, prep=prep, data=data, model=model, train_loader=train_loader,
        val_loader=val_loader, optimizer=optimizer, scheduler=scheduler,
        criterion=nn.CrossEntropyLoss(weight=weight, label_smoothing=s.label_smoothing),
        scaler=torch.amp.GradScaler(device.type, enabled=policy.amp_dtype == torch.float16),
        world=world, net=net, sampler=sampler,
    )


def train_mode(run: PreparedRun) -> None:
    run.step_net.train()
    if run.settings.freeze_backbone:
        # A frozen backbone keeps its BatchNorm statistics too (Lightning's finetuning does the same).
        for module in run.step_net.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()
