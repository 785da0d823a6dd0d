"""A project's classes: their names (which become folder names), colours, order, renames, merges."""

from __future__ import annotations

import sqlite3

from resnet_gui.core.projects.records import ProjectClass, now
from resnet_gui.core.projects.schema import ProjectError
from resnet_gui.core.text import display_path, is_text
from resnet_gui.core.values import CLASS_COLOURS


def check_class_name(name: str) -> str:
    """A class name becomes a folder name when pictures are sorted: it must make a safe one everywhere."""
    name = (name or "").strip()
    if not name:
        raise ProjectError("A class needs a name.")
    if not is_text(name):
        raise ProjectError(f"'{display_path(name)}' cannot be a class name: it is not valid text (it holds bytes "
                           "that are not UTF-8). Rename it.")
    if name.startswith((".", "_")) or any(c in name for c in '/\\:*?"<>|') or any(ord(c) < 32 for c in name):
        raise ProjectError(f"'{name}' cannot be a class name: it becomes a folder name, so it may not start with "
                           "'.' or '_' or hold any of / \\ : * ? \" < > |.")
    if len(name) > 100:
        raise ProjectError("A class name may be at most 100 characters long.")
    return name


class ProjectClasses:
    """The class half of `Project` (core/projects/project.py), over its connection and transactions."""

    db: sqlite3.Connection

    def classes(self) -> list[ProjectClass]:
        rows = self.db.execute(
            "SELECT c.id, c.name, c.colour, c.position, COUNT(i.id) FROM classes c "
            "LEFT JOIN images i ON i.class_id = c.id AND i.excluded = 0 GROUP BY c.id ORDER BY c.position, c.id")
        return [ProjectClass(*row) for row in rows]

    def class_named(self, name: str) -> ProjectClass:
        for c in self.classes():
            if c.name.casefold() == name.strip().casefold():
                return c
        known = ", ".join(c.name for c in self.classes()) or "none yet"
        raise ProjectError(f"The project has no class '{name}' (its classes: {known}).")

    def class_names(self) -> dict[int, str]:
        """{class id: name} in project order, without counting pictures (asked at every decision)."""
        return dict(self.db.execute("SELECT id, name FROM classes ORDER BY position, id"))

    def add_class(self, name: str, colour: str | None = None) -> ProjectClass:
        name = check_class_name(name)  # a sentence for a name that cannot be one, before anything is written
        with self.transaction(), self._undoable(f"Add the class {name}"):
            made = self._add_class(name, colour)
            self._log("class+", self._class_row(made.id))
            return made

    def _add_class(self, name: str, colour: str | None = None) -> ProjectClass:
        name = check_class_name(name)
        if self.db.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
            raise ProjectError(f"The project already has a class named '{name}'.")
        count = self.db.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM classes").fetchone()
        colour = colour or CLASS_COLOURS[count[0] % len(CLASS_COLOURS)]
        cursor = self.db.execute("INSERT INTO classes(name, colour, position) VALUES (?, ?, ?)",
                                 (name, colour, count[1] + 1))
        return ProjectClass(cursor.lastrowid, name, colour, count[1] + 1)

    def _class_for(self, name: str, create: bool) -> int:
        row = self.db.execute("SELECT id FROM classes WHERE name = ?", ((name or "").strip(),)).fetchone()
        if row:
            return row[0]
        if not create:
            self.class_named(name)  # raises with the list of classes
        return self._add_class(name).id

    def rename_class(self, old: str, new: str) -> None:
        target = self.class_named(old)
        new = check_class_name(new)
        clash = self.db.execute("SELECT id FROM classes WHERE name = ?", (new,)).fetchone()
        if clash and clash[0] != target.id:
            raise ProjectError(f"The project already has a class named '{new}'. To put the pictures of "
                               f"'{target.name}' into it, merge the two classes.")
        with self.transaction(), self._undoable(f"Rename {target.name} to {new}"):
            before = self._class_row(target.id)
            self.db.execute("UPDATE classes SET name = ? WHERE id = ?", (new, target.id))
            self._log("class~", {"before": before, "after": self._class_row(target.id)})

    def set_colour(self, name: str, colour: str) -> None:
        target = self.class_named(name)
        with self.transaction(), self._undoable(f"Recolour {target.name}"):
            before = self._class_row(target.id)
            self.db.execute("UPDATE classes SET colour = ? WHERE id = ?", (colour, target.id))
            self._log("class~", {"before": before, "after": self._class_row(target.id)})

    def merge_classes(self, source: str, into: str) -> int:
        """Move every picture of `source` into `into` (each move recorded), then remove `source`."""
        a, b = self.class_named(source), self.class_named(into)
        if a.id == b.id:
            raise ProjectError("Choose two different classes to merge.")
        with self.transaction(), self._undoable(f"Merge {a.name} into {b.name}"):
            ids = [r[0] for r in self.db.execute("SELECT id FROM images WHERE class_id = ?", (a.id,))]
            self._log_class_removal(a.id)
            self.db.executemany(
                "INSERT INTO labels(image_id, class_id, class_name, source, made_at) VALUES (?, ?, ?, 'typed', ?)",
                [(i, b.id, b.name, now()) for i in ids])
            self.db.execute("UPDATE images SET class_id = ? WHERE class_id = ?", (b.id, a.id))
            self._log("class-", self._class_row(a.id))
            self.db.execute("DELETE FROM classes WHERE id = ?", (a.id,))
        return len(ids)

    def delete_class(self, name: str) -> int:
        """Remove a class; its pictures become unlabelled (recorded), never removed."""
        target = self.class_named(name)
        with self.transaction(), self._undoable(f"Delete the class {target.name}"):
            ids = [r[0] for r in self.db.execute("SELECT id FROM images WHERE class_id = ?", (target.id,))]
            self._log_class_removal(target.id)
            self.db.executemany(
                "INSERT INTO labels(image_id, class_id, class_name, source, made_at) VALUES (?, NULL, ?, "
                "'unlabelled', ?)", [(i, target.name, now()) for i in ids])
            self.db.execute("UPDATE images SET class_id = NULL WHERE class_id = ?", (target.id,))
            self._log("class-", self._class_row(target.id))
            self.db.execute("DELETE FROM classes WHERE id = ?", (target.id,))
        return len(ids)

    def _log_class_removal(self, class_id: int) -> None:
        """Before a class goes: the decisions that name it (their class id becomes NULL), so undo gives it back."""
        ids = [r[0] for r in self.db.execute("SELECT id FROM labels WHERE class_id = ?", (class_id,))]
        self._log("labels~", {"class_id": class_id, "ids": ids})

    def move_class(self, name: str, position: int) -> None:
        order = [c.id for c in self.classes()]
        target = self.class_named(name).id
        order.remove(target)
        order.insert(max(0, min(position, len(order))), target)
        with self.transaction():
            self.db.executemany("UPDATE classes SET position = ? WHERE id = ?", list(enumerate(order)))

