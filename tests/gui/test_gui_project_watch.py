"""Import › Watch a folder… on the Project tab: pictures written into the folder appear among the unlabelled ones,
answered by the project's model, while the user works; the menu item stops it."""

from __future__ import annotations

import shutil

from resnet_gui.core.projects.records import ProjectView
from resnet_gui.gui import dialogs
from tests.support import make_shapes_dataset, make_two_runs

WAIT = 30_000


def test_a_watched_folder_feeds_the_open_project(qtbot, window, tmp_path, monkeypatch, colour_model):
    _, result = colour_model
    folder = make_two_runs(tmp_path, model=result.best_path)
    watched = tmp_path / "microscope"
    watched.mkdir()
    panel = window.project_panel
    window.open_project(str(folder))
    qtbot.waitUntil(lambda: panel.project is not None, timeout=WAIT)
    before = len(panel.project.pictures(ProjectView("unlabelled")))
    said = []
    panel.status_message.connect(said.append)
    monkeypatch.setattr(dialogs, "open_folder", lambda *args: str(watched))
    action = panel.folder_watch.action
    action.trigger()  # the Import menu's item, as a click on it sends it
    assert panel.folder_watch.is_watching() and action.text() == "Stop watching microscope"
    for picture in sorted(make_shapes_dataset(tmp_path / "later", per_class=1, seed=5).rglob("*.png")):
        shutil.copyfile(picture, watched / picture.name)
    qtbot.waitUntil(lambda: panel.folder_watch.added == 3, timeout=WAIT)
    now = panel.project.pictures(ProjectView("unlabelled"), run_id=2)
    assert len(now) == before + 3 and sum(p.path.parent == watched and p.prob is not None for p in now) == 3
    assert any("Watching microscope (3 added so far)" in s for s in said)
    action.trigger()
    assert not panel.folder_watch.is_watching() and action.text().startswith("Watch a folder")
    assert said[-1].startswith("Stopped watching") and "3 picture(s) added" in said[-1]
