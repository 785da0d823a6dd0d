"""Benchmark 4: peak memory classifying 9,000 images against 300 (results must stream).

Each run is a fresh `resnet-gui classify --json` process; its peak RSS comes
from the operating system (getrusage of the finished child). Small images and
the small-input stem keep the 9,000-image run short; memory per image is what
is measured, not speed. Goal: at most 1.2x.

    python benchmarks/memory.py [--small 300] [--large 9000]
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import numpy as np
from common import machine, work_dir
from PIL import Image


def tiny_pngs(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    existing = len(list(folder.glob("*.png")))
    for i in range(existing, count):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(folder / f"{i:05d}.png")
    return folder


def peak_rss_mb(command) -> float:
    """Peak RSS of one child process, in MiB (run alone, so RUSAGE_CHILDREN is its own)."""
    code = ("import resource, subprocess, sys; subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=False); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code, *command], capture_output=True, text=True, check=True)
    return int(out.stdout.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=300)
    parser.add_argument("--large", type=int, default=9000)
    args = parser.parse_args()
    import torch

    from resnet_gui.core.images.transforms import Preprocessing
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from resnet_gui.core.models.resnets import build_model

    checkpoint = work_dir("ckpt") / "small-input.pt"
    if not checkpoint.exists():
        torch.manual_seed(0)
        write_checkpoint(checkpoint, checkpoint_payload(model=build_model("resnet18", 10, small_input=True),
                                                        arch="resnet18", classes=[str(i) for i in range(10)],
                                                        small_input=True, preprocessing=Preprocessing(32, 36)))
    small = tiny_pngs(work_dir(f"png{args.small}"), args.small)
    large = tiny_pngs(work_dir(f"png{args.large}"), args.large)
    base = [sys.executable, "-m", "resnet_gui", "classify", "--checkpoint", str(checkpoint), "--json", "--top-k", "5"]
    small_mb = peak_rss_mb([*base, str(small)])
    large_mb = peak_rss_mb([*base, str(large)])
    print(f"machine: {machine()}")
    print(f"peak RSS classifying {args.small:>5} images: {small_mb:7.1f} MiB")
    print(f"peak RSS classifying {args.large:>5} images: {large_mb:7.1f} MiB")
    print(f"ratio: {large_mb / small_mb:.2f}x")


if __name__ == "__main__":
    main()
