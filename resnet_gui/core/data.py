"""Class-folder datasets: scanning, checking, caching, splitting, loading.

A training folder has one subfolder per class ("healthy/", "infected/"), or
`train/` and `val/` folders that each have them. Every file is decoded once
when the dataset is prepared: unreadable files are listed and skipped, and
for datasets that fit the memory budget the decoded, downsized pictures are
kept, so later epochs do no JPEG decoding at all.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from resnet_gui.core.errors import DatasetError
from resnet_gui.core.images import Discovery, ImageDecodeError, discover, load_rgb
from resnet_gui.core.text import is_text

FEW_IMAGES = 10  # a class with fewer images than this gets a warning
IMBALANCE = 5.0  # largest class / smallest class above this gets a warning
DEFAULT_CACHE_BYTES = 2 * 1024**3


@dataclass
class Sample:
    path: str
    label: int
    pixels: np.ndarray | None = None  # cached uint8 [h, w, 3], shorter side = cache side


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
    seen: set[str] = set()
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


def _scan(folder: Path, found: Discovery, seen: set[str], *, classes: list[str] | None = None,
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
    for name in present:
        part = discover([folder / name])
        found.skipped.extend(part.skipped)
        candidates += [(path, classes.index(name)) for path in part.files]
    # A file reached twice (a link in another class, or in both train and val) counts once, where the
    # file really is: a link never gives a picture the label of the folder the link sits in.
    candidates.sort(key=lambda c: os.path.islink(c[0]))  # stable: real files first, then links
    kept = set()
    for path, label in candidates:
        key = os.path.realpath(path)
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
    from resnet_gui.core.images import readable_formats

    if not paths:
        return None
    step = max(1, len(paths) // sample)
    sides = []
    for path in list(paths)[::step][:sample]:
        try:
            with Image.open(path, formats=readable_formats()) as image:
                sides.append(min(image.size))
        except Exception:  # an unreadable file is reported when the data is prepared
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


@dataclass
class PreparedData:
    """Checked, split (and maybe cached) samples with what the user should be told."""

    classes: list[str]
    train: list[Sample]
    val: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)
    warnings: list[str] = field(default_factory=list)
    cached: bool = False

    def class_counts(self, part: str = "train") -> list[int]:
        counter = Counter(s.label for s in getattr(self, part))
        return [counter.get(i, 0) for i in range(len(self.classes))]


def prepare_data(
    scan: FolderScan,
    *,
    image_size: int,
    val_split: float = 0.2,
    seed: int = 0,
    cache_bytes: int = DEFAULT_CACHE_BYTES,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> PreparedData:
    """Decode every file once (threads), drop unreadable ones, cache when small enough, split."""
    entries = [(p, y, "train") for p, y in scan.train] + [(p, y, "val") for p, y in (scan.val or [])]
    # Cache at the shorter side the crop needs, with a margin for random-resized crops.
    cache_side = max(image_size, round(image_size * 256 / 224))
    estimated = len(entries) * cache_side * cache_side * 3 * 4 // 3
    cache = estimated <= cache_bytes

    def decode(entry):
        path = entry[0]
        try:
            image = load_rgb(path, draft_size=cache_side)
        except ImageDecodeError as exc:
            return None, str(exc)
        except MemoryError:
            return None, "image is too large for the memory available"
        if not cache:
            return None, None
        return np.asarray(_shrink(image, cache_side)), None

    results: list[tuple[np.ndarray | None, str | None]] = []
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for done, result in enumerate(pool.map(decode, entries), 1):
            results.append(result)
            if progress is not None and (done % 64 == 0 or done == len(entries)):
                progress(done, len(entries))
            if cancelled is not None and cancelled():
                pool.shutdown(cancel_futures=True)
                raise InterruptedError("cancelled while reading the images")

    unreadable = [(entry[0], error) for entry, (_, error) in zip(entries, results) if error is not None]
    good = [Sample(entry[0], entry[1], pixels) for entry, (pixels, error) in zip(entries, results)
            if error is None]
    parts = [entry[2] for entry, (_, error) in zip(entries, results) if error is None]
    if scan.val is not None:
        train = [s for s, part in zip(good, parts) if part == "train"]
        val = [s for s, part in zip(good, parts) if part == "val"]
    else:
        train_idx, val_idx = stratified_split([s.label for s in good], val_split, seed)
        train, val = [good[i] for i in train_idx], [good[i] for i in val_idx]
    data = PreparedData(scan.classes, train, val, scan.skipped + unreadable, [], cache)
    if not train:
        raise DatasetError("None of the training images could be read. Check that the files are images.")
    if not val:
        raise DatasetError("There are too few images to keep some for validation. Add images, or a val/ folder.")
    data.warnings = dataset_warnings(data)
    return data


def _shrink(image: Image.Image, side: int) -> Image.Image:
    width, height = image.size
    scale = side / min(width, height)
    if scale >= 1:
        return image
    return image.resize((max(side, round(width * scale)), max(side, round(height * scale))), Image.BILINEAR)


def dataset_warnings(data: PreparedData) -> list[str]:
    counts = [a + b for a, b in zip(data.class_counts("train"), data.class_counts("val"))]
    notes = []
    few = [f"{name} ({n})" for name, n in zip(data.classes, counts) if n < FEW_IMAGES]
    if few:
        notes.append(f"Few images in {', '.join(few)}: {FEW_IMAGES} or more per class give a more reliable model.")
    nonzero = [n for n in counts if n > 0]
    if nonzero and max(nonzero) / min(nonzero) > IMBALANCE:
        big = data.classes[counts.index(max(nonzero))]
        small = data.classes[counts.index(min(nonzero))]
        notes.append(
            f"The classes are imbalanced: {big} has {max(nonzero)} images, {small} only {min(nonzero)}. "
            "Consider class-balanced loss or sampling."
        )
    missing_val = [name for name, n in zip(data.classes, data.class_counts("val")) if n == 0]
    if missing_val:
        notes.append(f"No validation images for {', '.join(missing_val)}: their accuracy cannot be measured.")
    if data.skipped:
        notes.append(f"Skipped {len(data.skipped)} file(s): unreadable, not pictures, or reached twice.")
    return notes


class SampleDataset(Dataset):
    """Samples -> (uint8 tensor [3, S, S], label); reads from the cache, else decodes the file."""

    def __init__(self, samples: Sequence[Sample], transform):
        self.samples = samples
        self.transform = transform

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int):
        sample = self.samples[index]
        if sample.pixels is not None:
            image = Image.fromarray(sample.pixels)
        else:
            image = load_rgb(sample.path)  # checked readable when the data was prepared
        return self.transform(image), sample.label


def class_weights(counts: Sequence[int]) -> torch.Tensor:
    """Inverse-frequency weights, mean 1 over the classes present."""
    counts_t = torch.tensor(counts, dtype=torch.float32)
    weights = torch.where(counts_t > 0, 1.0 / counts_t.clamp(min=1), torch.zeros_like(counts_t))
    present = (counts_t > 0).sum().clamp(min=1)
    return weights * present / weights.sum()
