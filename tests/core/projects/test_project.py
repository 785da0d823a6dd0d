"""Projects in the core and from the command line: the loop, the database's safety, moves, migrations, sorting."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from resnet_gui.cli import main
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.schema import SCHEMA_VERSION, ProjectError, migrate
from resnet_gui.core.projects.sort import execute_sort, plan_sort
from resnet_gui.core.projects.split import SplitCandidate, split_pictures
from tests.support import make_shapes_dataset, make_two_looks_dataset, save_noise, statements_run

FAST = ["--weights", "none", "--image-size", "32", "--batch-size", "8", "--augment", "hflip", "--seed", "0"]


@pytest.fixture
def seeded(tmp_path):
    """A project with 3 labelled pictures per class (from a class tree) and 10 unlabelled ones per class."""
    make_shapes_dataset(tmp_path / "seed", per_class=3, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=10, seed=2)
    project = Project.create(tmp_path / "proj")
    project.import_class_tree(tmp_path / "seed")
    project.add_images([tmp_path / "pool"])
    yield project
    project.close()


def test_a_new_project_has_the_latest_schema_and_its_folders(tmp_path):
    with Project.create(tmp_path / "p") as project:
        version = project.db.execute("PRAGMA user_version").fetchone()[0]
        mode = project.db.execute("PRAGMA journal_mode").fetchone()[0]
        keys = project.db.execute("PRAGMA foreign_keys").fetchone()[0]
    assert (version, mode, keys) == (SCHEMA_VERSION, "wal", 1)
    assert (tmp_path / "p" / "models").is_dir()
    with pytest.raises(ProjectError, match="already a project"):
        Project.create(tmp_path / "p")
    with pytest.raises(ProjectError, match="not a resnet-gui project"):
        Project.open(tmp_path)


def test_import_keeps_labels_with_their_source_and_skips_copies(seeded, tmp_path):
    status = seeded.status()
    assert status.labelled == {"blue": 3, "green": 3, "red": 3} and status.unlabelled == 30
    first = seeded.pictures(ProjectView.of_class(seeded.class_named("red")))[0]
    assert seeded.history(first.id)[0]["source"] == "imported"
    copy = tmp_path / "elsewhere" / "copy.png"
    copy.parent.mkdir()
    shutil.copy(first.path, copy)
    report = seeded.add_images([copy])
    assert not report.added and "same picture" in report.skipped[0][1]
    save_noise(tmp_path / "bad.png").write_bytes(b"not a png at all")
    assert "not a readable image" in seeded.add_images([tmp_path / "bad.png"]).skipped[0][1]


def test_decisions_are_recorded_as_typed_accepted_corrected_excluded(seeded, tmp_path):
    pool = seeded.pictures(ProjectView("unlabelled"))
    assert seeded.assign(pool[0].id, "red").source == "typed"  # no prediction yet
    # A prediction by a (recorded) run: the decision says whether it agreed.
    red, blue = seeded.class_named("red").id, seeded.class_named("blue").id
    run = seeded.begin_run({}, [(red, "red"), (blue, "blue")], [], [], {})
    seeded.store_predictions(run, [(pool[1].id, [(red, 0.9), (blue, 0.1)], None),
                                   (pool[2].id, [(red, 0.6), (blue, 0.4)], None),
                                   (pool[3].id, [(blue, 0.55), (red, 0.45)], None)])
    review = seeded.pictures(ProjectView("review"), run_id=run)
    assert [p.id for p in review] == [pool[3].id, pool[2].id, pool[1].id]  # most doubtful first
    assert [p.id for p in seeded.pictures(ProjectView("review"), run_id=run, order="margin")][0] == pool[3].id
    assert seeded.accept(pool[1].id).label == "red"
    assert seeded.assign(pool[2].id, "blue").source == "corrected"
    seeded.exclude(pool[3].id)
    sources = [seeded.history(p.id)[-1]["source"] for p in pool[:4]]
    assert sources == ["typed", "accepted", "corrected", "excluded"]
    corrected = seeded.history(pool[2].id)[-1]
    assert (corrected["predicted"], corrected["label"], corrected["run"]) == ("red", "blue", run)
    assert seeded.status().excluded == 1
    assert pool[3].id not in [p.id for p in seeded.pictures(ProjectView("unlabelled"))]


def test_classes_rename_merge_delete_and_refuse_unsafe_names(seeded):
    seeded.rename_class("red", "crimson")
    assert [c.name for c in seeded.classes()] == ["blue", "green", "crimson"]
    assert seeded.merge_classes("green", "blue") == 3
    assert seeded.status().labelled == {"blue": 6, "crimson": 3}
    assert seeded.delete_class("crimson") == 3
    assert seeded.status().unlabelled == 33
    for bad in ("", "../up", "_unsure", ".hidden", "a/b"):
        with pytest.raises(ProjectError):
            seeded.add_class(bad)
    with pytest.raises(ProjectError, match="already has"):
        seeded.add_class("BLUE")


def test_the_split_is_kept_and_specimens_stay_on_one_side():
    pictures = [SplitCandidate(i, i % 2, f"slide{i // 4}", None) for i in range(40)]
    train, val = split_pictures(pictures, 0.25, seed=3, keep_specimens=True)
    assert set(train) | set(val) == set(range(40)) and not set(train) & set(val)
    sides = {}
    for i in val:
        sides.setdefault(i // 4, set()).add("val")
    for i in train:
        sides.setdefault(i // 4, set()).add("train")
    assert all(len(s) == 1 for s in sides.values())  # no slide on both sides
    assert 6 <= len(val) <= 14
    # Later: fixed sides are kept; a new picture of a validating slide validates too.
    fixed = [SplitCandidate(i, i % 2, f"slide{i // 4}", "val" if i in val else "train") for i in range(40)]
    newcomer = SplitCandidate(99, 1, f"slide{val[0] // 4}", None)
    train2, val2 = split_pictures([*fixed, newcomer], 0.25, seed=8, keep_specimens=True)
    assert set(val) <= set(val2) and 99 in val2


def test_a_project_moved_to_another_folder_opens_and_finds_outside_files_by_content(tmp_path):
    inside = make_shapes_dataset(tmp_path / "proj" / "pictures", per_class=2, seed=4)
    outside = make_shapes_dataset(tmp_path / "outside", per_class=2, seed=5)
    with Project.create(tmp_path / "proj") as project:
        project.import_class_tree(inside)
        project.add_images([outside])
    shutil.move(tmp_path / "proj", tmp_path / "moved")
    shutil.move(tmp_path / "outside", tmp_path / "somewhere")
    with Project.open(tmp_path / "moved") as project:
        assert project.count_images() == 12
        missing = project.status().missing
        assert len(missing) == 6 and all("outside" in m for m in missing)  # inside files moved with it
        assert project.locate(tmp_path / "somewhere") == 6
        assert project.status().missing == []


def test_a_version_1_project_is_migrated_and_keeps_everything(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    db = sqlite3.connect(folder / "project.sqlite", isolation_level=None)
    migrate(db, to=1)
    db.execute("INSERT INTO classes(name, colour, position) VALUES ('cells', '#4e79a7', 0)")
    db.execute("INSERT INTO images(path, bytes, sha256, added_at, class_id) "
               "VALUES ('slides/s1/a.png', 10, 'x', 't', 1)")
    db.execute("INSERT INTO labels(image_id, class_id, class_name, source, made_at) "
               "VALUES (1, 1, 'cells', 'typed', 't')")
    db.close()
    with Project.open(folder) as project:
        assert project.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert project.status(check_files=False).labelled == {"cells": 1}
        assert project.db.execute("SELECT specimen FROM images").fetchone()[0] == "slides/s1"
        assert project.history(1)[0]["source"] == "typed"
    assert (folder / "project.sqlite.v1.bak").is_file()
    db = sqlite3.connect(folder / "project.sqlite")
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(ProjectError, match="newer resnet-gui"):
        Project.open(folder)


KILLER = textwrap.dedent("""
    import sys
    from resnet_gui.core.projects.project import Project
    from resnet_gui.core.projects.records import ProjectView
    project = Project.open(sys.argv[1])
    pictures = project.pictures(ProjectView("unlabelled"))
    i = 0
    while True:
        picture = pictures[i % len(pictures)]
        project.assign(picture.id, "red" if i % 2 else "blue")
        print(picture.id, flush=True)
        i += 1
""")


def test_a_project_killed_mid_write_reopens_with_every_committed_decision(seeded):
    root = seeded.root
    before = seeded.db.execute("SELECT COUNT(*) FROM labels").fetchone()[0]
    seeded.close()
    child = subprocess.Popen([sys.executable, "-c", KILLER, str(root)], stdout=subprocess.PIPE, text=True,
                             cwd=Path(__file__).resolve().parents[3])
    committed = [child.stdout.readline() for _ in range(40)]
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert all(line.strip() for line in committed)
    with Project.open(root) as project:
        assert project.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        recorded = project.db.execute("SELECT COUNT(*) FROM labels").fetchone()[0] - before
        assert recorded >= len(committed)  # every decision it reported as made is there
        labelled = sum(project.status(check_files=False).labelled.values())
        assert labelled >= 9 + min(len(committed), 30)


def test_sort_never_overwrites_and_moves_are_followed_by_the_project(seeded, tmp_path):
    out = tmp_path / "sorted"
    plan = plan_sort(seeded, out)
    assert plan.counts() == {"blue": 3, "green": 3, "red": 3, "_unsure": 30, "_unfamiliar": 0}  # none predicted
    assert not out.exists()  # planning writes nothing
    red = seeded.pictures(ProjectView.of_class(seeded.class_named("red")))
    (out / "red").mkdir(parents=True)
    (out / "red" / red[0].path.name).write_bytes(b"someone else's file")
    report = execute_sort(seeded, plan)
    assert (out / "red" / red[0].path.name).read_bytes() == b"someone else's file"
    clash = out / "red" / f"{red[0].path.stem}-2{red[0].path.suffix}"
    assert clash.read_bytes() == red[0].path.read_bytes()
    assert len(report.placed) == 39 and red[0].path.is_file()  # a copy leaves the original
    rows = list(csv_rows(report.log))
    assert len(rows) == 39 and {r["action"] for r in rows} == {"copied"}
    assert not list(out.rglob(".*partial*"))
    moved = execute_sort(seeded, plan_sort(seeded, tmp_path / "moved"), move=True)
    assert len(moved.placed) == 39 and not red[0].path.exists()
    assert seeded.status().missing == []  # the project knows where every picture went


def csv_rows(path):
    import csv

    raw = Path(path).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # the sort log opens in Excel as UTF-8, as every CSV the app writes
    with open(path, newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


def test_the_loop_from_the_command_line_learns_from_reviewed_pictures(tmp_path, capsys):
    """Seed labels, predict the pool, label the most doubtful, retrain: better on pictures it never saw.
    The seed pictures show each class in one look only; the pool and the held-out set in two."""
    make_two_looks_dataset(tmp_path / "seed", 4, seed=1, looks=(0,))
    make_two_looks_dataset(tmp_path / "pool", 20, seed=2)
    make_two_looks_dataset(tmp_path / "held", 16, seed=3)
    project = str(tmp_path / "P")
    os.chdir(tmp_path)  # paths on the command line may be relative to the current folder
    assert main(["project", "new", "P", "--from", "seed"]) == 0
    assert main(["project", "add", "P", "pool"]) == 0
    assert main(["project", "train", "P", "--epochs", "10", *FAST]) == 0
    assert main(["project", "predict", "P"]) == 0
    capsys.readouterr()
    assert main(["project", "review", "P", "--json", "--limit", "30", "--order", "confidence"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 30 and set(rows[0]) == {"path", "label", "prob", "margin", "top_k", "why"}
    assert [r["prob"] for r in rows] == sorted(r["prob"] for r in rows)
    pairs = [x for r in rows for x in (os.path.relpath(r["path"]), Path(r["path"]).parent.name)]
    assert main(["project", "label", "P", *pairs]) == 0
    assert main(["project", "train", "P", "--epochs", "10", *FAST]) == 0
    capsys.readouterr()
    assert main(["project", "status", "P", "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert sum(status["labelled"].values()) == 12 + 30 and status["unlabelled"] == 60 - 30
    assert [r["id"] for r in status["runs"]] == [1, 2] and status["missing"] == []
    accuracies = []
    for run in (1, 2):
        assert main(["evaluate", "held", "--checkpoint", f"P/models/run-000{run}.pt", "--json"]) == 0
        accuracies.append(json.loads(capsys.readouterr().out.splitlines()[-1])["accuracy"])
    assert accuracies[1] >= accuracies[0] + 0.15, accuracies
    assert main(["project", "sort", "P", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["blue", "green", "red", "_unsure", "_unfamiliar"]
    assert sum(int(line.split()[1]) for line in lines) == 72
    assert Path(project, "models", "run-0001.pt").is_file() and Path(project, "models", "run-0002.pt").is_file()


def test_command_line_mistakes_get_a_sentence(tmp_path, capsys):
    assert main(["project", "status", str(tmp_path)]) == 2
    assert "not a resnet-gui project" in capsys.readouterr().err
    assert main(["project", "new", str(tmp_path / "p")]) == 0
    assert main(["project", "train", str(tmp_path / "p"), *FAST]) == 2
    assert "at least two classes" in capsys.readouterr().err
    assert main(["project", "label", str(tmp_path / "p"), "x.png"]) == 2
    assert "has no class" in capsys.readouterr().err
    assert main(["project", "class", str(tmp_path / "p"), "add", "_unsure"]) == 2
    assert "cannot be a class name" in capsys.readouterr().err


def test_unfamiliar_pictures_are_marked_in_review_and_sorted_into_their_own_folder(seeded, tmp_path):
    """14 of 73 pictures of kinds a project did not have were sorted into class folders: now the run's
    familiarity mark is kept with its prediction, shown in the review, and sends them to _unfamiliar/."""
    pool = seeded.pictures(ProjectView("unlabelled"))
    red, blue = seeded.class_named("red").id, seeded.class_named("blue").id
    run = seeded.begin_run({}, [(red, "red"), (blue, "blue")], [], [], {})
    seeded.store_predictions(run, [(pool[0].id, [(red, 0.97), (blue, 0.03)], None, True),
                                   (pool[1].id, [(red, 0.97), (blue, 0.03)], None, False),
                                   (pool[2].id, [(blue, 0.99), (red, 0.01)], None)])  # older callers: familiar
    marks = {p.id: p.unfamiliar for p in seeded.pictures(ProjectView("review"), run_id=run)}
    assert marks == {pool[0].id: True, pool[1].id: False, pool[2].id: False}
    assert seeded.picture(pool[0].id, run_id=run).unfamiliar is True
    plan = plan_sort(seeded, tmp_path / "sorted", run_id=run, unsure_below=0.5)
    where = {item.image_id: item.folder for item in plan.items}
    assert (where[pool[0].id], where[pool[1].id], where[pool[2].id]) == ("_unfamiliar", "red", "blue")
    assert plan.counts()["_unfamiliar"] == 1


def test_a_version_2_project_gains_the_unfamiliar_mark_as_familiar(tmp_path):
    import sqlite3

    from resnet_gui.core.projects.schema import MIGRATIONS

    db = sqlite3.connect(tmp_path / "project.sqlite")
    for step in MIGRATIONS[:2]:
        step(db)
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    (tmp_path / "models").mkdir()
    with Project.open(tmp_path) as project:
        assert project.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 9
        columns = [row[1] for row in project.db.execute("PRAGMA table_info(predictions)")]
        assert "unfamiliar" in columns


def test_the_locate_hint_is_a_command_to_paste(tmp_path, capsys):
    import shlex

    folder = tmp_path / "my lab's project"
    save_noise(tmp_path / "pics" / "a.png", seed=1)
    save_noise(tmp_path / "pics" / "b.png", seed=2)
    with Project.create(folder) as project:
        project.add_images([tmp_path / "pics"])
    (tmp_path / "pics" / "a.png").unlink()
    assert main(["project", "status", str(folder)]) == 0
    out = capsys.readouterr().out
    hint = next(line for line in out.splitlines() if "project locate" in line)
    assert hint.endswith(f"resnet-gui project locate {shlex.quote(str(folder))} FOLDER")
    assert shlex.split(hint.split(": ", 1)[1])[3] == str(folder)  # the shell reads the folder back whole


def test_a_decision_is_one_statement_and_hands_back_the_picture_and_the_counts(seeded):
    """accept, assign and exclude each write one statement (the trigger applies the label) and read one
    more: the picture as it is now and every count the class list shows, equal to the counts read afresh."""
    pool = seeded.pictures(ProjectView("unlabelled"))
    statements: list[str] = []
    seeded.db.set_trace_callback(statements.append)
    made = [seeded.assign(pool[0].id, "red"), seeded.exclude(pool[1].id)]
    seeded.db.set_trace_callback(None)
    ran = statements_run(statements)
    assert [sql.split()[0] for sql in ran] == ["INSERT", "SELECT", "INSERT", "SELECT"], ran
    decision = made[-1]
    assert made[0].picture.class_id == seeded.class_named("red").id and decision.picture.excluded
    status = seeded.status(check_files=False)
    assert decision.counts.classes == {c.id: c.count for c in status.classes}
    assert (decision.counts.unlabelled, decision.counts.excluded, decision.counts.all) == (
        status.unlabelled, status.excluded, seeded.count_images())
    assert [h["source"] for h in seeded.history(pool[0].id)][-1] == "typed"
    with pytest.raises(ProjectError, match="no class 'violet'"):
        seeded.assign(pool[2].id, "violet")
    with pytest.raises(ProjectError, match="no prediction to accept"):
        seeded.accept(pool[2].id)
    assert seeded.picture(pool[2].id).class_id is None  # a refused decision records nothing


def test_the_review_orders_entropy_and_random_and_older_predictions_get_their_entropy(seeded, tmp_path):
    """Two doubts that confidence and entropy rank apart: 60% blue against red, and 70% red with the rest
    spread over three more classes. Older projects' predictions are given their entropy when opened."""
    import math

    pool = seeded.pictures(ProjectView("unlabelled"))
    red, blue, green = (seeded.class_named(n).id for n in ("red", "green", "blue"))
    run = seeded.begin_run({}, [(red, "red"), (blue, "blue"), (green, "green")], [], [], {})
    seeded.store_predictions(run, [(pool[0].id, [(blue, 0.6), (red, 0.4)], None),
                                   (pool[1].id, [(red, 0.7), (blue, 0.1), (green, 0.1)], None)])
    in_order = {order: [p.id for p in seeded.pictures(ProjectView("review"), run_id=run, order=order)]
                for order in ("confidence", "entropy", "random")}
    assert in_order["confidence"] == [pool[0].id, pool[1].id]
    assert in_order["entropy"] == [pool[1].id, pool[0].id]  # 0.94 nats (the 10% left counted) against 0.67
    assert sorted(in_order["random"]) == sorted(in_order["confidence"])
    assert [p.id for p in seeded.pictures(ProjectView("review"), run_id=run, order="random")] == in_order["random"]
    with pytest.raises(ProjectError, match="Use confidence, margin, entropy, diverse, mixed, quota, random"):
        seeded.pictures(ProjectView("review"), run_id=run, order="sideways")
    stored = dict(seeded.db.execute("SELECT image_id, entropy FROM predictions WHERE run_id = ?", (run,)).fetchall())
    assert stored[pool[1].id] == pytest.approx(-(0.7 * math.log(0.7) + 3 * 0.1 * math.log(0.1)))
    # a project from before version 7: the column comes back, filled from the stored top classes
    seeded.db.execute("DROP INDEX predictions_by_entropy")
    seeded.db.execute("ALTER TABLE predictions DROP COLUMN entropy")
    seeded.db.execute("ALTER TABLE predictions DROP COLUMN features")  # version 8's
    for trigger in ("labels_begin_step", "check_kept_begin_step", "labels_log", "kept_log", "kept_unlog",
                    "findings_log"):  # version 9's
        seeded.db.execute(f"DROP TRIGGER {trigger}")
    seeded.db.execute("DROP TABLE undo_log")
    seeded.db.execute("DROP TABLE undo_steps")
    seeded.db.execute("PRAGMA user_version = 6")
    root = seeded.root
    seeded.close()
    with Project.open(root) as again:
        filled = dict(again.db.execute("SELECT image_id, entropy FROM predictions WHERE run_id = ?", (run,)).fetchall())
        assert filled == pytest.approx(stored)


def test_a_run_continues_from_an_earlier_runs_model(tmp_path, capsys):
    """--from-run 1: run 2 starts from run 1's weights (with a learning rate too small to move them, its first
    layer is still run 1's), in run 1's shape, and says so in its settings; what cannot be continued is a
    sentence."""
    import torch

    make_shapes_dataset(tmp_path / "seed", per_class=4, seed=1, size=16)
    project = str(tmp_path / "P")
    assert main(["project", "new", project, "--from", str(tmp_path / "seed")]) == 0
    tiny = ["--weights", "none", "--image-size", "16", "--batch-size", "4", "--epochs", "1"]
    assert main(["project", "train", project, *tiny]) == 0
    assert main(["project", "train", project, "--from-run", "1", "--epochs", "1", "--batch-size", "4",
                 "--lr", "1e-12", "--arch", "resnet34"]) == 0
    with Project.open(project) as p:
        first, second = p.run(1), p.run(2)
    assert second.settings["from_run"] == 1 and second.settings["weights"] == str(first.checkpoint)
    assert second.settings["arch"] == "resnet18" and second.settings["image_size"] == 16  # run 1's shape
    start = torch.load(first.checkpoint, weights_only=True)["state_dict"]["conv1.weight"]
    after = torch.load(second.checkpoint, weights_only=True)["state_dict"]["conv1.weight"]
    assert torch.allclose(start, after, atol=1e-6)
    capsys.readouterr()
    assert main(["project", "train", project, "--from-run", "9"]) == 2
    assert "has no run 9" in capsys.readouterr().err
    assert main(["project", "train", project, "--from-run", "1", "--resume"]) == 2
    assert "not both" in capsys.readouterr().err


def test_review_only_what_the_run_predicted_as_one_class(seeded, capsys):
    pool = seeded.pictures(ProjectView("unlabelled"))
    red, blue = seeded.class_named("red").id, seeded.class_named("blue").id
    run = seeded.begin_run({}, [(red, "red"), (blue, "blue")], [], [], {})
    seeded.store_predictions(run, [(pool[0].id, [(blue, 0.6), (red, 0.4)], None),
                                   (pool[1].id, [(red, 0.7), (blue, 0.3)], None),
                                   (pool[2].id, [(blue, 0.9), (red, 0.1)], None)])
    assert [p.id for p in seeded.pictures(ProjectView("review"), run_id=run, predicted=blue)] == \
        [pool[0].id, pool[2].id]
    root = str(seeded.root)
    seeded.close()
    assert main(["project", "review", root, "--predicted", "Blue", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["label"] for r in rows] == ["blue", "blue"] and [r["prob"] for r in rows] == [0.6, 0.9]
    assert main(["project", "review", root, "--predicted", "mauve"]) == 2
    assert "has no class 'mauve'" in capsys.readouterr().err


def test_a_pictures_history_from_the_command_line(seeded, capsys):
    pool = seeded.pictures(ProjectView("unlabelled"))
    red, blue = seeded.class_named("red").id, seeded.class_named("blue").id
    seeded.assign(pool[0].id, "red")
    run = seeded.begin_run({}, [(red, "red"), (blue, "blue")], [], [], {})
    seeded.store_predictions(run, [(pool[0].id, [(blue, 0.8), (red, 0.2)], None)])
    seeded.assign(pool[0].id, "blue", run_id=run)
    seeded.exclude(pool[0].id)
    root, path = str(seeded.root), str(pool[0].path)
    seeded.close()
    assert main(["project", "history", root, path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1:3] for line in lines] == [["typed", "red"], ["accepted", "blue"], ["excluded", "excluded"]]
    assert "blue (was red); run 1 said blue (80%)" in lines[1] and "(was blue)" in lines[2]
    assert main(["project", "history", root, path, "--json"]) == 0
    assert [json.loads(line)["source"] for line in capsys.readouterr().out.splitlines()] == \
        ["typed", "accepted", "excluded"]
    assert main(["project", "history", root, str(seeded.root / "nowhere.png")]) == 2
    assert "is not in the project" in capsys.readouterr().err
