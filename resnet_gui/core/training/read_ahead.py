"""The training pictures decoded by a second process while the command line imports torch.

A run from the command line spends its first seconds importing torch and torchvision (about 2 s on the
2-core test machine, on one core: an import holds the GIL) and the next ones decoding its pictures (0.85 s for
3,500 small PNGs there, bound by Pillow's Python-level parsing, so a second thread does not help). A second
core can decode while the first imports: before the import a forked child scans the folder as the run will,
decodes the pictures at the side the run keeps them at and, once the run has its imports, stops and puts what it
has into the decoded store (images/decoded_store.py), where the run finds them as a retrain does. It is only a
head start: whatever the child did not decode, or decoded at another side, the run decodes itself, and the child
says nothing (the run reports every problem with the folder in its own words).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import warnings

from resnet_gui.core.images.decoded_store import MAX_STORE_BYTES, DecodedStore
from resnet_gui.core.images.decoding import cache_side, decode_pictures, fits_in_memory
from resnet_gui.core.images.folders import scan_class_folder
from resnet_gui.core.training.settings import TrainSettings, input_for

CHUNK = 32  # pictures decoded between looks at whether the run is ready: a few milliseconds of small PNGs
MOST_SECONDS = 60  # the run waits at most this long for the child to stop (it stops within a chunk)


def start_reading_ahead(settings: TrainSettings) -> ReadAhead | None:
    """A child decoding `settings`' pictures, or None where it cannot help: on one core, where torch is in
    this process already (the import it overlaps is over, and forking torch's threads is unsafe), outside
    Linux (macOS's system libraries do not survive a fork; Windows has none), and for runs whose input
    size a checkpoint decides (a resumed run, or one that starts from a checkpoint file)."""
    if (not settings.data_dir or settings.resume or settings.weights not in ("none", "imagenet")
            or "torch" in sys.modules or not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2):
        return None
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    child = context.Process(target=_read, args=(settings, ready), name="resnet-gui read-ahead", daemon=True)
    child.start()
    return ReadAhead(child, ready)


class ReadAhead:
    """The child started by start_reading_ahead, and the flag that tells it the run is ready."""

    def __init__(self, child, ready):
        self.child = child
        self.ready = ready

    def finish(self) -> None:
        """The run is ready: the child keeps what it decoded and ends."""
        self.ready.set()
        self.child.join(MOST_SECONDS)
        if self.child.is_alive():  # a picture that hangs its decoder: the run decodes (and reports) it
            self.child.kill()
            self.child.join()


def side_for(settings: TrainSettings, train_paths: list[str]) -> int:
    """The side the run keeps `settings`' pictures at: its input, chosen as training/setup.py chooses it."""
    return cache_side(input_for(settings, train_paths)[0])


def _read(settings: TrainSettings, ready) -> None:
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl+C ends it without a word: the run says what happened
    warnings.simplefilter("ignore")  # the run warns about the same pictures itself
    try:
        scan = scan_class_folder(settings.data_dir, settings.val_dir)
        train = [path for path, _ in scan.train]
        paths = train + [path for path, _ in (scan.val or [])]
        side = side_for(settings, train)
        if not fits_in_memory(len(paths), side, MAX_STORE_BYTES):  # a store the run would not keep either
            return
        store = DecodedStore(paths, side)
        decoded = dict(store.found)  # what it held already stays, wherever the child stops
        for start in range(0, len(paths), CHUNK):
            if ready.is_set():
                break
            chunk = paths[start:start + CHUNK]
            for path, (pixels, _) in zip(chunk, decode_pictures(chunk, side, keep=True, store=store), strict=True):
                if pixels is not None:
                    decoded[path] = pixels
        store.save(decoded)
    except Exception:  # noqa: BLE001  (a head start only: the run meets the same problem and says it)
        pass
