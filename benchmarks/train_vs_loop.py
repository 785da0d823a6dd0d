"""Benchmark 3: `resnet-gui train` images/s against the tutorials' training loop on the same data.

The tutorial loop: torchvision ImageFolder + RandomResizedCrop/flip +
ToTensor/Normalize, DataLoader, Adam, one forward/backward per batch,
and an evaluation pass per epoch. The app: core.training.Trainer with the
same architecture, image size, batch size, epochs and augmentation, run
twice: with the device's mixed precision (bfloat16 on a GPU or on a CPU that
computes it in hardware) and in float32 (--no-amp), so that what the data
path gives and what the precision gives can be told apart. Each run is a
fresh process, as a user's would be (the app's allocator settings are
process-wide), timed inside over whole epochs (data loading included);
accuracy on the same validation images is printed beside the speed. The
compute limit is the bare forward/backward/step on ready tensors, in the
loop's float32 and in the app's settings.
Goal: 1.5x or more on a CPU.

    python benchmarks/train_vs_loop.py [--per-class 100] [--image-size 64] [--epochs 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from common import machine, work_dir


def tutorial_loop(train_dir: Path, val_dir: Path, arch: str, size: int, epochs: int, batch: int, lr: float,
                  workers: int):
    import torch
    import torchvision
    from torch import nn
    from torchvision import datasets, transforms

    torch.manual_seed(0)
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_set = datasets.ImageFolder(str(train_dir), transforms.Compose([
        transforms.RandomResizedCrop(size, scale=(0.35, 1.0)), transforms.RandomHorizontalFlip(),
        transforms.ToTensor(), normalize]))
    val_set = datasets.ImageFolder(str(val_dir), transforms.Compose([
        transforms.Resize(round(size * 256 / 224)), transforms.CenterCrop(size), transforms.ToTensor(), normalize]))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch, shuffle=True, num_workers=workers,
                                               drop_last=True)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=batch, num_workers=workers)
    model = torchvision.models.get_model(arch, num_classes=len(train_set.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    criterion = nn.CrossEntropyLoss()
    seen = 0
    started = time.perf_counter()
    for _ in range(epochs):
        model.train()
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(images), labels)
            loss.backward()
            optimizer.step()
            seen += labels.size(0)
        model.eval()
        correct = total = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += (model(images).argmax(1) == labels).sum().item()
                total += labels.size(0)
    return seen / (time.perf_counter() - started), correct / total


def app_trainer(train_dir: Path, val_dir: Path, arch: str, size: int, epochs: int, batch: int, lr: float, out: Path,
                amp: bool = True):
    from resnet_gui.core.training.events import TrainingCallback
    from resnet_gui.core.training.settings import TrainSettings
    from resnet_gui.core.training.trainer import Trainer

    class Count(TrainingCallback):
        seen = 0

        def on_batch_end(self, event):
            Count.seen += 1

    settings = TrainSettings(data_dir=str(train_dir), val_dir=str(val_dir), arch=arch, weights="none",
                             image_size=size, epochs=epochs, batch_size=batch, lr=lr, augment=["crop", "hflip"],
                             out=str(out), amp=amp)
    started = time.perf_counter()
    result = Trainer(settings, [Count()]).run()
    seconds = time.perf_counter() - started
    return Count.seen * batch / seconds, result.history[-1]["val_acc"]


def compute_limit(arch: str, size: int, batch: int, app_settings: bool, classes: int = 3, steps: int = 10) -> float:
    """Images/s of forward + backward + AdamW step on ready tensors: no data loading at all.

    `app_settings`: with the app's device policy (channels_last, autocast where the hardware has it);
    otherwise float32 in torch's default layout, as the tutorial loop runs.
    """
    import torch
    import torchvision

    from resnet_gui.core.runtime.devices import policy_for, resolve_device

    policy = policy_for(resolve_device("auto"), amp=app_settings)
    torch.manual_seed(0)
    model = torchvision.models.get_model(arch, num_classes=classes).to(policy.device)
    x = torch.randn(batch, 3, size, size, device=policy.device)
    y = torch.randint(0, classes, (batch,), device=policy.device)
    if app_settings and policy.channels_last:
        model, x = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), foreach=True)
    loss_fn = torch.nn.CrossEntropyLoss()
    for step in range(steps + 2):
        if step == 2:
            if policy.is_cuda:
                torch.cuda.synchronize()
            started = time.perf_counter()
        optimizer.zero_grad()
        with (policy.autocast() if app_settings else torch.autocast(policy.device.type, enabled=False)):
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
    if policy.is_cuda:
        torch.cuda.synchronize()
    return steps * batch / (time.perf_counter() - started)


PARTS = ("loop", "app", "app-float32", "limit-float32", "limit-app")


def run_part(part: str, args, root: Path) -> tuple[float, float | None]:
    """One measurement in this process: (images/s, validation accuracy or None)."""
    common = (root / "train", root / "val", args.arch, args.image_size, args.epochs, args.batch_size, args.lr)
    if part == "loop":
        return tutorial_loop(*common, workers=args.loop_workers)
    if part == "limit-float32":
        return compute_limit(args.arch, args.image_size, args.batch_size, app_settings=False), None
    from resnet_gui.core.runtime.allocator import keep_freed_memory

    keep_freed_memory()  # as `resnet-gui train` does before it starts
    if part == "limit-app":
        return compute_limit(args.arch, args.image_size, args.batch_size, app_settings=True), None
    return app_trainer(*common, out=root / f"bench-{part}.pt", amp=part == "app")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--per-class", type=int, default=100)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--loop-workers", type=int, default=2, help="the tutorial's num_workers")
    parser.add_argument("--photo-size", type=int, default=448, help="side of the square JPEGs")
    parser.add_argument("--part", choices=PARTS, help=argparse.SUPPRESS)  # one measurement, in a child process
    args = parser.parse_args()
    from tests.support import make_shapes_dataset

    # Photo-sized JPEGs, as lab pictures are: decoding them is part of what a training loop pays.
    root = work_dir(f"shapes{args.per_class}-jpeg{args.photo_size}")
    if args.part:
        rate, accuracy = run_part(args.part, args, root)
        print(json.dumps({"rate": rate, "accuracy": accuracy}))
        return
    if not (root / "train").exists():
        make_shapes_dataset(root / "train", per_class=args.per_class, size=args.photo_size, seed=1, suffix=".jpg")
        make_shapes_dataset(root / "val", per_class=max(10, args.per_class // 4), size=args.photo_size, seed=2,
                            suffix=".jpg")
    results = {}
    for part in PARTS:
        done = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--part", part], capture_output=True,
                              text=True)
        if done.returncode != 0:
            raise SystemExit(f"{part} failed: {done.stderr[-2000:]}")
        results[part] = json.loads(done.stdout.strip().splitlines()[-1])
    loop_rate, loop_acc = results["loop"]["rate"], results["loop"]["accuracy"]
    app_rate, app_acc = results["app"]["rate"], results["app"]["accuracy"]
    fp32_rate, fp32_acc = results["app-float32"]["rate"], results["app-float32"]["accuracy"]
    limit_fp32, limit_app = results["limit-float32"]["rate"], results["limit-app"]["rate"]
    from resnet_gui.core.runtime.devices import policy_for, resolve_device

    policy = policy_for(resolve_device("auto"))
    print(f"machine: {machine()}")
    print(f"{3 * args.per_class} training images ({args.photo_size} px JPEG), {args.arch} at {args.image_size} px, "
          f"batch {args.batch_size}, {args.epochs} epochs, evaluation each epoch, device {policy.device}")
    print(f"tutorial loop (ImageFolder + Adam, {args.loop_workers} workers, float32): {loop_rate:6.1f} images/s, "
          f"val accuracy {loop_acc:.1%}")
    print(f"resnet-gui Trainer ({policy.precision}, channels_last={policy.channels_last}):      "
          f"{app_rate:6.1f} images/s, "
          f"val accuracy {app_acc:.1%}")
    print(f"resnet-gui Trainer --no-amp (float32):                  {fp32_rate:6.1f} images/s, "
          f"val accuracy {fp32_acc:.1%}")
    print(f"compute limit (forward/backward/step on ready tensors): float32 {limit_fp32:6.1f}, "
          f"app settings {limit_app:6.1f} images/s")
    print(f"ratio app/loop: {app_rate / loop_rate:.2f}x (float32 app/loop {fp32_rate / loop_rate:.2f}x); "
          f"app/limit {app_rate / limit_app:.2f}, loop/limit {loop_rate / limit_fp32:.2f}")


if __name__ == "__main__":
    main()
