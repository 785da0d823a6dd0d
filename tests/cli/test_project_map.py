"""`resnet-gui project map`: every picture placed by what a model sees in it, as a PNG and as coordinates."""

from __future__ import annotations

import csv

import numpy as np
from PIL import Image

from resnet_gui.cli import main
from tests.support import make_shapes_dataset


def test_the_map_places_each_class_in_its_own_cloud(colour_model, tmp_path, capsys):
    """The session's model of red, green and blue squares looks at a project of new squares (and three
    unlabelled ones): on the map each class lies closer to itself than to the others."""
    _, result = colour_model
    tree = make_shapes_dataset(tmp_path / "tree", per_class=10, size=32, seed=7)
    pool = make_shapes_dataset(tmp_path / "pool", per_class=1, size=32, seed=8)
    project = tmp_path / "P"
    assert main(["project", "new", str(project), "--from", str(tree)]) == 0
    assert main(["project", "add", str(project), str(pool)]) == 0
    capsys.readouterr()
    out, coordinates = tmp_path / "map.png", tmp_path / "map.csv"
    assert main(["project", "map", str(project), "--checkpoint", str(result.best_path), "--method", "pca",
                 "--out", str(out), "--csv", str(coordinates)]) == 0
    assert "33 of 33 picture(s) placed by PCA" in capsys.readouterr().err
    with Image.open(out) as image:
        assert image.format == "PNG" and image.width > image.height >= 1000
    with open(coordinates, newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert len(rows) == 33 and sum(1 for r in rows if not r["label"]) == 3
    points = {name: np.array([[float(r["x"]), float(r["y"])] for r in rows if r["label"] == name])
              for name in ("red", "green", "blue")}
    centres = {name: p.mean(axis=0) for name, p in points.items()}
    for name, p in points.items():
        own = np.linalg.norm(p - centres[name], axis=1).mean()
        nearest_other = min(np.linalg.norm(centres[name] - centres[o]) for o in centres if o != name)
        assert own < nearest_other, (name, own, nearest_other)


def test_a_map_needs_a_model_and_a_place_to_go(tmp_path, capsys):
    tree = make_shapes_dataset(tmp_path / "tree", per_class=3, size=32)
    assert main(["project", "new", str(tmp_path / "P"), "--from", str(tree)]) == 0
    capsys.readouterr()
    assert main(["project", "map", str(tmp_path / "P"), "--out", str(tmp_path / "m.png")]) == 2
    assert "train P once first" in capsys.readouterr().err and not (tmp_path / "m.png").exists()
    assert main(["project", "map", str(tmp_path / "P")]) == 2
    assert "--out MAP.png" in capsys.readouterr().err
