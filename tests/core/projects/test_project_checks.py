"""The review views a project's check of the data feeds: likely mislabelled, copies, leaking into validation.
What the check found about pictures is stored; a decision settles it, and a kept picture stays kept."""

from __future__ import annotations

import pytest
from PIL import Image

from resnet_gui.core.projects.audit import check_project
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from tests.core.audit.planted import NEAR_COPIES, planted_project
from tests.support import statements_run


def names_in(project: Project, view: str) -> list[str]:
    return [p.path.name for p in project.pictures(ProjectView(view))]


def test_the_check_feeds_three_review_views_and_decisions_settle_them(tmp_path):
    folder = planted_project(tmp_path)
    report, page, run_id = check_project(folder)
    assert run_id is None and page.is_file()
    with Project.open(folder) as project:
        counts = project.count_checks()
        assert counts["copies"] == 2 and counts["leaking"] == 2
        assert set(names_in(project, "copies")) == {"moss-3-000.png", "two-classes.jpg"}
        assert names_in(project, "leaking") == ["amber-3-001.png", "leak.jpg"]  # the training copy first
        mislabelled = project.pictures(ProjectView("mislabelled"))
        assert {"flipped-0.png", "flipped-1.png"} <= {p.path.name for p in mislabelled[:4]}
        flipped = next(p for p in mislabelled if p.path.name == "flipped-0.png")
        names = project.class_names()
        assert names[flipped.suggested] == "slate" and "looks like slate" in flipped.note
        leak = project.pictures(ProjectView("leaking"))[1]
        assert leak.note.startswith("the validation copy, in amber: 2 near copies across the split")

        # Assigning the suggested class settles the picture's finding; the counts come with the decision.
        decision = project.assign(flipped.id, "slate")
        assert decision.counts.checks["mislabelled"] == len(mislabelled) - 1
        assert "flipped-0.png" not in names_in(project, "mislabelled")
        # Excluding one of two copies settles the pair.
        copy = next(p for p in project.pictures(ProjectView("copies")) if p.path.name == "two-classes.jpg")
        assert project.exclude(copy.id).counts.checks["copies"] == 0
        # Kept as it is: out of the view, the pair with it, and not listed again by the next check.
        statements = []
        project.db.set_trace_callback(statements.append)
        decision = project.keep(leak.id, "leaking")
        project.db.set_trace_callback(None)
        assert len(statements_run(statements)) == 2, statements  # the keeping, the picture and counts
        assert decision.source == "kept" and decision.counts.checks["leaking"] == 0
        assert project.picture(leak.id).class_id is not None  # its label is not touched
        still = [p for p in project.pictures(ProjectView("mislabelled")) if p.path.name == "flipped-1.png"]
        project.keep(still[0].id, "mislabelled")

    check_project(folder)
    with Project.open(folder) as project:
        assert names_in(project, "leaking") == [] and "flipped-1.png" not in names_in(project, "mislabelled")
        assert "flipped-0.png" not in names_in(project, "mislabelled")  # relabelled: right now
        # A new label undoes the keeping: the next check may list it again.
        project.assign(still[0].id, "moss")
    check_project(folder)
    with Project.open(folder) as project:
        assert "flipped-1.png" in names_in(project, "mislabelled")


def test_a_leak_left_on_one_side_is_settled(tmp_path):
    """Three copies, two of them in validation: excluding one leaves a leak; excluding the other ends it."""
    folder = planted_project(tmp_path)
    with Project.open(folder) as project:
        source = project.file_path(project.db.execute(
            "SELECT path FROM images WHERE path LIKE '%amber-3-001.png'").fetchone()[0])
        NEAR_COPIES["brightened"](Image.open(source).convert("RGB")).save(tmp_path / "leak-2.png")
        project.add_images([tmp_path / "leak-2.png"], "amber")
        project.db.execute("UPDATE images SET split = 'val' WHERE path LIKE '%leak-2.png'")
    check_project(folder)
    with Project.open(folder) as project:
        leaking = {p.path.name: p for p in project.pictures(ProjectView("leaking"))}
        assert set(leaking) == {"amber-3-001.png", "leak.jpg", "leak-2.png"}
        project.exclude(leaking["leak.jpg"].id)
        assert set(names_in(project, "leaking")) == {"amber-3-001.png", "leak-2.png"}
        project.exclude(leaking["leak-2.png"].id)
        assert names_in(project, "leaking") == []


def test_a_selection_is_labelled_or_excluded_in_one_transaction(tmp_path):
    from resnet_gui.core.projects.schema import ProjectError

    folder = planted_project(tmp_path)
    with Project.open(folder) as project:
        amber = [p.id for p in project.pictures(ProjectView("all")) if "flipped" in p.path.name]
        assert project.assign_many(amber, "slate") == 2
        names = project.class_names()
        assert {names[project.picture(i).class_id] for i in amber} == {"slate"}
        assert [h["source"] for h in project.history(amber[0])] == ["imported", "typed"]
        before = [project.picture(i).class_id for i in amber]
        with pytest.raises(ProjectError, match="no class"):
            project.assign_many(amber, "no such class")
        assert [project.picture(i).class_id for i in amber] == before
        assert project.exclude_many(amber) == 2 and all(project.picture(i).excluded for i in amber)
