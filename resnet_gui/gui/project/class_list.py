"""The Project tab's list on the left: the views (to review, unlabelled, all, excluded), the views the last
check of the data feeds (likely mislabelled, duplicates, leaking into validation) while they hold pictures,
and the classes, each a drop target for pictures."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QListWidget, QListWidgetItem

from resnet_gui.core.projects.records import CHECK_VIEWS, ProjectClass, ProjectView, ViewCounts

VIEWS = (("review", "To review (most doubtful first)"), ("unlabelled", "Unlabelled"), ("all", "All pictures"),
         ("excluded", "Excluded"))
CHECK_VIEW_TITLES = {"mislabelled": "Likely mislabelled", "copies": "Duplicates",
                     "leaking": "Leaking into validation"}
CHECK_VIEW_TIPS = {
    "mislabelled": "Pictures that look like another class than the one they are filed under, most suspicious first. "
                   "Enter gives the class they look like, K keeps the label, 1-9 assign, Del excludes.",
    "copies": "The same picture, or a near copy, more than once (or under two classes). Del excludes a copy, K "
              "keeps it as it is.",
    "leaking": "Copies of training pictures on the validation side: the accuracy measured on them is too high. Del "
               "excludes a copy, K keeps it.",
}
ViewRole = Qt.ItemDataRole.UserRole + 1


class ClassList(QListWidget):
    """The views and the classes; pictures dropped on a class are added with that label."""

    files_dropped = Signal(list, object)  # paths, class name or None (unlabelled)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setIconSize(QSize(14, 14))

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        paths = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        item = self.itemAt(event.position().toPoint())
        target = item.data(ViewRole) if item is not None else None
        label = target.class_name if target is not None and target.kind == "class" else None
        if paths:
            event.acceptProposedAction()
            self.files_dropped.emit(paths, label)

    def show_classes(self, classes: list[ProjectClass], counts: dict[str, int], current: ProjectView) -> None:
        """The views with their `counts` and the `classes`; `current` stays selected (a class by its id, so a
        renamed class keeps its place), or All pictures."""
        self.blockSignals(True)
        self.clear()
        for key, text in VIEWS:
            item = QListWidgetItem(f"{text}  ({counts[key]})")
            item.setData(ViewRole, ProjectView(key))
            self.addItem(item)
        checks = {view: counts.get(view, 0) for view in CHECK_VIEWS}
        shown = [view for view, n in checks.items() if n or view == current.kind]
        if shown:
            header = QListWidgetItem("From the last check of the data")
            header.setFlags(Qt.ItemFlag.NoItemFlags)
            self.addItem(header)
            for view in shown:
                item = QListWidgetItem(f"{CHECK_VIEW_TITLES[view]}  ({checks[view]})")
                item.setData(ViewRole, ProjectView(view))
                item.setToolTip(CHECK_VIEW_TIPS[view])
                self.addItem(item)
        header = QListWidgetItem("Classes (drop pictures on one)")
        header.setFlags(Qt.ItemFlag.NoItemFlags)
        self.addItem(header)
        for number, c in enumerate(classes, 1):
            key = f"{number}  " if number <= 9 else "   "
            item = QListWidgetItem(_swatch(c.colour), f"{key}{c.name}  ({c.count})")
            item.setData(ViewRole, ProjectView.of_class(c))
            self.addItem(item)
        for row in range(self.count()):
            if current.same_as(self.item(row).data(ViewRole)):
                self.setCurrentRow(row)
                break
        else:
            self.setCurrentRow(2)
        self.blockSignals(False)  # the counts changed, not the view: the list is not read again

    def show_counts(self, counts: ViewCounts) -> None:
        """New counts in the list as it stands: no query."""
        views = {"review": counts.review, "unlabelled": counts.unlabelled, "all": counts.all,
                 "excluded": counts.excluded}
        texts = dict(VIEWS)
        number = 0
        for row in range(self.count()):
            item = self.item(row)
            view = item.data(ViewRole)
            if view is None:
                continue
            if view.kind in views:
                item.setText(f"{texts[view.kind]}  ({views[view.kind]})")
            elif view.is_check:
                item.setText(f"{CHECK_VIEW_TITLES[view.kind]}  ({counts.checks.get(view.kind, 0)})")
            else:
                number += 1
                key = f"{number}  " if number <= 9 else "   "
                item.setText(f"{key}{view.class_name}  ({counts.classes.get(view.class_id, 0)})")

    def current_view(self) -> ProjectView:
        item = self.currentItem()
        view = item.data(ViewRole) if item is not None else None
        return view if view is not None else ProjectView("all")


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(14, 14)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
