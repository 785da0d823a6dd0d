"""Small pictures for grids, cached on disk by content so each file is decoded once, ever.

The cache is `PROJECT/cache/thumbnails/ab/abcdef….jpg` (named by the picture's SHA-256): a moved or
renamed file keeps its thumbnail, and deleting the folder only costs the time to make them again.
"""

from __future__ import annotations

import os
from pathlib import Path

from PIL import Image

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.images.files import load_rgb

THUMBNAIL_SIDE = 192


def thumbnail_path(cache_dir: str | os.PathLike, sha256: str, side: int = THUMBNAIL_SIDE) -> Path:
    return Path(cache_dir) / f"thumbnails-{side}" / sha256[:2] / f"{sha256}.jpg"


def load_thumbnail(source: str | os.PathLike, cache_dir: str | os.PathLike | None, sha256: str | None,
                   side: int = THUMBNAIL_SIDE) -> Image.Image:
    """The picture at most `side` px on its longer side, from the cache when it is there (RGB).
    Raises ImageDecodeError for a file that cannot be read."""
    cached = thumbnail_path(cache_dir, sha256, side) if cache_dir and sha256 else None
    if cached is not None and cached.is_file():
        try:
            with Image.open(cached, formats=("JPEG",)) as image:
                return image.convert("RGB")
        except OSError:
            pass  # a damaged cache file is made again below
    image = load_rgb(source, draft_size=side)
    image.thumbnail((side, side), Image.BILINEAR)
    if cached is not None:
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            with atomic_write(cached) as handle:
                image.save(handle, "JPEG", quality=85)
        except Exception:  # noqa: BLE001 - a read-only project still shows its pictures, only uncached
            pass
    return image

