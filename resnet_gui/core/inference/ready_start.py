"""A checkpoint that OpenVINO has run before, started again without importing torch.

Most of a short `resnet-gui classify` is the process starting: on the 2-core test machine torch and
torchvision take 3.7 s to import, more than OpenVINO then needs for 300 photos. So once the runtime seam has
run a checkpoint with OpenVINO (converted, compiled, and its answers checked against the checkpoint's golden
samples: openvino_runtime.py), `remember` keeps what classifying needs beside the converted model, under the
checkpoint file's content hash: the classes, the preprocessing, the temperature, the unsure threshold, the
familiarity fit and the sentence that said which runtime ran. The next start of the same file (`ReadyModel.find`)
classifies with OpenVINO, Pillow and numpy alone (`ReadyPredictor`), decoding, cropping, reading the answers
and marking unfamiliar pictures with the same functions as the PyTorch path.

Only a plain classification is started so: a checkpoint (not ImageNet weights), no test-time augmentation, and
a CPU that torch would have chosen too. An INT8 copy's golden check runs at every start, as in PyTorch's: its
golden samples and the answers the copy gave them when it was made are kept too. Anything else, or a record
that does not match, starts as before.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import sys
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.errors import UserError
from resnet_gui.core.images.cropping import resize_centre_crop
from resnet_gui.core.inference.decoded_batches import Collate, PictureDecoder, decode_in_turn
from resnet_gui.core.inference.openvino_files import (
    INT8_AGREEMENT,
    compile_for_cpu,
    openvino_installed,
    quiet_openvino,
    runtime_cache_dir,
)
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction, read_answers, unsure_threshold
from resnet_gui.core.runtime.cores import usable_cores, workers_override
from resnet_gui.core.trust.familiarity_scores import familiarity_scores

RECORD_VERSION = 1
STARTED_WITHOUT_TORCH = "started from the cache without PyTorch"


def checkpoint_digest(path: str | os.PathLike) -> str:
    """The checkpoint file's content hash (SHA-256): a file changed in any byte is another model."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        while chunk := file.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()[:32]


def ready_dir() -> Path:
    return runtime_cache_dir() / "ready"


def _record_path(digest: str, amp: bool) -> Path:
    return ready_dir() / f"{digest}.{'auto' if amp else 'f32'}.json"


def _openvino_version() -> str | None:
    try:
        return importlib.metadata.version("openvino")
    except importlib.metadata.PackageNotFoundError:
        return None


def accelerator_present() -> bool:
    """Whether torch could find a GPU here, so that "auto" would run on it and not on the CPU: an NVIDIA or AMD
    driver (Linux, WSL), CUDA's driver (Windows), Apple's MPS. Told without importing torch, erring towards yes."""
    if sys.platform == "darwin":
        return True
    if sys.platform == "win32":
        return Path(os.environ.get("SystemRoot", r"C:\Windows"), "System32", "nvcuda.dll").exists()
    return any(os.path.exists(p) for p in ("/proc/driver/nvidia", "/dev/nvidiactl", "/dev/nvidia0", "/dev/kfd",
                                           "/dev/dxg"))


def can_start_ready(options: PredictOptions, *, checkpoint, classes_file=None, image_size=None) -> bool:
    """Whether a classification asked for so could start without torch, were its checkpoint remembered."""
    device = str(options.device).strip().lower()
    return bool(checkpoint) and classes_file is None and image_size is None \
        and options.runtime in ("auto", "openvino") and options.tta is None and not options.thumbnail_size \
        and not options.keep_features and (device == "cpu" or (device == "auto" and not accelerator_present())) \
        and openvino_installed()


def ready_predictor(options: PredictOptions, *, checkpoint, arch: str | None = None, classes_file=None,
                    image_size=None, unsure_below: float | None = None) -> ReadyPredictor | None:
    """A predictor for a classification asked for so that starts without torch, or None where it cannot
    (`can_start_ready`), the checkpoint was not remembered, or the cache cannot start it: PyTorch's start then
    runs it and says why. `unsure_below` as asked (None: the checkpoint's suggestion; 0: none)."""
    if not can_start_ready(options, checkpoint=checkpoint, classes_file=classes_file, image_size=image_size):
        return None
    ready = ReadyModel.find(checkpoint, amp=options.amp)
    if ready is None or arch not in (None, ready.arch):
        return None
    try:
        return ReadyPredictor(ready, replace(options, unsure_below=unsure_threshold(unsure_below,
                                                                                   ready.unsure_below)))
    except Exception:  # noqa: BLE001 - OpenVINO cannot start the cached model: PyTorch's start converts it anew
        return None


@dataclass(frozen=True)
class ReadyModel:
    """What `remember` kept of a checkpoint: enough to classify with its converted model, and nothing of torch."""

    xml: Path
    precision: str  # what the IR is compiled at: "bf16" or "f32"
    runtime: str  # the sentence saying which runtime ran, as the PyTorch start said it
    arch: str
    classes: list[str]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    resize: int
    image_size: int
    temperature: float
    unsure_below: float | None
    familiarity: dict[str, Any] | None  # the fit's method and threshold, and its arrays (numpy)
    golden: dict[str, Any] | None = None  # an INT8 copy's check: uint8 inputs, the logits it gave, the tolerance

    @classmethod
    def find(cls, checkpoint: str | os.PathLike, amp: bool = True) -> ReadyModel | None:
        """The remembered start of this checkpoint file, or None (never remembered, changed since, another
        OpenVINO, or its converted model is gone)."""
        try:
            return cls._read(_record_path(checkpoint_digest(checkpoint), amp))
        except OSError:
            return None

    @classmethod
    def _read(cls, record: Path) -> ReadyModel | None:
        try:
            data = json.loads(record.read_text(encoding="utf-8"))
            if data.get("version") != RECORD_VERSION or data.get("openvino") != _openvino_version():
                return None
            xml = runtime_cache_dir() / data["xml"]
            if not (xml.is_file() and xml.with_suffix(".bin").is_file()):
                return None
            familiarity = data["familiarity"]
            if familiarity is not None and familiarity["method"] == "mahalanobis":
                with np.load(record.with_suffix(".npz")) as arrays:
                    familiarity = {**familiarity, "means": arrays["means"], "precision": arrays["precision"]}
            golden = data.get("golden")
            if golden is not None:
                with np.load(record.with_suffix(".golden.npz")) as arrays:
                    golden = {**golden, "inputs": arrays["inputs"], "logits": arrays["logits"]}
            return cls(xml, data["precision"], data["runtime"], data["arch"], list(data["classes"]),
                       tuple(data["mean"]), tuple(data["std"]), int(data["resize"]), int(data["image_size"]),
                       float(data["temperature"]), data["unsure_below"], familiarity, golden)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            return None


def remember(checkpoint: str | os.PathLike | None, bundle, predictor, amp: bool = True) -> bool:
    """After `predictor` (PyTorch's start) chose OpenVINO for `checkpoint`: keep what the next start needs to
    run it without torch. Written whole or not at all (the arrays first, then the record that names them);
    False where there is nothing to keep (PyTorch ran, ImageNet weights) or it could not be kept."""
    forward = getattr(predictor, "openvino", None)
    prep = bundle.preprocessing
    if forward is None or not checkpoint or prep.resize < prep.image_size:
        return False
    golden = None
    if forward.precision == "int8":  # checked at every start: its samples and the answers it gave them
        samples = bundle.checkpoint.extra.get("golden") or {}
        if "tolerance" not in samples or bundle.checkpoint.extra["int8"].get("golden_logits") is None:
            return False
        golden = {"tolerance": max(float(samples["tolerance"]), INT8_AGREEMENT)}
    try:
        record = _record_path(checkpoint_digest(checkpoint), amp)
        if ReadyModel._read(record) is not None:  # kept already, for this OpenVINO
            return True
        record.parent.mkdir(parents=True, exist_ok=True)
        familiarity = None
        if bundle.familiarity is not None:
            spec = bundle.familiarity
            familiarity = {"method": spec["method"], "threshold": float(spec["threshold"])}
            if spec["method"] == "mahalanobis":
                with atomic_write(record.with_suffix(".npz")) as file:
                    np.savez(file, means=np.asarray(spec["means"], dtype=np.float32),
                             precision=np.asarray(spec["precision"], dtype=np.float32))
        if golden is not None:
            with atomic_write(record.with_suffix(".golden.npz")) as file:
                np.savez(file, inputs=np.asarray(samples["inputs"], dtype=np.uint8),
                         logits=np.asarray(bundle.checkpoint.extra["int8"]["golden_logits"], dtype=np.float32))
        data = {"version": RECORD_VERSION, "openvino": _openvino_version(),
                "xml": forward.xml.relative_to(runtime_cache_dir()).as_posix(),
                "precision": forward.compiled_precision, "runtime": predictor.runtime, "arch": bundle.arch,
                "classes": list(bundle.classes), "mean": list(prep.mean), "std": list(prep.std),
                "resize": prep.resize, "image_size": prep.image_size, "temperature": float(bundle.temperature),
                "unsure_below": bundle.unsure_below, "familiarity": familiarity, "golden": golden}
        with atomic_write(record, "w", encoding="utf-8") as file:
            file.write(json.dumps(data))
        return True
    except (OSError, ValueError, UserError):  # a cache that cannot be written costs the next start its speed
        return False


def decode_threads(num_workers: int | None) -> int:
    """Decoding threads, which take turns with the model: as many as the cores this process may use, as
    PyTorch's start takes as many as torch computes with (RESNET_GUI_WORKERS overrides both)."""
    if num_workers is not None:
        return max(0, num_workers)
    override = workers_override()
    return override if override is not None else usable_cores()


class ReadyPredictor:
    """Classifies files with a remembered checkpoint's converted model, as the Predictor does on a CPU with
    OpenVINO: decoded in turn with the model, normalised, run, read (`predict`), without importing torch."""

    device = "cpu"
    tta = None

    def __init__(self, ready: ReadyModel, options: PredictOptions):
        self.ready = ready
        ov = quiet_openvino()
        self.compiled = compile_for_cpu(ov.Core(), ready.xml, ready.precision, runtime_cache_dir())
        self.request = self.compiled.create_infer_request()
        self.runtime = f"{ready.runtime}, {STARTED_WITHOUT_TORCH}"
        self.classes = ready.classes
        self.batch_size = max(1, int(options.batch_size))
        self.num_workers = decode_threads(options.num_workers)
        self.top_k = max(1, min(int(options.top_k), len(self.classes)))
        self.options = options
        self.unsure_below = options.unsure_below
        self.familiarity = ready.familiarity if options.check_familiarity else None
        # as normalize_batch computes it: float32 mean and std, times 255
        self.mean = (np.asarray(ready.mean, dtype=np.float32) * np.float32(255.0)).reshape(1, 3, 1, 1)
        self.std = (np.asarray(ready.std, dtype=np.float32) * np.float32(255.0)).reshape(1, 3, 1, 1)
        if ready.golden is not None:
            self._check(ready.golden)

    def _check(self, golden: dict[str, Any]) -> None:
        """An INT8 copy answers its golden samples as it did when it was made, or it is not run (PyTorch's start
        then runs its float weights and says why)."""
        logits, _ = self._run(golden["inputs"])
        now, then = (softmax(np.asarray(a, np.float32) / self.ready.temperature) for a in (logits, golden["logits"]))
        if not ((now.argmax(1) == then.argmax(1)).all() and np.abs(now - then).max() <= golden["tolerance"]):
            raise ValueError("the INT8 copy's answers to its golden samples moved")

    def _crop(self, image) -> np.ndarray:
        return np.asarray(resize_centre_crop(image, self.ready.resize, self.ready.image_size))

    def predict(self, paths: Iterable[str | os.PathLike],
                cancelled: Callable[[], bool] | None = None) -> Iterator[list[Prediction]]:
        """One list of predictions per batch, in the order of `paths`; `cancelled` is checked between batches."""
        names = [os.fspath(p) for p in paths]
        decoder = PictureDecoder(names, self._crop, draft_size=self.ready.resize)
        for batch in decode_in_turn(decoder, self.batch_size, self.num_workers, Collate(np.stack)):
            if cancelled is not None and cancelled():
                return
            if batch.images is None:
                yield read_answers(names, [], batch.failures, None, self.classes, self.top_k, self.unsure_below)
                continue
            logits, pooled = self.outputs(batch.images)
            unfamiliar = None
            if self.familiarity is not None:
                unfamiliar = familiarity_scores(self.familiarity, logits, pooled) > self.familiarity["threshold"]
            yield read_answers(names, batch.indices, batch.failures, softmax(logits / self.ready.temperature),
                               self.classes, self.top_k, self.unsure_below, unfamiliar=unfamiliar)

    def outputs(self, pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [N, S, S, 3] centre crops -> the logits [N, C] and pooled features [N, D], float32."""
        return self._run(pictures.transpose(0, 3, 1, 2))

    def _run(self, pictures: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 [N, 3, S, S] -> the logits and pooled features, normalised as normalize_batch does."""
        x = np.ascontiguousarray(pictures, dtype=np.float32)
        x -= self.mean
        x /= self.std
        answered = self.request.infer({0: x})
        return tuple(np.array(answered[self.compiled.output(i)], dtype=np.float32) for i in range(2))

    def predict_all(self, paths: Iterable[str | os.PathLike]) -> list[Prediction]:
        return [p for batch in self.predict(paths) for p in batch]


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return exponentials / exponentials.sum(axis=1, keepdims=True)
