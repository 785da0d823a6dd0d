"""Importing torch off the GUI thread without freezing the window, one thread at a time."""

from __future__ import annotations

import logging
import os
import sys
import threading

log = logging.getLogger(__name__)

# Importing torch and torchvision from two threads at once trips over torchvision's
# circular imports ("partially initialized module"): every worker imports through here.
_TORCH_IMPORT = threading.Lock()


def import_core() -> None:
    """Import torch, torchvision and the torch-using core modules, one thread at a time,
    in a way that keeps the GUI thread responsive (see `preload_torch_libraries`)."""
    with _TORCH_IMPORT:
        if "torch" in sys.modules and "resnet_gui.core.training.trainer" in sys.modules:
            return
        preload_torch_libraries()
        from resnet_gui.core.runtime.imports import heavy_imports

        with heavy_imports():  # and afterwards, classification's collections stay short too
            import resnet_gui.core.images.datasets  # noqa: F401
            import resnet_gui.core.inference.predictor  # noqa: F401
            import resnet_gui.core.models.resnets  # noqa: F401
            import resnet_gui.core.training.trainer  # noqa: F401


def preload_torch_libraries() -> None:
    """dlopen torch's large shared libraries through libc, with the GIL released.

    CPython holds the GIL while it loads an extension module and its libraries run
    their static initialisers (a quarter of a second for libtorch_cpu), which froze the
    window while a worker imported torch; ctypes' own loader holds it too. Calling
    libc's dlopen as a foreign function releases the GIL; `import torch` then finds the
    libraries already loaded. Any failure just leaves the work to `import torch`.
    """
    import ctypes
    import importlib.util
    from pathlib import Path

    try:
        spec = importlib.util.find_spec("torch")
        libc = ctypes.CDLL(None)
        dlopen = libc.dlopen
    except (OSError, AttributeError, ValueError):
        return  # not a POSIX libc (Windows): nothing to gain here
    if spec is None or not spec.submodule_search_locations:
        return
    dlopen.restype = ctypes.c_void_p
    dlopen.argtypes = [ctypes.c_char_p, ctypes.c_int]
    lib = Path(next(iter(spec.submodule_search_locations))) / "lib"
    # Dependencies first; the CUDA ones are absent from CPU builds and skipped.
    for name in ("libtorch_global_deps.so", "libc10.so", "libtorch_cpu.so", "libc10_cuda.so", "libtorch_cuda.so",
                 "libtorch.so", "libtorch_python.so"):
        path = lib / name
        if path.exists() and not dlopen(str(path).encode(), os.RTLD_NOW | os.RTLD_GLOBAL):
            log.debug("could not preload %s; import torch will load it", path)
