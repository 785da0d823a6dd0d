"""Decoding a training set's pictures once, at the side training reads them from: on threads, through the
decoded store. No torch: a second process runs it while the first imports torch (training/read_ahead.py)."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from PIL import Image

from resnet_gui.core.images.decoded_store import DecodedStore
from resnet_gui.core.images.files import ImageDecodeError, load_rgb

DEFAULT_CACHE_BYTES = 2 * 1024**3

Decoded = tuple[np.ndarray | None, str | None]  # (the kept pixels, or why the file could not be read)


def cache_side(image_size: int) -> int:
    """The shorter side pictures are kept at for crops of `image_size`: a margin for random-resized crops."""
    return max(image_size, round(image_size * 256 / 224))


def fits_in_memory(count: int, side: int, cache_bytes: int = DEFAULT_CACHE_BYTES) -> bool:
    """Whether `count` pictures kept at `side` (a third wider than tall, on average) fit in `cache_bytes`."""
    return count * side * side * 3 * 4 // 3 <= cache_bytes


def decode_pictures(
    paths: Sequence[str],
    side: int,
    *,
    keep: bool,
    store: DecodedStore | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[Decoded]:
    """Each picture's pixels at `side` (with `keep`; else only whether it reads), in order: from `store` where
    it has them, else decoded on threads."""

    def decode(path: str) -> Decoded:
        if store is not None and (stored := store.get(path)) is not None:
            return stored, None
        try:
            image = load_rgb(path, draft_size=side)
        except ImageDecodeError as exc:
            return None, str(exc)
        except MemoryError:
            return None, "image is too large for the memory available"
        if not keep:
            return None, None
        return np.asarray(shrink(image, side)), None

    results: list[Decoded] = []
    workers = max(1, min(8, os.cpu_count() or 1))
    with ThreadPoolExecutor(workers) as pool:
        for done, result in enumerate(pool.map(decode, paths), 1):
            results.append(result)
            if progress is not None and (done % 64 == 0 or done == len(paths)):
                progress(done, len(paths))
            if cancelled is not None and cancelled():
                pool.shutdown(cancel_futures=True)
                raise InterruptedError("cancelled while reading the images")
    return results


def shrink(image: Image.Image, side: int) -> Image.Image:
    """`image` with its shorter side at `side`; a smaller one as it is."""
    width, height = image.size
    scale = side / min(width, height)
    if scale >= 1:
        return image
    return image.resize((max(side, round(width * scale)), max(side, round(height * scale))), Image.BILINEAR)
