"""Benchmark 1: `resnet-gui classify` (the whole process) against the tutorials' per-image loop.

Both run as fresh processes on the same 300 photo-sized JPEGs with the same
checkpoint: the loop opens each image with PIL, applies Resize(256),
CenterCrop(224), ToTensor, Normalize and runs one forward per image.
Goal: 1.3x or more on a 2-core CPU, 10x or more on a GPU.

    python benchmarks/classify_vs_loop.py [--count 300] [--arch resnet18] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import sys

from common import machine, photo_jpegs, run_timed, seeded_checkpoint, work_dir

TUTORIAL_LOOP = r"""
import sys, time, torch
from PIL import Image
from torchvision import transforms
from resnet_gui.core.models.resnets import load_checkpoint_bundle
device = torch.device(sys.argv[2])
model = load_checkpoint_bundle(sys.argv[1]).model.to(device).eval()
preprocess = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(),
    transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])])
started = time.perf_counter()
for path in sys.argv[3:]:
    image = Image.open(path).convert("RGB")
    with torch.no_grad():
        probs = torch.softmax(model(preprocess(image).unsqueeze(0).to(device)), 1)
    print(path, probs.argmax().item())
print("loop_seconds", time.perf_counter() - started)
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    import torch

    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    folder = work_dir("photos")
    paths = [str(p) for p in photo_jpegs(folder, args.count)]
    checkpoint = seeded_checkpoint(work_dir("ckpt") / f"{args.arch}.pt", args.arch)
    loop_s, loop = run_timed([sys.executable, "-c", TUTORIAL_LOOP, str(checkpoint), device, *paths])
    app_s, app = run_timed([sys.executable, "-m", "resnet_gui", "classify", *paths, "--checkpoint", str(checkpoint),
                            "--device", device, "--json", "--top-k", "1"])
    rows = [json.loads(line) for line in app.stdout.splitlines() if '"path"' in line]
    assert len(rows) == args.count, "the app did not classify every file"
    summary = json.loads(app.stdout.splitlines()[-1])["summary"]
    print(f"machine: {machine()}")
    print(f"{args.count} JPEGs 500x375, {args.arch} at 224 px on {device}")
    print(f"tutorial loop (whole process): {loop_s:6.1f} s  {args.count / loop_s:6.1f} images/s")
    print(f"resnet-gui classify (whole process): {app_s:6.1f} s  {args.count / app_s:6.1f} images/s "
          f"(in-pipeline {summary['images_per_second']} images/s)")
    loop_steady = args.count / float(loop.stdout.split("loop_seconds")[-1])
    print(f"steady state (after start-up): loop {loop_steady:.1f} images/s, "
          f"app {summary['images_per_second']} images/s, "
          f"ratio {summary['images_per_second'] / loop_steady:.2f}x")
    print(f"ratio app/loop (whole process): {loop_s / app_s:.2f}x")


if __name__ == "__main__":
    main()
