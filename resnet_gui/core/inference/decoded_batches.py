"""Files decoded into batches for the model, without torch: what a picture becomes is the caller's `transform`
(a uint8 tensor for PyTorch, an array for a cached OpenVINO model started without torch), how a batch is
stacked its `collate`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PIL import Image

from resnet_gui.core.images.files import ImageDecodeError, load_rgb


class PictureDecoder:
    """Paths -> (index, the transformed picture or None, error or None, thumbnail or None). Never raises for a
    bad file. `draft_size`: the shorter side a JPEG may be decoded down to (None: full size)."""

    def __init__(self, paths: Sequence[str], transform: Callable[[Image.Image], Any], draft_size: int | None,
                 thumbnail_size: int = 0):
        self.paths = paths
        self.transform = transform
        self.draft_size = draft_size
        self.thumbnail_size = thumbnail_size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        try:
            image = load_rgb(self.paths[index], draft_size=self.draft_size)
            thumbnail = None
            if self.thumbnail_size:
                small = image.copy()
                small.thumbnail((self.thumbnail_size, self.thumbnail_size))
                thumbnail = np.asarray(small)
            return index, self.transform(image), None, thumbnail
        except ImageDecodeError as exc:
            return index, None, str(exc), None
        except Exception as exc:  # noqa: BLE001 - a decoder bug must cost one row, not the batch
            return index, None, f"cannot decode image: {type(exc).__name__}: {exc}", None


def decode_in_turn(decoder: PictureDecoder, batch_size: int, threads: int, collate: Callable[[list], Any],
                   ahead: bool = False) -> Iterator[Any]:
    """Each batch decoded by `threads` threads while the model waits: for a model on the same cores. With
    `ahead`, the next batch is decoded while the model runs (OpenVINO: see `Predictor.decode_overlap`).

    On a CPU the network already computes on every core, so decoders beside it
    (DataLoader workers) can only take cores away mid-operation: torch splits
    each operation evenly between its threads, and one thread pre-empted by a
    decoder holds the whole operation up (ResNet-18 batches took 230 instead
    of 165 ms while workers decoded). Decoding with every core, then computing
    with every core, wastes nothing: 160-167 instead of 139-144 images/s on 2
    cores (benchmarks/pipeline_vs_model.py). Pillow releases the GIL while it
    decodes and resizes, so threads decode in parallel; no process is started.
    """
    batches = [range(start, min(start + batch_size, len(decoder))) for start in range(0, len(decoder), batch_size)]
    if threads <= 1 and not ahead:
        for batch in batches:
            yield collate([decoder[i] for i in batch])
        return
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix="resnet-gui-decode") as pool:
        def decoding(batch: range) -> list:
            return [pool.submit(decoder.__getitem__, i) for i in batch]

        queued = decoding(batches[0]) if batches else []
        for index in range(len(batches)):
            items = [future.result() for future in queued]
            more = index + 1 < len(batches)
            if ahead and more:
                queued = decoding(batches[index + 1])  # decoded while the model runs this batch
            yield collate(items)
            if not ahead and more:
                queued = decoding(batches[index + 1])


@dataclass
class DecodedBatch:
    indices: list[int]  # positions of the decoded images, in order
    images: Any  # the stacked pictures: uint8 [N, 3, S, S] (a tensor for PyTorch, an array without it); None
    failures: list[tuple[int, str]]
    thumbnails: dict[int, np.ndarray] = field(default_factory=dict)


class Collate:
    """A collate function for `decode_in_turn` and DataLoader: the decoded pictures stacked by `stack`, failures
    by index. A class, not a closure: a DataLoader's worker processes receive it pickled where they are spawned."""

    def __init__(self, stack: Callable[[list], Any]):
        self.stack = stack

    def __call__(self, items) -> DecodedBatch:
        good = [(i, t) for i, t, _, _ in items if t is not None]
        failures = [(i, e) for i, t, e, _ in items if t is None]
        thumbnails = {i: thumb for i, _, _, thumb in items if thumb is not None}
        return DecodedBatch([i for i, _ in good], self.stack([t for _, t in good]) if good else None, failures,
                            thumbnails)
