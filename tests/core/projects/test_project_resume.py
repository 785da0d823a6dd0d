"""A project run whose process is killed (kill -9, a power cut) is noticed, its best model is used meanwhile,
and `project train --resume` goes on with it: the same run, from its last finished epoch."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from resnet_gui.cli import main
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.run_lock import RunLock, is_held
from tests.cli.test_hostile import cli_env, leftovers
from tests.support import make_shapes_dataset


def _project(tmp_path, per_class=4):
    make_shapes_dataset(tmp_path / "seed", per_class=per_class, size=20, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=2, size=20, seed=2)
    project = Project.create(tmp_path / "proj")
    project.import_class_tree(tmp_path / "seed")
    project.add_images([tmp_path / "pool"])
    project.close()
    return tmp_path / "proj"


def test_kill_9_during_project_train_then_resume_finishes_the_same_run(tmp_path, capsys):
    folder = _project(tmp_path)
    command = [sys.executable, "-m", "resnet_gui", "project", "train", str(folder), "--weights", "none",
               "--epochs", "3", "--image-size", "16", "--batch-size", "4", "--json"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=cli_env(tmp_path))
    for line in process.stdout:
        event = json.loads(line)
        if event["event"] == "batch" and event["epoch"] == 2:
            process.send_signal(signal.SIGKILL)  # in epoch 2 of 3: epoch 1's model and state are saved
            break
    process.wait(60)
    assert process.returncode == -signal.SIGKILL

    # Noticed: no longer "running" for ever; its best model labels the pool meanwhile.
    code = main(["project", "status", str(folder)])
    out = capsys.readouterr().out
    assert code == 0 and "run 1  interrupted" in out and "project train" in out and "--resume" in out
    code = main(["project", "predict", str(folder)])
    assert code == 0 and "run 1 labelled 6 unlabelled picture(s)" in capsys.readouterr().err
    with Project.open(folder) as project:
        assert project.latest_run().id == 1 and project.resumable_run().id == 1

    # A new run is told of the stopped one; --resume goes on with run 1 itself.
    code = main(["project", "train", str(folder), "--resume", "--json"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert code == 0
    epochs = [e["epoch"] for e in events if e["event"] == "epoch"]
    assert epochs == [2, 3]  # from the last finished epoch on, as the run was set up (3 epochs)
    run = next(e for e in events if e["event"] == "run")
    assert run["run"] == 1
    with Project.open(folder) as project:
        runs = project.runs()
        assert [(r.id, r.status) for r in runs] == [(1, "completed")]
        assert runs[0].checkpoint.is_file() and project.resumable_run() is None
        history = json.loads(project.db.execute("SELECT history FROM runs WHERE id = 1").fetchone()[0])
        assert [e["epoch"] for e in history] == [1, 2, 3]  # the killed process's epoch and the resumed ones
    assert leftovers(folder) == []  # the kill's half-written temporaries are gone too
    assert not list((folder / "models").glob(".training-*.lock"))


def test_a_run_whose_process_lives_is_not_taken_for_dead(tmp_path):
    folder = _project(tmp_path, per_class=2)
    with Project.open(folder) as project:
        models = project.models_dir
        with RunLock(models) as lock:
            assert is_held(lock.path)
            run_id = project.begin_run({"arch": "resnet18"}, [(1, "red")], [], [], {}, lock=lock.name)
            with Project.open(folder) as other:  # another window or command looks while it trains
                assert other.run(run_id).status == "running"
                assert other.latest_run() is None  # a model still being written is not offered
        assert not is_held(lock.path)
        with Project.open(folder) as other:  # the lock went with the process that held it
            assert other.run(run_id).status == "interrupted"


def test_resume_with_no_stopped_run_says_so(tmp_path, capsys):
    folder = _project(tmp_path, per_class=2)
    code = main(["project", "train", str(folder), "--resume"])
    assert code == 2 and "no stopped run to go on with" in capsys.readouterr().err
