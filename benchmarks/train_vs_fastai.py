"""Benchmark 6: `resnet-gui train` with its default recipe against fastai's `fit_one_cycle`, on the same folders.

Three kinds of data, each made here from a seed, each with train/, valid/ and test/ folders:

  grey        3,000 training pictures of 10 classes, 32 px grey (rotated, shifted, noisy digits)
  photos      colour fields at 96 px, 4 classes, 150 per class (the example data set's generator)
  imbalanced  340 colour fields at 64 px, 4 classes from 200 down to 20 pictures

Both train a ResNet-18 from a random start on train/ with valid/ as their validation set, and are
then measured on test/, which neither saw. fastai runs as its tutorials teach: `ImageDataLoaders.
from_folder(item_tfms=Resize(size), batch_tfms=aug_transforms())`, `vision_learner(..., pretrained=
False)`, `fit_one_cycle(epochs)`. The app runs as a user's `resnet-gui train DIR --weights none` does,
with its defaults. Every run is a fresh process, the two alternate run by run (so drifts in the
machine's speed hit both), and the time is the whole command's wall time, start to model.

  equal epochs     both run --epochs
  equal wall time  fastai runs --wall-epochs; the app runs as many epochs as fit in the time
                   fastai took, from its own speed in the equal-epoch runs

fastai lives in its own virtual environment that reuses the installed torch (see RESULTS.md):

    python3 -m venv .venv-fastai
    echo "$PWD/.venv/lib/python3.11/site-packages" > .venv-fastai/lib/python3.11/site-packages/torch-from-app.pth
    .venv-fastai/bin/pip install fastai

Without it (or with --fastai-python pointing nowhere) the fastai runs are skipped, and said so.

    python benchmarks/train_vs_fastai.py [--kinds grey photos imbalanced] [--seeds 2] [--epochs 5]
        [--wall-epochs 10] [--app-args "--augment hflip"]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from common import ROOT, machine, work_dir
from PIL import Image, ImageFilter, ImageFont

KINDS = ("grey", "photos", "imbalanced")
SIZES = {"grey": 32, "photos": 96, "imbalanced": 64}

FASTAI_SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
from fastai.vision.all import (ImageDataLoaders, Resize, accuracy, aug_transforms, get_image_files, resnet18,
                               set_seed, vision_learner)
root, size, epochs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
set_seed(seed)
dls = ImageDataLoaders.from_folder(root, train="train", valid="valid", item_tfms=Resize(size),
                                   batch_tfms=aug_transforms(), seed=seed)
learn = vision_learner(dls, resnet18, pretrained=False, metrics=accuracy)
with learn.no_bar(), learn.no_logging():
    learn.fit_one_cycle(epochs)
trained = time.perf_counter() - started
test = dls.test_dl(get_image_files(f"{root}/test"), with_labels=True)
with learn.no_bar():
    probs, targets = learn.get_preds(dl=test)
print(json.dumps({"predicted": probs.argmax(1).tolist(), "targets": targets.tolist(), "trained_s": trained,
                  "classes": list(dls.vocab)}))
"""

APP_SCRIPT = r"""
import json, sys, time
started = time.perf_counter()
from resnet_gui.cli import main
out, test = sys.argv[1], sys.argv[2]
code = main(sys.argv[3:])
trained = time.perf_counter() - started
if code != 0:
    sys.exit(code)
from resnet_gui.core.evaluation.evaluate import evaluate_model
from resnet_gui.core.models.resnets import load_bundle
bundle = load_bundle(out)
items = evaluate_model(bundle, test)["items"]
index = {name: i for i, name in enumerate(bundle.classes)}
print(json.dumps({"predicted": [index[x["predicted"]] for x in items], "targets": [index[x["true"]] for x in items],
                  "trained_s": trained, "classes": bundle.classes}))
"""


# ---------------------------------------------------------------- data
def glyph(digit: int, rng: np.random.Generator, size: int = 32) -> Image.Image:
    """A grey digit, rotated, shifted, scaled, blurred and noisy, on an uneven background: MNIST-like, harder."""
    big = size * 4
    canvas = Image.new("L", (big, big), 0)
    font = ImageFont.load_default(size=int(rng.uniform(0.45, 0.8) * big))
    from PIL import ImageDraw

    draw = ImageDraw.Draw(canvas)
    x, y = rng.uniform(0.2, 0.5) * big, rng.uniform(0.05, 0.35) * big
    draw.text((x, y), str(digit), fill=255, font=font, stroke_width=int(rng.integers(0, 6)), stroke_fill=255)
    for _ in range(rng.integers(0, 3)):  # clutter strokes
        a, b = rng.uniform(0, big, 2), rng.uniform(0, big, 2)
        draw.line([tuple(a), tuple(b)], fill=int(rng.uniform(60, 200)), width=int(rng.integers(3, 9)))
    canvas = canvas.rotate(rng.uniform(-30, 30), resample=Image.Resampling.BILINEAR)
    canvas = canvas.resize((size, size), Image.Resampling.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0, 0.8)))
    pixels = np.asarray(canvas, np.float32) * rng.uniform(0.4, 1.0)
    yy, xx = np.mgrid[0:size, 0:size]
    pixels += 60 * rng.uniform() * (xx / size if rng.uniform() < 0.5 else yy / size)
    pixels += rng.normal(0, rng.uniform(10, 40), pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "L")


def make_grey(root: Path, seed: int = 0) -> None:
    for part, per_class, offset in (("train", 300, 0), ("valid", 50, 10_000), ("test", 100, 20_000)):
        for digit in range(10):
            folder = root / part / f"d{digit}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                glyph(digit, np.random.default_rng([seed, offset + i, digit])).save(folder / f"{i:04d}.png")


def make_fields(root: Path, counts: dict[str, dict[str, int]], size: int, seed: int = 0) -> None:
    from resnet_gui.core.projects.example import draw_field

    for offset, (part, per_class) in enumerate(counts.items()):
        for label, (name, count) in enumerate(per_class.items()):
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, 1_000_000 * (offset + 7) + i, label])
                Image.fromarray(draw_field(name, rng, size)).save(folder / f"{name}_{i:04d}.png")


def data_for(kind: str) -> Path:
    root = work_dir("train-vs-fastai") / kind
    if (root / "done").exists():
        return root
    if kind == "grey":
        make_grey(root)
    elif kind == "photos":
        four = ("round", "elongated", "cluster", "empty")
        make_fields(root, {"train": dict.fromkeys(four, 150), "valid": dict.fromkeys(four, 40),
                           "test": dict.fromkeys(four, 60)}, size=96)
    else:
        make_fields(root, {"train": {"round": 200, "elongated": 80, "cluster": 40, "empty": 20},
                           "valid": {"round": 20, "elongated": 10, "cluster": 6, "empty": 4},
                           "test": dict.fromkeys(("round", "elongated", "cluster", "empty"), 60)}, size=64)
    (root / "done").write_text("")
    return root


# ---------------------------------------------------------------- runs
def scores(result: dict) -> tuple[float, float]:
    """(accuracy, balanced accuracy: the mean of the classes' recalls) on the test pictures."""
    predicted, targets = np.array(result["predicted"]), np.array(result["targets"])
    recalls = [float((predicted[targets == c] == c).mean()) for c in np.unique(targets)]
    return float((predicted == targets).mean()), float(np.mean(recalls))


def run_fastai(python: str, root: Path, kind: str, epochs: int, seed: int, size: int | None = None) -> dict:
    return _timed([python, "-c", FASTAI_SCRIPT, str(root), str(size or SIZES[kind]), str(epochs), str(seed)])


def run_app(root: Path, epochs: int, seed: int, extra: list[str]) -> dict:
    out = root.parent / f"app-{root.name}-{seed}-{epochs}-{os.getpid()}.pt"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-c", APP_SCRIPT, str(out), str(root / "test"), "train", str(root / "train"),
               "--val-dir", str(root / "valid"), "--weights", "none", "--epochs", str(epochs), "--seed", str(seed),
               "--out", str(out), "--json", *extra]
    try:
        return _timed(command)
    finally:
        out.unlink(missing_ok=True)


def _timed(command: list[str]) -> dict:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{command[1][:20]!r} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = seconds
    result["accuracy"], result["balanced"] = scores(result)
    return result


def fastai_python(given: str | None) -> str | None:
    candidate = given or os.environ.get("FASTAI_PYTHON") or str(ROOT / ".venv-fastai" / "bin" / "python")
    if not Path(candidate).exists():
        return None
    probe = subprocess.run([candidate, "-c", "import fastai, torch; print(fastai.__version__, torch.__version__)"],
                           capture_output=True, text=True)
    return candidate if probe.returncode == 0 else None


def describe(runs: list[dict]) -> str:
    acc = [r["accuracy"] for r in runs]
    bal = [r["balanced"] for r in runs]
    secs = [r["seconds"] for r in runs]
    return (f"accuracy {min(acc):.3f}-{max(acc):.3f} (mean {statistics.mean(acc):.3f}), balanced "
            f"{statistics.mean(bal):.3f}, {min(secs):.0f}-{max(secs):.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--wall-epochs", type=int, default=10, help="fastai's epochs in the equal-time runs; 0: none")
    parser.add_argument("--app-args", default="", help="extra `resnet-gui train` options, to measure a lever")
    parser.add_argument("--no-fastai", action="store_true", help="only the app's runs (to compare recipes)")
    parser.add_argument("--fastai-python", help="the fastai environment's python (default .venv-fastai/bin/python)")
    args = parser.parse_args()
    extra = shlex.split(args.app_args)
    python = None if args.no_fastai else fastai_python(args.fastai_python)
    print(f"Machine: {machine()}")
    if python is None and not args.no_fastai:
        print("fastai: SKIPPED, no environment with fastai found (see this file's docstring to make one); "
              "only the app's runs below.")
    print(f"App: resnet-gui train --weights none {' '.join(extra)} (its defaults otherwise)\n")
    for kind in args.kinds:
        root = data_for(kind)
        app, fast = [], []
        for seed in range(args.seeds):
            if python:
                fast.append(run_fastai(python, root, kind, args.epochs, seed))
            app.append(run_app(root, args.epochs, seed, extra))
            print(f"  [{kind} seed {seed}] app {app[-1]['accuracy']:.3f} in {app[-1]['seconds']:.0f} s"
                  + (f", fastai {fast[-1]['accuracy']:.3f} in {fast[-1]['seconds']:.0f} s" if python else ""),
                  flush=True)
        print(f"{kind} ({SIZES[kind]} px), {args.epochs} epochs, {args.seeds} seeds:")
        print(f"  app     {describe(app)}")
        if python:
            print(f"  fastai  {describe(fast)}")
        if python and args.wall_epochs:
            fast_wall = run_fastai(python, root, kind, args.wall_epochs, 0)
            per_epoch_app = statistics.mean(r["seconds"] for r in app) / args.epochs
            per_epoch_fast = statistics.mean(r["seconds"] for r in fast) / args.epochs
            app_epochs = max(1, round(args.wall_epochs * per_epoch_fast / per_epoch_app))
            app_wall = run_app(root, app_epochs, 0, extra)
            print(f"  equal wall time: fastai {args.wall_epochs} epochs {fast_wall['accuracy']:.3f} in "
                  f"{fast_wall['seconds']:.0f} s; app {app_epochs} epochs {app_wall['accuracy']:.3f} in "
                  f"{app_wall['seconds']:.0f} s")
        print(flush=True)


if __name__ == "__main__":
    main()
