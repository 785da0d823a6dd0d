"""Keeping tensor memory mapped between batches, and handing it back when a job ends.

PyTorch's CPU tensors come from malloc. By default glibc serves large blocks
with a fresh mmap() and unmaps them on free, and trims the heap as soon as
128 KiB at its top are free, so every forward pass page-faults its
activations in again: about 52,000 faults per ResNet-18 batch of 32 at 224 px
here, a quarter of the forward's time. PyTorch's CPU performance guide
answers this with jemalloc or tcmalloc preloaded; glibc can be told the same
at run time: serve blocks up to its largest mmap threshold from the heap,
grow the heap in large steps, and keep freed memory while work goes on.
Measured on 2 cores (ResNet-18, bfloat16): inference 156 -> 204 images/s,
training at 224 px 55 -> 62 images/s, peak memory +5%.

The memory kept is handed back with `release_freed_memory()` when a
classification or training run ends, so an idle window does not hold its peak.
Nothing here imports torch; elsewhere than glibc (macOS, Windows, musl) both
functions do nothing.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading

# mallopt() parameters, from glibc's malloc.h
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20  # glibc's maximum (HEAP_MAX_SIZE / 2 on 64-bit)
TOP_PAD = 256 << 20  # untouched pages cost nothing; they are faulted in only when used
TRIM_THRESHOLD = 1 << 30  # a training step frees over 1 GiB of saved activations at once

# The user's own allocator settings win over ours.
USER_SETTINGS = ("GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_THRESHOLD_",
                 "MALLOC_MMAP_MAX_", "LD_PRELOAD")

_lock = threading.Lock()
_applied = False
_libc = None  # glibc, once the settings were applied to it


def _glibc():
    """The C library when it is glibc, else None."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:
        libc = ctypes.CDLL(None)
        libc.mallopt, libc.malloc_trim  # noqa: B018  (both must exist)
    except (OSError, AttributeError):
        return None
    return libc


def keep_freed_memory() -> bool:
    """Tell glibc to keep tensor-sized memory mapped between batches. True when it was applied.

    Call it once, early, in a process that runs the app's work: it changes
    how this whole process allocates.
    """
    global _applied, _libc
    with _lock:
        if _applied:
            return True
        if any(os.environ.get(name) for name in USER_SETTINGS):
            return False
        libc = _glibc()
        if libc is None:
            return False
        settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD), (M_TOP_PAD, TOP_PAD), (M_TRIM_THRESHOLD, TRIM_THRESHOLD))
        _applied = all(libc.mallopt(parameter, value) == 1 for parameter, value in settings)
        _libc = libc if _applied else None
        return _applied


def release_freed_memory() -> None:
    """Give the memory kept between batches back to the system, once a run is over."""
    if _applied and _libc is not None:
        _libc.malloc_trim(0)
