"""A camera (or a video file) classified live: the frames a microscope's camera shows, each answered as soon
as the model is free.

Frames are read on a thread of their own, which keeps only the newest: when the model is slower than the
camera, the frames in between are dropped, never queued, so the answer is always about what the camera shows
now. A video file is played at its own frame rate, as a camera would deliver it (that is also how the tests
and users with recorded videos use it). OpenCV reads both (`pip install "resnet-gui[camera]"`: its headless
wheel reads USB cameras on Linux, Windows and macOS and, with its own FFmpeg, video files).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from PIL import Image

from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.inference.predictions import Prediction
from resnet_gui.core.inference.predictor import Predictor

CAMERA_EXTRA = 'pip install "resnet-gui[camera]"'
VIDEO_EXTENSIONS = (".avi", ".mp4", ".mov", ".mkv", ".m4v", ".webm", ".mpg", ".mpeg", ".wmv")
FAILED_READS_BEFORE_GONE = 50  # a camera that gives nothing for this many reads in a row was unplugged


def camera_support() -> str | None:
    """None when live frames can be read here; otherwise the sentence that says what to install."""
    if importlib.util.find_spec("cv2") is None:
        return f"The live camera needs OpenCV, which is not installed. In a terminal: {CAMERA_EXTRA}"
    return None


def _cv2():
    missing = camera_support()
    if missing is not None:
        raise UserError(missing)
    import cv2

    return cv2


def list_cameras(most: int = 4) -> list[int]:
    """The numbers of the cameras that open (0 is the first one the system lists)."""
    cv2 = _cv2()
    found = []
    for number in range(most):
        capture = cv2.VideoCapture(number)
        if capture.isOpened():
            found.append(number)
        capture.release()
    return found


class FrameSource:
    """Frames from camera `source` (a number) or a video file (a path), newest only (see the module's note)."""

    def __init__(self, source: int | str | os.PathLike):
        cv2 = self._cv2 = _cv2()
        self.is_file = not isinstance(source, int)
        self.name = os.fspath(source) if self.is_file else f"camera {source}"
        if self.is_file and not os.path.isfile(source):
            raise UserError(f"{self.name} does not exist or is not a video file.")
        self._capture = cv2.VideoCapture(os.fspath(source) if self.is_file else source)
        if not self._capture.isOpened():
            self._capture.release()
            raise UserError(f"{self.name} could not be opened: " + (
                "it is not a video OpenCV can read (try an .avi or .mp4 file)." if self.is_file else
                "is it plugged in, and not in use by another program?"))
        fps = self._capture.get(cv2.CAP_PROP_FPS)
        self.fps = fps if fps and 1 <= fps <= 240 else 30.0
        self.read = 0  # frames read from the source
        self.ended = False  # the video is over, or the camera is gone
        self._newest: tuple[int, np.ndarray] | None = None
        self._ready = threading.Condition()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._read_frames, name="resnet-gui-camera", daemon=True)
        self._thread.start()

    def _read_frames(self) -> None:
        cv2 = self._cv2
        due = time.monotonic()
        failures = 0
        try:
            while not self._stopped.is_set():
                ok, bgr = self._capture.read()
                if not ok:
                    failures += 1
                    if self.is_file or failures >= FAILED_READS_BEFORE_GONE:
                        break
                    time.sleep(0.02)
                    continue
                failures = 0
                frame = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
                with self._ready:
                    self._newest = (self.read, frame)  # the frame before it, if unclassified, is dropped
                    self.read += 1
                    self._ready.notify_all()
                if self.is_file:  # as fast as a camera would show it, not as fast as the disk reads it
                    due += 1 / self.fps
                    self._stopped.wait(max(0.0, due - time.monotonic()))
        finally:
            self._capture.release()
            with self._ready:
                self.ended = True
                self._ready.notify_all()

    def newest(self, after: int, timeout: float) -> tuple[int, np.ndarray] | None:
        """The newest frame numbered above `after` (number, RGB uint8 [H, W, 3]), waiting up to `timeout`;
        None when there is none yet or the source has ended."""
        with self._ready:
            self._ready.wait_for(lambda: self.ended or (self._newest is not None and self._newest[0] > after),
                                 timeout)
            if self._newest is not None and self._newest[0] > after:
                return self._newest
            return None

    def close(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclass(frozen=True)
class LiveFrame:
    number: int  # which frame of the source
    picture: np.ndarray  # RGB uint8 [H, W, 3]
    prediction: Prediction
    dropped: int  # frames of the source not classified, in all so far
    per_second: float  # frames classified a second, over the last few


class LiveClassification:
    """Classify the newest frame of `source`, again and again, until `cancelled()` or the source ends; while
    `frozen()` no frame is classified (the window holds the one it shows)."""

    def __init__(self, source: FrameSource, bundle, options: PredictOptions | None = None):
        self.source = source
        self.predictor = Predictor(bundle, options or PredictOptions(), batch_size=1)
        self.classified = 0
        self.dropped = 0

    def run(self, on_frame: Callable[[LiveFrame], None], *, cancelled: Callable[[], bool] = lambda: False,
            frozen: Callable[[], bool] = lambda: False) -> None:
        last = -1
        recent: list[float] = []
        while not cancelled():
            got = self.source.newest(last, timeout=0.25)
            if got is None:
                if self.source.ended:
                    return
                continue
            number, picture = got
            if frozen():
                last, recent = number, []  # the rate after a pause is the rate after it
                continue
            self.dropped += number - last - 1
            last = number
            prediction = self.predictor.predict_pictures([Image.fromarray(picture)],
                                                         [f"{self.source.name}, frame {number}"])[0]
            self.classified += 1
            recent = [*recent[-9:], time.monotonic()]
            per_second = (len(recent) - 1) / (recent[-1] - recent[0]) if len(recent) > 1 else 0.0
            on_frame(LiveFrame(number, picture, prediction, self.dropped, per_second))


def save_snapshot(picture: np.ndarray, folder: str | os.PathLike, stem: str = "snapshot") -> Path:
    """The frame as a PNG in `folder` under a new name (`snapshot-20261203-101502-123.png`), never over a file,
    and whole when it appears (written under a hidden name, then linked into place)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{stem}.partial-{os.getpid()}-{secrets.token_hex(4)}.png"
    Image.fromarray(picture).save(partial, format="PNG")
    try:
        moment = datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        for n in range(1, 1000):
            target = folder / (f"{stem}-{moment}.png" if n == 1 else f"{stem}-{moment}-{n}.png")
            try:
                os.link(partial, target)  # never replaces a file
                return target
            except FileExistsError:
                continue
            except OSError:  # no hard links here (FAT, some network drives): reserve the name, then rename
                try:
                    with open(target, "xb"):
                        pass
                except FileExistsError:
                    continue
                os.replace(partial, target)
                return target
        raise UserError(f"{folder} has too many snapshots named {stem}-{moment}; remove some.")
    finally:
        partial.unlink(missing_ok=True)
