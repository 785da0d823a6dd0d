"""Data a check of the data must see through: class folders of textured pictures with faults planted in them."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

TINTS = {"amber": (220, 150, 40), "moss": (70, 160, 60), "slate": (70, 90, 170)}
SIDE = 96


def texture(rng: np.random.Generator, side: int = SIDE, grid: int = 6) -> np.ndarray:
    """Smooth colour noise: every picture differs where a perceptual hash looks (the low frequencies)."""
    small = (rng.random((grid, grid, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC), dtype=np.float32)


def picture(rng: np.random.Generator, tint, base: np.ndarray | None = None, shared: float = 0.0) -> Image.Image:
    t = texture(rng)
    if base is not None:
        t = (1 - shared) * t + shared * base
    return Image.fromarray(np.clip(0.6 * t + 0.4 * np.array(tint, np.float32), 0, 255).astype(np.uint8))


def jpeg_again(image: Image.Image, quality: int = 70) -> Image.Image:
    data = io.BytesIO()
    image.save(data, "JPEG", quality=quality)
    data.seek(0)
    return Image.open(data).convert("RGB")


NEAR_COPIES = {  # what a lab does to a picture on its way to a second folder
    "re-encoded": jpeg_again,
    "resized": lambda im: im.resize((77, 77), Image.Resampling.BILINEAR),
    "cropped": lambda im: im.crop((3, 3, SIDE - 3, SIDE - 3)),
    "shifted": lambda im: im.crop((4, 0, SIDE, SIDE)),
    "brightened": lambda im: ImageEnhance.Brightness(im).enhance(1.25),
}


def class_folders(root: Path, per_class: int, seed: int, tints=TINTS) -> dict[str, list[Path]]:
    rng = np.random.default_rng(seed)
    made: dict[str, list[Path]] = {}
    for name, tint in tints.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        made[name] = []
        for i in range(per_class):
            path = root / name / f"{name}-{seed}-{i:03d}.png"
            picture(rng, tint).save(path)
            made[name].append(path)
    return made


FLIPPED = 3


def plant_faults(root: Path) -> Path:
    """train/ and val/ of three tints; in val, a near copy of a training picture for each way a copy is made
    and one exact copy; in train, a duplicate, a copy under a second class, FLIPPED pictures filed under the
    wrong class and a file that is not a picture."""
    train = class_folders(root / "train", 30, seed=1)
    class_folders(root / "val", 8, seed=2)
    for k, (how, make) in enumerate(NEAR_COPIES.items()):
        make(Image.open(train["amber"][k]).convert("RGB")).save(root / "val" / "amber" / f"leak-{how}.png")
    shutil.copy(train["moss"][0], root / "val" / "moss" / "exact-leak.png")
    shutil.copy(train["moss"][1], root / "train" / "moss" / "dup.png")
    shutil.copy(train["moss"][2], root / "train" / "slate" / "two-classes.png")
    for i in range(FLIPPED):
        shutil.move(train["slate"][10 + i], root / "train" / "amber" / f"flipped-{i}.png")
    (root / "train" / "amber" / "broken.png").write_bytes(b"not a picture")
    return root


def planted_project(tmp_path: Path) -> Path:
    """Three tints of 20; a moss picture filed again under slate (re-encoded: a project takes an exact copy in
    once), a near copy of an amber one (to be put on the validation side), two slate pictures filed under amber."""
    from resnet_gui.core.projects.project import Project

    tree = class_folders(tmp_path / "tree", 20, seed=3)
    jpeg_again(Image.open(tree["moss"][0]).convert("RGB")).save(tmp_path / "tree" / "slate" / "two-classes.jpg")
    jpeg_again(Image.open(tree["amber"][1]).convert("RGB")).save(tmp_path / "tree" / "amber" / "leak.jpg")
    for i in range(2):
        shutil.move(tree["slate"][5 + i], tmp_path / "tree" / "amber" / f"flipped-{i}.png")

    project, _ = Project.create_from_class_tree(tmp_path / "P", tmp_path / "tree")
    with project:  # the split as a first training stores it: the copy on the validation side
        project.db.execute("UPDATE images SET split = 'train'")
        project.db.execute("UPDATE images SET split = 'val' WHERE path LIKE '%leak.jpg'")
    return tmp_path / "P"
