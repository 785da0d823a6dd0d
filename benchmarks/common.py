"""Shared set-up for the benchmarks: photo-sized JPEGs, a seeded checkpoint, timing helpers.

Benchmarks are not tests: each prints ratios measured in one run, on one
machine, and benchmarks/RESULTS.md records the latest figures.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> str:
    import torch

    from resnet_gui.core.runtime.devices import cpu_has_native_bf16

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    bf16 = "bfloat16 in hardware" if cpu_has_native_bf16() else "no hardware bfloat16"
    return (f"{os.cpu_count()} CPU cores ({cpu_name()}, {bf16}), {gpu}, torch {torch.__version__}, "
            f"Python {platform.python_version()}")


def photo_jpegs(folder: Path, count: int, size=(500, 375), seed: int = 0) -> list[Path]:
    """Smooth colour fields with texture: JPEGs that compress and decode like photographs."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    paths = []
    for i in range(count):
        path = folder / f"photo_{i:05d}.jpg"
        paths.append(path)
        if path.exists():
            continue
        a, b, c = rng.uniform(0.005, 0.03, 3)
        phase = rng.uniform(0, 6.28, 3)
        base = np.stack([np.sin(xx * a + yy * b + phase[k]) for k in range(3)], axis=-1) * 90 + 128
        noise = rng.normal(0, 18, (height, width, 3))
        pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(path, quality=90)
    return paths


def striped_photos(folder: Path, per_class: int, size=(500, 375), seed: int = 1) -> Path:
    """Photo-like JPEGs in three classes by the direction of their stripes (across, down, diagonal): something a
    ResNet learns in a few epochs at 224 px, so a model trained on them answers otherwise for each picture."""
    rng = np.random.default_rng(seed)
    width, height = size
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    directions = {"across": (0.0, 1.0), "down": (1.0, 0.0), "diagonal": (0.7, 0.7)}
    for name, (dx, dy) in directions.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            path = folder / name / f"{name}_{i:04d}.jpg"
            if path.exists():
                continue
            frequency = rng.uniform(0.03, 0.09)
            phase = rng.uniform(0, 6.28, 3)
            colour = rng.uniform(40, 100, 3)
            base = np.stack([np.sin((xx * dx + yy * dy) * frequency + phase[k]) * colour[k] for k in range(3)], -1)
            pixels = np.clip(base + 128 + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(path, quality=90)
    return folder


def trained_checkpoint(path: Path, arch: str, data: Path, epochs: int, image_size: int = 224) -> Path:
    """`resnet-gui train` of `arch` on `data` from random weights (kept: made once per machine)."""
    if not path.exists():
        run_timed([sys.executable, "-m", "resnet_gui", "train", str(data), "--arch", arch, "--weights", "none",
                   "--epochs", str(epochs), "--image-size", str(image_size), "--out", str(path)])
    return path


def seeded_checkpoint(path: Path, arch: str = "resnet18", num_classes: int = 10, image_size: int = 224) -> Path:
    import torch

    from resnet_gui.core.images.transforms import Preprocessing
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from resnet_gui.core.models.resnets import build_model

    if path.exists():
        return path
    torch.manual_seed(0)
    model = build_model(arch, num_classes)
    write_checkpoint(path, checkpoint_payload(model=model, arch=arch, classes=[f"c{i}" for i in range(num_classes)],
                                              small_input=False, preprocessing=Preprocessing.imagenet(image_size)))
    return path


def run_timed(command: list[str], env: dict | None = None) -> tuple[float, subprocess.CompletedProcess]:
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **(env or {})})
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"{command[:3]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, done


def work_dir(name: str) -> Path:
    folder = Path(os.environ.get("RESNET_GUI_BENCH_DIR", "/tmp/resnet-gui-bench")) / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder
