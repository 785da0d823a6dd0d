"""Batched, streaming classification on whatever device is present.

Files are decoded and resized into uint8 tensors (on a CPU by threads that
take turns with the model, beside a GPU by DataLoader worker processes that
run ahead of it); the batch is normalised on the device and run under
`torch.inference_mode` (channels_last, and autocast on a GPU or a CPU with
bfloat16 in hardware). Results come back one batch at a time, in input
order, so a folder of 100,000 images never sits in memory. A file that
fails to decode becomes a `Prediction` with an error.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from resnet_gui.core.images.transforms import Preprocessing, decode_transform, normalize_batch
from resnet_gui.core.inference.decoded_batches import Collate, DecodedBatch, PictureDecoder, decode_in_turn
from resnet_gui.core.inference.openvino_runtime import choose_forward
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction, read_answers
from resnet_gui.core.inference.tta import CENTRE_VIEW, VIEWS, check_mode, decoded_size, views
from resnet_gui.core.models.resnets import ModelBundle
from resnet_gui.core.runtime.allocator import release_freed_memory
from resnet_gui.core.runtime.devices import (
    DevicePolicy,
    default_decode_threads,
    default_num_workers,
    policy_for,
    resolve_device,
)
from resnet_gui.core.trust.familiarity import capture_features
from resnet_gui.core.trust.familiarity import scores as familiarity_scores


class DecodingDataset(PictureDecoder, Dataset):
    """Paths -> (index, uint8 tensor [3, S, S] or None, error or None, thumbnail or None), for PyTorch: decoded
    in turn on a CPU, by DataLoader workers beside a GPU. Never raises for a bad file."""

    def __init__(self, paths: Sequence[str], prep: Preprocessing, draft: bool = True, thumbnail_size: int = 0,
                 size: int | None = None):
        # JPEG draft decoding keeps the shorter side >= the resize target.
        super().__init__(paths, decode_transform(prep, size), max(prep.resize, thumbnail_size) if draft else None,
                         thumbnail_size)


@dataclass(frozen=True)
class LookedAt:
    """Per file: the pooled features [N, D], the probabilities [N, C] (NaN rows: not read), unfamiliar [N]."""

    features: np.ndarray
    probabilities: np.ndarray
    unfamiliar: np.ndarray


@dataclass(frozen=True)
class BatchOutputs:
    probabilities: torch.Tensor  # [N, C], averaged over the test-time views
    centre: torch.Tensor  # [N, C], the centre crop's alone (the same tensor without test-time augmentation)
    scores: torch.Tensor | None  # [N] familiarity scores (higher: less familiar), when the model has a fit
    features: torch.Tensor | None = None  # [N, D] the centre view's pooled features, when asked for


collate_decoded = Collate(torch.stack)


class Predictor:
    """Classifies streams of image files with one model on one device."""

    def __init__(self, bundle: ModelBundle, options: PredictOptions | None = None, **changes: Any):
        """`options` (PredictOptions: device, batch size, decoders, top-k, precision, threshold, test-time
        augmentation, familiarity), with `changes` to any of its fields (`Predictor(bundle, device="cpu")`)."""
        o = replace(options or PredictOptions(), **changes)
        self.options = o
        device, amp, batch_size, num_workers, decode_ahead = (o.device, o.amp, o.batch_size, o.num_workers,
                                                              o.decode_ahead)
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.policy: DevicePolicy = policy_for(self.device, amp=amp)
        self.classes = list(bundle.classes)
        self.prep = bundle.preprocessing
        self.batch_size = max(1, int(batch_size))
        self.decode_ahead = self.device.type != "cpu" if decode_ahead is None else decode_ahead
        if num_workers is None:
            num_workers = default_num_workers(self.device) if self.decode_ahead else default_decode_threads()
        self.num_workers = max(0, num_workers)
        self.top_k = o.top_k
        self.thumbnail_size = o.thumbnail_size
        self.temperature = float(bundle.temperature)
        self.unsure_below = o.unsure_below  # None: every answer is reported as sure
        self.tta = check_mode(o.tta)
        self.familiarity = bundle.familiarity if o.check_familiarity else None
        self.keep_features = o.keep_features
        self._picture_transform = None
        model = bundle.model.eval().to(self.device)
        if self.policy.channels_last:
            model = model.to(memory_format=torch.channels_last)
        self.model = model
        self.openvino, self.runtime = (choose_forward(bundle, self.device, o.runtime, amp) if o.runtime != "torch"
                                       else (None, "PyTorch"))
        # Whether to decode the next batch while the model runs the current one. Measured with OpenVINO on 2
        # cores, it gained nothing (ResNet-18 94.1 against 94.4 images/s, ResNet-50 45.8 against 46.6:
        # benchmarks/pipeline_vs_model.py --runtime openvino, RESULTS.md): decoding in turn stays.
        self.decode_overlap = False
        if self.policy.is_cuda:
            torch.backends.cudnn.benchmark = True  # every batch has the same shape

    @property
    def runtime_name(self) -> str:
        """The runtime and its precision in two words ("OpenVINO bfloat16", "PyTorch"); `runtime` says why."""
        return self.runtime.split(" on the CPU")[0] if self.openvino is not None else "PyTorch"

    @property
    def top_k(self) -> int:
        return self._top_k

    @top_k.setter
    def top_k(self, k: int) -> None:
        self._top_k = max(1, min(int(k), len(self.classes)))

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, S, S] (any device) -> float32 softmax probabilities on the CPU."""
        return self.outputs(images).probabilities

    def outputs(self, images: torch.Tensor, *, with_features: bool = False) -> "BatchOutputs":
        """uint8 [N, 3, R, R] decoded pictures (any device) -> probabilities (averaged over the test-time
        views), the centre view's alone, the familiarity scores and (`with_features`) the centre view's
        pooled features, on the CPU."""
        with torch.inference_mode():
            batch = images.to(self.device, non_blocking=self.policy.pin_memory)
            probabilities, centre, scores, features = None, None, None, None
            for index, view in enumerate(views(batch, self.tta, self.prep.image_size)):
                x = self._model_input(view)
                is_centre = index == (CENTRE_VIEW[self.tta] if self.tta else 0)
                pooled_needed = is_centre and (self.familiarity is not None or with_features)
                if self.openvino is not None:
                    logits, pooled_features = self.openvino(x)
                    pooled = [pooled_features]
                else:
                    capture = capture_features(self.model) if pooled_needed else nullcontext()
                    with self.policy.autocast(), capture as pooled:
                        logits = self.model(x).float()
                probs = torch.softmax(logits / self.temperature, dim=1)
                probabilities = probs if probabilities is None else probabilities + probs
                if is_centre:
                    centre = probs.cpu()
                    if pooled_needed:
                        features = pooled[0].cpu()
                    if self.familiarity is not None:
                        scores = familiarity_scores(self.familiarity, logits.cpu(), features)
            count = VIEWS[self.tta] if self.tta else 1
            return BatchOutputs((probabilities / count).cpu(), centre, scores, features if with_features else None)

    def _model_input(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 pictures on the device -> the normalised batch, in the memory layout this device runs fastest."""
        x = normalize_batch(images, self.prep)
        channels_last = self.policy.channels_last and self.openvino is None  # OpenVINO lays it out itself
        return x.contiguous(memory_format=torch.channels_last) if channels_last else x

    def batches(self, paths: Sequence[str]) -> Iterable[DecodedBatch]:
        """The decoded batches of `paths`, in order."""
        dataset = DecodingDataset(paths, self.prep, thumbnail_size=self.thumbnail_size,
                                  size=decoded_size(self.tta, self.prep))
        if not self.decode_ahead:
            return decode_in_turn(dataset, self.batch_size, self.num_workers, collate_decoded,
                                  ahead=self.decode_overlap)
        workers = min(self.num_workers, max(0, (len(paths) + self.batch_size - 1) // self.batch_size))
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            shuffle=False,
            num_workers=workers,
            collate_fn=collate_decoded,
            pin_memory=self.policy.pin_memory,
            prefetch_factor=4 if workers else None,
        )

    def predict(
        self,
        paths: Iterable[str | os.PathLike],
        cancelled: Callable[[], bool] | None = None,
    ) -> Iterator[list[Prediction]]:
        """Yield one list of predictions per batch, in the order of `paths`.

        `cancelled` is checked between batches; when it returns True the
        stream ends early and the decoding workers are shut down. When the
        stream ends, the memory kept between batches goes back to the system.
        """
        names = [os.fspath(p) for p in paths]
        if not names:
            return
        try:
            for batch in self.batches(names):
                if cancelled is not None and cancelled():
                    return
                yield self._predict_batch(names, batch)
        finally:
            release_freed_memory()

    def _predict_batch(self, names: list[str], batch: DecodedBatch) -> list[Prediction]:
        if batch.images is None:
            return read_answers(names, [], batch.failures, None, self.classes, self.top_k, self.unsure_below)
        # Only ask for features when kept: `outputs` keeps its one-argument form for callers that wrap it.
        out = self.outputs(batch.images, with_features=True) if self.keep_features else self.outputs(batch.images)
        unfamiliar = (out.scores > self.familiarity["threshold"]).numpy() if out.scores is not None else None
        return read_answers(names, batch.indices, batch.failures, out.probabilities.numpy(), self.classes,
                            self.top_k, self.unsure_below, unfamiliar=unfamiliar,
                            centre=out.centre.numpy() if self.tta else None, thumbnails=batch.thumbnails,
                            features=out.features.numpy() if self.keep_features else None)

    def predict_pictures(self, pictures: Sequence[Image.Image], names: Sequence[str]) -> list[Prediction]:
        """Pictures already in memory (a camera's frames), one batch, preprocessed as files are."""
        if self._picture_transform is None:  # made once: a camera asks for it at every frame
            self._picture_transform = decode_transform(self.prep, decoded_size(self.tta, self.prep))
        transform = self._picture_transform
        batch = collate_decoded([(i, transform(picture.convert("RGB")), None, None)
                                 for i, picture in enumerate(pictures)])
        return self._predict_batch(list(names), batch)

    def features(self, paths: Sequence[str | os.PathLike], cancelled: Callable[[], bool] | None = None,
                 progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """The model's pooled features (the input of its last layer, the centre view) of each file: float32
        [N, D], a row of NaN for a file that could not be read (or was not reached before `cancelled`)."""
        return self.look(paths, cancelled, progress).features

    def look(self, paths: Sequence[str | os.PathLike], cancelled: Callable[[], bool] | None = None,
             progress: Callable[[int, int], None] | None = None) -> "LookedAt":
        """What the model sees in each file, from the forward pass that classifies it (`outputs`): the centre
        view's pooled features and (calibrated) probabilities, and whether the familiarity check finds it unlike
        the training pictures. Rows of NaN (and familiar) for a file that could not be read or was not reached."""
        names = [os.fspath(p) for p in paths]
        features = np.full((len(names), self.model.fc.in_features), np.nan, dtype=np.float32)
        probabilities = np.full((len(names), len(self.classes)), np.nan, dtype=np.float32)
        unfamiliar = np.zeros(len(names), dtype=bool)
        done = 0
        try:
            for batch in self.batches(names) if names else ():
                if cancelled is not None and cancelled():
                    break
                if batch.images is not None:
                    out = self.outputs(batch.images, with_features=True)
                    features[batch.indices] = out.features.numpy()
                    probabilities[batch.indices] = out.centre.numpy()
                    if out.scores is not None:
                        unfamiliar[batch.indices] = (out.scores > self.familiarity["threshold"]).numpy()
                done += len(batch.indices) + len(batch.failures)
                if progress is not None:
                    progress(done, len(names))
        finally:
            release_freed_memory()
        return LookedAt(features, probabilities, unfamiliar)

    def predict_all(self, paths: Iterable[str | os.PathLike]) -> list[Prediction]:
        return [p for batch in self.predict(paths) for p in batch]
