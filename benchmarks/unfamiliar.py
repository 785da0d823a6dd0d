"""Unfamiliar pictures and test-time augmentation, measured on one trained model.

Trains a resnet18 on grey shapes (circles, squares, triangles at 32 px,
train/ val/ test/ made here), then:

1. Which out-of-distribution score separates familiar from unfamiliar
   pictures better: energy on the logits, or the Mahalanobis distance of the
   pooled features. Both are fitted the way training fits the stored one
   (core/trust/familiarity.py: class means and covariance from train/, the
   threshold keeping 95% of val/ familiar); the unfamiliar pictures are
   coloured noise and coloured text, and the example's microscope fields
   (core/projects/example.py), which the model never saw. Printed: ROC AUC, and the
   share of each set past the threshold.
2. What the checkpoint's own fit marks through `resnet-gui classify`'s
   Predictor (the stored method).
3. Test-time augmentation: accuracy on test/ with each mode and without it.

    python benchmarks/unfamiliar.py [--per-class 60] [--epochs 8] [--size 32]
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace
from pathlib import Path

import torch
from common import ROOT, machine  # noqa: F401  (puts the project on sys.path)

from resnet_gui.core.evaluation.evaluate import evaluate_model
from resnet_gui.core.images.transforms import normalize_batch
from resnet_gui.core.inference.decoded_batches import decode_in_turn
from resnet_gui.core.inference.predictor import DecodingDataset, Predictor, collate_decoded
from resnet_gui.core.inference.tta import MODES
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from resnet_gui.core.projects.example import draw_field, example_settings, write_example
from resnet_gui.core.training.settings import TrainSettings
from resnet_gui.core.training.trainer import Trainer
from resnet_gui.core.trust.familiarity import auroc, capture_features, fit_familiarity
from resnet_gui.core.trust.familiarity import scores as familiarity_scores
from tests.support import make_grey_shapes, make_unfamiliar

WORK = Path("/tmp/resnet-gui-bench/unfamiliar")


def make_data(per_class: int, size: int) -> dict[str, Path]:
    import numpy as np
    from PIL import Image

    if WORK.exists():
        shutil.rmtree(WORK)
    folders = {"train": make_grey_shapes(WORK / "train", per_class, seed=1, size=size),
               "val": make_grey_shapes(WORK / "val", max(10, per_class // 4), seed=2, size=size),
               "test": make_grey_shapes(WORK / "test", max(10, per_class // 2), seed=3, size=size)}
    make_unfamiliar(WORK / "noise-and-text", 2 * per_class, seed=4, size=size)
    fields = WORK / "microscope"
    fields.mkdir()
    rng = np.random.default_rng(5)
    for i in range(per_class):
        kind = ("round", "elongated", "cluster", "empty")[i % 4]
        Image.fromarray(draw_field(kind, rng, 96)).save(fields / f"{kind}_{i:03d}.png")
    folders["noise-and-text"], folders["microscope"] = WORK / "noise-and-text", fields
    return folders


def pictures(folder: Path) -> tuple[list[str], list[str]]:
    paths = sorted(str(p) for p in folder.rglob("*.png"))
    return paths, [Path(p).parent.name for p in paths]


def outputs(bundle, paths: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Logits and pooled features of the centre crops, as the Predictor sees them."""
    logits, features = [], []
    model = bundle.model.eval()
    for batch in decode_in_turn(DecodingDataset(paths, bundle.preprocessing), 64, 2, collate_decoded):
        with torch.inference_mode(), capture_features(model) as pooled:
            logits.append(model(normalize_batch(batch.images, bundle.preprocessing)).float())
        features.append(pooled[0])
    return torch.cat(logits), torch.cat(features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-class", type=int, default=60)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--example-epochs", type=int, default=3,
                        help="epochs on the example's fields for the test-time augmentation figures (short on "
                             "purpose: a model that makes mistakes)")
    args = parser.parse_args()
    print(machine())
    folders = make_data(args.per_class, args.size)
    started = time.perf_counter()
    result = Trainer(TrainSettings(data_dir=str(folders["train"]), val_dir=str(folders["val"]), weights="none",
                                   small_input=True, image_size=args.size, epochs=args.epochs, batch_size=16,
                                   out=str(WORK / "shapes.pt"))).run()
    print(f"trained {args.epochs} epochs in {time.perf_counter() - started:.0f} s: validation accuracy "
          f"{result.metrics['val_acc']:.3f}")
    bundle = load_checkpoint_bundle(result.best_path)
    classes = bundle.classes
    sets = {}
    for name, folder in folders.items():
        paths, labels = pictures(folder)
        sets[name] = (paths, *outputs(bundle, paths), labels)
    train_paths, train_logits, train_features, train_names = sets["train"]
    train_labels = torch.tensor([classes.index(n) for n in train_names])
    _, val_logits, val_features, _ = sets["val"]

    print("\n1. Which score separates better (threshold keeps 95% of val/ familiar)")
    print(f"{'score':<12} {'AUROC noise+text':>17} {'AUROC microscope':>17} {'test marked':>12} "
          f"{'noise+text marked':>18} {'microscope marked':>18}")
    for method in ("energy", "mahalanobis"):
        spec = fit_familiarity(method, val_logits=val_logits, val_features=val_features,
                               train_features=train_features, train_labels=train_labels, num_classes=len(classes))
        s = {name: familiarity_scores(spec, logits, features) for name, (_, logits, features, _) in sets.items()}
        marked = {name: float((v > spec["threshold"]).double().mean()) for name, v in s.items()}
        print(f"{method:<12} {auroc(s['test'], s['noise-and-text']):>17.3f} {auroc(s['test'], s['microscope']):>17.3f} "
              f"{marked['test']:>12.1%} {marked['noise-and-text']:>18.1%} {marked['microscope']:>18.1%}")

    print(f"\n2. The checkpoint's own fit ({bundle.familiarity['method']}), through the Predictor")
    predictor = Predictor(bundle, device="cpu", batch_size=64)
    for name in ("test", "noise-and-text", "microscope"):
        predictions = predictor.predict_all(sets[name][0])
        share = sum(p.unfamiliar for p in predictions) / len(predictions)
        print(f"  {name:<16} {share:6.1%} marked unfamiliar of {len(predictions)}")

    print("\n3. Test-time augmentation on test/ (accuracy)")
    tta_table(bundle, folders["test"])
    example = write_example(WORK / "example")
    started = time.perf_counter()
    result = Trainer(replace(example_settings(example, WORK / "example.pt"), epochs=args.example_epochs)).run()
    print(f"\n   the example's microscope fields, {args.example_epochs} epochs ({time.perf_counter() - started:.0f} s, "
          f"validation accuracy {result.metrics['val_acc']:.3f}), on its test/")
    tta_table(load_checkpoint_bundle(result.best_path), example.test)


def tta_table(bundle, folder: Path) -> None:
    plain = evaluate_model(bundle, folder, device="cpu", thumbnails=0)
    print(f"  {'none':<10} {plain['accuracy']:.4f}  ({plain['samples']} pictures)")
    for mode in MODES:
        started = time.perf_counter()
        report = evaluate_model(bundle, folder, device="cpu", thumbnails=0, tta=mode)
        print(f"  {mode:<10} {report['accuracy']:.4f}  (centre crop alone {report['tta']['accuracy_without']:.4f}, "
              f"gain {report['accuracy'] - report['tta']['accuracy_without']:+.4f}; "
              f"{time.perf_counter() - started:.1f} s)")

if __name__ == "__main__":
    main()
