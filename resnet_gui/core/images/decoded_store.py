"""Training pictures decoded once and kept between runs: a retrain on the same pictures reads them from one file
instead of decoding each again, and decodes only those that are new or changed.

A store holds what `prepare_data` keeps in memory (uint8 pixels, the shorter side at the cache side) for the
pictures under one folder at one side, each under its path, size and modification time: a changed file is a
miss and is decoded again; a removed one is dropped when the store is written again. Stores live in the app's
cache folder (app_cache.py), are written whole or not at all, and are removed least recently used first once
they take more than MAX_TOTAL_BYTES. It is only a cache: a store that cannot be read is a miss, never an error.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from resnet_gui.core.app_cache import app_cache_dir
from resnet_gui.core.atomic_write import atomic_path
from resnet_gui.core.errors import UserError

STORE_FORMAT = 1
MAX_STORE_BYTES = 1024**3  # a bigger set is decoded each run: its store would take seconds to write and read
MAX_TOTAL_BYTES = 2 * 1024**3


def _file_key(path: str) -> str:
    try:
        status = os.stat(path)
    except OSError:
        return ""
    return f"{status.st_size}:{status.st_mtime_ns}"


class DecodedStore:
    """The stored pixels of `paths` at `side`, as far as the store has them unchanged."""

    def __init__(self, paths: Sequence[str], side: int, folder: Path | None = None):
        self.side = side
        self.keys = {path: _file_key(path) for path in paths}
        root = os.path.commonpath([os.path.abspath(p) for p in paths]) if paths else ""
        name = hashlib.sha256(f"{STORE_FORMAT}\0{root}\0{side}".encode()).hexdigest()[:32]
        self.path = (folder or app_cache_dir("decoded")) / f"{name}.npz"
        self.found = self._read()

    def _read(self) -> dict[str, np.ndarray]:
        found = {}
        try:
            with np.load(self.path, allow_pickle=False) as stored:
                if int(stored["format"]) != STORE_FORMAT or int(stored["side"]) != self.side:
                    return {}
                paths, keys, shapes, offsets = stored["paths"], stored["keys"], stored["shapes"], stored["offsets"]
                pixels = stored["pixels"]
            pixels.setflags(write=False)  # as a freshly decoded picture's are: nothing may change what is kept
            for path, key, shape, offset in zip(paths.tolist(), keys.tolist(), shapes.tolist(), offsets.tolist(),
                                                strict=True):
                if key and self.keys.get(path) == key:
                    found[path] = pixels[offset:offset + math.prod(shape)].reshape(shape)
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return {}
        with contextlib.suppress(OSError):
            os.utime(self.path)  # used: the last to be removed
        return found

    def get(self, path: str) -> np.ndarray | None:
        return self.found.get(path)

    def save(self, pixels: Mapping[str, np.ndarray]) -> bool:
        """Keep `pixels` (every picture this run read) when they differ from what the store held; whether
        the store was written. A store that cannot be written is left as it was."""
        if set(pixels) == set(self.found) or not pixels:
            return False
        if sum(a.nbytes for a in pixels.values()) > MAX_STORE_BYTES:
            return False
        paths = list(pixels)
        arrays = [np.ascontiguousarray(pixels[p], dtype=np.uint8) for p in paths]
        sizes = [a.size for a in arrays]
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        try:
            with atomic_path(self.path, suffix=".partial") as partial, open(partial, "wb") as stream:
                np.savez(stream, format=STORE_FORMAT, side=self.side, paths=np.array(paths, dtype=str),
                         keys=np.array([self.keys.get(p, "") for p in paths], dtype=str),
                         shapes=np.array([a.shape for a in arrays], dtype=np.int64).reshape(-1, 3),
                         offsets=offsets, pixels=np.concatenate([a.ravel() for a in arrays]))
        except (OSError, UserError):  # a full or read-only disk: the next run decodes again
            return False
        prune(self.path.parent, keep=self.path)
        return True


def prune(folder: Path, keep: Path | None = None, most: int = MAX_TOTAL_BYTES) -> None:
    """Remove the least recently used stores until those left take at most `most` bytes."""
    stores = []
    for path in folder.glob("*.npz"):
        with contextlib.suppress(OSError):
            status = path.stat()
            stores.append((status.st_mtime, status.st_size, path))
    total = sum(size for _, size, _ in stores)
    for _, size, path in sorted(stores):
        if total <= most:
            break
        if path != keep:
            with contextlib.suppress(OSError):
                path.unlink()
                total -= size
