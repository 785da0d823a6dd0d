"""The Classify tab's jobs: classifying the dropped files batch by batch, and Grad-CAM for one of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtGui import QImage

from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction
from resnet_gui.core.text import display_name
from resnet_gui.gui.jobs.job import JobState
from resnet_gui.gui.jobs.pictures import to_qimage


@dataclass
class ResultRow:
    """One classified file as the table shows it: the core's Prediction and a thumbnail made in the job.

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


@dataclass(frozen=True)
class ClassifyJob:
    paths: list[str]
    options: PredictOptions  # the table keeps top 10; the chart shows as many as the user asks


def classify(state: JobState, bundle, job: ClassifyJob) -> dict:
    """Find the images under the dropped paths (event `discovered`: how many, and every file passed over with
    why) and classify them, one batch of ResultRows per `partial`; returns the run's summary."""
    from resnet_gui.core.images.files import discover
    from resnet_gui.core.inference.classification import ClassificationRun

    found = discover(job.paths)
    passed_over = [(str(p), why) for p, why in found.skipped] + [(str(p), "does not exist") for p in found.missing]
    state.event("discovered", len(found.files), passed_over)
    if not found.files:
        return {"files": 0, "seconds": 0.0}
    run = ClassificationRun(job.paths, bundle, job.options, found=found)
    for batch in run.batches(cancelled=state.cancelled):
        state.partial([ResultRow(p, to_qimage(p.thumbnail) if p.thumbnail is not None else None) for p in batch])
    run.finish()
    return {"files": run.classified, "seconds": run.seconds, "device": str(run.predictor.device),
            "runtime": run.predictor.runtime_name}


def explain_picture(state: JobState, bundle, path: str, class_index: int, size: int = 1024):
    """Grad-CAM for one file and class: (path, class index, RGB pixels at display size, heat map)."""
    import numpy as np

    from resnet_gui.core.images.files import ImageDecodeError, load_rgb
    from resnet_gui.core.inference.explain import explain

    try:
        image = load_rgb(path)
    except ImageDecodeError as exc:
        raise UserError(f"{path} cannot be explained: {exc}.") from None
    result = explain(bundle, image, class_index)
    image.thumbnail((size, size))  # the overlay is blended at display size
    return path, class_index, np.asarray(image), result.heatmap


def watch_folder(state: JobState, bundle, settings, options: PredictOptions) -> dict:
    """Classify a folder's pictures as they are written (core/live/watched_folder.py): each recorded batch a
    `partial` of ResultRows, what it waits for a `status` event; until the window cancels the job."""
    from resnet_gui.core.live.watched_folder import WatchedFolderClassification

    watch = WatchedFolderClassification(settings, bundle, options)
    watch.run(lambda batch: state.partial([ResultRow(p, to_qimage(p.thumbnail) if p.thumbnail is not None else None)
                                           for p in batch.predictions]),
              cancelled=state.cancelled, on_status=lambda text: state.event("waiting", text), wait=0.25)
    return {"files": watch.classified, "failed": watch.failed}


def live_camera(state: JobState, bundle, source, options: PredictOptions, frozen) -> dict:
    """Classify the newest frame of a camera or video file (core/live/camera.py) until cancelled: each answer
    a `frame` stream item (LiveFrame, QImage), at most about 20 a second; `opened` once the source reads."""
    from resnet_gui.core.live.camera import FrameSource, LiveClassification

    with FrameSource(source) as frames:
        state.event("opened", frames.name, frames.fps)
        live = LiveClassification(frames, bundle, options)
        live.run(lambda frame: state.stream("frame", (frame, to_qimage(frame.picture))), cancelled=state.cancelled,
                 frozen=frozen.is_set)
        state.flush()
        return {"classified": live.classified, "dropped": live.dropped, "ended": frames.ended}
