"""Benchmark: INT8 copies (core/packaging/int8.py) of ResNet-18 and ResNet-50 on two kinds of pictures.

Each model is trained from a random start on train/ (valid/ to validate: `resnet-gui train`, 3 epochs), then
copied to INT8 with the pictures of test/, which training never saw: up to 300 of them calibrate, and as many
others measure the copy (the share whose best class agrees with the float model's, the accuracy of each, and
the speed of the INT8 model against the float model on OpenVINO, in the precision the app picks for this CPU,
on batches of 32 ready tensors). The data are small_pictures.py's:

  digits32   grey digits at 32 px, 10 classes
  fields48   colour fields at 48 px, 4 classes

    python benchmarks/int8_copies.py [--archs resnet18 resnet50] [--kinds digits32 fields48] [--epochs 3]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from common import machine, work_dir
from small_pictures import data_for


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", nargs="+", default=["resnet18", "resnet50"])
    parser.add_argument("--kinds", nargs="+", default=["digits32", "fields48"])
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()

    from resnet_gui.core.errors import UserError
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.packaging.int8 import make_int8_copy

    print(f"Machine: {machine()}")
    print("| model | pictures | calibrated on | measured on | agreement | accuracy float -> INT8 | "
          "INT8 / float on OpenVINO | making the copy |")
    print("|---|---|---|---|---|---|---|---|")
    for kind in args.kinds:
        root = data_for(kind)
        for arch in args.archs:
            model = work_dir("int8") / f"{arch}-{kind}-{args.epochs}.pt"
            if not model.exists():
                subprocess.run([sys.executable, "-m", "resnet_gui", "train", str(root / "train"), "--val-dir",
                                str(root / "valid"), "--weights", "none", "--arch", arch, "--epochs",
                                str(args.epochs), "--out", str(model)], check=True, capture_output=True)
            bundle = load_checkpoint_bundle(model)
            started = time.perf_counter()
            try:
                copy = make_int8_copy(bundle, model.with_name(model.stem + "-int8.pt"), folder=str(root / "test"))
            except UserError as refused:
                print(f"| {arch} | {kind} | | | refused: {refused} | (validation accuracy of the float model "
                      f"{bundle.checkpoint.metrics.get('val_acc', 0):.1%}) | | |", flush=True)
                continue
            seconds = time.perf_counter() - started
            speed = copy.int8_images_per_second / copy.float_images_per_second
            print(f"| {arch} | {kind} | {copy.calibration_pictures} | {copy.held_out} | {copy.agreement:.1%} | "
                  f"{copy.float_accuracy:.1%} -> {copy.int8_accuracy:.1%} | {speed:.2f}x "
                  f"({copy.int8_images_per_second:.0f} / {copy.float_images_per_second:.0f} img/s) | {seconds:.0f} s |",
                  flush=True)


if __name__ == "__main__":
    main()
