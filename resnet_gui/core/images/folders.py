"""Class folders, before any picture is decoded: their classes and files, the pictures' typical size (from
their headers), and a seeded, stratified split. No torch: projects import class trees with it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_gui.core.errors import DatasetError
from resnet_gui.core.images.files import Discovery, discover
from resnet_gui.core.text import is_text


@dataclass
class FolderScan:
    """What a class folder holds, before any decoding."""

    root: Path
    classes: list[str]
    train: list[tuple[str, int]]
    val: list[tuple[str, int]] | None  # None: no val folder, the split is made later
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): passed over while scanning

    def counts(self) -> dict[str, int]:
        counter = Counter(label for _, label in self.train + (self.val or []))
        return {name: counter.get(i, 0) for i, name in enumerate(self.classes)}


def scan_class_folder(root: str | os.PathLike, val_dir: str | os.PathLike | None = None, *,
                      min_classes: int = 2) -> FolderScan:
    """Find the classes and image files of a class folder: one subfolder per class, sorted by name as
    torchvision's ImageFolder sorts them, or train/ and val/ folders that each have them.

    A file is listed once even when links reach it from two classes, or from both train and val;
    links to folders are not followed; every file passed over is kept in `skipped` with the reason.
    """
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root} is not a folder. Choose a folder with one subfolder per class.")
    train_root = root
    if val_dir is None and (root / "train").is_dir() and (root / "val").is_dir():
        train_root, val_dir = root / "train", root / "val"
    found = Discovery()
    seen: set[object] = set()  # file_identity of every picture listed
    classes, train = _scan(train_root, found, seen, min_classes=min_classes)
    val = None
    if val_dir is not None:
        val_root = Path(val_dir)
        if not val_root.is_dir():
            raise DatasetError(f"The validation folder {val_root} does not exist.")
        val_classes = _class_folders(val_root, found)
        unknown = sorted(set(val_classes) - set(classes))
        if unknown:
            raise DatasetError(f"The validation folder {val_root} has classes the training folder lacks: "
                               f"{', '.join(unknown)}. Both need the same class subfolders.")
        if not val_classes:
            raise DatasetError(f"The validation folder {val_root} has none of the classes {', '.join(classes)}.")
        _, val = _scan(val_root, found, seen, classes=classes, min_classes=1)
    skipped = [(str(path), reason) for path, reason in found.skipped]
    return FolderScan(root, classes, train, val, skipped)


def _class_folders(folder: Path, found: Discovery) -> list[str]:
    """The class subfolders of `folder`, sorted; hidden folders and links to folders are passed over."""
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        raise DatasetError(f"{folder} cannot be read ({exc.strerror or exc}).") from None
    names = []
    for entry in entries:
        if not entry.is_dir(follow_symlinks=True):
            continue
        if entry.name.startswith("."):
            found.skip(Path(entry.path), "hidden folder")
        elif entry.is_symlink():
            found.skip(Path(entry.path), "a link to a folder; links to folders are not followed")
        elif not is_text(entry.name):
            found.skip(Path(entry.path), "its name is not UTF-8 text, so it cannot name a class; rename the folder")
        else:
            names.append(entry.name)
    return names


def _scan(folder: Path, found: Discovery, seen: set[object], *, classes: list[str] | None = None,
          min_classes: int = 2) -> tuple[list[str], list[tuple[str, int]]]:
    present = _class_folders(folder, found)
    if not present:
        raise DatasetError(
            f"{folder} has no class subfolders. Put the images of each class in a subfolder named "
            "after the class, like healthy/ and infected/."
        )
    classes = classes or present
    if len(classes) < min_classes:
        raise DatasetError(f"{folder} has only one class subfolder ({classes[0]}). Training needs two or more.")
    candidates: list[tuple[Path, int]] = []
    identities: dict[Path, object] = {}
    for name in present:
        part = discover([folder / name])
        found.skipped.extend(part.skipped)
        identities.update(part.identities)
        candidates += [(path, classes.index(name)) for path in part.files]
    # A file reached twice (a link in another class, or in both train and val) counts once, where the
    # file really is: a link never gives a picture the label of the folder the link sits in.
    candidates.sort(key=lambda c: os.path.islink(c[0]))  # stable: real files first, then links
    kept = set()
    for path, label in candidates:
        key = identities[path]
        if key in seen:
            found.skip(path, "the same file as one already listed (a link, or in two classes)")
            continue
        seen.add(key)
        kept.add((str(path), label))
    samples = [(str(path), label) for path, label in sorted(candidates, key=lambda c: (c[1], str(c[0])))
               if (str(path), label) in kept]
    if not samples:
        raise DatasetError(f"{folder} has class subfolders but no images in them (.jpg .png .tif ...).")
    return [c for c in classes if c in present], samples


def typical_short_side(paths: Sequence[str], sample: int = 200) -> int | None:
    """The median shorter side of (an even sample of) the pictures, read from their headers only."""
    from resnet_gui.core.images.files import readable_formats

    if not paths:
        return None
    step = max(1, len(paths) // sample)
    sides = []
    for path in list(paths)[::step][:sample]:
        try:
            with Image.open(path, formats=readable_formats()) as image:
                sides.append(min(image.size))
        except Exception:  # noqa: BLE001 - an unreadable file is reported when the data is prepared
            continue
    return int(np.median(sides)) if sides else None


def stratified_split(labels: Sequence[int], fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Indices (train, val): about `fraction` of every class in val, the same for the same seed."""
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        by_class.setdefault(label, []).append(index)
    train, val = [], []
    for label in sorted(by_class):
        indices = np.array(by_class[label])
        rng.shuffle(indices)
        n_val = int(round(len(indices) * fraction))
        if len(indices) >= 2:
            n_val = min(max(n_val, 1), len(indices) - 1)  # every class in both parts when it can be
        else:
            n_val = 0
        val += indices[:n_val].tolist()
        train += indices[n_val:].tolist()
    return sorted(train), sorted(val)
