"""The live camera's core, driven by video files made here: the answers follow the frames, a slow model drops
frames instead of queueing them, a frozen view classifies nothing, snapshots never overwrite."""

from __future__ import annotations

import time

import numpy as np
import pytest
from PIL import Image

from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.live import camera
from resnet_gui.core.live.camera import FrameSource, LiveClassification, save_snapshot
from resnet_gui.core.models.resnets import load_bundle
from tests.support import write_colour_video


def test_the_answers_follow_the_frames_of_a_video(tmp_path, colour_model):
    _, result = colour_model
    shown = write_colour_video(tmp_path / "slide.avi", ["red", "green", "blue", "red"], frames_each=8, fps=20)
    frames = []
    with FrameSource(tmp_path / "slide.avi") as source:
        assert source.fps == pytest.approx(20)
        LiveClassification(source, load_bundle(result.best_path), PredictOptions(device="cpu")).run(frames.append)
    assert len(frames) >= 20  # of 32: a ResNet-18 at 32 px keeps up with 20 frames a second, nearly
    right = [f.prediction.best.label == shown[f.number] for f in frames]
    assert sum(right) >= 0.85 * len(frames)
    assert {f.prediction.best.label for f in frames} == {"red", "green", "blue"}
    assert all(f.picture.shape == (64, 64, 3) and f.picture.dtype == np.uint8 for f in frames)


def test_a_slow_model_drops_frames_and_answers_the_newest(tmp_path, tiny_checkpoint, monkeypatch):
    # two seconds: a loaded machine (the first answer paying for the model's first use) still answers a few
    write_colour_video(tmp_path / "fast.avi", ["red", "green"], frames_each=40, fps=40)
    live_frames = []
    with FrameSource(tmp_path / "fast.avi") as source:
        live = LiveClassification(source, load_bundle(tiny_checkpoint), PredictOptions(device="cpu"))
        answer = live.predictor.predict_pictures

        def slow(pictures, names):
            time.sleep(0.15)  # a model that manages about six frames a second
            return answer(pictures, names)

        monkeypatch.setattr(live.predictor, "predict_pictures", slow)
        live.run(live_frames.append)
    numbers = [f.number for f in live_frames]
    assert 3 <= len(numbers) <= 24 and numbers == sorted(numbers)
    assert live.dropped >= 50 and live.dropped == numbers[-1] + 1 - len(numbers)  # dropped, never queued
    assert max(b - a for a, b in zip(numbers, numbers[1:], strict=False)) >= 4  # it skipped to the newest


def test_a_frozen_view_classifies_nothing(tmp_path, tiny_checkpoint):
    write_colour_video(tmp_path / "v.avi", ["blue"], frames_each=10, fps=40)
    frames = []
    with FrameSource(tmp_path / "v.avi") as source:
        LiveClassification(source, load_bundle(tiny_checkpoint), PredictOptions(device="cpu")).run(
            frames.append, frozen=lambda: True)
        assert source.read == 10
    assert frames == []


def test_snapshots_are_new_files_never_over_another(tmp_path):
    picture = np.random.RandomState(0).randint(0, 256, (30, 40, 3)).astype(np.uint8)
    paths = [save_snapshot(picture, tmp_path / "shots", stem="red") for _ in range(3)]
    assert len(set(paths)) == 3 and all(p.name.startswith("red-") for p in paths)
    assert np.array_equal(np.asarray(Image.open(paths[0])), picture)
    assert not [p for p in (tmp_path / "shots").iterdir() if p.name.startswith(".")]  # no partial left


def test_without_opencv_and_for_a_bad_file_a_sentence(tmp_path, monkeypatch):
    (tmp_path / "notes.avi").write_text("not a video")
    with pytest.raises(UserError, match="could not be opened"):
        FrameSource(tmp_path / "notes.avi")
    with pytest.raises(UserError, match="does not exist"):
        FrameSource(tmp_path / "missing.avi")
    monkeypatch.setattr(camera.importlib.util, "find_spec", lambda name: None)
    assert camera.CAMERA_EXTRA in camera.camera_support()
    with pytest.raises(UserError, match="needs OpenCV"):
        FrameSource(tmp_path / "notes.avi")
