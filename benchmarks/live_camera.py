"""The live camera: frames classified a second with ResNet-18 at 224 px on the CPU, frames dropped, and the
longest the GUI thread waited, with the real camera window (offscreen) playing a 640x480 video at 30 frames a
second, as a USB microscope camera delivers them.

    python benchmarks/live_camera.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import numpy as np  # noqa: E402
from common import machine, seeded_checkpoint, work_dir  # noqa: E402


def write_video(path, seconds: int, fps: int = 30, size=(640, 480)) -> None:
    import cv2

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size[1], 0:size[0]].astype(np.float32)
    for i in range(seconds * fps):
        phase = i / fps
        base = np.stack([np.sin(xx * 0.02 + yy * 0.01 + phase + k) for k in range(3)], axis=-1) * 90 + 128
        frame = np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)
        writer.write(frame)
    writer.release()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    print(machine())
    work = work_dir("camera")
    video = work / "slide.avi"
    write_video(video, args.seconds)
    checkpoint = seeded_checkpoint(work / "resnet18.pt", num_classes=10)

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from resnet_gui.core.inference.options import RunOptions
    from resnet_gui.core.models.resnets import load_bundle
    from resnet_gui.gui.classify.camera_window import CameraWindow

    app = QApplication.instance() or QApplication([])
    bundle = load_bundle(checkpoint)
    window = CameraWindow(lambda: bundle, RunOptions(), lambda: [], lambda picture, label: None)
    window.show()
    beats = {"longest": 0.0, "last": time.perf_counter()}

    def beat():
        now = time.perf_counter()
        beats["longest"] = max(beats["longest"], now - beats["last"])
        beats["last"] = now

    timer = QTimer()
    timer.timeout.connect(beat)
    shown = []
    window.frame_shown.connect(shown.append)
    window.start(str(video))
    started = time.perf_counter()
    while not window.task.is_running() or not shown:
        app.processEvents()
    timer.start(10)
    beats["last"] = time.perf_counter()
    while window.task.is_running():
        app.processEvents()
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    frame = window.current
    classified = frame.number + 1 - frame.dropped
    print(f"ResNet-18 224 px, a {args.seconds} s video at 30 frames a second (640x480): {classified} frames "
          f"classified ({classified / seconds:.1f} a second), {frame.dropped} dropped; the GUI thread waited at most "
          f"{beats['longest'] * 1000:.0f} ms")
    window.close()


if __name__ == "__main__":
    main()
