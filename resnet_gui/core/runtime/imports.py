"""Importing torch and the modules over it without paying the cyclic garbage collector for it, twice."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def heavy_imports() -> Iterator[None]:
    """Around the imports of torch, torchvision and the core modules over them: no cyclic collection while
    they run (a pass over the ~10^6 objects they make holds the GIL for 100+ ms and frees nothing), and those
    objects frozen afterwards (`gc.freeze`), out of every later collection's sight: here one full pass over
    them took 0.23 s, each time one ran during a run (benchmarks/RESULTS.md, "Small pictures")."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if collecting:
            gc.enable()
