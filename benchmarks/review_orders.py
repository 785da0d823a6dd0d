"""Which review order saves labels: a simulated user who answers every picture with its true label.

For each kind of data the benchmark makes, and each review order: a project starts with a few labels per
class and its other pictures unlabelled; each round trains a run (the project's own training, from
scratch), lets it predict the unlabelled pictures, scores it on held-out pictures, and labels the first
BATCH pictures of the review in that order. The learning curve is held-out accuracy against labels given;
"labels to 90%" is the labels an order needed to reach 90% of the accuracy of training on every pool
picture (interpolated between rounds; ">N" when it never did).

The kinds: microscope-like fields of four kinds (core/projects/example.py), balanced; the same fields with
the pool imbalanced (55/25/12/8%); and groups of near copies (each field with five shifted, re-lit,
re-noised copies), where a doubtful picture's copies are all equally doubtful.

With --continue, the default order is also run with each round starting from the previous round's model
(`project train --from-run N`) against from scratch: time to a model and held-out accuracy per round.

    python benchmarks/review_orders.py [--orders confidence,margin,...] [--repeats 2] [--continue]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from common import ROOT, machine
from PIL import Image

from resnet_gui.core.projects.example import CLASSES, draw_field
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import DEFAULT_REVIEW_ORDER, REVIEW_ORDERS, ProjectView
from resnet_gui.core.projects.training import predict_project, train_project
from resnet_gui.core.training.settings import TrainSettings

SIZE = 32
KINDS = ("fields", "imbalanced", "near copies")
IMBALANCE = (0.55, 0.25, 0.12, 0.08)
COPIES = 6  # a near-copy group: the field and five copies
BATCH = 16


def write(path: Path, pixels: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def near_copy(pixels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    shifted = np.roll(pixels, tuple(rng.integers(-2, 3, 2)), axis=(0, 1)).astype(np.float32)
    shifted = shifted * rng.uniform(0.9, 1.1) + rng.normal(0, 4, shifted.shape)
    return np.clip(shifted, 0, 255).astype(np.uint8)


def make_data(root: Path, kind: str, pool_size: int, held_per_class: int, seed: int) -> dict[Path, str]:
    """The pool (unlabelled, with its true labels: path -> class) and held-out/<class>/ under `root`."""
    rng = np.random.default_rng([seed, KINDS.index(kind)])
    truth: dict[Path, str] = {}
    shares = IMBALANCE if kind == "imbalanced" else (1 / len(CLASSES),) * len(CLASSES)
    for label, share in zip(CLASSES, shares, strict=True):
        count = max(3, round(pool_size * share))
        made = 0
        while made < count:
            field = draw_field(label, rng, SIZE)
            group = [field] + ([near_copy(field, rng) for _ in range(COPIES - 1)] if kind == "near copies" else [])
            for n, pixels in enumerate(group[:count - made]):
                truth[write(root / "pool" / f"{label}_{made + n:04d}.png", pixels)] = label
            made += len(group[:count - made])
        for i in range(held_per_class):
            write(root / "held" / label / f"{i:03d}.png", draw_field(label, rng, SIZE))
    return truth


def held_out_accuracy(checkpoint: Path, held: Path) -> float:
    from resnet_gui.core.inference.predictor import Predictor
    from resnet_gui.core.models.resnets import load_checkpoint_bundle

    files = sorted(held.glob("*/*.png"))
    predictor = Predictor(load_checkpoint_bundle(checkpoint), device="cpu", top_k=1, batch_size=64,
                          check_familiarity=False)
    right = sum(p.best.label == Path(p.path).parent.name for batch in predictor.predict(files) for p in batch)
    return right / len(files)


class Loop:
    """One simulated user on one kind of data with one order."""

    def __init__(self, folder: Path, truth: dict[Path, str], start_per_class: int, settings: TrainSettings):
        self.folder, self.truth, self.settings = folder, truth, settings
        with Project.create(folder) as project:
            for label in CLASSES:
                project.add_class(label)
            project.add_images(sorted(truth))
            by_class: dict[str, list[int]] = {}
            for picture in project.pictures(ProjectView("unlabelled")):
                by_class.setdefault(truth[picture.path], []).append(picture.id)
            for label, ids in by_class.items():  # the same first labels for every order: the first files
                project.assign_many(ids[:start_per_class], label)
            self.labelled = project.status(check_files=False)

    def labels(self) -> int:
        with Project.open(self.folder) as project:
            return sum(c.count for c in project.classes())

    def round(self, from_run: int | None = None) -> tuple[int, float, Path]:
        """Train (from scratch, or from run `from_run`) and predict: the run, its seconds, its model."""
        began = time.perf_counter()
        run = train_project(self.folder, self.settings, skip_finishing=lambda: True, from_run=from_run)
        seconds = time.perf_counter() - began
        predict_project(self.folder, run.run_id, device="cpu")
        with Project.open(self.folder) as project:
            return run.run_id, seconds, project.run(run.run_id).checkpoint

    def label_next(self, order: str, batch: int, run_id: int) -> int:
        with Project.open(self.folder) as project:
            chosen = project.pictures(ProjectView("review"), run_id=run_id, order=order, limit=batch)
            for label in CLASSES:
                ids = [p.id for p in chosen if self.truth[p.path] == label]
                if ids:
                    project.assign_many(ids, label)
            return len(chosen)


def settings_for(labels: int, args, seed: int) -> TrainSettings:
    """The same number of steps for every round (a fixed number of epochs gives a round of 20 labels two
    steps an epoch: a random start learns nothing from that)."""
    trained = max(1, round(labels * 0.8))
    epochs = max(2, -(-args.steps * BATCH // trained))
    return TrainSettings(weights="none", arch="resnet18", epochs=epochs, batch_size=BATCH, image_size=SIZE,
                         augment=["hflip"], seed=seed, device="cpu")


def learning_curve(work: Path, truth, held: Path, order: str, args, seed: int, continuing: bool = False):
    loop = Loop(work / f"{order}-{seed}-{int(continuing)}", truth, args.start, settings_for(1, args, seed))
    curve, previous = [], None
    for _ in range(args.rounds + 1):
        labels = loop.labels()
        loop.settings = settings_for(labels, args, seed)
        run_id, seconds, checkpoint = loop.round(previous if continuing else None)
        curve.append({"labels": labels, "accuracy": held_out_accuracy(checkpoint, held), "seconds": seconds})
        previous = run_id
        if len(curve) <= args.rounds and not loop.label_next(order, args.batch, run_id):
            break
    return curve


def full_accuracy(work: Path, truth, held: Path, args, seed: int) -> float:
    """Held-out accuracy of training on every pool picture, labelled (the same steps, and at least 8 epochs)."""
    settings = replace(settings_for(len(truth), args, seed), epochs=max(8, settings_for(len(truth), args,
                                                                                          seed).epochs))
    loop = Loop(work / f"full-{seed}", truth, len(truth), settings)
    return held_out_accuracy(loop.round()[2], held)


def labels_to(curve: list[dict], target: float) -> str:
    """Labels at which the curve first reaches `target` (linear between rounds), or '>N'."""
    for before, after in zip([None, *curve], curve, strict=False):
        if after["accuracy"] >= target:
            if before is None:
                return str(after["labels"])
            share = (target - before["accuracy"]) / max(after["accuracy"] - before["accuracy"], 1e-9)
            return str(round(before["labels"] + share * (after["labels"] - before["labels"])))
    return f">{curve[-1]['labels']}"


def mean_curve(curves: list[list[dict]]) -> list[dict]:
    rounds = min(len(c) for c in curves)
    return [{key: float(np.mean([c[r][key] for c in curves])) for key in ("labels", "accuracy", "seconds")}
            for r in range(rounds)]


def svg_plot(results: dict, path: Path) -> None:
    """The learning curves, one panel per kind, as an SVG a Markdown page shows."""
    colours = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#7f7f7f")
    width, height, pad = 300, 220, 36
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width * len(results)}" height="{height + 70}" '
             'font-family="sans-serif" font-size="11">', '<rect width="100%" height="100%" fill="white"/>']
    orders = list(next(iter(results.values()))["curves"])
    for k, (kind, result) in enumerate(results.items()):
        x0 = k * width
        curves = result["curves"]
        top = max(p["labels"] for c in curves.values() for p in c)
        low = min(p["accuracy"] for c in curves.values() for p in c)
        low = max(0.0, np.floor(low * 10) / 10)

        def place(point, x0=x0, top=top, low=low):
            return (x0 + pad + (width - 2 * pad) * point["labels"] / top,
                    height - pad + 10 - (height - 2 * pad) * (point["accuracy"] - low) / (1 - low))

        parts.append(f'<text x="{x0 + width / 2}" y="16" text-anchor="middle">{kind} (all labelled: '
                     f'{result["full"]:.0%})</text>')
        parts.append(f'<line x1="{x0 + pad}" y1="{height - pad + 10}" x2="{x0 + width - pad}" '
                     f'y2="{height - pad + 10}" stroke="black"/><line x1="{x0 + pad}" y1="{pad}" x2="{x0 + pad}" '
                     f'y2="{height - pad + 10}" stroke="black"/>')
        parts.append(f'<text x="{x0 + pad}" y="{height - pad + 24}">0</text><text x="{x0 + width - pad}" '
                     f'y="{height - pad + 24}" text-anchor="end">{top:.0f} labels</text>')
        parts.append(f'<text x="{x0 + pad - 4}" y="{pad + 4}" text-anchor="end">100%</text><text '
                     f'x="{x0 + pad - 4}" y="{height - pad + 10}" text-anchor="end">{low:.0%}</text>')
        target = place({"labels": 0, "accuracy": 0.9 * result["full"]})[1]
        parts.append(f'<line x1="{x0 + pad}" y1="{target}" x2="{x0 + width - pad}" y2="{target}" stroke="#aaa" '
                     'stroke-dasharray="4 3"/>')
        for n, order in enumerate(orders):
            points = " ".join(f"{x:.1f},{y:.1f}" for x, y in map(place, curves[order]))
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colours[n % 7]}" stroke-width="1.6"/>')
    for n, order in enumerate(orders):
        parts.append(f'<rect x="{20 + n * 110}" y="{height + 40}" width="12" height="4" fill="{colours[n % 7]}"/>'
                     f'<text x="{36 + n * 110}" y="{height + 46}">{order}</text>')
    parts.append(f'<text x="20" y="{height + 64}">dashed: 90% of the accuracy with every pool picture '
                 'labelled</text></svg>')
    path.write_text("\n".join(parts), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", default=",".join(REVIEW_ORDERS))
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--pool", type=int, default=400, help="pool pictures per kind")
    parser.add_argument("--held", type=int, default=40, help="held-out pictures per class")
    parser.add_argument("--start", type=int, default=5, help="labels per class to start with")
    parser.add_argument("--batch", type=int, default=20, help="labels per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=100, help="optimizer steps a round trains")
    parser.add_argument("--repeats", type=int, default=1, help="seeds per order (curves averaged)")
    parser.add_argument("--continue", dest="continuing", action="store_true",
                        help="also: the default order continuing from the previous round's model")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "review_orders.json")
    parser.add_argument("--svg", type=Path, default=ROOT / "benchmarks" / "review_orders.svg")
    args = parser.parse_args()
    orders = args.orders.split(",")
    print(machine())
    print(f"pool {args.pool} at {SIZE} px, start {args.start} per class, rounds of {args.batch}, "
          f"{args.rounds} rounds, {args.steps} steps a round, {args.repeats} seed(s)")
    results: dict = {}
    work = Path(tempfile.mkdtemp(prefix="review-orders-"))
    began = time.perf_counter()
    try:
        for kind in args.kinds.split(","):
            truth = make_data(work / kind, kind, args.pool, args.held, seed=0)
            held = work / kind / "held"
            full = float(np.mean([full_accuracy(work / kind, truth, held, args, s) for s in range(args.repeats)]))
            curves = {order: mean_curve([learning_curve(work / kind, truth, held, order, args, s)
                                         for s in range(args.repeats)]) for order in orders}
            result = {"full": full, "curves": curves}
            if args.continuing:
                result["continue"] = mean_curve([learning_curve(work / kind, truth, held, DEFAULT_REVIEW_ORDER,
                                                                args, s, continuing=True)
                                                 for s in range(args.repeats)])
            results[kind] = result
            print(f"\n{kind}: every pool picture labelled {full:.1%}; labels to 90% of it "
                  f"({0.9 * full:.1%}) [{time.perf_counter() - began:.0f} s so far]")
            print(f"{'order':<12}" + "".join(f"{p['labels']:>7.0f}" for p in curves[orders[0]]) + "   to 90%")
            for order, curve in curves.items():
                print(f"{order:<12}" + "".join(f"{p['accuracy']:>7.1%}" for p in curve)
                      + f"   {labels_to(curve, 0.9 * full):>6}")
            if args.continuing:
                for name, curve in (("scratch", curves[DEFAULT_REVIEW_ORDER]), ("continue", result["continue"])):
                    print(f"{name:<12}" + "".join(f"{p['accuracy']:>7.1%}" for p in curve) + "   s/round "
                          + " ".join(f"{p['seconds']:.1f}" for p in curve))
            args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
            svg_plot(results, args.svg)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{time.perf_counter() - began:.0f} s in all; curves in {args.json.name}, plot in {args.svg.name}")


if __name__ == "__main__":
    main()
