"""A project's runs side by side (what changed, per-class figures, confusion, disagreements) and pinning one as
the project's model, in the core and from the command line. Runs made by hand: no training needed."""

from __future__ import annotations

import json

import pytest

from resnet_gui.cli import main
from resnet_gui.core.projects.compare import compare_two_runs, run_summaries
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.schema import ProjectError
from tests.support import make_two_runs


@pytest.fixture
def two_runs(tmp_path):
    project = Project.open(make_two_runs(tmp_path))
    labelled = [p for p in project.pictures(ProjectView("all")) if p.class_id is not None]
    val = [p for p in labelled if p.id in dict(project.run_images(1, "val"))]
    yield project, val, project.pictures(ProjectView("unlabelled")), [(c.id, c.name) for c in project.classes()]
    project.close()


def test_runs_say_what_changed_since_the_run_before(two_runs):
    project, *_ = two_runs
    first, second = run_summaries(project)
    assert first.changed == {} and (first.trained, first.validated) == (6, 3)
    assert second.changed == {"epochs": (5, 10), "weights": (None, "run-0001.pt")}  # paths it wrote: not settings
    assert not first.pinned and not second.pinned


def test_two_runs_compared_per_class_with_their_confusion_and_disagreements(two_runs):
    project, val, pool, classes = two_runs
    c = compare_two_runs(project, 1, 2)
    assert c.pictures == 3 and c.accuracy == pytest.approx((2 / 3, 1.0))
    first_class, second_class = classes[0][1], classes[1][1]
    assert c.classes == [first_class, second_class]
    figures = {f.name: f for f in c.per_class}
    # run 1 called one of the two first-class pictures the second class
    assert figures[first_class].recall == pytest.approx((0.5, 1.0))
    assert figures[second_class].precision == pytest.approx((0.5, 1.0))
    assert c.confusion == ([[1, 1], [0, 1]], [[2, 0], [0, 1]])
    assert (c.disagreeing, c.predicted_by_both) == (3, 3 + len(pool))
    assert c.disagreements[0].label == first_class  # the labelled one first, then the surest
    assert c.disagreements[0].said == (second_class, first_class)
    assert [d.label for d in c.disagreements[1:]] == [None, None]
    assert c.disagreements[1].probs[0] >= c.disagreements[2].probs[0]
    assert project.compare_runs(2, 1)["accuracy"] == 1.0  # the train report's figures come from the same place


def test_a_pinned_run_is_the_projects_model_until_unpinned(two_runs, tmp_path):
    project, *_ = two_runs
    assert project.model_run().id == 2 and project.latest_predicting_run() == 2
    project.pin_run(1)
    assert project.model_run().id == 1 and project.latest_predicting_run() == 1
    assert [s.pinned for s in run_summaries(project)] == [True, False]
    project.run(1).checkpoint.unlink()  # its model file gone: the newest again, not a failure
    assert project.model_run().id == 2
    with pytest.raises(ProjectError, match="Run 1 has no model file, so it cannot be the project's model"):
        project.pin_run(1)
    project.pin_run(None)
    assert project.pinned_run_id() is None


def test_runs_compare_and_pin_from_the_command_line(two_runs, capsys):
    project, val, *_ = two_runs
    root = str(project.root)
    project.close()
    assert main(["project", "pin", root, "1"]) == 0
    assert "run 1 is the project's model now" in capsys.readouterr().err
    assert main(["project", "runs", root]) == 0
    out = capsys.readouterr().out
    assert "   1* " in out and "epochs 5 -> 10" in out and "66.7%" in out
    assert main(["project", "runs", root, "--json"]) == 0
    runs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["pinned"] for r in runs] == [True, False] and runs[1]["changed"]["epochs"] == [5, 10]
    assert main(["project", "compare", root, "1", "2"]) == 0
    out = capsys.readouterr().out
    assert "on the 3 validation pictures" in out and "(+33.3 points)" in out and "they disagree on 3 of the" in out
    assert main(["project", "compare", root, "1", "2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["confusion"] == [[[1, 1], [0, 1]], [[2, 0], [0, 1]]]
    assert main(["project", "compare", root, "1", "7"]) != 0
    assert "has no run 7" in capsys.readouterr().err
    assert main(["project", "pin", root, "--latest"]) == 0
    assert "uses its newest run with a model (run 2)" in capsys.readouterr().err
