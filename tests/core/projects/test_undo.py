"""Undo and redo of every kind of edit, in order, after reopening the project, and a new edit dropping the redo."""

from __future__ import annotations

import pytest

from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.schema import ProjectError
from tests.support import make_shapes_dataset


def state(project: Project) -> dict:
    """Everything an edit may change."""
    return {table: project.db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()
            for table in ("images", "classes", "labels", "check_findings", "check_kept")}


@pytest.fixture
def reviewed(tmp_path):
    make_shapes_dataset(tmp_path / "seed", per_class=2, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=3, seed=2)
    project = Project.create(tmp_path / "proj")
    project.import_class_tree(tmp_path / "seed")
    project.add_images([tmp_path / "pool"])
    red, green, blue = (project.class_named(n).id for n in ("red", "green", "blue"))
    pool = project.pictures(ProjectView("unlabelled"))
    run = project.begin_run({}, [(red, "red"), (green, "green"), (blue, "blue")], [], [], {})
    project.store_predictions(run, [(p.id, [(red, 0.7), (blue, 0.2)], None) for p in pool])
    labelled = [p for p in project.pictures(ProjectView("all")) if p.class_id is not None]
    project.db.executemany(  # what a check found: two copies, and one picture that looks mislabelled
        "INSERT INTO check_findings(image_id, view, position, finding, reason) VALUES (?, ?, ?, ?, 'found')",
        [(labelled[0].id, "copies", 0, 1), (labelled[1].id, "copies", 1, 1), (labelled[2].id, "mislabelled", 0, 2)])
    yield project, pool, labelled
    project.close()


def test_every_kind_of_edit_is_undone_and_redone_in_order_across_a_reopen(reviewed):
    project, pool, labelled = reviewed
    states, names = [state(project)], []
    edits = [
        (lambda: project.accept(pool[0].id), f"Accept {pool[0].path.name} as red"),
        (lambda: project.assign(pool[1].id, "green"), f"Label {pool[1].path.name} as green"),
        (lambda: project.exclude(pool[2].id), f"Exclude {pool[2].path.name}"),
        (lambda: project.keep(labelled[2].id, "mislabelled"), f"Keep {labelled[2].path.name} as it is"),
        (lambda: project.assign(labelled[0].id, "blue"), f"Label {labelled[0].path.name} as blue"),  # settles copies
        (lambda: project.assign_many([pool[3].id, pool[4].id], "red"), "Label 2 picture(s) as red"),
        (lambda: project.exclude_many([pool[5].id]), "Exclude 1 picture(s)"),
        (lambda: project.rename_class("red", "crimson"), "Rename red to crimson"),
        (lambda: project.set_colour("blue", "#123456"), "Recolour blue"),
        (lambda: project.add_class("violet"), "Add the class violet"),
        (lambda: project.merge_classes("green", "blue"), "Merge green into blue"),
        (lambda: project.delete_class("crimson"), "Delete the class crimson"),
    ]
    for edit, name in edits:
        edit()
        assert project.undo_name() == name
        states.append(state(project))
        names.append(name)
    assert project.db.execute("SELECT COUNT(*) FROM check_findings").fetchone()[0] == 0  # all settled
    for n in range(len(edits), 0, -1):
        if n == 6:  # halfway back: closed and opened again, the history is still there
            root = project.root
            project.close()
            project = Project.open(root)
        assert project.undo() == names[n - 1]
        assert state(project) == states[n - 1], names[n - 1]
    assert project.undo_name() is None and project.redo_name() == names[0]
    with pytest.raises(ProjectError, match="nothing to undo"):
        project.undo()
    for n in range(1, len(edits) + 1):
        assert project.redo() == names[n - 1]
        assert state(project) == states[n], names[n - 1]
    with pytest.raises(ProjectError, match="nothing to redo"):
        project.redo()
    project.close()


def test_a_new_edit_after_undo_drops_what_was_undone_and_adding_pictures_is_no_edit(reviewed, tmp_path):
    project, pool, _ = reviewed
    project.accept(pool[0].id)
    project.assign(pool[1].id, "green")
    project.undo()
    assert project.redo_name() == f"Label {pool[1].path.name} as green"
    project.exclude(pool[2].id)
    assert project.redo_name() is None and project.undo_name() == f"Exclude {pool[2].path.name}"
    extra = make_shapes_dataset(tmp_path / "extra", per_class=1, seed=9, classes=("red",))
    project.add_images([extra], "red")
    assert project.undo_name() == f"Exclude {pool[2].path.name}"  # the added, labelled picture is no edit
    project.undo()
    project.undo()
    assert project.picture(pool[0].id).class_id is None and project.undo_name() is None
