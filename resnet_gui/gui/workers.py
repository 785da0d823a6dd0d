"""Workers: QObjects that run core jobs in a QThread and report through signals only.

The vocabulary follows superqt's thread workers: `started`, `yielded`,
`returned`, `errored`, `aborted`, `finished`. A worker's `work()` is a
plain function or a generator; a generator is checked for abort between
yields, so cancel lands between batches. Workers never touch widgets.
"""

from __future__ import annotations

import gc
import inspect
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot
from PySide6.QtGui import QImage

from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.predictions import Prediction
from resnet_gui.core.text import display_name

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
        # A full cyclic-GC pass over the ~10^6 objects the import creates holds the GIL for
        # 100+ ms; none is needed while importing. Afterwards, freezing moves those objects out
        # of the collector's sight, so later passes (during classification) stay short too.
        collecting = gc.isenabled()
        gc.disable()
        try:
            import resnet_gui.core.images.datasets  # noqa: F401
            import resnet_gui.core.inference.predictor  # noqa: F401
            import resnet_gui.core.models.resnets  # noqa: F401
            import resnet_gui.core.training.trainer  # noqa: F401
        finally:
            gc.freeze()
            if collecting:
                gc.enable()


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


def describe_error(exc: BaseException) -> str:
    """The sentence the window shows for a worker's exception: the user's own mistake as it was worded,
    anything else summarised (and logged in full)."""
    if isinstance(exc, UserError):
        return exc.for_window()
    return describe_unexpected(exc)


def describe_unexpected(exc: BaseException) -> str:
    """A sentence for an error nobody planned for; the traceback goes to the log file."""
    from resnet_gui.crash_log import write_crash_log

    if type(exc).__name__ == "OutOfMemoryError":
        return "The GPU ran out of memory. Lower the batch size, choose a smaller model, or choose the CPU."
    where = write_crash_log(exc)
    return f"Something went wrong ({type(exc).__name__}: {exc}). Details were written to {where}."


class Worker(QObject):
    started = Signal()
    yielded = Signal(object)
    returned = Signal(object)
    errored = Signal(object)  # the exception itself: describe_error() turns it into a sentence
    aborted = Signal()
    finished = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._abort = threading.Event()

    def abort(self) -> None:
        """Ask the worker to stop at its next check (thread-safe)."""
        self._abort.set()

    def is_aborted(self) -> bool:
        return self._abort.is_set()

    def work(self) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    @Slot()
    def run(self) -> None:
        self.started.emit()
        try:
            result = self.work()
            if inspect.isgenerator(result):
                result = self._drain(result)
            if self._abort.is_set():
                self.aborted.emit()
            else:
                self.returned.emit(result)
        except UserError as exc:
            self.errored.emit(exc)
        except Exception as exc:  # noqa: BLE001 - the window reports it as a sentence, logged in full
            log.exception("worker failed")
            self.errored.emit(exc)
        finally:
            self.finished.emit()

    def _drain(self, generator) -> Any:
        try:
            while True:
                if self._abort.is_set():
                    generator.close()
                    return None
                self.yielded.emit(next(generator))
        except StopIteration as stop:
            return stop.value


# ---------------------------------------------------------------- the jobs


class TorchWarmup(Worker):
    """Imports torch and the core off the GUI thread and lists the devices present."""

    def work(self) -> list[tuple[str, str]]:
        import_core()
        from resnet_gui.core.runtime.devices import available_devices

        return available_devices()


@dataclass(frozen=True)
class ModelChoice:
    """What the user picked: ImageNet weights for `arch`, or a checkpoint file."""

    arch: str
    checkpoint: str | None = None
    classes_file: str | None = None
    image_size: int | None = None


class ModelLoadWorker(Worker):
    def __init__(self, choice: ModelChoice):
        super().__init__()
        self.choice = choice

    def work(self):
        import_core()
        from resnet_gui.core.models.resnets import count_parameters, load_bundle, stage_table

        c = self.choice
        bundle = load_bundle(c.checkpoint, arch=None if c.checkpoint else c.arch,
                             classes_file=c.classes_file, image_size=c.image_size)
        # What the Model tab shows, computed here: the GUI thread never runs torch.
        bundle.meta["stages"] = stage_table(bundle.model, bundle.preprocessing.image_size)
        bundle.meta["params"] = count_parameters(bundle.model)
        return bundle


@dataclass
class ResultRow:
    """One classified file as the table shows it: the core's Prediction and a thumbnail made in the worker.

    The name, label and confidence are worked out once: sorting a large table asks for them millions of times.
    """

    prediction: Prediction
    thumbnail: QImage | None = None
    name: str = field(init=False)
    label: str = field(init=False)
    confidence: float = field(init=False)

    def __post_init__(self) -> None:
        self.name = display_name(self.prediction.path)  # a backslash is part of a Linux file name
        self.label = self.guesses[0].label if self.guesses else ""
        self.confidence = self.guesses[0].prob if self.guesses else -1.0

    @property
    def path(self) -> str:
        return self.prediction.path

    @property
    def guesses(self) -> list:
        return self.prediction.top_k

    @property
    def error(self) -> str | None:
        return self.prediction.error


def to_qimage(rgb) -> QImage:
    """uint8 [h, w, 3] array -> QImage (a deep copy, safe to hand to the GUI thread)."""
    height, width, _ = rgb.shape
    data = rgb.tobytes()
    return QImage(data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()


@dataclass(frozen=True)
class ClassifyJob:
    paths: list[str]
    device: str = "auto"
    batch_size: int = 32
    top_k: int = 10  # the table keeps 10; the chart shows as many as the user asks
    thumbnail_size: int = 40
    amp: bool = True  # mixed precision where the device computes it in hardware
    tta: str | None = None  # test-time augmentation (core/inference/tta.py)


class ClassifyWorker(Worker):
    """Finds the images under the dropped paths and classifies them, one batch per `yielded`."""

    discovered = Signal(int, list)  # images found; (path, reason) of every file passed over

    def __init__(self, bundle, job: ClassifyJob):
        super().__init__()
        self.bundle, self.job = bundle, job

    def work(self):
        import_core()
        from resnet_gui.core.images.files import discover
        from resnet_gui.core.inference.predictor import Predictor

        found = discover(self.job.paths)
        passed_over = [(str(p), why) for p, why in found.skipped] + [(str(p), "does not exist") for p in found.missing]
        self.discovered.emit(len(found.files), passed_over)
        if not found.files:
            return {"files": 0, "seconds": 0.0}
        predictor = Predictor(self.bundle, device=self.job.device, batch_size=self.job.batch_size,
                              top_k=self.job.top_k, thumbnail_size=self.job.thumbnail_size, amp=self.job.amp,
                              tta=self.job.tta)
        started = time.perf_counter()
        done = 0
        for batch in predictor.predict(found.files, cancelled=self.is_aborted):
            done += len(batch)
            yield [ResultRow(p, to_qimage(p.thumbnail) if p.thumbnail is not None else None) for p in batch]
        return {"files": done, "seconds": time.perf_counter() - started, "device": str(predictor.device)}


class PreviewWorker(Worker):
    """Decodes one image for the preview, scaled to fit `size`."""

    def __init__(self, path: str, size: int = 1024):
        super().__init__()
        self.path, self.size = path, size

    def work(self):
        import numpy as np

        from resnet_gui.core.images.files import ImageDecodeError, load_rgb

        try:
            image = load_rgb(self.path, draft_size=self.size)
        except ImageDecodeError as exc:
            return self.path, None, str(exc)
        image.thumbnail((self.size, self.size))
        return self.path, to_qimage(np.asarray(image)), None


class FolderScanWorker(Worker):
    """Lists the classes of a training folder and counts their images (no decoding)."""

    def __init__(self, folder: str, val_dir: str | None = None, resumable_near: str | None = None):
        """`resumable_near`: the model file a run on `folder` would write; a stopped run beside it is found."""
        super().__init__()
        self.folder, self.val_dir, self.resumable_near = folder, val_dir, resumable_near

    def work(self):
        import_core()
        from resnet_gui.core.images.folders import scan_class_folder

        scan = scan_class_folder(self.folder, self.val_dir)
        resumable = None
        if self.resumable_near:
            from resnet_gui.core.training.saver import find_resumable_run

            resumable = find_resumable_run(self.folder, self.resumable_near)
        return {"folder": self.folder, "classes": scan.classes, "counts": scan.counts(),
                "has_val": scan.val is not None, "resumable": resumable}


class TrainWorker(Worker):
    """Runs a Trainer. `stop_training` ends the run after the current batch and still returns
    its result (the best checkpoint so far); `abort` is for shutting the window."""

    status = Signal(str)
    input_chosen = Signal(str)  # the input size and stem, in a sentence
    data_ready = Signal(object)  # PreparedData summary dict
    batches = Signal(list)  # BatchEvents, at most ~20 signals a second
    epoch_ended = Signal(object)  # EpochEvent
    epoch_started = Signal(int, int)
    finishing = Signal()  # the best model's finishing steps begin: Stop may skip them

    project_run = Signal(object)  # ProjectRun, for a run trained from a project
    estimated = Signal(float, int)  # seconds the whole run will take, batches timed for it
    lr_found = Signal(object)  # LRFinding, when the run finds its own rate first

    def __init__(self, settings, emit_interval_s: float = 0.05, *, project: str | None = None,
                 keep_specimens: bool = False, resume_project: bool = False):
        super().__init__()
        self.settings = settings
        self.emit_interval_s = emit_interval_s
        self.project = project
        self.keep_specimens = keep_specimens
        self.resume_project = resume_project  # go on with the project's run that stopped early
        self._stop = threading.Event()
        self._skip = threading.Event()

    def stop_training(self) -> None:
        self._stop.set()

    def skip_finishing(self) -> None:
        """Keep the best model as its epoch saved it, without calibration and the familiarity fit."""
        self._skip.set()

    def abort(self) -> None:
        self._stop.set()
        self._skip.set()  # closing the window does not wait for the finishing steps
        super().abort()

    def work(self):
        import_core()
        from resnet_gui.core.training.events import TrainingCallback
        from resnet_gui.core.training.trainer import Trainer

        worker = self
        pending: list = []
        last_emit = [0.0]

        def flush() -> None:
            if pending:
                worker.batches.emit(list(pending))
                pending.clear()
            last_emit[0] = time.perf_counter()

        class Forward(TrainingCallback):
            def on_status(self, text):
                worker.status.emit(text)

            def on_input_chosen(self, text):
                worker.input_chosen.emit(text)

            def on_data_ready(self, data):
                worker.data_ready.emit({
                    "classes": data.classes, "train": data.class_counts("train"), "val": data.class_counts("val"),
                    "skipped": data.skipped, "warnings": data.warnings, "cached": data.cached,
                })

            def on_epoch_start(self, epoch, epochs):
                worker.epoch_started.emit(epoch, epochs)

            def on_estimate(self, seconds, batches_timed):
                worker.estimated.emit(seconds, batches_timed)

            def on_lr_found(self, finding):
                worker.lr_found.emit(finding)

            def on_batch_end(self, event):
                pending.append(event)
                if time.perf_counter() - last_emit[0] >= worker.emit_interval_s:
                    flush()

            def on_epoch_end(self, event):
                flush()
                worker.epoch_ended.emit(event)

            def on_finishing(self):
                worker.finishing.emit()

        try:
            if self.project is None:
                return Trainer(self.settings, [Forward()], cancelled=self._stop.is_set,
                               skip_finishing=self._skip.is_set).run()
            from resnet_gui.core.projects.training import train_project

            run = train_project(self.project, self.settings, keep_specimens=self.keep_specimens,
                                callbacks=[Forward()], cancelled=self._stop.is_set,
                                skip_finishing=self._skip.is_set, resume=self.resume_project)
            self.project_run.emit(run)
            return run.result
        except InterruptedError:
            return None


class ExplainWorker(Worker):
    """Grad-CAM for one file and class: returns (path, class index, RGB pixels, heat map)."""

    def __init__(self, bundle, path: str, class_index: int, size: int = 1024):
        super().__init__()
        self.bundle, self.path, self.class_index, self.size = bundle, path, class_index, size

    def work(self):
        import_core()
        import numpy as np

        from resnet_gui.core.images.files import ImageDecodeError, load_rgb
        from resnet_gui.core.inference.explain import explain

        try:
            image = load_rgb(self.path)
        except ImageDecodeError as exc:
            raise UserError(f"{self.path} cannot be explained: {exc}.") from None
        result = explain(self.bundle, image, self.class_index)
        image.thumbnail((self.size, self.size))  # the overlay is blended at display size
        return self.path, self.class_index, np.asarray(image), result.heatmap


class EvaluateWorker(Worker):
    """Evaluates the model the window holds on a class folder: the figures, the matrix and every file's answer."""

    progress = Signal(int, int)

    def __init__(self, bundle, folder: str, device: str = "auto", amp: bool = True, tta: str | None = None):
        super().__init__()
        self.bundle, self.folder, self.device, self.amp, self.tta = bundle, folder, device, amp, tta

    def work(self):
        import_core()
        from resnet_gui.core.evaluation.evaluate import evaluate_model

        try:
            return evaluate_model(self.bundle, self.folder, device=self.device, amp=self.amp, tta=self.tta,
                                  progress=lambda done, total: self.progress.emit(done, total),
                                  cancelled=self.is_aborted)
        except InterruptedError:
            return None


class ExportWorker(Worker):
    """Exports the model the window holds to ONNX or TorchScript, checked on its golden samples, or writes a
    bioimage.io package of it."""

    def __init__(self, bundle, fmt: str, path: str):
        super().__init__()
        self.bundle, self.fmt, self.path = bundle, fmt, path

    def work(self):
        import_core()
        import copy

        from resnet_gui.core.atomic_write import check_writable
        from resnet_gui.core.packaging.export import export_model

        if self.fmt == "bioimageio" and not self.path.lower().endswith(".zip"):
            self.path += ".zip"  # bioimage.io tools know a package by its .zip
        check_writable(self.path, "the exported model")
        # A copy: exporting moves the network to the CPU, and the window's own stays where it classifies.
        bundle = copy.copy(self.bundle)
        bundle.model = copy.deepcopy(self.bundle.model)
        if self.fmt == "bioimageio":
            from resnet_gui.core.packaging.bioimageio import write_package

            return self.path, write_package(bundle, self.path)
        return export_model(bundle, self.fmt, self.path)


class ExampleWorker(Worker):
    """Writes the example data set (a few seconds of drawing and PNG encoding)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def work(self):
        from resnet_gui.core.projects.example import make_example_project, write_example

        made = write_example(self.folder)
        make_example_project(made)
        return made


class ProjectJobWorker(Worker):
    """A project job on a worker thread: `job(progress=..., cancelled=...)`, with its own database connection
    (a SQLite connection belongs to the thread that made it)."""

    progress = Signal(int, int)

    def __init__(self, job, *args, torch_needed: bool = False, **kwargs):
        super().__init__()
        self.job, self.args, self.kwargs, self.torch_needed = job, args, kwargs, torch_needed

    def work(self):
        if self.torch_needed:
            import_core()
        return self.job(*self.args, progress=self.progress.emit, cancelled=self.is_aborted, **self.kwargs)


class LRFinderWorker(Worker):
    """Runs the learning-rate range test on what a run with `settings` would train on; returns the
    LRFinding (None when cancelled). The sweep's points arrive in lists, at most ~20 signals a second."""

    status = Signal(str)
    points = Signal(list)  # (step, steps, rate, smoothed loss) tuples

    def __init__(self, settings, emit_interval_s: float = 0.05):
        super().__init__()
        self.settings = settings
        self.emit_interval_s = emit_interval_s

    def work(self):
        import_core()
        from resnet_gui.core.training.events import TrainingCallback
        from resnet_gui.core.training.trainer import Trainer

        worker = self
        pending: list = []
        last_emit = [0.0]

        class Forward(TrainingCallback):
            def on_status(self, text):
                worker.status.emit(text)

            def on_lr_sweep(self, step, steps, rate, loss):
                pending.append((step, steps, rate, loss))
                now = time.perf_counter()
                if now - last_emit[0] >= worker.emit_interval_s:
                    last_emit[0] = now
                    worker.points.emit(list(pending))
                    pending.clear()

        try:
            return Trainer(self.settings, [Forward()], cancelled=self.is_aborted).find_learning_rate()
        except InterruptedError:
            return None
