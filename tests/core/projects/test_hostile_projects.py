"""A project, a destination or a folder that a hostile colleague prepared: nothing is written outside OUT,
through a link, or over a file the sort did not make."""

from __future__ import annotations

import os
import sqlite3

import pytest

from resnet_gui.cli import main
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.schema import ProjectError
from resnet_gui.core.projects.sort import execute_sort, plan_sort
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


@pytest.mark.parametrize("version", [2, 1, -4])
def test_a_wrong_version_number_is_refused_and_left_as_it_is(project, capsys, version):
    """A user_version that does not match the tables ended in exit 3 (duplicate column) part-way through an
    upgrade; now it is the damaged-database sentence, the file is unchanged, and no copy of it poses as a
    backup."""
    db = sqlite3.connect(project / "project.sqlite")
    db.execute(f"PRAGMA user_version = {version}")
    db.commit()
    db.close()
    before = (project / "project.sqlite").read_bytes()
    assert main(["project", "status", str(project)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "version number" in err and "Traceback" not in err
    assert not list(project.glob("*.bak"))
    db = sqlite3.connect(project / "project.sqlite")
    assert db.execute("PRAGMA user_version").fetchone()[0] == version
    db.close()
    assert (project / "project.sqlite").read_bytes() == before


def test_bad_json_in_a_run_is_refused_with_a_sentence(project, capsys):
    db = sqlite3.connect(project / "project.sqlite")
    with db:
        db.execute("INSERT INTO runs(started_at, status, settings, classes) VALUES ('x', 'completed', '{bad', '[]')")
    db.close()
    for command in (["status"], ["predict"]):
        assert main(["project", *command, str(project)]) == 2
        err = capsys.readouterr().err
        assert "run 1's settings, metrics or classes are not readable JSON" in err and "Traceback" not in err


def test_an_older_upgrade_backup_is_never_overwritten(tmp_path):
    from resnet_gui.core.projects.schema import MIGRATIONS

    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "models").mkdir()
    for copy in range(2):
        db = sqlite3.connect(folder / "project.sqlite")
        for step in MIGRATIONS[:2]:
            step(db)
        db.execute("PRAGMA user_version = 2")
        db.commit()
        db.close()
        (folder / "project.sqlite-wal").unlink(missing_ok=True)
        if copy == 0:
            Project.open(folder).close()
            (folder / "project.sqlite").unlink()  # the user puts an older copy back, and opens it again
    Project.open(folder).close()
    assert sorted(p.name for p in folder.glob("*.bak")) == ["project.sqlite.v2-2.bak", "project.sqlite.v2.bak"]


def test_sorting_into_an_existing_file_is_a_sentence(project, tmp_path, capsys):
    target = tmp_path / "a file"
    target.write_text("mine")
    assert main(["project", "sort", str(project), str(target)]) == 2
    assert "is a file, not a folder, so nothing was sorted" in capsys.readouterr().err
    assert target.read_text() == "mine"


def _non_utf8_tree(root):
    tree = make_shapes_dataset(root, per_class=2, seed=3, size=20)
    os.rename(os.fsencode(tree / "red" / "red_000.png"), os.fsencode(tree / "red") + b"/r\xffd.png")
    os.mkdir(os.fsencode(tree) + b"/gr\xfcn")
    os.rename(os.fsencode(tree / "green" / "green_000.png"), os.fsencode(tree) + b"/gr\xfcn/g.png")
    return tree


def test_names_that_are_not_utf8_are_passed_over_with_a_sentence(tmp_path, capsys):
    """A non-UTF-8 file name stopped `project add` and `project new --from` with exit 3, nothing added, and
    --from left a half-made project. Now those files are passed over with the reason, the rest is added."""
    tree = _non_utf8_tree(tmp_path / "tree")
    assert main(["project", "new", str(tmp_path / "p"), "--from", str(tree)]) == 0
    err = capsys.readouterr().err
    assert "r\\xffd.png: its name is not UTF-8 text" in err and "Traceback" not in err
    assert "gr\\xfcn: its name is not UTF-8 text, so it cannot name a class" in err
    with Project.open(tmp_path / "p") as made:
        assert made.count_images() == 4 and sorted(made.class_names().values()) == ["blue", "green", "red"]
    with Project.create(tmp_path / "q"):
        pass
    assert main(["project", "add", str(tmp_path / "q"), str(tree)]) == 0
    assert "its name is not UTF-8 text" in capsys.readouterr().err
    with Project.open(tmp_path / "q") as made:
        assert made.count_images() == 4  # the picture in gr\xfcn/ has bytes in its name too: passed over
    with pytest.raises(ProjectError, match="not valid text"):
        with Project.open(tmp_path / "q") as made:
            made.add_class(os.fsdecode(b"caf\xe9"))


def test_new_from_a_tree_that_cannot_be_imported_leaves_no_half_made_project(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("kept")
    for target, source in ((tmp_path / "p", tmp_path / "nowhere"), (tmp_path / "a" / "b", tmp_path / "empty"),
                           (tmp_path / "mine", tmp_path / "empty")):
        assert main(["project", "new", str(target), "--from", str(source)]) == 2
        assert "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "p").exists() and not (tmp_path / "a").exists()
    assert [p.name for p in (tmp_path / "mine").iterdir()] == ["notes.txt"]  # the user's folder, as it was
