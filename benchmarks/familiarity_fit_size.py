"""Benchmark: how many training pictures the familiarity fit (Mahalanobis, core/trust/familiarity.py) needs.

For a trained checkpoint and its data (train/, valid/ and test/ class folders), the class means and the
shrunk covariance are fitted on 250, 500, 1,000 and every training picture (spread over the classes as the
finishing picks them), the threshold set on valid/ as a run sets it, and the score measured on test/ against
pictures of another kind (the folders given last): the AUROC, the share of test pictures called familiar and
the share of strangers marked. The pass over the training pictures is the largest part of a short run's
finishing, so it should read no more than the fit needs.

    python benchmarks/small_pictures.py --kinds digits32 fields48   # makes the data, or any class folders
    resnet-gui train DATA/train --val-dir DATA/valid --weights none --epochs 3 --out model.pt
    python benchmarks/familiarity_fit_size.py model.pt DATA STRANGERS...
"""

from __future__ import annotations

import argparse
import glob

from common import machine

FIT_SIZES = (250, 500, 1000, None)  # None: every training picture
STRANGERS_PER_FOLDER = 300


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("data", help="a folder with train/, valid/ and test/ class folders")
    parser.add_argument("strangers", nargs="+", help="folders of pictures of another kind")
    args = parser.parse_args()

    import torch
    from PIL import Image

    from resnet_gui.core.images.transforms import decode_transform, normalize_batch
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.training.finishing import fit_samples
    from resnet_gui.core.trust.familiarity import auroc, capture_features, fit_mahalanobis, mahalanobis, threshold_for

    bundle = load_checkpoint_bundle(args.checkpoint)
    model, prep = bundle.model.eval(), bundle.preprocessing
    transform = decode_transform(prep)

    def features(paths: list[str]) -> torch.Tensor:
        with torch.inference_mode(), capture_features(model) as pooled:
            for i in range(0, len(paths), 64):
                model(normalize_batch(torch.stack([transform(Image.open(p).convert("RGB")) for p in paths[i:i + 64]]),
                                      prep))
        return torch.cat(pooled)

    def part(name: str) -> tuple[list[str], torch.Tensor]:
        paths, labels = [], []
        for label, name_of_class in enumerate(bundle.classes):
            found = sorted(glob.glob(f"{args.data}/{name}/{name_of_class}/*.png"))
            paths += found
            labels += [label] * len(found)
        return paths, torch.tensor(labels)

    (train, train_labels), (valid, _), (test, _) = part("train"), part("valid"), part("test")
    strangers = []
    for folder in args.strangers:
        found = sorted(glob.glob(f"{folder}/**/*.png", recursive=True))
        strangers += found[::max(1, len(found) // STRANGERS_PER_FOLDER)][:STRANGERS_PER_FOLDER]
    train_f, valid_f, test_f, stranger_f = features(train), features(valid), features(test), features(strangers)
    print(f"Machine: {machine()}")
    print(f"{args.checkpoint}: {len(train)} training, {len(valid)} validation, {len(test)} test pictures, "
          f"{len(strangers)} strangers")
    for size in FIT_SIZES:
        chosen = fit_samples(list(range(len(train))), size or len(train))
        spec = fit_mahalanobis(train_f[chosen], train_labels[chosen], len(bundle.classes))
        threshold = threshold_for(mahalanobis(valid_f, spec["means"], spec["precision"]))
        on_test = mahalanobis(test_f, spec["means"], spec["precision"])
        on_strangers = mahalanobis(stranger_f, spec["means"], spec["precision"])
        familiar, marked = (on_test <= threshold).float().mean(), (on_strangers > threshold).float().mean()
        print(f"  fit on {len(chosen):5d}: AUROC {auroc(on_test, on_strangers):.3f}, test familiar {familiar:.3f}, "
              f"strangers marked {marked:.3f}")


if __name__ == "__main__":
    main()
