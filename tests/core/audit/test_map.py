"""The map's parts the window and the command line share: one look of the model per picture (features, guesses,
familiarity), colour groups, and the points a drawn line holds."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_gui.core.audit.map import PictureMap, colour_groups, look_and_place, points_inside


def test_one_look_gives_the_same_guesses_as_classifying(tiny_checkpoint, image_folder):
    from resnet_gui.core.images.files import discover
    from resnet_gui.core.inference.predictor import Predictor
    from resnet_gui.core.models.resnets import load_checkpoint_bundle

    paths = [str(p) for p in discover([image_folder]).files]
    bundle = load_checkpoint_bundle(tiny_checkpoint)
    made = look_and_place(paths, [None] * len(paths), bundle, device="cpu")
    predicted = {p.path: p for p in Predictor(bundle, device="cpu", tta=None).predict_all(paths)}
    for i, path in enumerate(paths):
        guess = predicted[path]
        if guess.error:
            assert made.predicted[i] is None and np.isnan(made.confidence[i]) and np.isnan(made.xy[i]).all()
        else:
            assert made.predicted[i] == guess.top_k[0].label
            assert made.confidence[i] == pytest.approx(guess.top_k[0].prob, abs=1e-4)
    assert made.placed == sum(1 for p in predicted.values() if not p.error) and made.method == "pca"
    assert list(made.colours) == list(bundle.classes)
    assert made.features.shape == (len(paths), 512)


def small_map() -> PictureMap:
    labels = ["a", "a", "b", None, "b"]
    return PictureMap(["1", "2", "3", "4", "5"], labels, ["a", "b", "b", "a", None],
                      np.array([0.4, 0.9, 0.99, 0.6, np.nan], np.float32), np.array([False, True, False, False, False]),
                      np.zeros((5, 2)), np.array([[0, 0], [1, 1], [2, 2], [3, 3], [np.nan, np.nan]], np.float32),
                      "pca", {"a": "#111111", "b": "#222222"})


@pytest.mark.parametrize(("by", "expected"), [
    ("label", {"a": [0, 1], "b": [2], "unlabelled": [3]}),  # row 4 is not placed
    ("prediction", {"a": [0, 3], "b": [1, 2]}),
    ("confidence", {"under 50%": [0], "50-80%": [3], "80-95%": [1], "95% or more": [2]}),
    ("unfamiliar", {"familiar": [0, 2, 3], "unfamiliar": [1]}),
])
def test_points_are_grouped_by_what_colours_them(by, expected):
    groups = colour_groups(small_map(), by)
    assert {name: rows.tolist() for name, _, rows in groups} == expected


def test_a_drawn_line_holds_the_points_inside_it():
    rng = np.random.default_rng(1)
    xy = rng.uniform(-1, 1, (5000, 2)).astype(np.float32)
    xy[:10] = np.nan
    triangle = np.array([[-1, -1], [1, -1], [0, 1]], float)
    inside = points_inside(xy, triangle)
    x, y = xy[:, 0], xy[:, 1]
    truth = np.flatnonzero((y >= -1) & (y <= 2 * x + 1) & (y <= -2 * x + 1))
    assert set(inside.tolist()) ^ set(truth.tolist()) == set()
    # a hand-drawn circle of 500 corners: the share inside is the circle's area
    angle = np.linspace(0, 2 * np.pi, 500)
    circle = np.c_[0.5 * np.cos(angle), 0.5 * np.sin(angle)]
    assert len(points_inside(xy, circle)) / 4990 == pytest.approx(np.pi * 0.25 / 4, abs=0.02)
    assert len(points_inside(xy, circle[:2])) == 0
