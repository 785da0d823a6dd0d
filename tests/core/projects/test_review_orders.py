"""The review orders that need more than one number: diverse (k-centre on the run's sketches), mixed
(doubtful, then spread out), per-class quota; and the line that says why a picture is where it is."""

from __future__ import annotations

import numpy as np
import pytest

from resnet_gui.cli import main
from resnet_gui.core.projects import review_order
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.review_order import k_centre, sketch, unsketch
from tests.support import make_shapes_dataset


@pytest.fixture
def doubts(tmp_path):
    """30 unlabelled pictures: the 20 most doubtful look alike (group A, like the 9 labelled ones), 5 are of a
    look B and 5 of a look C; the run predicts A and C as red, B as blue."""
    make_shapes_dataset(tmp_path / "seed", per_class=3, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=10, seed=2)
    project = Project.create(tmp_path / "proj")
    project.import_class_tree(tmp_path / "seed")
    project.add_images([tmp_path / "pool"])
    rng = np.random.default_rng(0)
    looks = np.eye(64, dtype=np.float32)[:3] * 10

    def near(look: int, count: int) -> list[bytes]:
        return sketch(looks[look] + rng.normal(0, 0.3, (count, 64)).astype(np.float32))

    red, blue = project.class_named("red").id, project.class_named("blue").id
    pool = project.pictures(ProjectView("unlabelled"))
    labelled = [p for p in project.pictures(ProjectView("all")) if p.class_id is not None]
    run = project.begin_run({}, [(red, "red"), (blue, "blue")], [], [], {})
    kinds = ["A"] * 20 + ["B"] * 5 + ["C"] * 5
    sketches = near(0, 20) + near(1, 5) + near(2, 5)
    rows = []
    for n, (picture, kind, drawn) in enumerate(zip(pool, kinds, sketches, strict=True)):
        best = 0.40 + 0.01 * n  # the first the most doubtful
        guess = blue if kind == "B" else red
        other = red if guess == blue else blue
        rows.append((picture.id, [(guess, best), (other, 1 - best - 0.05)], None, False, drawn))
    rows += [(p.id, [(red, 0.9), (blue, 0.1)], None, False, s) for p, s in zip(labelled, near(0, 9), strict=True)]
    project.store_predictions(run, rows)
    kind_of = {p.id: kind for p, kind in zip(pool, kinds, strict=True)}
    yield project, run, kind_of
    project.close()


def test_diverse_puts_the_looks_no_one_labelled_first_and_confidence_does_not(doubts):
    project, run, kind_of = doubts
    diverse = project.pictures(ProjectView("review"), run_id=run, order="diverse")
    confident = project.pictures(ProjectView("review"), run_id=run, order="confidence")
    assert {kind_of[p.id] for p in diverse[:2]} == {"B", "C"}
    assert [kind_of[p.id] for p in confident[:10]] == ["A"] * 10
    assert sorted(p.id for p in diverse) == sorted(p.id for p in confident)  # every picture, once
    assert "unlike the labelled and earlier pictures" in diverse[0].why
    assert confident[0].why == "doubt: 40% red vs 55% blue"
    # a limit cuts the spread-out order, not the doubt order before it
    assert [p.id for p in project.pictures(ProjectView("review"), run_id=run, order="diverse", limit=2)] == [
        p.id for p in diverse[:2]]


def test_mixed_spreads_out_the_most_doubtful_only(doubts, monkeypatch):
    """With a pool of the 22 most doubtful (20 of A, 2 of B), mixed reaches B first and C not before A."""
    project, run, kind_of = doubts
    monkeypatch.setattr(review_order, "MIXED_POOL", 22)
    mixed = [kind_of[p.id] for p in project.pictures(ProjectView("review"), run_id=run, order="mixed")]
    assert mixed[0] == "B" and mixed.index("C") >= 22


def test_quota_takes_each_predicted_class_in_turn(doubts):
    project, run, kind_of = doubts
    quota = project.pictures(ProjectView("review"), run_id=run, order="quota")
    assert [kind_of[p.id] == "B" for p in quota[:4]] == [False, True, False, True]
    assert quota[1].why.startswith("no. 1 in doubt of those predicted blue")
    assert quota[2].why.startswith("no. 2 in doubt of those predicted red")


def test_k_centre_picks_the_farthest_each_time():
    points = np.array([[0, 0], [0.1, 0], [5, 0], [0, 3], [5.5, 0]], dtype=np.float32)
    picked, distances = k_centre(points, np.array([[0, 0]], dtype=np.float32), 5)
    assert picked == [4, 3, 2, 1, 0] and distances == pytest.approx([5.5, 3, 0.5, 0.1, 0], abs=1e-3)
    assert k_centre(points, np.zeros((0, 2), dtype=np.float32), 1)[0] == [0]  # no centres: the first given


def test_a_sketch_keeps_distances_and_marks_unreadable_rows():
    rng = np.random.default_rng(1)
    features = rng.normal(size=(40, 512)).astype(np.float32)
    features[3] = np.nan
    made = sketch(features)
    assert made[3] is None and all(len(s) == 2 * review_order.SKETCH_SIZE for i, s in enumerate(made) if i != 3)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    near = unit[0] + 0.05 * unit[1]
    rows = unsketch([s for s in sketch(np.stack([unit[0], near, unit[2]])) if s is not None])
    assert np.linalg.norm(rows[0] - rows[1]) < 0.3 < np.linalg.norm(rows[0] - rows[2])


def test_review_order_from_the_command_line(doubts, capsys):
    project, run, kind_of = doubts
    root = project.root
    assert main(["project", "review", str(root), "--order", "quota", "--json"]) == 0
    import json
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[0]["why"].startswith("no. 1 in doubt of those predicted")
