"""A user at the window, for the journeys: clicks, keys and drops on the widgets a person sees, and modal
dialogs answered from a timer, as a person answers them. Nothing here calls a panel's method.

Every click is checked first: the widget must be shown, enabled, inside the window and not wider than the
screen the journey runs at, so a button that is off-screen or greyed out fails the journey as it fails a user.
`User.clicked` records what was pressed, for the guard test that every button is pressed by some journey.
"""

from __future__ import annotations

import os
import tempfile
from collections import deque
from pathlib import Path

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QTimer, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QFileDialog,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QWidget,
)

WAIT = 180_000
# The screenshot each journey keeps at its end: looked at before a change to the window is resolved.
SHOTS = Path(os.environ.get("RESNET_GUI_JOURNEY_SHOTS") or tempfile.gettempdir()) / "resnet-gui-journeys"
SHOTS.mkdir(parents=True, exist_ok=True)
SCREENS = {"laptop": (1366, 768), "small": (1024, 768)}

# Every widget a journey pressed, by a name that says where it is: "Train/Start training".
PRESSED: set[str] = set()


def button_name(button: QAbstractButton) -> str:
    """Where a button is and what it said when the window was made ("Train/Resume", not "Resume (epoch 2)"),
    as the guard test names it."""
    first = button.property("journey_name")
    text = (first if isinstance(first, str) and first else button.text()).replace("&", "")
    tab = _tab_of(button)
    return f"{tab}/{text}" if tab else text


def _tab_of(widget: QWidget) -> str:
    from PySide6.QtWidgets import QTabWidget

    child, parent = widget, widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QTabWidget) and parent.objectName() == "main_tabs":
            index = parent.indexOf(child)
            return parent.tabText(index).replace("&", "") if index >= 0 else ""
        # QTabWidget holds its pages in a QStackedWidget
        if parent.parentWidget() is not None and isinstance(parent.parentWidget(), QTabWidget) \
                and parent.parentWidget().objectName() == "main_tabs":
            tabs = parent.parentWidget()
            return tabs.tabText(tabs.indexOf(child)).replace("&", "")
        child, parent = parent, parent.parentWidget()
    return ""


class User:
    def __init__(self, qtbot, window, screen: str = "laptop"):
        self.qtbot, self.window = qtbot, window
        self.screen = SCREENS[screen]
        window.resize(*self.screen)
        for button in window.findChildren(QAbstractButton):
            if button.property("journey_name") is None:
                button.setProperty("journey_name", button.text())
        window.activateWindow()  # a person's window is the active one: shortcuts act only there
        qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
        self.widths: list[int] = []
        self._answers: deque = deque()
        self._answered: list = []  # dialogs already answered: a closing one may still be the modal widget

    # ------------------------------------------------------------ seeing
    def fits(self) -> None:
        """The window is no wider or taller than the screen it runs on (Qt grows a window to fit its text)."""
        QApplication.processEvents()
        width, height = self.window.width(), self.window.height()
        self.widths.append(width)
        assert width <= self.screen[0], f"the window grew to {width} px on a {self.screen[0]} px screen"
        assert height <= self.screen[1], f"the window grew to {height} px on a {self.screen[1]} px screen"

    def sees(self, widget: QWidget) -> None:
        assert widget.isVisible(), f"{widget!r} is not shown"
        top_left = widget.mapTo(self.window, QPoint(0, 0))
        centre = widget.mapTo(self.window, widget.rect().center())
        assert self.window.rect().contains(centre), f"{_describe(widget)} is outside the window ({top_left})"

    # ------------------------------------------------------------ hands
    def _back_to_the_window(self) -> None:
        """What a desktop's window manager does when a dialog closes: the main window is active again
        (the offscreen platform has no window manager, and leaves no window active)."""
        if QApplication.activeModalWidget() is None and QApplication.activeWindow() is not self.window:
            self.window.activateWindow()
            self.qtbot.waitUntil(lambda: QApplication.activeWindow() is self.window, timeout=5000)

    def click(self, widget: QWidget, pos: QPoint | None = None, button=Qt.MouseButton.LeftButton) -> None:
        self._back_to_the_window()
        self.fits()
        self.sees(widget)
        assert widget.isEnabled(), f"{_describe(widget)} is greyed out"
        if isinstance(widget, QAbstractButton):
            PRESSED.add(button_name(widget))
        QTest.mouseClick(widget, button, Qt.KeyboardModifier.NoModifier, pos or widget.rect().center())
        QApplication.processEvents()

    def key(self, widget: QWidget, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
        self._back_to_the_window()
        QTest.keyClick(widget, key, modifier)
        QApplication.processEvents()

    def type_into(self, edit: QLineEdit, text: str) -> None:
        self.click(edit)
        edit.selectAll()
        QTest.keyClicks(edit, text)
        self.key(edit, Qt.Key.Key_Return)

    def menu(self, *path: str) -> None:
        """Open a menu of the menu bar by a click and click an item in it (sub-menus by their titles)."""
        self.fits()
        bar = self.window.menuBar()
        title = path[0]
        action = next(a for a in bar.actions() if a.text().replace("&", "") == title)
        QTest.mouseClick(bar, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         bar.actionGeometry(action).center())
        menu = action.menu()
        self.qtbot.waitUntil(menu.isVisible, timeout=5000)
        for name in path[1:]:
            item = next((a for a in menu.actions() if a.text().replace("&", "") == name), None)
            assert item is not None, f"no item {name!r} in {[a.text() for a in menu.actions()]}"
            assert item.isEnabled(), f"menu item {name!r} is greyed out"
            named = item.property("journey_name") or name  # an item whose words change: by its first words
            PRESSED.add("menu/" + "/".join([*path[: path.index(name)], named]))
            QTest.mouseClick(menu, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             menu.actionGeometry(item).center())
            if item.menu() is not None:
                menu = item.menu()
                self.qtbot.waitUntil(menu.isVisible, timeout=5000)
        QApplication.processEvents()

    def drop(self, target: QWidget, paths: list[Path]) -> None:
        """Drag files from a file manager and drop them on `target`: enter, move and drop events."""
        self.drop_at(target, paths, target.rect().center())

    def drop_at(self, target: QWidget, paths: list[Path], point: QPoint) -> None:
        """The same, at `point` of `target` (a list's item, say); a list's drops go to its viewport."""
        self.sees(target)
        viewport = getattr(target, "viewport", None)
        receiver = viewport() if viewport is not None else target
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(p)) for p in paths])
        where = QPointF(point)
        target = receiver
        actions = Qt.DropAction.CopyAction
        enter = QDragEnterEvent(where.toPoint(), actions, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(target, enter)
        assert enter.isAccepted(), f"{_describe(target)} refused the drag"
        drop = QDropEvent(where, actions, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(target, drop)
        QApplication.processEvents()

    # ------------------------------------------------------------ dialogs, answered from a timer
    def will_answer(self, answer) -> list:
        """Before the click that opens a modal dialog: `answer(dialog)` runs once it is shown. Answers are
        given in the order they were asked for, one per dialog, so a click that opens two dialogs in turn (a
        folder, then the counts) has both answers queued before it: a dialog that opened while the journey
        was still inside the click would otherwise wait for an answer that is never queued. Returns a list
        that holds the dialog afterwards, so the journey can check what it said."""
        seen: list = []
        self._answers.append((answer, seen))
        if len(self._answers) == 1:
            QTimer.singleShot(20, self._answer_next)
        return seen

    def _answer_next(self) -> None:
        if not self._answers:
            return
        dialog = QApplication.activeModalWidget()
        if dialog is None or dialog in self._answered or not dialog.isVisible():
            QTimer.singleShot(20, self._answer_next)
            return
        answer, seen = self._answers.popleft()
        self._answered.append(dialog)
        seen.append(dialog)
        try:
            answer(dialog)
        finally:
            if self._answers:
                QTimer.singleShot(20, self._answer_next)

    def unanswered(self) -> int:
        """Answers queued for dialogs that never opened (the user fixture fails a journey that leaves any)."""
        return len(self._answers)

    def will_choose_path(self, path: Path | str) -> list:
        """The next file dialog gets `path` typed into its name box, then Return, as a user types a path."""
        def answer(dialog) -> None:
            assert isinstance(dialog, QFileDialog), f"expected a file dialog, got {dialog!r}"
            edit = dialog.findChild(QLineEdit, "fileNameEdit")
            edit.setText(str(path))
            QTest.keyClick(edit, Qt.Key.Key_Return)
            if dialog.isVisible():  # a directory dialog may want the choice confirmed
                dialog.accept()

        return self.will_answer(answer)

    def will_press(self, text: str) -> list:
        """The next message box gets the button that reads `text` clicked."""
        def answer(dialog) -> None:
            assert isinstance(dialog, QMessageBox), f"expected a message box, got {dialog!r}: {dialog.windowTitle()}"
            button = next((b for b in dialog.buttons() if b.text().replace("&", "") == text), None)
            assert button is not None, f"no button {text!r} in {[b.text() for b in dialog.buttons()]}: {dialog.text()}"
            QTest.mouseClick(button, Qt.MouseButton.LeftButton)

        return self.will_answer(answer)

    def will_type(self, text: str) -> list:
        """The next input dialog gets `text` typed and OK."""
        def answer(dialog) -> None:
            assert isinstance(dialog, QInputDialog), f"expected an input dialog, got {dialog!r}"
            dialog.setTextValue(text)
            dialog.accept()

        return self.will_answer(answer)

    def wait(self, condition, timeout: int = WAIT) -> None:
        self.qtbot.waitUntil(lambda: bool(condition()), timeout=timeout)

    def shot(self, path: Path) -> Path:
        """What the user sees now, as a PNG (the journeys keep one at their end). After a short wait: pyqtgraph
        widens an axis for its labels when it first paints them, and a person sees the window settled."""
        for _ in range(3):
            self.window.grab()  # paints, so charts can size their axes
            self.qtbot.wait(30)
        self.window.grab().save(str(path))
        return path


def menu_items(window) -> list[str]:
    """Every item of the menu bar, as `User.menu` names them ("menu/File/Open images…")."""
    names = []

    def walk(menu: QMenu, prefix: list[str]) -> None:
        for action in menu.actions():
            if action.isSeparator() or not action.text():
                continue
            path = prefix + [action.property("journey_name") or action.text().replace("&", "")]
            if action.menu() is not None:
                if action.menu() is window.recent_projects_menu:
                    names.append("menu/" + "/".join(path))  # filled when it opens
                    continue
                walk(action.menu(), path)
            else:
                names.append("menu/" + "/".join(path))

    for action in window.menuBar().actions():
        walk(action.menu(), [action.text().replace("&", "")])
    return names


def _describe(widget: QWidget) -> str:
    text = getattr(widget, "text", lambda: "")()
    return f"{type(widget).__name__} {text!r}" if text else repr(widget)
