"""The pictures a check looks at, and what one pass over their files learns: content hash, perceptual hash,
size, whether they are grey. No torch.

The pass streams (one file at a time per thread, nothing kept but the figures) and decodes JPEGs in draft
mode at 1/8 scale: the perceptual hash looks at 32 x 32 pixels.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_gui.core.audit.findings import AuditPicture
from resnet_gui.core.errors import DatasetError
from resnet_gui.core.images.files import Discovery, ImageDecodeError, discover, load_rgb, readable_formats

HASH_DRAFT = 64  # pixels of the shorter side a JPEG is drafted down to before hashing
GREY_SPREAD = 3  # a picture whose channels differ by at most this (of 255) everywhere is grey


@dataclass
class PictureFacts:
    """What the pass learnt of one file; `error` when it could not be read as a picture."""

    picture: AuditPicture
    sha256: str | None = None
    phash: int | None = None  # 64 bits
    width: int = 0
    height: int = 0
    grey: bool = False
    error: str | None = None
    pixels: np.ndarray | None = None  # the picture at 8 x 8, RGB, 0..1: a quick model's features
    outline: np.ndarray | None = None  # the picture at 16 x 16, grey, centred, unit length: what copies share


PIXEL_SIDE = 8
OUTLINE_SIDE = 16


def class_folder_pictures(splits: dict[str, str | os.PathLike]) -> tuple[list[AuditPicture], Discovery]:
    """Every picture under each split's class folder (split -> folder with one subfolder per class).

    Unlike training's scan, a file reached twice (a link in another class or split) is listed each time:
    that is one of the things the check is for."""
    pictures: list[AuditPicture] = []
    passed = Discovery()
    for split, folder in splits.items():
        folder = Path(folder)
        if not folder.is_dir():
            raise DatasetError(f"{folder} is not a folder. Give a folder with one subfolder per class.")
        classes = sorted(e.name for e in os.scandir(folder)
                         if e.is_dir() and not e.name.startswith(".") and not e.is_symlink())
        if not classes:
            raise DatasetError(f"{folder} has no class subfolders. Put the pictures of each class in a subfolder "
                               "named after the class, like healthy/ and infected/.")
        for name in classes:
            found = discover([folder / name])
            passed.skipped.extend(found.skipped)
            pictures += [AuditPicture(str(path), split, name) for path in found.files]
    return pictures, passed


def splits_of(data_dir: str | os.PathLike, val_dir=None, test_dir=None) -> dict[str, Path]:
    """The split folders a data folder names: DATA_DIR is training unless it holds train/ (and val/, test/)."""
    root = Path(data_dir)
    splits: dict[str, Path] = {}
    if val_dir is None and test_dir is None and (root / "train").is_dir() and \
            ((root / "val").is_dir() or (root / "test").is_dir()):
        splits["train"] = root / "train"
        for name in ("val", "test"):
            if (root / name).is_dir():
                splits[name] = root / name
        return splits
    splits["train"] = root
    if val_dir is not None:
        splits["val"] = Path(val_dir)
    if test_dir is not None:
        splits["test"] = Path(test_dir)
    return splits


def perceptual_hash(image: Image.Image) -> int:
    """imagehash's DCT hash (64 bits) as an int: near copies differ in a few bits."""
    import imagehash

    return int(str(imagehash.phash(image)), 16)


def learn_facts(picture: AuditPicture) -> PictureFacts:
    facts = PictureFacts(picture)
    try:
        digest = hashlib.sha256()
        with open(picture.path, "rb") as stream:
            for block in iter(lambda: stream.read(1 << 20), b""):
                digest.update(block)
        facts.sha256 = digest.hexdigest()
        image = load_rgb(picture.path, draft_size=HASH_DRAFT)  # refuses what is not a picture, safely
        with Image.open(picture.path, formats=readable_formats()) as header:  # the size before the draft
            facts.width, facts.height = header.size
    except (ImageDecodeError, OSError, Image.DecompressionBombError, ValueError) as exc:
        facts.error = str(exc) or type(exc).__name__
        return facts
    small = image.copy()
    small.thumbnail((128, 128))
    pixels = np.asarray(small, dtype=np.int16)
    facts.grey = bool((pixels.max(axis=2) - pixels.min(axis=2)).max() <= GREY_SPREAD)
    facts.phash = perceptual_hash(image)
    facts.pixels = np.asarray(small.resize((PIXEL_SIDE, PIXEL_SIDE), Image.Resampling.BOX),
                              dtype=np.float32).reshape(-1) / 255
    grey = np.asarray(small.convert("L").resize((OUTLINE_SIDE, OUTLINE_SIDE), Image.Resampling.BOX),
                      dtype=np.float32).reshape(-1)
    grey -= grey.mean()
    norm = float(np.linalg.norm(grey))
    facts.outline = grey / norm if norm > 0 else grey
    return facts


def learn_all(pictures: Iterable[AuditPicture], *, threads: int | None = None,
              progress: Callable[[int, int, float | None], None] | None = None,
              cancelled: Callable[[], bool] | None = None) -> list[PictureFacts]:
    """The facts of every picture, in order; `progress(done, total, seconds_left)` after each picture.

    Pillow and hashlib release the GIL while they work, so threads share the cores without a process."""
    pictures = list(pictures)
    threads = threads or max(1, min(8, os.cpu_count() or 1))
    started, facts = time.perf_counter(), []
    with ThreadPoolExecutor(threads, thread_name_prefix="resnet-gui-audit") as pool:
        for done, fact in enumerate(pool.map(learn_facts, pictures), 1):
            facts.append(fact)
            if progress is not None:
                spent = time.perf_counter() - started
                # an estimate once a second's work and a fiftieth of the pictures are in: the first results
                # carry the pool's start, and said after 8 pictures 10,000 took "10 minutes" instead of 15 s
                settled = spent >= 1.0 and done >= max(8, len(pictures) // 50)
                progress(done, len(pictures), spent / done * (len(pictures) - done) if settled else None)
            if cancelled is not None and cancelled():
                pool.shutdown(cancel_futures=True)
                break
    return facts
