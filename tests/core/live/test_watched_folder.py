"""A watched folder, fed by a test that writes pictures as a microscope does: slowly, in bursts, half-written,
replaced while written; stopped and started again. Settle times are short so the tests are quick."""

from __future__ import annotations

import csv
import io
import os
import shutil
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.live import arrivals as arrivals_module
from resnet_gui.core.live.watched_folder import WatchedFolderClassification, WatchSettings
from resnet_gui.core.models.resnets import load_bundle
from tests.support import save_noise

SETTLE = 0.2


def png_bytes(seed: int, size=(40, 40)) -> bytes:
    pixels = np.random.RandomState(seed).randint(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def csv_paths(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))[1:]
    return [row[0] for row in rows]


def wait_for(condition, timeout=15.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.02)
    return False


class Watching:
    """A watch running on a thread of its own, recording every batch it hands on."""

    def __init__(self, settings: WatchSettings, checkpoint: Path, batch_size: int = 8):
        options = PredictOptions(device="cpu", batch_size=batch_size, num_workers=0, top_k=2)
        self.watch = WatchedFolderClassification(settings, load_bundle(checkpoint), options)
        self.batches = []
        self.statuses: list[str] = []
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            self.watch.run(self.batches.append, cancelled=self.stop.is_set, on_status=self.statuses.append,
                           wait=0.05)
        except BaseException as exc:  # noqa: BLE001 - the test says it
            self.error = exc

    @property
    def rows(self):
        return [p for batch in self.batches for p in batch.predictions]


@contextmanager
def watching(settings: WatchSettings, checkpoint: Path, **kwargs):
    running = Watching(settings, checkpoint, **kwargs)
    running.thread.start()
    try:
        yield running
    finally:
        running.stop.set()
        running.thread.join(timeout=30)
    assert running.error is None, running.error
    assert not running.thread.is_alive()


def settings_for(tmp_path, **changes) -> WatchSettings:
    folder = tmp_path / "incoming"
    folder.mkdir(exist_ok=True)
    return WatchSettings(str(folder), csv=str(tmp_path / "out.csv"), settle=SETTLE, after_close=0.1,
                         rescan=5.0, **changes)


def test_pictures_there_already_then_new_ones_each_once_and_a_slow_writer_is_read_when_whole(tmp_path,
                                                                                               tiny_checkpoint):
    settings = settings_for(tmp_path)
    folder = Path(settings.folder)
    there = [save_noise(folder / f"old {i}.png", seed=i) for i in range(3)]
    (folder / "notes.txt").write_text("not a picture")
    with watching(settings, tiny_checkpoint) as running:
        assert wait_for(lambda: len(running.rows) == 3)
        data = png_bytes(7)
        with open(folder / "slow.png", "wb") as slow:  # one open file, written in four pauses
            for start in range(0, len(data), len(data) // 4 + 1):
                slow.write(data[start:start + len(data) // 4 + 1])
                slow.flush()
                time.sleep(0.08)
                assert len(running.rows) == 3, "a picture still being written was read"
        assert wait_for(lambda: len(running.rows) == 4)
        (folder / "fast.png").write_bytes(png_bytes(8))
        assert wait_for(lambda: len(running.rows) == 5)
        time.sleep(2 * SETTLE)
    rows = {r.path: r for r in running.rows}
    assert sorted(rows) == sorted([str(p) for p in there] + [str(folder / "slow.png"), str(folder / "fast.png")])
    assert all(r.ok for r in rows.values())
    assert sorted(csv_paths(tmp_path / "out.csv")) == sorted(rows)  # every row on disk, each once
    assert any("waiting for new pictures" in s for s in running.statuses)


def test_a_burst_is_classified_in_batches(tmp_path, tiny_checkpoint):
    settings = settings_for(tmp_path)
    staging = tmp_path / "staging"
    staging.mkdir()
    for i in range(40):
        (staging / f"burst {i:02d}.png").write_bytes(png_bytes(100 + i))
    with watching(settings, tiny_checkpoint, batch_size=8) as running:
        time.sleep(0.2)
        for path in sorted(staging.iterdir()):
            os.replace(path, Path(settings.folder) / path.name)  # a writer that renames its finished files in
        assert wait_for(lambda: len(running.rows) == 40)
    assert len({r.path for r in running.rows}) == 40
    assert len(running.batches) <= 8  # not one by one: 40 pictures in batches of up to 8
    assert max(len(b.predictions) for b in running.batches) == 8


def test_a_half_written_picture_never_becomes_an_error_row(tmp_path, tiny_checkpoint):
    settings = settings_for(tmp_path)
    folder = Path(settings.folder)
    data = png_bytes(3)
    with watching(settings, tiny_checkpoint) as running:
        with open(folder / "paused.png", "wb") as paused:
            paused.write(data[: len(data) // 2])
            paused.flush()
            time.sleep(2 * SETTLE)  # the writer pauses longer than the settle time: read once, cut short
            paused.write(data[len(data) // 2:])
        assert wait_for(lambda: len(running.rows) == 1)
        # A file replaced while it is written: the writer starts over with other content.
        (folder / "replaced.png").write_bytes(png_bytes(4)[:300])
        time.sleep(0.05)
        (folder / "replaced.png").write_bytes(png_bytes(5))
        assert wait_for(lambda: len(running.rows) == 2)
        (folder / "broken.png").write_bytes(b"\x89PNG not a picture at all")  # stays broken: one error row
        assert wait_for(lambda: len(running.rows) == 3)
        time.sleep(2 * SETTLE)
    rows = {Path(r.path).name: r for r in running.rows}
    assert rows["paused.png"].ok and rows["replaced.png"].ok
    assert not rows["broken.png"].ok
    assert len(running.rows) == 3 and sorted(map(os.path.basename, csv_paths(tmp_path / "out.csv"))) == \
        ["broken.png", "paused.png", "replaced.png"]


def test_stopped_and_started_again_every_picture_is_classified_once(tmp_path, tiny_checkpoint):
    settings = settings_for(tmp_path)
    folder = Path(settings.folder)
    for i in range(4):
        save_noise(folder / f"first {i}.png", seed=i)
    with watching(settings, tiny_checkpoint) as running:
        assert wait_for(lambda: len(running.rows) == 4)
    for i in range(3):
        save_noise(folder / f"second {i}.png", seed=20 + i)
    with watching(settings, tiny_checkpoint) as again:
        assert again.watch.already == 4
        assert wait_for(lambda: len(again.rows) == 3)
        time.sleep(2 * SETTLE)
    assert sorted(Path(r.path).name for r in again.rows) == [f"second {i}.png" for i in range(3)]
    paths = csv_paths(tmp_path / "out.csv")
    assert len(paths) == 7 and len(set(paths)) == 7


def test_sorted_into_label_folders_moved_never_over_another_file(tmp_path, tiny_checkpoint):
    out = tmp_path / "sorted"
    settings = settings_for(tmp_path, sort_into=str(out), move=True)
    folder = Path(settings.folder)
    for i in range(5):
        save_noise(folder / f"cell {i}.png", seed=i)
    with watching(settings, tiny_checkpoint) as running:
        assert wait_for(lambda: len(running.rows) == 5)
    label = running.rows[0].verdict
    placed = {Path(r.path).name: running.batches[0].placed.get(r.path) for r in running.batches[0].predictions}
    assert not any(folder.iterdir())  # moved out of the watched folder
    for name, target in placed.items():
        assert target.parent.parent == out.resolve() and target.name == name and target.exists()
    # A picture of the same name arrives later: it is placed beside the first, never over it.
    first = next(out.rglob("cell 0.png"))
    save_noise(folder / "cell 0.png", seed=99)
    with watching(settings, tiny_checkpoint) as running:
        assert wait_for(lambda: len(running.rows) == 1)
    second = running.batches[0].placed[str(folder / "cell 0.png")]
    assert second != first and second.name.startswith("cell 0-") and first.exists()
    assert label in {p.name for p in out.iterdir()} or (out / "_unsure").exists() or (out / "_unfamiliar").exists()


def test_a_folder_deleted_and_made_again_is_watched_again(tmp_path, tiny_checkpoint):
    settings = settings_for(tmp_path)
    folder = Path(settings.folder)
    with watching(settings, tiny_checkpoint) as running:
        save_noise(folder / "before.png", seed=1)
        assert wait_for(lambda: len(running.rows) == 1)
        shutil.rmtree(folder)
        assert wait_for(lambda: any("not there" in s for s in running.statuses), timeout=5)
        folder.mkdir()
        save_noise(folder / "after.png", seed=2)
        assert wait_for(lambda: len(running.rows) == 2)
    assert [Path(r.path).name for r in running.rows] == ["before.png", "after.png"]


def test_without_change_events_the_listing_finds_the_pictures(tmp_path, tiny_checkpoint, monkeypatch):
    """A network share delivers no events: the slow listing is the fallback."""
    monkeypatch.setattr(arrivals_module.FolderArrivals, "_watch", lambda self: None)
    settings = settings_for(tmp_path)
    settings.rescan = 0.5
    with watching(settings, tiny_checkpoint) as running:
        assert wait_for(lambda: any("no change events" in s for s in running.statuses), timeout=5)
        save_noise(Path(settings.folder) / "unseen.png", seed=3)
        assert wait_for(lambda: len(running.rows) == 1)


def test_a_file_where_the_folder_should_be_is_a_sentence(tmp_path, tiny_checkpoint):
    from resnet_gui.core.errors import UserError

    (tmp_path / "file.png").write_bytes(b"x")
    with pytest.raises(UserError, match="is a file, not a folder"):
        WatchedFolderClassification(WatchSettings(str(tmp_path / "file.png"), csv=str(tmp_path / "o.csv")),
                                    load_bundle(tiny_checkpoint), PredictOptions(device="cpu"))
