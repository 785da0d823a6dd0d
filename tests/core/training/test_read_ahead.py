"""The training pictures decoded by a second process while `train` imports torch (core/training/read_ahead.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np

from resnet_gui.core.images import datasets, decoding
from resnet_gui.core.images.folders import scan_class_folder
from resnet_gui.core.training import read_ahead
from resnet_gui.core.training.settings import TrainSettings
from tests.support import make_shapes_dataset

# `resnet-gui train` in a fresh process, counting the pictures the run's own process decodes (the forked child
# inherits the count but not its total)
COUNTED_TRAIN = textwrap.dedent("""
    import json, os, sys
    from resnet_gui.core.images import decoding

    me, real, decoded = os.getpid(), decoding.load_rgb, []

    def load_rgb(path, **options):
        if os.getpid() == me:
            decoded.append(path)
        return real(path, **options)

    decoding.load_rgb = load_rgb
    from resnet_gui.cli import main

    code = main(["train", sys.argv[1], "--weights", "none", "--epochs", "1", "--batch-size", "8",
                 "--out", sys.argv[2], "--no-amp"])
    print(json.dumps({"code": code, "decoded_by_the_run": len(decoded)}))
""")


def test_train_finds_its_pictures_decoded_by_the_child_at_the_side_it_reads_them(tmp_path):
    data = make_shapes_dataset(tmp_path / "d", per_class=4, size=40)  # 40 px: the side is chosen from them
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", COUNTED_TRAIN, str(data), str(tmp_path / "m.pt")],
                          capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])
    assert result == {"code": 0, "decoded_by_the_run": 0}, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert (tmp_path / "m.pt").is_file()


class ReadyAfter:
    """The run's 'ready' flag, set once the child has looked `looks` times."""

    def __init__(self, looks: int):
        self.looks = looks

    def is_set(self) -> bool:
        self.looks -= 1
        return self.looks < 0


def test_a_child_stopped_early_keeps_what_it_decoded_and_the_run_decodes_only_the_rest(tmp_path, monkeypatch):
    folder = make_shapes_dataset(tmp_path / "d", per_class=4, size=40)
    monkeypatch.setattr(read_ahead, "CHUNK", 5)
    read_ahead._read(TrainSettings(data_dir=str(folder), weights="none"), ReadyAfter(1))  # one chunk, then stop

    real, decoded = decoding.load_rgb, []
    monkeypatch.setattr(decoding, "load_rgb", lambda path, **options: decoded.append(path) or real(path, **options))
    run = datasets.prepare_data(scan_class_folder(folder), image_size=40, seed=1)
    assert len(decoded) == 12 - 5
    again = datasets.prepare_data(scan_class_folder(folder), image_size=40, seed=1, remember=False)
    assert {s.path: s.pixels.tobytes() for s in run.train + run.val} == \
        {s.path: s.pixels.tobytes() for s in again.train + again.val}
    assert all(isinstance(s.pixels, np.ndarray) and s.pixels.shape[2] == 3 for s in run.train)


def test_the_side_is_the_one_the_run_keeps_its_pictures_at():
    paths = []  # no pictures to look at: the default input of the stem chosen
    assert read_ahead.side_for(TrainSettings(image_size=64), paths) == decoding.cache_side(64) == 73
    assert read_ahead.side_for(TrainSettings(image_size=224), paths) == 256


def test_no_child_where_it_cannot_help(tmp_path, monkeypatch):
    started = []
    monkeypatch.setattr(read_ahead.multiprocessing, "get_context", lambda method: started.append(method))
    folder = str(tmp_path)
    assert "torch" in sys.modules  # this process has it: the import the child would overlap is over
    assert read_ahead.start_reading_ahead(TrainSettings(data_dir=folder, weights="none")) is None
    monkeypatch.delitem(sys.modules, "torch")
    for settings in (TrainSettings(data_dir=folder, weights="model.pt"),  # the checkpoint decides the input
                     TrainSettings(data_dir=folder, resume="model.last.pt"),
                     TrainSettings(data_dir="", weights="none")):
        assert read_ahead.start_reading_ahead(settings) is None
    assert started == []
