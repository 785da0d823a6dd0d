"""Journey: a project from nothing, by clicks and keys: New project… (a new folder's name typed into the dialog),
classes made with +, class folders dropped on their class, a pool of unlabelled pictures dropped on the grid,
labels given with the digit keys, Train, the review with Enter, a click on a bar and the keys again, Sort into
folders through its dialogs, and the project back when the window opens again."""

from pathlib import Path

import pytest
from PySide6.QtCore import QPointF, Qt

from tests.journeys.journey import SHOTS, WAIT
from tests.journeys.test_journey_train import choose, open_tab, set_spin
from tests.support import make_shapes_dataset


def item_named(classes, name):
    for i in range(classes.count()):
        item = classes.item(i)
        words = item.text().split("  ")
        if name in (words[0].strip(), words[1].strip() if len(words) > 2 else None) or item.text().startswith(name):
            return item
    raise AssertionError(f"no {name!r} among {[classes.item(i).text() for i in range(classes.count())]}")


def click_bar(user, chart, row: int) -> None:
    """Click the middle of bar `row` (0 = the top bar), where a person points."""
    guess = chart.guesses[row]
    y = len(chart.guesses) - 1 - row
    scene = chart.getPlotItem().vb.mapViewToScene(QPointF(max(guess.prob, 0.02) / 2, y))
    user.click(chart.viewport(), chart.mapFromScene(scene))


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_a_project_from_nothing_to_sorted_folders(user, tmp_path, qtbot, settings, screen):
    window = user.window
    panel = window.project_panel
    open_tab(user, "Project")
    new_folder = tmp_path / "my new project"  # does not exist yet: the dialog makes it
    user.will_choose_path(new_folder)
    new_button = next(b for b in panel.empty.findChildren(type(panel.add_button)) if b.text() == "New project…")
    user.click(new_button)
    user.wait(lambda: panel.project is not None)
    assert (new_folder / "project.sqlite").is_file()

    plus = next(b for b in panel.findChildren(type(panel.add_button)) if b.text() == "+")
    for name in ("red", "green", "blue"):
        user.will_type(name)
        user.click(plus)
        user.wait(lambda name=name: name in [c.name for c in panel.class_list()], timeout=10_000)

    # A folder of each class dropped on its class: added with that label.
    seed = make_shapes_dataset(tmp_path / "seed", per_class=5, seed=1, size=24)
    for name in ("red", "green", "blue"):
        item = item_named(panel.classes, name)
        rect = panel.classes.visualItemRect(item)
        panel.classes.scrollToItem(item)
        user.drop_at(panel.classes, [seed / name], rect.center())
        user.wait(lambda name=name: panel.project.class_named(name).count == 5, timeout=WAIT)
    # Unlabelled pictures dropped on the grid; three of them labelled with the digit keys.
    pool = make_shapes_dataset(tmp_path / "pool", per_class=4, seed=2, size=24)
    user.drop(panel.grid, [pool])
    user.wait(lambda: panel.project.count_images() == 27, timeout=WAIT)
    user.click(panel.classes.viewport(), panel.classes.visualItemRect(item_named(panel.classes, "Unlabelled")).center())
    user.wait(lambda: panel.model.rowCount() == 12, timeout=WAIT)
    user.click(panel.grid.viewport(), panel.grid.visualRect(panel.model.index(0)).center())
    labelled = []
    for key in (Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3):
        labelled.append(panel.current_picture())
        user.key(panel.grid, key)
    names = panel.project.class_names()
    assert [names[panel.project.picture(p.id).class_id] for p in labelled] == ["red", "green", "blue"]

    # Train with the Train tab's settings (small and quick), from the Project tab's button.
    train = window.train_panel
    open_tab(user, "Train")
    choose(user, train.form.weights, "None (random start)")
    set_spin(user, train.form.epochs, 2)
    set_spin(user, train.form.image_size, 16)
    open_tab(user, "Project")
    shown = []
    train.training_started.connect(lambda: shown.append((train.folder_row.isVisible(),
                                                         train.project_note.isVisible())))
    with qtbot.waitSignal(train.project_trained, timeout=WAIT):
        user.click(panel.train_button)
    assert window.tabs.currentWidget() is train
    assert shown == [(False, True)]  # while a project trains, no unrelated data folder: the project's name
    user.wait(lambda: panel.review_run is not None)
    user.wait(lambda: not train.is_training())
    assert train.folder_row.isVisible()
    open_tab(user, "Project")

    # Review: keys, then a click on a bar, then the keys again (the grid keeps them).
    review = item_named(panel.classes, "To review")
    user.click(panel.classes.viewport(), panel.classes.visualItemRect(review).center())
    user.wait(lambda: panel.model.rowCount() > 3, timeout=WAIT)
    user.click(panel.grid.viewport(), panel.grid.visualRect(panel.model.index(0)).center())
    first = panel.current_picture()
    user.key(panel.grid, Qt.Key.Key_Return)
    assert panel.project.history(first.id)[-1]["source"] == "accepted"
    second = panel.current_picture()
    user.wait(lambda: bool(panel.pane.chart.guesses), timeout=WAIT)
    bar_class = panel.pane.chart.guesses[-1].label
    click_bar(user, panel.pane.chart, len(panel.pane.chart.guesses) - 1)
    assert names[panel.project.picture(second.id).class_id] == bar_class
    user.shot(SHOTS / f"project-review-after-bar-click-{screen}.png")
    third = panel.current_picture()
    assert panel.grid.hasFocus()
    user.key(panel.grid, Qt.Key.Key_Delete)  # the keys still work after the click
    assert panel.project.history(third.id)[-1]["source"] == "excluded"
    fourth = panel.current_picture()
    user.key(panel.grid, Qt.Key.Key_2)
    assert names[panel.project.picture(fourth.id).class_id] == "green"
    # The buttons under the chart do the same as Enter and Del, and leave the keys with the grid.
    assert panel.model.rowCount() >= 2
    fifth = panel.current_picture()
    user.click(panel.pane.accept_button)
    assert panel.project.history(fifth.id)[-1]["source"] == "accepted"
    sixth = panel.current_picture()
    user.click(panel.pane.exclude_button)
    assert panel.project.history(sixth.id)[-1]["source"] == "excluded"
    assert panel.grid.hasFocus()
    user.fits()

    # Sort into folders: the folder dialog, then the counts, answered Copy.
    out = tmp_path / "sorted"
    out.mkdir()
    user.will_choose_path(out)
    counts = []
    def answer_sort(dialog):
        counts.append(dialog.text())
        copy = next(b for b in dialog.buttons() if b.text().replace("&", "") == "Copy")
        from PySide6.QtTest import QTest

        QTest.mouseClick(copy, Qt.MouseButton.LeftButton)
    user.will_answer(answer_sort)  # queued before the click: the counts may be ready before the click returns
    user.click(panel.sort_button)
    user.wait(lambda: bool(list(out.glob("sort-log-*.csv"))))
    user.wait(lambda: not panel.job_task.is_running())
    assert counts and "red:" in counts[0]
    assert sum(1 for _ in (out / "red").iterdir()) >= 5
    user.fits()

    # Check data: the run's model looks at the labelled pictures; the sentences come in a box, with the page.
    said = []

    def answer_check(dialog):
        said.append(dialog.text())
        close = next(b for b in dialog.buttons() if b.text().replace("&", "") == "Close")
        from PySide6.QtTest import QTest

        QTest.mouseClick(close, Qt.MouseButton.LeftButton)
    user.will_answer(answer_check)
    user.click(panel.check_button)
    user.wait(lambda: bool(said))
    user.wait(lambda: not panel.job_task.is_running())
    page = Path(panel.project.root) / "checks" / "audit.html"
    assert "The model of run 1 looked at them." in said[0] and str(page) in said[0]
    assert page.is_file() and "Pictures per class" in page.read_text(encoding="utf-8")
    user.fits()

    # Map…: every picture a point, coloured by class; hovering names it, a click keeps its name under the map.
    user.click(panel.map_button)
    user.wait(lambda: getattr(panel, "picture_map", None) is not None and panel.picture_map.isVisible())
    picture_map = panel.picture_map
    # where umap-learn is installed, the points move once more when UMAP has placed them: click after that
    user.wait(lambda: "placing by UMAP" not in picture_map.method_note.text())
    user.qtbot.wait(50)  # the plot fits its range to the points as it paints
    status = panel.project.status()
    assert picture_map.point_count() == sum(status.labelled.values()) + status.unlabelled
    scatter = picture_map.scatters["red"]
    first = scatter.points()[0]
    from PySide6.QtTest import QTest  # the map is a window of its own: the hands of `user` are for the main one

    QTest.mouseClick(picture_map.plot.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     picture_map.plot.mapFromScene(scatter.mapToScene(first.pos())))
    assert picture_map.shown == first.data()
    assert picture_map.picked.text().startswith(Path(picture_map.made.paths[first.data()]).name + "\nred · guess ")
    user.wait(lambda: picture_map.thumbnail.pixmap() is not None and not picture_map.thumbnail.pixmap().isNull())
    picture_map.colour_by.setCurrentIndex(picture_map.colour_by.findText("Confidence"))
    assert set(picture_map.scatters) <= {"under 50%", "50-80%", "80-95%", "95% or more"}
    assert picture_map.point_count() == sum(status.labelled.values()) + status.unlabelled
    # A loop drawn around every point, then Label the selection as blue: the project labels them all at once.
    from tests.gui.test_gui_map import drag

    QTest.mouseClick(picture_map.draw_button, Qt.MouseButton.LeftButton)
    box = picture_map.view
    left, right = box.viewRange()
    corners = [(left[0], right[0]), (left[1], right[0]), (left[1], right[1]), (left[0], right[1])]
    inset = [(x * 0.98 + sum(left) / 2 * 0.02, y * 0.98 + sum(right) / 2 * 0.02) for x, y in corners]
    drag(picture_map.plot.viewport(), [picture_map.plot.mapFromScene(box.mapViewToScene(QPointF(x, y)))
                                       for x, y in inset + inset[:1]])
    user.wait(lambda: len(picture_map.selected) == picture_map.point_count())
    picture_map.class_choice.setCurrentText("blue")
    QTest.mouseClick(picture_map.label_button, Qt.MouseButton.LeftButton)
    after = panel.project.status()
    assert after.unlabelled == 0 and after.labelled["blue"] == picture_map.point_count()
    assert item_named(panel.classes, "blue").text().endswith(f"({picture_map.point_count()})")
    picture_map.close()
    user.fits()


def test_the_last_project_opens_with_the_window(qtbot, tmp_path, settings, errors):
    """Closed and opened again, the window shows the project the user was working on."""
    from resnet_gui.core.projects.project import Project
    from resnet_gui.gui.main_window import MainWindow

    with Project.create(tmp_path / "lab") as project:
        project.add_class("cells")
    first = MainWindow(settings)
    qtbot.addWidget(first, before_close_func=lambda w: w.shutdown())
    first.open_project(str(tmp_path / "lab"))
    first.close()
    again = MainWindow(settings)
    qtbot.addWidget(again, before_close_func=lambda w: w.shutdown())
    assert again.project_panel.project is not None and again.project_panel.project.root == (tmp_path / "lab")
    assert errors == []



@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_a_moved_project_fits_the_screen_and_finds_its_missing_files(user, tmp_path, screen):
    """Opened after its pictures moved, a project with a long folder name keeps the window on the screen, and
    Find N missing… is in reach; it finds the files in their new folder."""
    from resnet_gui.core.projects.project import Project

    long = tmp_path / ("microscopy plates from the second floor lab, autumn series " * 2).strip()
    pictures = make_shapes_dataset(tmp_path / "pictures", per_class=2, size=20)
    with Project.create(long) as project:
        project.import_class_tree(pictures)
    moved = tmp_path / "moved elsewhere"
    pictures.rename(moved)
    window = user.window
    panel = window.project_panel
    window.open_project(str(long))  # as Recent projects opens it (File › Open project… is the folder dialog)
    user.wait(lambda: panel.missing_button.isVisible(), timeout=WAIT)
    user.fits()
    assert panel.missing_button.text() == "Find 6 missing…"
    user.will_choose_path(moved)
    user.click(panel.missing_button)  # inside the window: `click` checks it is on screen
    user.wait(lambda: not panel.missing_button.isVisible(), timeout=WAIT)
    assert panel.project.status().missing == []
    user.wait(lambda: not panel.progress.isVisible(), timeout=WAIT)  # no full bar left under the header
    pictures = panel.model.pictures
    user.wait(lambda: all(panel.loader.get(p) is not None for p in pictures), timeout=WAIT)  # thumbnails again
    user.fits()
    user.shot(SHOTS / f"project-moved-{screen}.png")


def test_a_moved_project_stays_in_recent_projects_greyed(user, tmp_path):
    """A moved project silently dropped out of Recent projects, so the next one took its place at the top and a
    click opened another project. It stays, greyed and saying so; the others open."""
    from resnet_gui.core.projects.project import Project

    window = user.window
    for name in ("first", "second"):
        with Project.create(tmp_path / name) as project:
            project.add_class("cells")
        window.open_project(str(tmp_path / name))
    (tmp_path / "second").rename(tmp_path / "second, moved")
    user.menu("File")  # opens the File menu; Recent projects fills as it is shown
    menu = window.recent_projects_menu
    menu.aboutToShow.emit()
    items = [(a.text(), a.isEnabled()) for a in menu.actions()]
    assert items[0] == (f"{tmp_path / 'second'} (moved or deleted)", False)
    assert items[1] == (str(tmp_path / "first"), True)
    from PySide6.QtTest import QTest
    QTest.keyClick(window.menuBar().actions()[0].menu(), Qt.Key.Key_Escape)
    menu.actions()[1].trigger()
    assert window.project_panel.project.root == tmp_path / "first"


def test_the_class_buttons_and_add_pictures(user, tmp_path):
    """File › Open project…, then + (typed), Rename (typed), Merge… (chosen), Colour (the colour dialog), Delete
    (confirmed), and Add pictures… (a file typed into the dialog), each a click answered as a person answers."""
    from PySide6.QtWidgets import QColorDialog, QInputDialog

    from resnet_gui.core.projects.project import Project

    with Project.create(tmp_path / "lab") as project:
        project.add_class("round")
    window = user.window
    panel = window.project_panel
    user.will_choose_path(tmp_path / "lab")
    user.menu("File", "Open project…")
    user.wait(lambda: panel.project is not None, timeout=WAIT)
    buttons = {b.text(): b for b in panel.findChildren(type(panel.add_button))}

    def select(name):
        item = item_named(panel.classes, name)
        user.click(panel.classes.viewport(), panel.classes.visualItemRect(item).center())

    user.will_type("long")
    user.click(buttons["+"])
    user.wait(lambda: "long" in [c.name for c in panel.class_list()], timeout=10_000)
    select("long")
    user.will_type("elongated")
    user.click(buttons["Rename"])
    user.wait(lambda: "elongated" in [c.name for c in panel.class_list()], timeout=10_000)
    select("elongated")
    colour_before = next(c.colour for c in panel.class_list() if c.name == "elongated")

    def pick_red(dialog):
        assert isinstance(dialog, QColorDialog)
        dialog.setCurrentColor(Qt.GlobalColor.red)
        dialog.accept()
    user.will_answer(pick_red)
    user.click(buttons["Colour"])
    user.wait(lambda: next(c.colour for c in panel.class_list() if c.name == "elongated") != colour_before,
              timeout=10_000)
    picture = make_shapes_dataset(tmp_path / "pics", per_class=1, size=20, classes=("red",)) / "red" / "red_000.png"
    user.will_choose_path(picture)
    user.click(buttons["Add pictures…"])
    user.wait(lambda: panel.project.count_images() == 1, timeout=WAIT)
    select("elongated")

    def into_round(dialog):
        assert isinstance(dialog, QInputDialog)
        dialog.setTextValue("round")
        dialog.accept()
    user.will_answer(into_round)
    user.click(buttons["Merge…"])
    user.wait(lambda: [c.name for c in panel.class_list()] == ["round"], timeout=10_000)
    select("round")
    user.will_press("Delete")
    user.click(buttons["Delete"])
    user.wait(lambda: panel.class_list() == [], timeout=10_000)
    user.fits()


def test_a_stopped_project_run_resumes_from_the_project_tab(user, tmp_path, qtbot):
    """Train from the Project tab, Stop in the Train tab after an epoch, then Resume run 1 in the Project tab:
    the same run goes on from the next epoch and finishes; the button goes."""
    from resnet_gui.core.projects.project import Project

    make_shapes_dataset(tmp_path / "seed", per_class=4, size=20, seed=1)
    with Project.create(tmp_path / "lab") as project:
        project.import_class_tree(tmp_path / "seed")
    window = user.window
    panel, train = window.project_panel, window.train_panel
    window.open_project(str(tmp_path / "lab"))  # as Recent projects opens it
    user.wait(lambda: panel.project is not None)
    assert not panel.resume_button.isVisible()
    open_tab(user, "Train")
    choose(user, train.form.weights, "None (random start)")
    set_spin(user, train.form.epochs, 4)
    set_spin(user, train.form.image_size, 16)
    open_tab(user, "Project")
    epochs = []
    train.epoch_ended.connect(lambda event: epochs.append(event.epoch))
    user.click(panel.train_button)
    user.wait(lambda: epochs)
    with qtbot.waitSignal(train.project_trained, timeout=WAIT):
        user.click(train.stop_button)
    user.wait(lambda: not train.is_training())
    assert "Resume run goes on from epoch" in train.results.result_text.text()
    assert not train.resume_button.isEnabled()  # the Train tab's Resume is for folders, not this project's run
    done = epochs[-1]
    open_tab(user, "Project")
    assert panel.resume_button.isVisible() and panel.resume_button.text() == "Resume run 1"
    user.fits()
    user.shot(SHOTS / "project-resume-offered.png")
    epochs.clear()
    with qtbot.waitSignal(train.project_trained, timeout=WAIT) as trained:
        user.click(panel.resume_button)
    assert trained.args[0].run_id == 1 and trained.args[0].result.stopped == "completed"
    assert epochs == list(range(done + 1, 5))
    user.wait(lambda: not train.is_training())
    open_tab(user, "Project")
    assert not panel.resume_button.isVisible()
    assert [(r.id, r.status) for r in panel.project.runs()] == [(1, "completed")]


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_the_check_of_the_data_lists_what_it_found_and_the_review_keys_act_on_it(user, tmp_path, screen):
    """Check data… on a project with planted faults: the list gains Likely mislabelled, Duplicates and Leaking into
    validation; Enter gives a flipped picture the class it looks like, K keeps one as it is, Keep as it is (the
    button) settles a leak, Del excludes a copy and settles its pair."""
    from PySide6.QtTest import QTest

    from tests.core.audit.planted import planted_project

    folder = planted_project(tmp_path)
    panel = user.window.project_panel
    user.will_choose_path(folder)
    user.menu("File", "Open project…")
    user.wait(lambda: panel.project is not None)
    open_tab(user, "Project")
    said = user.will_press("Close")
    user.click(panel.check_button)
    user.wait(lambda: bool(said) and not panel.job_task.is_running())
    assert "listed on the left, under Likely mislabelled" in said[0].text()
    texts = [panel.classes.item(r).text() for r in range(panel.classes.count())]
    assert "From the last check of the data" in texts
    assert "Duplicates  (2)" in texts and "Leaking into validation  (2)" in texts
    names = panel.project.class_names()

    # Likely mislabelled, most suspicious first; Enter gives a flipped picture the class it looks like.
    user.click(panel.classes.viewport(),
               panel.classes.visualItemRect(item_named(panel.classes, "Likely mislabelled")).center())
    user.wait(lambda: panel.model.rowCount() >= 3)
    suspects = panel.model.rowCount()
    shown = [panel.model.data(panel.model.index(r), panel.model.PictureRole).path.name for r in range(suspects)]
    assert {"flipped-0.png", "flipped-1.png"} <= set(shown[:4])
    user.click(panel.grid.viewport(), panel.grid.visualRect(panel.model.index(shown.index("flipped-0.png"))).center())
    first = panel.current_picture()
    assert first.path.name == "flipped-0.png" and names[first.suggested] == "slate"
    assert panel.pane.accept_button.text() == "Make it slate (Enter)" and "Check: filed under amber" in \
        panel.pane.info.text()
    user.shot(SHOTS / f"project-check-mislabelled-{screen}.png")
    user.key(panel.grid, Qt.Key.Key_Return)
    assert names[panel.project.picture(first.id).class_id] == "slate"
    assert panel.project.history(first.id)[-1]["label"] == "slate"
    assert panel.model.rowCount() == suspects - 1
    assert item_named(panel.classes, "Likely mislabelled").text().endswith(f"({suspects - 1})")
    second = panel.current_picture()
    user.key(panel.grid, Qt.Key.Key_K)  # kept as it is: out of the list, its label untouched
    assert panel.project.picture(second.id).class_id == second.class_id and panel.model.rowCount() == suspects - 2

    # Leaking into validation: the training picture, then its copy; keeping one settles the pair.
    user.click(panel.classes.viewport(),
               panel.classes.visualItemRect(item_named(panel.classes, "Leaking into validation")).center())
    user.wait(lambda: panel.model.rowCount() == 2)
    assert [panel.model.data(panel.model.index(r), panel.model.PictureRole).path.name for r in range(2)] == \
        ["amber-3-001.png", "leak.jpg"]
    user.click(panel.grid.viewport(), panel.grid.visualRect(panel.model.index(1)).center())
    assert panel.pane.keep_button.isVisible() and panel.pane.accept_button.text() == "Keep (Enter)"
    assert "Check: the validation copy, in amber" in panel.pane.info.text()
    user.click(panel.pane.keep_button)
    assert panel.model.rowCount() == 0 and panel.grid.hasFocus()
    assert item_named(panel.classes, "Leaking into validation").text().endswith("(0)")

    # Duplicates: Del excludes one copy; its pair is settled with it.
    user.click(panel.classes.viewport(), panel.classes.visualItemRect(item_named(panel.classes, "Duplicates")).center())
    user.wait(lambda: panel.model.rowCount() == 2)
    user.click(panel.grid.viewport(), panel.grid.visualRect(panel.model.index(1)).center())
    copy = panel.current_picture()
    user.key(panel.grid, Qt.Key.Key_Delete)
    assert panel.project.picture(copy.id).excluded and panel.model.rowCount() == 0
    user.fits()
    user.shot(SHOTS / f"project-check-views-{screen}.png")

    # Ctrl+Z: the copy is back, and so is its pair; Edit › Redo names the exclusion and makes it again.
    user.key(panel.grid, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert not panel.project.picture(copy.id).excluded and panel.model.rowCount() == 2
    assert item_named(panel.classes, "Duplicates").text().endswith("(2)")
    bar = user.window.menuBar()  # the Edit menu names what Undo and Redo would do: a picture of it, looked at
    edit = next(a for a in bar.actions() if a.text().replace("&", "") == "Edit")
    QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, bar.actionGeometry(edit).center())
    user.qtbot.waitUntil(edit.menu().isVisible, timeout=5000)
    assert f"Redo Exclude {copy.path.name}" in [a.text().replace("&", "") for a in edit.menu().actions()]
    edit.menu().grab().save(str(SHOTS / f"edit-menu-undo-{screen}.png"))
    edit.menu().close()
    user.menu("Edit", f"Redo Exclude {copy.path.name}")
    assert panel.project.picture(copy.id).excluded and panel.model.rowCount() == 0
    user.menu("Edit", f"Undo Exclude {copy.path.name}")
    assert not panel.project.picture(copy.id).excluded and panel.model.rowCount() == 2


@pytest.mark.parametrize("screen", ["laptop", pytest.param("small", marks=pytest.mark.small_screen)])
def test_two_runs_side_by_side_and_one_pinned_as_the_model(user, tmp_path, tiny_checkpoint, screen):
    """Runs… lists both runs with what changed; two rows clicked compare them (per class, both confusion matrices,
    the labelled disagreement first); one row pinned becomes the project's model (the title says so, the review
    follows it), opened in the Classify tab, and Use the newest run unpins it."""
    from PySide6.QtTest import QTest

    from tests.support import make_two_runs

    folder = make_two_runs(tmp_path, model=tiny_checkpoint)
    window = user.window
    panel = window.project_panel
    user.will_choose_path(folder)
    user.menu("File", "Open project…")
    user.wait(lambda: panel.project is not None)
    open_tab(user, "Project")
    user.click(panel.runs_button)
    runs = panel.runs_window
    user.wait(runs.isVisible)
    assert runs.width() <= user.screen[0] and runs.height() <= user.screen[1]
    assert [runs.runs.item(r, 0).text() for r in range(2)] == ["1", "2"]
    assert runs.runs.item(1, 6).text() == "epochs 5 → 10; weights – → run-0001.pt"

    def click_row(row: int) -> None:  # the runs window is a window of its own: QTest's hands, as on the map
        QTest.mouseClick(runs.runs.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         runs.runs.visualItemRect(runs.runs.item(row, 2)).center())

    click_row(0)
    assert runs.pin_button.isEnabled() and runs.comparison_title.text() == ""
    click_row(1)
    assert "Run 1 (A) against run 2 (B)" in runs.comparison_title.text()
    assert "66.7% against 100.0% (+33.3 points)" in runs.comparison_title.text()
    assert runs.per_class.rowCount() == 2 and runs.per_class.item(0, 7).text() == "+50 points"
    assert [[runs.confusions[0].item(r, c).text() for c in range(2)] for r in range(2)] == [["1", "1"], ["0", "1"]]
    assert runs.disagreements.rowCount() == 3 and runs.disagreements.item(0, 0).text() != "unlabelled"
    runs.grab().save(str(SHOTS / f"project-runs-compared-{screen}.png"))

    click_row(1)  # a second click takes run 2 out of the selection: run 1 alone, to pin
    assert runs.selected_runs() == [1]
    QTest.mouseClick(runs.pin_button, Qt.MouseButton.LeftButton)
    assert panel.project.pinned_run_id() == 1 and runs.runs.item(0, 0).text() == "1 ★ pinned"
    assert "run 1 pinned as the model" in panel.title.text() and panel.review_run == 1
    assert panel.view_title.text().endswith("labelled by run 1")
    assert {p.predicted for p in panel.model.pictures} == {panel.project.class_named("blue").id}  # run 1's guesses
    user.shot(SHOTS / f"project-run-pinned-{screen}.png")
    assert runs.selected_runs() == [1] and runs.classify_button.isEnabled()  # the choice stays after a pin
    QTest.mouseClick(runs.classify_button, Qt.MouseButton.LeftButton)
    user.wait(lambda: (window.model_bar.choice().checkpoint or "").endswith("run-0001.pt"))
    assert window.tabs.currentIndex() == 0
    QTest.mouseClick(runs.unpin_button, Qt.MouseButton.LeftButton)
    assert panel.project.pinned_run_id() is None and panel.review_run == 2
    runs.close()
    user.fits()
