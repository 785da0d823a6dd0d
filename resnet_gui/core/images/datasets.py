"""Class-folder datasets: scanning, checking, caching, splitting, loading.

A training folder has one subfolder per class ("healthy/", "infected/"), or
`train/` and `val/` folders that each have them. Every file is decoded once
when the dataset is prepared: unreadable files are listed and skipped, and
for datasets that fit the memory budget the decoded, downsized pictures are
kept, so later epochs do no JPEG decoding at all.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

from resnet_gui.core.errors import DatasetError
from resnet_gui.core.images.decoded_store import DecodedStore
from resnet_gui.core.images.decoding import DEFAULT_CACHE_BYTES, cache_side, decode_pictures, fits_in_memory
from resnet_gui.core.images.files import load_rgb
from resnet_gui.core.images.folders import FolderScan, stratified_split

FEW_IMAGES = 10  # a class with fewer images than this gets a warning
IMBALANCE = 5.0  # largest class / smallest class above this gets a warning


@dataclass
class Sample:
    path: str
    label: int
    pixels: np.ndarray | None = None  # cached uint8 [h, w, 3], shorter side = cache side


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
    remember: bool = True,
) -> PreparedData:
    """Decode every file once (threads), drop unreadable ones, cache when small enough, split. With `remember`,
    the cached pixels are also kept on disk for the next run on these pictures (decoded_store.py)."""
    entries = [(p, y, "train") for p, y in scan.train] + [(p, y, "val") for p, y in (scan.val or [])]
    side = cache_side(image_size)
    cache = fits_in_memory(len(entries), side, cache_bytes)
    store = DecodedStore([entry[0] for entry in entries], side) if cache and remember else None
    results = decode_pictures([entry[0] for entry in entries], side, keep=cache, store=store, progress=progress,
                              cancelled=cancelled)
    if store is not None:
        store.save({entry[0]: pixels for entry, (pixels, _) in zip(entries, results, strict=True)
                    if pixels is not None})
    unreadable = [(entry[0], error) for entry, (_, error) in zip(entries, results, strict=False) if error is not None]
    good = [Sample(entry[0], entry[1], pixels) for entry, (pixels, error) in zip(entries, results, strict=False)
            if error is None]
    parts = [entry[2] for entry, (_, error) in zip(entries, results, strict=False) if error is None]
    if scan.val is not None:
        train = [s for s, part in zip(good, parts, strict=False) if part == "train"]
        val = [s for s, part in zip(good, parts, strict=False) if part == "val"]
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


def dataset_warnings(data: PreparedData) -> list[str]:
    counts = [a + b for a, b in zip(data.class_counts("train"), data.class_counts("val"), strict=False)]
    notes = []
    few = [f"{name} ({n})" for name, n in zip(data.classes, counts, strict=False) if n < FEW_IMAGES]
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
    missing_val = [name for name, n in zip(data.classes, data.class_counts("val"), strict=False) if n == 0]
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
