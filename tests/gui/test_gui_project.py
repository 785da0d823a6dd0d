"""The Project tab: open, train from the project, predict, review with the keys and the bars, drop, sort."""

from __future__ import annotations

from PySide6.QtCore import Qt

from resnet_gui.core.projects.project import Project
from resnet_gui.gui import dialogs
from resnet_gui.gui.project import class_dialogs
from resnet_gui.gui.project.class_list import ViewRole
from resnet_gui.gui.project.picture_grid import PictureGridModel
from tests.support import make_shapes_dataset, statements_run

WAIT = 120_000


def make_project(tmp_path):
    make_shapes_dataset(tmp_path / "seed", per_class=4, seed=1)
    make_shapes_dataset(tmp_path / "pool", per_class=4, seed=2)
    with Project.create(tmp_path / "proj") as project:
        project.import_class_tree(tmp_path / "seed")
        project.add_images([tmp_path / "pool"])
    return tmp_path / "proj"


def test_the_loop_in_the_window(qtbot, window, tmp_path, monkeypatch):
    folder = make_project(tmp_path)
    panel = window.project_panel
    train = window.train_panel
    train.form.epochs.setValue(2)
    train.form.weights.setCurrentIndex(train.form.weights.findData("none"))
    train.form.image_size.setValue(32)
    window.open_project(str(folder))
    assert window.tabs.currentWidget() is panel and panel.project is not None
    labelled = panel.project.status(check_files=False)
    assert f"{sum(labelled.labelled.values())} labelled, 12 unlabelled · 0 run(s)" in panel.title.text()
    assert window.settings.get("project/recent")[0] == str(folder)

    # Train: the Train tab's settings, watched in the Train tab; then the model labels the pool by itself.
    with qtbot.waitSignal(train.project_trained, timeout=WAIT):
        panel.train_button.click()
    assert window.tabs.currentWidget() is train
    qtbot.waitUntil(lambda: panel.review_run is not None, timeout=WAIT)
    window.tabs.setCurrentWidget(panel)
    assert (folder / "models" / "run-0001.pt").is_file()

    grid = panel.grid
    # The default order (benchmarks/review_orders.py): each predicted class's most doubtful in turn.
    assert panel.order.currentData() == "quota"
    ranks = [p.placed[3] for p in panel.model.pictures]
    assert len(ranks) == 12 and ranks == sorted(ranks) and ranks[0] == 1
    for rank in set(ranks):
        probs = [p.prob for p in panel.model.pictures if p.placed[3] == rank]
        assert probs == sorted(probs)  # within a round of the classes, the most doubtful first
    assert "Why here: no. 1 in doubt of those predicted " in panel.pane.info.text()
    # "predicted as": the first class chosen from the keyboard shows only its pictures, then any again
    first_class, first_name = next(iter(panel.project.class_names().items()))
    predicted_first = sum(p.predicted == first_class for p in panel.model.pictures)
    panel.predicted.setFocus()
    qtbot.keyClick(panel.predicted, Qt.Key.Key_Down)
    assert panel.predicted.currentText() == f"Predicted {first_name}"
    assert [p.predicted for p in panel.model.pictures] == [first_class] * predicted_first
    qtbot.keyClick(panel.predicted, Qt.Key.Key_Up)
    assert panel.model.rowCount() == 12
    grid.setFocus()
    statements: list[str] = []
    panel.project.db.set_trace_callback(statements.append)
    per_key = []

    def press(key):
        statements.clear()
        qtbot.keyClick(grid, key)
        per_key.append(statements_run(statements))

    first = panel.current_picture()
    press(Qt.Key.Key_Return)
    second = panel.current_picture()
    press(Qt.Key.Key_2)  # the second class: green
    third = panel.current_picture()
    press(Qt.Key.Key_Delete)
    fourth = panel.current_picture()
    panel.project.db.set_trace_callback(None)
    # each key press: the decision, the changed picture with the new counts, the next picture's history
    assert [len(s) for s in per_key] == [3, 3, 3], per_key
    shown = [panel.classes.item(r).text() for r in range(panel.classes.count())] + [panel.title.text()]
    assert "9 unlabelled · 1 run(s)" in panel.title.text()  # three decisions: the title follows them
    panel.refresh_classes()  # the counts read afresh are the counts the decisions handed back
    assert [panel.classes.item(r).text() for r in range(panel.classes.count())] + [panel.title.text()] == shown
    panel.pane.chart.bar_clicked.emit(len(panel.pane.chart.guesses) - 1)  # the last bar: its class
    last_bar = panel.pane.chart.guesses[-1] if panel.pane.chart.guesses else None
    assert panel.model.rowCount() == 8
    assert panel.view_title.text().startswith("8 picture(s)")  # the title follows the decisions
    project = panel.project
    assert project.history(first.id)[-1]["source"] == "accepted"
    assert project.history(second.id)[-1]["label"] == "green"
    assert project.history(second.id)[-1]["source"] in ("accepted", "corrected")
    assert project.history(third.id)[-1]["source"] == "excluded"
    assert project.picture(fourth.id).class_id is not None
    assert last_bar is None or last_bar.prob <= 1

    # Drop pictures on a class: added with that label.
    extra = make_shapes_dataset(tmp_path / "extra", per_class=1, seed=9, classes=("red",))
    reds = project.class_named("red").count
    panel.classes.files_dropped.emit([str(extra)], "red")
    qtbot.waitUntil(lambda: project.class_named("red").count == reds + 1, timeout=WAIT)

    # Sort: the counts first, then a copy into OUT/<class>/.
    seen = {}
    monkeypatch.setattr(dialogs, "open_folder", lambda *a: str(tmp_path / "sorted"))
    monkeypatch.setattr(dialogs, "ask_sort", lambda parent, out, counts, missing: seen.update(counts) or "copy")
    panel.sort_button.click()
    qtbot.waitUntil(lambda: bool(list((tmp_path / "sorted").glob("sort-log-*.csv"))), timeout=WAIT)
    qtbot.waitUntil(lambda: not panel.job_task.is_running(), timeout=WAIT)
    assert sum(seen.values()) == 12 + 12 + 1 - 1  # the excluded one stays
    assert len(list((tmp_path / "sorted" / "red").iterdir())) >= reds + 1


def test_classes_from_the_window_and_a_grid_that_never_waits(qtbot, window, tmp_path, monkeypatch):
    folder = make_project(tmp_path)
    panel = window.project_panel
    window.open_project(str(folder))
    answers = iter(["violet", "purple"])
    monkeypatch.setattr(dialogs, "ask_text", lambda *a, **k: next(answers))
    class_dialogs.add_class(panel)
    assert [c.name for c in panel.class_list()][-1] == "violet"
    row = next(i for i in range(panel.classes.count())
               if getattr(panel.classes.item(i).data(ViewRole), "class_name", None) == "violet")
    panel.classes.setCurrentRow(row)
    class_dialogs.rename_class(panel)
    assert "purple" in [c.name for c in panel.class_list()]
    monkeypatch.setattr(dialogs, "ask_yes", lambda *a: True)
    class_dialogs.delete_class(panel)
    assert "purple" not in [c.name for c in panel.class_list()]
    # The grid answers at once: a thumbnail not loaded yet is a placeholder, then arrives by itself.
    panel.classes.setCurrentRow(2)  # all pictures
    index = panel.model.index(0)
    picture = panel.model.data(index, PictureGridModel.PictureRole)
    first = panel.model.data(index, Qt.ItemDataRole.DecorationRole)
    qtbot.waitUntil(lambda: panel.loader.is_loaded(picture), timeout=10_000)
    assert panel.model.data(index, Qt.ItemDataRole.DecorationRole).cacheKey() != first.cacheKey()
    assert list((folder / "cache").rglob("*.jpg"))  # cached on disk for the next time


def test_a_folder_that_is_not_a_project_gets_a_sentence(qtbot, window, tmp_path, errors):
    window.open_project(str(tmp_path))
    assert window.project_panel.project is None
    assert "not a resnet-gui project" in errors[-1] and "Choose the project" in errors[-1]


def test_train_continues_from_the_run_chosen_beside_it(qtbot, window, tmp_path, tiny_checkpoint, monkeypatch):
    """With a run that has a model, the box beside Train offers it; chosen, Train hands it to the Train tab."""
    import shutil

    from PySide6.QtTest import QTest

    folder = make_project(tmp_path)
    with Project.open(folder) as project:
        classes = [(c.id, c.name) for c in project.classes()]
        run = project.begin_run({}, classes, [], [], {})
        model = folder / "models" / "run-0001.pt"
        shutil.copyfile(tiny_checkpoint, model)
        project.finish_run(run, "completed", model, {"val_acc": 0.75}, [], {})
    panel = window.project_panel
    asked = []
    monkeypatch.setattr(window.train_panel, "start_training", lambda **kwargs: asked.append(kwargs))
    window.open_project(str(folder))
    box = panel.start_from
    assert box.isVisible() and [box.itemText(i) for i in range(box.count())] == ["From scratch", "From run 1"]
    QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    box.setCurrentIndex(1)
    QTest.mouseClick(panel.train_button, Qt.MouseButton.LeftButton)
    assert [a["from_run"] for a in asked] == [None, 1] and asked[1]["project"] == str(folder)
    panel.refresh_classes()  # the list is read again: the choice stays
    assert box.currentData() == 1
