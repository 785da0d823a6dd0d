"""Benchmark 12: training on small pictures (32, 48 and 64 px) against the plain loop and fastai, at equal
epochs and at equal wall time.

Three kinds of data, made here from a seed, each with train/, valid/ and test/ folders:

  digits32   3,000 grey digits at 32 px, 10 classes (train_vs_fastai.py's "grey")
  fields48   colour fields at 48 px, 4 classes, 300 of each to train (the example's generator)
  digits64   1,500 grey digits at 64 px, 10 classes

Four recipes train a ResNet-18 from a random start on train/ (valid/ as their validation set) and are
scored on test/, which none saw. Every run is a fresh process timed whole (start to a model), and the
recipes alternate run by run, so drifts in the machine's speed hit them all:

  loop     the tutorials' plain PyTorch loop: torchvision's resnet18 (ImageNet stem), ToTensor/Normalize
           and flips, Adam at 0.001, batch 64, an evaluation pass per epoch
  fastai   `vision_learner(resnet18, pretrained=False)`, `fit_one_cycle` (train_vs_fastai.py)
  old      `resnet-gui train --weights none --stem small`: the app's default before the stem was chosen
           by size (the small-input stem at 64 px and below)
  app      `resnet-gui train --weights none`: its defaults

equal epochs  every recipe runs --epochs
equal time    every recipe runs as many epochs as it needs to take the seconds the app's default took
              for --time-epochs (from its own pace, rounded up, and run again with more epochs if it still
              fell 5% short: the others get as much time as the app, or more)

    python benchmarks/small_pictures.py [--kinds digits32 fields48 digits64] [--epochs 3] [--time-epochs 6]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, work_dir
from train_vs_fastai import _timed, fastai_python, glyph, make_fields, run_app, run_fastai

KINDS = {"digits32": 32, "fields48": 48, "digits64": 64}
RECIPES = ("loop", "fastai", "old", "app")

LOOP_SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
import torch, torchvision
from torch import nn
from torchvision import datasets, transforms
root, epochs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.manual_seed(seed)
normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
rgb = transforms.Lambda(lambda image: image.convert("RGB"))
train_set = datasets.ImageFolder(f"{root}/train", transforms.Compose([
    rgb, transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize]))
plain = transforms.Compose([rgb, transforms.ToTensor(), normalize])
val_set, test_set = datasets.ImageFolder(f"{root}/valid", plain), datasets.ImageFolder(f"{root}/test", plain)
train_loader = torch.utils.data.DataLoader(train_set, batch_size=64, shuffle=True, num_workers=2, drop_last=True,
                                           persistent_workers=True)
model = torchvision.models.resnet18(num_classes=len(train_set.classes))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()

def predict(dataset):
    model.eval()
    out, targets = [], []
    with torch.no_grad():
        for images, labels in torch.utils.data.DataLoader(dataset, batch_size=128):
            out.append(model(images).argmax(1))
            targets.append(labels)
    return torch.cat(out), torch.cat(targets)

for _ in range(epochs):
    model.train()
    for images, labels in train_loader:
        optimizer.zero_grad()
        criterion(model(images), labels).backward()
        optimizer.step()
    predict(val_set)
torch.save(model.state_dict(), f"{root}/../loop-{seed}.pt")
trained = time.perf_counter() - started
predicted, targets = predict(test_set)
print(json.dumps({"predicted": predicted.tolist(), "targets": targets.tolist(), "trained_s": trained,
                  "classes": train_set.classes}))
"""


def make_digits(root: Path, size: int, per_class: dict[str, int], seed: int = 0) -> None:
    for offset, (part, count) in enumerate(per_class.items()):
        for digit in range(10):
            folder = root / part / f"d{digit}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, 10_000 * offset + i, digit])
                glyph(digit, rng, size).save(folder / f"{i:04d}.png")


def data_for(kind: str) -> Path:
    root = work_dir("small-pictures") / kind
    if (root / "done").exists():
        return root
    if kind == "digits32":
        make_digits(root, 32, {"train": 300, "valid": 50, "test": 100})
    elif kind == "digits64":
        make_digits(root, 64, {"train": 150, "valid": 30, "test": 60})
    else:
        four = ("round", "elongated", "cluster", "empty")
        make_fields(root, {"train": dict.fromkeys(four, 300), "valid": dict.fromkeys(four, 50),
                           "test": dict.fromkeys(four, 100)}, size=48)
    (root / "done").write_text("")
    return root


def run(recipe: str, root: Path, kind: str, epochs: int, python: str | None) -> dict | None:
    if recipe == "loop":
        return _timed([sys.executable, "-c", LOOP_SCRIPT, str(root), str(epochs), "0"])
    if recipe == "fastai":
        if python is None:
            return None
        return run_fastai(python, root, kind, epochs, 0, size=KINDS[kind])
    return run_app(root, epochs, 0, ["--stem", "small"] if recipe == "old" else [])


def fixed_costs(root: Path, epochs: int, tree: Path, cache: Path) -> tuple[float, float]:
    """(whole seconds, seconds outside the epochs) of `resnet-gui train` from `tree` (this checkout, or a
    worktree of an older commit), with `cache` as the user's cache folder: start-up, reading the pictures,
    the checkpoints written, the finishing and the exit."""
    out = root.parent / f"fixed-{os.getpid()}.pt"
    out.unlink(missing_ok=True)
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "resnet_gui", "train", str(root / "train"), "--val-dir",
                           str(root / "valid"), "--weights", "none", "--epochs", str(epochs), "--out", str(out),
                           "--json"], capture_output=True, text=True, cwd=tree,
                          env={**os.environ, "PYTHONPATH": str(tree), "XDG_CACHE_HOME": str(cache)})
    whole = time.perf_counter() - started
    out.unlink(missing_ok=True)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    events = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return whole, whole - sum(e["seconds"] for e in events if e.get("event") == "epoch")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", choices=list(KINDS), default=list(KINDS))
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--time-epochs", type=int, default=6,
                        help="the app's epochs whose time every recipe gets in the equal-time runs; 0: none")
    parser.add_argument("--fixed", nargs="*", type=Path, metavar="TREE",
                        help="only the fixed costs of a 3-epoch run on digits32, from this checkout and the trees "
                             "given (worktrees of older commits)")
    parser.add_argument("--fastai-python", help="the fastai environment's python (default .venv-fastai/bin/python)")
    args = parser.parse_args()
    python = fastai_python(args.fastai_python) if "fastai" in args.recipes else None
    print(f"Machine: {machine()}")
    if args.fixed is not None:
        root = data_for("digits32")
        # A first run decodes every picture; a retrain on the same pictures reads them from the app's cache
        # (core/images/decoded_store.py). Each tree gets a cache folder of its own, emptied before its first run.
        caches = {tree: work_dir("small-pictures") / f"cache-{index}" for index, tree in enumerate([ROOT, *args.fixed])}
        for cache in caches.values():
            shutil.rmtree(cache, ignore_errors=True)
        for round_ in range(3):  # alternating: a first run, then two retrains
            for tree, cache in caches.items():
                whole, fixed = fixed_costs(root, 3, tree, cache)
                kind = "first run" if round_ == 0 else "retrain"
                print(f"  {tree} ({kind}): {whole:.1f} s in all, {fixed:.1f} s outside the epochs "
                      f"({fixed / whole:.0%})", flush=True)
        return
    if "fastai" in args.recipes and python is None:
        print("fastai: SKIPPED, no environment with fastai found (see train_vs_fastai.py's docstring)")
    for kind in args.kinds:
        root = data_for(kind)
        print(f"\n{kind} ({KINDS[kind]} px), equal epochs ({args.epochs}):", flush=True)
        short: dict[str, dict] = {}
        for recipe in args.recipes:
            result = run(recipe, root, kind, args.epochs, python)
            if result is not None:
                short[recipe] = result
                print(f"  {recipe:7s} {result['accuracy']:.3f} in {result['seconds']:.1f} s", flush=True)
        if not args.time_epochs or "app" not in short:
            continue
        target = run("app", root, kind, args.time_epochs, python)
        seconds = target["seconds"]
        print(f"{kind}, equal time ({seconds:.0f} s, the app's {args.time_epochs} epochs): app "
              f"{target['accuracy']:.3f} in {seconds:.1f} s", flush=True)
        for recipe in (r for r in args.recipes if r != "app" and r in short):
            # at least the app's seconds (nearly): the epochs its pace fits, rounded up, and once more if
            # that fell short (a recipe's first epochs can cost more than its later ones)
            per_epoch = short[recipe]["seconds"] / args.epochs
            epochs = max(1, math.ceil(seconds / per_epoch))
            result = run(recipe, root, kind, epochs, python)
            if result["seconds"] < 0.95 * seconds:
                epochs = max(epochs + 1, math.ceil(seconds / (result["seconds"] / epochs)))
                result = run(recipe, root, kind, epochs, python)
            print(f"  {recipe:7s} {result['accuracy']:.3f}, {epochs} epochs in {result['seconds']:.1f} s", flush=True)


if __name__ == "__main__":
    os.environ.setdefault("RESNET_GUI_RUNTIME", "torch")
    main()
