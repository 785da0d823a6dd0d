"""Training pictures decoded once and kept between runs: a retrain decodes only what is new or changed."""

import os

import numpy as np
from PIL import Image

from resnet_gui.core.images import datasets, decoding
from resnet_gui.core.images.decoded_store import DecodedStore, prune
from resnet_gui.core.images.folders import scan_class_folder
from tests.support import make_shapes_dataset


def counting_decoder(monkeypatch):
    decoded = []
    real = decoding.load_rgb

    def load_rgb(path, **options):
        decoded.append(path)
        return real(path, **options)

    monkeypatch.setattr(decoding, "load_rgb", load_rgb)
    return decoded


def pixels_of(data):
    return {s.path: s.pixels for s in data.train + data.val}


def test_a_second_run_on_the_same_pictures_decodes_none_and_sees_the_same_pixels(tmp_path, monkeypatch):
    folder = make_shapes_dataset(tmp_path / "d", per_class=4)
    decoded = counting_decoder(monkeypatch)
    first = datasets.prepare_data(scan_class_folder(folder), image_size=32, seed=1)
    assert len(decoded) == 12
    decoded.clear()
    second = datasets.prepare_data(scan_class_folder(folder), image_size=32, seed=1)
    assert decoded == []
    before, after = pixels_of(first), pixels_of(second)
    assert before.keys() == after.keys()
    assert all(np.array_equal(before[p], after[p]) for p in before)
    assert [s.path for s in first.val] == [s.path for s in second.val]


def test_a_changed_or_new_picture_is_decoded_again_and_a_removed_one_is_gone(tmp_path, monkeypatch):
    folder = make_shapes_dataset(tmp_path / "d", per_class=4)
    datasets.prepare_data(scan_class_folder(folder), image_size=32)
    changed, removed = folder / "red" / "red_000.png", folder / "blue" / "blue_001.png"
    Image.new("RGB", (40, 40), (1, 2, 3)).save(changed)
    os.utime(changed, ns=(1, 1))  # another modification time, whatever the clock's resolution
    removed.unlink()
    Image.new("RGB", (40, 40), (9, 9, 9)).save(folder / "green" / "new.png")
    decoded = counting_decoder(monkeypatch)
    data = datasets.prepare_data(scan_class_folder(folder), image_size=32)
    assert sorted(decoded) == sorted([str(changed), str(folder / "green" / "new.png")])
    pixels = pixels_of(data)
    assert str(removed) not in pixels and (pixels[str(changed)] == (1, 2, 3)).all()
    decoded.clear()
    datasets.prepare_data(scan_class_folder(folder), image_size=32)  # what changed was kept too
    assert decoded == []


def test_a_damaged_store_is_a_miss_and_is_written_again(tmp_path, monkeypatch):
    folder = make_shapes_dataset(tmp_path / "d", per_class=3)
    datasets.prepare_data(scan_class_folder(folder), image_size=32)
    paths = [p for p, _ in scan_class_folder(folder).train]
    store = DecodedStore(paths, 37)
    assert len(store.found) == 9
    store.path.write_bytes(b"not a store")
    decoded = counting_decoder(monkeypatch)
    datasets.prepare_data(scan_class_folder(folder), image_size=32)
    assert len(decoded) == 9
    assert len(DecodedStore(paths, 37).found) == 9


def test_without_remember_nothing_is_kept(tmp_path):
    folder = make_shapes_dataset(tmp_path / "d", per_class=2)
    datasets.prepare_data(scan_class_folder(folder), image_size=32, remember=False)
    paths = [p for p, _ in scan_class_folder(folder).train]
    assert not DecodedStore(paths, 37).path.exists()


def test_the_least_recently_used_stores_go_first(tmp_path):
    for age, name in enumerate(["old", "middle", "new"]):
        path = tmp_path / f"{name}.npz"
        path.write_bytes(b"x" * 100)
        os.utime(path, (1000 + age, 1000 + age))
    prune(tmp_path, keep=tmp_path / "old.npz", most=200)
    assert sorted(p.stem for p in tmp_path.glob("*.npz")) == ["new", "old"]  # kept: the one in use, and the newest
