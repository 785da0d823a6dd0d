"""A project, a destination or a folder that a hostile colleague prepared: nothing is written outside OUT,
through a link, or over a file the sort did not make."""

from __future__ import annotations

import os
import sqlite3

import pytest

from resnet_gui.cli import main
from resnet_gui.core.project import Project, ProjectError
from resnet_gui.core.project_sort import execute_sort, plan_sort
from tests.support import make_shapes_dataset


@pytest.fixture
def project(tmp_path):
    make_shapes_dataset(tmp_path / "seed", per_class=2, seed=1, size=20)
    with Project.create(tmp_path / "proj") as made:
        made.import_class_tree(tmp_path / "seed")
    return tmp_path / "proj"


def rename_in_the_database(project, old: str, new: str) -> None:
    """What a colleague's edited project.sqlite holds: a name the app would never have taken when typed."""
    db = sqlite3.connect(project / "project.sqlite")
    with db:
        db.execute("UPDATE classes SET name = ? WHERE name = ?", (new, old))
    db.close()


@pytest.mark.parametrize("name", ["../../escaped", "/tmp/resnet-gui-elsewhere", "..", "a/b", "ok\nname"])
def test_a_class_name_that_is_a_path_is_refused_before_anything_is_sorted(project, tmp_path, capsys, name):
    rename_in_the_database(project, "red", name)
    out = tmp_path / "out" / "sorted"
    with Project.open(project) as opened, pytest.raises(ProjectError, match="cannot be a folder name"):
        plan_sort(opened, out)
    assert main(["project", "sort", str(project), str(out)]) == 2
    assert "cannot be a folder name" in capsys.readouterr().err
    assert not out.exists() and not (tmp_path / "escaped").exists()
    assert not os.path.exists("/tmp/resnet-gui-elsewhere")


def test_a_link_in_the_destination_is_not_followed(project, tmp_path):
    out = tmp_path / "sorted"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out.mkdir()
    (out / "red").symlink_to(elsewhere, target_is_directory=True)
    with Project.open(project) as opened:
        report = execute_sort(opened, plan_sort(opened, out))
    assert list(elsewhere.iterdir()) == []  # nothing went through the link
    refused = [item for item, _ in report.failed]
    assert {item.folder for item in refused} == {"red"} and len(refused) == 2
    assert all("a link or a file" in why for _, why in report.failed)
    assert len(list((out / "green").iterdir())) == 2  # the other classes are sorted as usual


def test_a_planted_temporary_never_makes_the_copy_write_outside(project, tmp_path, monkeypatch):
    """A link at the temporary name the copy used (OUT/<class>/.NAME.partial-PID) made it overwrite a file
    outside OUT."""
    out = tmp_path / "sorted"
    victim = tmp_path / "precious.txt"
    victim.write_text("keep me")
    with Project.open(project) as opened:
        plan = plan_sort(opened, out)
        for item in plan.items:
            folder = out / item.folder
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f".{item.source.name}.partial-{os.getpid()}").symlink_to(victim)
        report = execute_sort(opened, plan)
    assert victim.read_text() == "keep me"
    assert len(report.placed) == 6 and not report.failed
    assert all(not target.is_symlink() and target.read_bytes() == item.source.read_bytes()
               for item, target in report.placed)


def test_an_empty_or_foreign_database_is_refused_and_left_as_it_is(tmp_path, capsys):
    """A zero-byte project.sqlite silently became an empty project; now it is a sentence, and untouched."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "project.sqlite").write_bytes(b"")
    with pytest.raises(ProjectError, match="is damaged \\(it is empty, 0 bytes\\)"):
        Project.open(empty)
    assert (empty / "project.sqlite").stat().st_size == 0  # never replaced, never written
    assert main(["project", "status", str(empty)]) == 2
    err = capsys.readouterr().err
    assert "backup" in err and ".vN.bak" in err and "Traceback" not in err
    other = tmp_path / "other"
    other.mkdir()
    db = sqlite3.connect(other / "project.sqlite")
    db.execute("CREATE TABLE notes (x)")
    db.commit()
    db.close()
    with pytest.raises(ProjectError, match="holds no resnet-gui project"):
        Project.open(other)
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "project.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(ProjectError, match="is damaged"):
        Project.open(garbage)


def test_a_project_with_a_dropped_table_is_refused(project):
    db = sqlite3.connect(project / "project.sqlite")
    db.execute("DROP TABLE labels")
    db.commit()
    db.close()
    with pytest.raises(ProjectError, match="its tables labels are missing"):
        Project.open(project)
