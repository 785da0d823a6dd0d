"""How well `resnet-gui audit` finds planted faults, and how fast it reads pictures, on data it makes:

- likely mislabelled: 5% of the training labels flipped to another class; of the first N pictures flagged
  (N = the number flipped) the share that were flipped (precision), and the share of flipped pictures
  flagged at all (recall), against a random ranking (whose precision is the 5% flipped);
- leakage: 20 near copies of training pictures (saved again as JPEG, resized, cropped, shifted, brightened)
  put into validation; how many are found, and how many distinct validation pictures are called copies;
- speed: pictures read per second in the one pass over the files, and what 10,000 would take.

Two kinds of data: tinted textures (tests/core/audit/planted.py) and the example's microscope fields
(core/projects/example.py). Quick models on the pictures at 8 x 8 pixels (no model given), and with
--checkpoint FILE on that model's features too.

    python benchmarks/audit_check.py [--per-class 200] [--checkpoint FILE]
"""

from __future__ import annotations

import argparse
import random
import shutil
import tempfile
import time
from pathlib import Path

from common import ROOT, machine  # noqa: F401  (puts the project on sys.path)
from PIL import Image

from resnet_gui.core.audit.check import check_pictures
from resnet_gui.core.audit.findings import LEAKAGE, MISLABELLED
from resnet_gui.core.audit.pictures import class_folder_pictures, learn_all, splits_of
from resnet_gui.core.projects.example import write_example
from tests.core.audit.planted import NEAR_COPIES, class_folders

FLIP_SHARE = 0.05
LEAKS = 20


def plant(root: Path, kind: str, per_class: int, seed: int) -> tuple[set[str], set[str]]:
    """Train and val folders of `kind` with flipped labels and leaks: (flipped paths, leaked val paths)."""
    if kind == "textures":
        class_folders(root / "train", per_class, seed=seed)
        class_folders(root / "val", max(10, per_class // 4), seed=seed + 1)
    else:
        made = write_example(root / "made", seed=seed, train_per_class=per_class,
                             test_per_class=max(10, per_class // 4))
        shutil.move(str(made.train), root / "train")
        shutil.move(str(made.test), root / "val")
    rng = random.Random(seed)
    classes = sorted(p.name for p in (root / "train").iterdir())
    pictures = sorted((root / "train").rglob("*.png"))
    flipped = set()
    for path in rng.sample(pictures, round(FLIP_SHARE * len(pictures))):
        other = rng.choice([c for c in classes if c != path.parent.name])
        target = root / "train" / other / f"flipped-{path.name}"
        shutil.move(path, target)
        flipped.add(str(target))
    leaked = set()
    sources = rng.sample([p for p in sorted((root / "train").rglob("*.png")) if str(p) not in flipped], LEAKS)
    for k, source in enumerate(sources):
        how, make = list(NEAR_COPIES.items())[k % len(NEAR_COPIES)]
        target = root / "val" / source.parent.name / f"leak-{how}-{source.name}"
        make(Image.open(source).convert("RGB")).save(target)
        leaked.add(str(target))
    return flipped, leaked


def measure(kind: str, per_class: int, bundle, label: str) -> dict:
    with tempfile.TemporaryDirectory(prefix="audit-bench-") as folder:
        root = Path(folder)
        flipped, leaked = plant(root, kind, per_class, seed=11)
        pictures, _ = class_folder_pictures(splits_of(root))
        started = time.perf_counter()
        learn_all(pictures)
        read_per_second = len(pictures) / (time.perf_counter() - started)
        started = time.perf_counter()
        report = check_pictures(pictures, bundle)
        seconds = time.perf_counter() - started
    suspects = [f.pictures[0].path for f in report.of_kind(MISLABELLED)]
    first = suspects[:len(flipped)]
    val_in_leaks = {p.path for f in report.of_kind(LEAKAGE) for p in f.pictures if p.split == "val"}
    return {"data": kind, "features": label, "pictures": len(pictures), "flipped": len(flipped),
            "precision_at_n": sum(p in flipped for p in first) / len(flipped),
            "recall": sum(p in flipped for p in suspects) / len(flipped), "flagged": len(suspects),
            "random_precision": FLIP_SHARE, "leaks_found": len(val_in_leaks & leaked),
            "false_leaks": len(val_in_leaks - leaked), "read_per_second": read_per_second,
            "check_seconds": seconds, "minutes_for_10000": 10_000 / read_per_second / 60}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-class", type=int, default=200)
    parser.add_argument("--checkpoint", help="also look with this model's features")
    args = parser.parse_args()
    print(machine())
    runs = [(None, "pictures at 8 x 8")]
    if args.checkpoint:
        from resnet_gui.core.models.resnets import load_checkpoint_bundle

        runs.append((load_checkpoint_bundle(args.checkpoint), Path(args.checkpoint).name))
    print("| data | features | pictures | flipped | precision at N | recall (flagged) | random | leaks found "
          "| distinct called copies | read/s | check s | 10,000 pictures |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind in ("textures", "microscope fields"):
        for bundle, label in runs:
            r = measure(kind, args.per_class, bundle, label)
            print(f"| {r['data']} | {r['features']} | {r['pictures']} | {r['flipped']} | {r['precision_at_n']:.0%} "
                  f"| {r['recall']:.0%} ({r['flagged']}) | {r['random_precision']:.0%} | {r['leaks_found']} of "
                  f"{LEAKS} | {r['false_leaks']} | {r['read_per_second']:.0f} | {r['check_seconds']:.1f} "
                  f"| {r['minutes_for_10000']:.1f} min |")


if __name__ == "__main__":
    main()
