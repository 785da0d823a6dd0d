"""An example data set that needs no download: microscope-like fields of four kinds, made from a seed.

`round` cells, `elongated` cells, `cluster`s of small cells and `empty` fields, on a noisy, unevenly
lit, stained background, as a lab's pictures look. `write_example(DIR)` writes `DIR/train/<class>/`
and `DIR/test/<class>/` so a newcomer can train, evaluate and classify before using their own pictures.
The same seed always gives the same pictures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_gui.core.atomic_write import atomic_write

CLASSES = ("round", "elongated", "cluster", "empty")
SIZE = 96
TRAIN_PER_CLASS, TEST_PER_CLASS = 60, 20
README = """Example pictures made by resnet-gui (seed {seed}): {size} px microscope-like fields of four kinds.

  round      round cells
  elongated  long, thin cells
  cluster    clumps of small cells
  empty      background only, with a little debris

train/ has {train} pictures per class, test/ {test} per class.
Train:    resnet-gui train {root}/train --weights none
Evaluate: resnet-gui evaluate {root}/test --checkpoint model.pt
"""


@dataclass(frozen=True)
class ExampleSet:
    root: Path
    train: Path
    test: Path
    classes: tuple[str, ...]
    images: int


def write_example(root: str | os.PathLike, *, seed: int = 0, train_per_class: int = TRAIN_PER_CLASS,
                  test_per_class: int = TEST_PER_CLASS, size: int = SIZE) -> ExampleSet:
    """Write the example data set under `root` (created if needed); returns where its parts are."""
    root = Path(root)
    count = 0
    for part, per_class, offset in (("train", train_per_class, 0), ("test", test_per_class, 1_000_000)):
        for label, name in enumerate(CLASSES):
            folder = root / part / name
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(per_class):
                rng = np.random.default_rng([seed, offset + i, label])
                picture = Image.fromarray(draw_field(name, rng, size))
                with atomic_write(folder / f"{name}_{i:03d}.png") as stream:
                    picture.save(stream, format="PNG")
                count += 1
    with atomic_write(root / "README.txt", "w", encoding="utf-8") as stream:
        stream.write(README.format(seed=seed, size=size, train=train_per_class, test=test_per_class, root=root))
    return ExampleSet(root, root / "train", root / "test", CLASSES, count)


def draw_field(kind: str, rng: np.random.Generator, size: int = SIZE) -> np.ndarray:
    """One uint8 RGB field [size, size, 3] of `kind`."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    # Uneven illumination and grain, as through a real objective.
    light = 0.85 + 0.15 * np.cos((xx - rng.uniform(0, size)) / size * np.pi) \
        * np.cos((yy - rng.uniform(0, size)) / size)
    density = np.zeros((size, size), np.float32)
    scale = size / 96

    def cell(cx, cy, a, b, angle, strength):
        cos, sin = np.cos(angle), np.sin(angle)
        u = ((xx - cx) * cos + (yy - cy) * sin) / a
        v = (-(xx - cx) * sin + (yy - cy) * cos) / b
        r = np.sqrt(u * u + v * v)
        body = np.clip(1.2 - r, 0, 1) ** 0.6  # soft edge
        nucleus = np.clip(1.0 - r / 0.45, 0, 1) * 0.6
        np.maximum(density, strength * (body + nucleus), out=density)

    if kind == "round":
        for _ in range(rng.integers(3, 7)):
            radius = rng.uniform(7, 11) * scale
            cell(rng.uniform(12 * scale, size - 12 * scale), rng.uniform(12 * scale, size - 12 * scale), radius,
                 radius * rng.uniform(0.9, 1.1),
                 rng.uniform(0, np.pi), rng.uniform(0.7, 1.0))
    elif kind == "elongated":
        for _ in range(rng.integers(3, 7)):
            length = rng.uniform(15, 22) * scale
            cell(rng.uniform(14 * scale, size - 14 * scale), rng.uniform(14 * scale, size - 14 * scale), length,
                 length * rng.uniform(0.22, 0.32),
                 rng.uniform(0, np.pi), rng.uniform(0.7, 1.0))
    elif kind == "cluster":
        for _ in range(rng.integers(1, 3)):
            cx, cy = rng.uniform(22 * scale, size - 22 * scale), rng.uniform(22 * scale, size - 22 * scale)
            for _ in range(rng.integers(7, 13)):
                radius = rng.uniform(3.5, 5.5) * scale
                cell(cx + rng.normal(0, 6 * scale), cy + rng.normal(0, 6 * scale), radius, radius,
                     0.0, rng.uniform(0.7, 1.0))
    for _ in range(rng.integers(0, 4)):  # debris, in every kind of field
        radius = rng.uniform(0.8, 2.0) * scale
        cell(rng.uniform(0, size), rng.uniform(0, size), radius, radius, 0.0, rng.uniform(0.4, 0.8))
    # Stained cells absorb: a pale pink background, purple cells.
    background = np.array([236, 222, 232], np.float32)
    stain = np.array([90, 165, 60], np.float32) * rng.uniform(0.85, 1.15)  # absorbs green most: purple
    rgb = background[None, None] * light[..., None] - density[..., None] * stain[None, None]
    rgb += rng.normal(0, 7, rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def example_settings(made: ExampleSet, out: str | os.PathLike | None = None):
    """How the window trains on the example: the defaults everyone gets, from a random start (the
    example must work offline, without ImageNet weights)."""
    from resnet_gui.core.training.settings import TrainSettings

    return TrainSettings(data_dir=str(made.train), weights="none", out=str(out or made.root / "example-model.pt"))


def example_project(made: ExampleSet) -> Path:
    return made.root / "project"


def make_example_project(made: ExampleSet) -> Path:
    """The example as a project: train/ imported with its labels, test/ added unlabelled, for the model to
    label and for review. An example project made before is kept as it is."""
    from resnet_gui.core.projects.project import Project
    from resnet_gui.core.projects.records import DATABASE_NAME

    folder = example_project(made)
    if (folder / DATABASE_NAME).is_file():
        return folder
    with Project.create(folder) as project:
        project.import_class_tree(made.train)
        project.add_images([made.test])
    return folder
