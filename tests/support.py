"""Helpers the tests import: tiny seeded models and pictures made on the spot (fixtures are in conftest)."""

from __future__ import annotations

import os
from contextlib import contextmanager

import numpy as np
from PIL import Image

from resnet_gui.core.images.transforms import Preprocessing
from resnet_gui.core.models.resnets import build_model
from resnet_gui.core.training.events import TrainingCallback

TINY = Preprocessing(image_size=32, resize=36)
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


# The threads every test that trains computes on (tests/conftest.py): the suite's statistical figures were
# measured with them.
TRAINING_THREADS = 2


@contextmanager
def fixed_threads(count: int):
    """torch computes on `count` threads inside the block (fewer where the machine has fewer cores), so a
    statistical test's model is the same bit for bit on every run of a machine, and on machines alike."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(max(1, min(count, os.cpu_count() or 1)))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def tiny_model(num_classes: int = 3, seed: int = 0, small_input: bool = True):
    import torch

    torch.manual_seed(seed)
    return build_model("resnet18", num_classes, small_input=small_input).eval()


def save_noise(path, size=(48, 40), seed=0, mode="RGB"):
    rng = np.random.RandomState(seed)
    array = rng.randint(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(array)
    if mode != "RGB":
        image = image.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


def make_shapes_dataset(root, per_class=12, size=40, seed=0, classes=("red", "green", "blue"), suffix=".png"):
    """Coloured squares at random places on grey noise: a dataset a model learns in a few epochs."""
    rng = np.random.RandomState(seed)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.randint(90, 160, (size, size, 3)).astype(np.uint8)
            side = rng.randint(size // 3, size // 2)
            x, y = rng.randint(0, size - side, 2)
            pixels[y:y + side, x:x + side] = COLOURS.get(name, (240, 200, 20) if name == "cat" else (20, 20, 20))
            Image.fromarray(pixels).save(folder / f"{name}_{i:03d}{suffix}")
    return root


# Each class in two looks: a model that saw only the first look cannot know the second's class.
TWO_LOOKS = {"red": [(220, 30, 30), (30, 220, 220)], "green": [(30, 200, 40), (220, 30, 220)],
             "blue": [(30, 40, 220), (230, 220, 30)]}


def make_two_looks_dataset(root, per_class, seed, looks=(0, 1)):
    """Class folders of squares in one of two colours per class (alternating through `looks`)."""
    rng = np.random.RandomState(seed)
    for name, colours in TWO_LOOKS.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.randint(90, 160, (40, 40, 3)).astype(np.uint8)
            side = rng.randint(13, 20)
            x, y = rng.randint(0, 40 - side, 2)
            pixels[y:y + side, x:x + side] = colours[looks[i % len(looks)]]
            Image.fromarray(pixels).save(root / name / f"{name}_{i:03d}.png")
    return root


GREY_SHAPES = ("circle", "square", "triangle")


def grey_shape(kind: str, rng: np.random.RandomState, size: int = 32) -> np.ndarray:
    """One grey shape, light or dark, somewhere on grey noise."""
    from PIL import ImageDraw

    background = rng.randint(90, 130)
    pixels = np.clip(rng.normal(background, 8, (size, size)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels, "L")
    draw = ImageDraw.Draw(image)
    side = rng.randint(size // 3, size // 2 + 2)
    x, y = rng.randint(1, size - side - 1, 2)
    shade = int(rng.choice([rng.randint(10, 50), rng.randint(200, 245)]))
    if kind == "circle":
        draw.ellipse((x, y, x + side, y + side), fill=shade)
    elif kind == "square":
        draw.rectangle((x, y, x + side, y + side), fill=shade)
    else:
        draw.polygon([(x + side // 2, y), (x, y + side), (x + side, y + side)], fill=shade)
    return np.asarray(image.convert("RGB"))


def make_grey_shapes(root, per_class: int, seed: int = 0, size: int = 32):
    """Class folders of grey circles, squares and triangles."""
    rng = np.random.RandomState(seed)
    for kind in GREY_SHAPES:
        (root / kind).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.fromarray(grey_shape(kind, rng, size)).save(root / kind / f"{kind}_{seed}_{i:03d}.png")
    return root


def make_unfamiliar(folder, count: int, seed: int = 0, size: int = 32) -> list:
    """Pictures unlike grey shapes: coloured noise and coloured text, alternately."""
    from PIL import ImageDraw

    rng = np.random.RandomState(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        if i % 2 == 0:
            pixels = rng.randint(0, 256, (size, size, 3)).astype(np.uint8)
            image = Image.fromarray(pixels)
            name = f"noise_{i:03d}.png"
        else:
            image = Image.new("RGB", (size, size), tuple(int(v) for v in rng.randint(150, 256, 3)))
            draw = ImageDraw.Draw(image)
            for line in range(3):
                word = "".join(chr(c) for c in rng.randint(97, 123, 5))
                draw.text((1, 1 + line * 10), word, fill=tuple(int(v) for v in rng.randint(0, 120, 3)))
            name = f"text_{i:03d}.png"
        image.save(folder / name)
        paths.append(folder / name)
    return paths


def small_example(monkeypatch, folder) -> None:
    """The window's example made small (6 training pictures a class, 1 epoch, 40 px) and kept in `folder`: the
    same path as the real one, in seconds."""
    import dataclasses

    from resnet_gui.core.projects import example as example_module
    from resnet_gui.gui import example_flow

    write = example_module.write_example
    monkeypatch.setattr(example_module, "write_example",
                        lambda where: write(where, train_per_class=6, test_per_class=2, size=40))
    settings = example_module.example_settings
    monkeypatch.setattr(example_module, "example_settings",
                        lambda made: dataclasses.replace(settings(made), epochs=1, batch_size=8))
    monkeypatch.setattr(example_flow, "example_folder", lambda: folder)


def statements_run(traced: list[str]) -> list[str]:
    """The statements SQLite ran, from what `set_trace_callback` saw: it reports a statement again, with the
    same text, at the start of each trigger or RETURNING subprogram of it, so repeats in a row are one."""
    return [sql for i, sql in enumerate(traced) if i == 0 or traced[i - 1] != sql]


class Recorder(TrainingCallback):
    """Every event a training run sends, in order."""

    def __init__(self):
        self.batches, self.epochs, self.finished, self.data = [], [], [], None

    def on_data_ready(self, data):
        self.data = data

    def on_batch_end(self, event):
        self.batches.append(event)

    def on_epoch_end(self, event):
        self.epochs.append(event)

    def on_finished(self, result):
        self.finished.append(result)


def make_two_runs(tmp_path, model=None):
    """A project (tmp_path/proj) with two runs made by hand, no training: run 1 (5 epochs) gets one of its three
    validation pictures wrong, run 2 (10 epochs, started from run 1's model) none; on the six unlabelled pictures
    they disagree on two. Each run's model file is a copy of `model` (a checkpoint), or a few bytes."""
    import shutil

    from resnet_gui.core.projects.project import Project
    from resnet_gui.core.projects.records import ProjectView

    make_shapes_dataset(tmp_path / "seed", per_class=3, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=2, seed=2)
    with Project.create(tmp_path / "proj") as project:
        project.import_class_tree(tmp_path / "seed")
        project.add_images([tmp_path / "pool"])
        labelled = [p for p in project.pictures(ProjectView("all")) if p.class_id is not None]
        pool = project.pictures(ProjectView("unlabelled"))
        classes = [(c.id, c.name) for c in project.classes()]
        ids = [c for c, _ in classes]
        labels = {p.id: p.class_id for p in labelled}
        val = [p for p in labelled if p.class_id == ids[0]][:2] + [p for p in labelled if p.class_id == ids[1]][:1]
        train = [p.id for p in labelled if p not in val]
        other = {c: ids[(ids.index(c) + 1) % len(ids)] for c in ids}
        for number, (settings, wrong, changed) in enumerate(
                (({"epochs": 5, "lr": 0.001, "data_dir": "/a"}, {val[0].id}, set()),
                 ({"epochs": 10, "lr": 0.001, "data_dir": "/b", "weights": str(project.models_dir / "run-0001.pt")},
                  set(), {pool[0].id, pool[1].id})), 1):
            run = project.begin_run(settings, classes, train, [p.id for p in val], labels)
            rows = [(p.id, [(other[p.class_id] if p.id in wrong else p.class_id, 0.8), (ids[2], 0.1)], None)
                    for p in val]
            rows += [(p.id, [(other[ids[0]] if p.id in changed else ids[0], 0.6 + 0.01 * n), (ids[2], 0.2)], None)
                     for n, p in enumerate(pool)]
            project.store_predictions(run, rows)
            path = project.models_dir / f"run-{number:04d}.pt"
            if model is not None:
                shutil.copyfile(model, path)
            else:
                path.write_bytes(b"a model")
            project.finish_run(run, "completed", path, {"val_acc": 1 - len(wrong) / 3}, [], settings)
    return tmp_path / "proj"


def write_colour_video(path, colours, frames_each=10, fps=20, size=64, seed=0):
    """An MJPEG .avi of squares of each colour in turn on grey noise (the colour model's kind of picture),
    `frames_each` frames per colour; returns the colour name of every frame, in order."""
    import cv2

    rng = np.random.RandomState(seed)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (size, size))
    shown = []
    for name in colours:
        for _ in range(frames_each):
            pixels = rng.randint(90, 160, (size, size, 3)).astype(np.uint8)
            side = rng.randint(size // 3, size // 2)
            x, y = rng.randint(0, size - side, 2)
            pixels[y:y + side, x:x + side] = COLOURS[name]
            writer.write(cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
            shown.append(name)
    writer.release()
    return shown
