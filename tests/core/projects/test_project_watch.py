"""A watched folder feeding a project: new pictures join unlabelled, answered by the project's model, each once;
the command line says each one as it arrives."""

from __future__ import annotations

import shutil
import threading
import time

from resnet_gui.cli import main
from resnet_gui.core.projects.project import Project
from resnet_gui.core.projects.records import ProjectView
from resnet_gui.core.projects.watch import ProjectWatch
from tests.support import make_shapes_dataset, make_two_runs


def test_pictures_written_into_the_folder_join_the_project_answered_by_its_model(tmp_path, colour_model):
    _, result = colour_model
    folder = make_two_runs(tmp_path, model=result.best_path)
    watched = tmp_path / "microscope"
    watched.mkdir()
    later = make_shapes_dataset(tmp_path / "later", per_class=2, seed=7)
    batches = []
    stop = threading.Event()
    watch = ProjectWatch(folder, watched, settle=0.3)
    thread = threading.Thread(target=watch.run, args=(batches.append,), kwargs={"cancelled": stop.is_set,
                                                                               "wait": 0.05})
    thread.start()
    try:
        for picture in sorted(later.rglob("*.png")):
            shutil.copyfile(picture, watched / picture.name)
        shutil.copyfile(next((tmp_path / "pool").rglob("*.png")), watched / "a copy.png")  # in the project already
        end = time.monotonic() + 30
        while watch.added < 6 and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(30)
    assert watch.added == 6 and watch.run_id == 2
    added = [entry for batch in batches for entry in batch.added]
    assert len(added) == 6
    right = [label == name.split("/")[-1].split("_")[0] for name, label, _ in added]
    assert sum(right) >= 5  # the colour model tells red, green and blue squares apart
    assert any("the same picture as" in why for batch in batches for _, why in batch.skipped)
    with Project.open(folder) as project:
        new = [p for p in project.pictures(ProjectView("unlabelled"), run_id=2) if p.path.parent == watched]
    assert len(new) == 6 and all(p.class_id is None and p.prob is not None for p in new)


def test_project_watch_from_the_command_line(tmp_path, capsys, colour_model):
    _, result = colour_model
    folder = make_two_runs(tmp_path, model=result.best_path)
    watched = make_shapes_dataset(tmp_path / "incoming", per_class=1, seed=9)
    code = main(["project", "watch", str(folder), str(watched), "--recursive", "--settle", "0.3",
                 "--stop-after-idle", "0.5"])
    out, err = capsys.readouterr()
    assert code == 0
    assert err.count("\nadded ") == 3 and "3 picture(s) added to the project while watching, answered by run 2" in err
