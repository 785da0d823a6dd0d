"""Benchmark 5: the longest GUI-thread stall while the window classifies 300 images and while it trains.

Runs `resnet-gui gui ... --screenshot --report-stalls` headless; a 10 ms
QTimer on the GUI thread measures the longest gap between its ticks.
Goal: at most 100 ms.

    python benchmarks/gui_responsiveness.py [--count 300]
"""

from __future__ import annotations

import argparse
import re
import sys

from common import machine, photo_jpegs, run_timed, seeded_checkpoint, work_dir


def stall(command, folder) -> tuple[int, int, float]:
    env = {"QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(folder / "config")}
    seconds, done = run_timed(command, env)
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    stall_ms = int(re.search(r"max_stall_ms=(\d+)", done.stdout).group(1))
    shown_ms = int(re.search(r"window_shown_ms=(\d+)", done.stdout).group(1))
    return stall_ms, shown_ms, seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    from tests.support import make_shapes_dataset

    folder = work_dir("gui")
    photos = photo_jpegs(work_dir("photos"), args.count)
    checkpoint = seeded_checkpoint(work_dir("ckpt") / "resnet18.pt", "resnet18")
    gui = [sys.executable, "-m", "resnet_gui", "gui", "--report-stalls", "--screenshot", str(folder / "shot.png")]
    classify_stall, _, classify_s = stall([*gui, str(photos[0].parent), "--checkpoint", str(checkpoint)], folder)
    data = folder / "shapes"
    if not data.exists():
        make_shapes_dataset(data, per_class=40)
    train_stall, _, train_s = stall([*gui, "--train-dir", str(data), "--weights", "none", "--epochs",
                                     str(args.epochs), "--image-size", "32", "--start-training"], folder)
    print(f"machine: {machine()}")
    print(f"classifying {args.count} JPEGs ({classify_s:.0f} s): longest GUI stall {classify_stall} ms")
    print(f"training 120 images x {args.epochs} epochs ({train_s:.0f} s): longest GUI stall {train_stall} ms")


if __name__ == "__main__":
    main()
