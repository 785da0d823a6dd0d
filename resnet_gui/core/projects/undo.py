"""Undo and redo of a project's edits, across sessions: review decisions (accept, assign, exclude, take back,
Keep), a map selection's labels, class renames, recolours, merges and deletions.

Triggers (schema version 9) log what each decision changes in the statement that makes it, so a key press in
the review stays one statement; an edit of several statements opens a step first (`_undoable`). Undo replays a
step's log backwards (a label given is taken out of the history, a finding it settled comes back, a deleted
class is made again with its id), redo forwards; a picture's label is then read again from its history. A
new edit drops the steps that were undone, as every editor does. Adding pictures is not an edit to undo.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import PurePosixPath

from resnet_gui.core.projects.records import now
from resnet_gui.core.projects.schema import ProjectError

_LABEL_COLUMNS = ("id", "image_id", "class_id", "class_name", "source", "run_id", "predicted_class",
                  "predicted_prob", "made_at")
_FINDING_COLUMNS = ("image_id", "view", "position", "finding", "reason", "suggested", "guesses")
_CLASS_COLUMNS = ("id", "name", "colour", "position")
# a picture's label and exclusion, as its newest decision left them
_FROM_HISTORY = (
    "UPDATE images SET class_id = (SELECT l.class_id FROM labels l WHERE l.image_id = images.id ORDER BY l.id DESC "
    "LIMIT 1), excluded = COALESCE((SELECT l.source = 'excluded' FROM labels l WHERE l.image_id = images.id "
    "ORDER BY l.id DESC LIMIT 1), 0) WHERE id = ?")


def _insert(db: sqlite3.Connection, table: str, columns: tuple[str, ...], row: dict, verb: str = "INSERT") -> None:
    db.execute(f"{verb} INTO {table}({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
               [row.get(c) for c in columns])


@contextmanager
def undo_paused(db: sqlite3.Connection) -> Iterator[None]:
    """Inside a transaction: what is written is no edit to undo (pictures added, a check's findings)."""
    db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('undo_paused', '1')")
    yield
    db.execute("DELETE FROM meta WHERE key = 'undo_paused'")


class ProjectUndo:
    """The undo half of `Project` (core/projects/project.py), over its connection and transactions."""

    db: sqlite3.Connection

    @contextmanager
    def _undoable(self, what: str) -> Iterator[None]:
        """Inside a transaction: one step for everything the block changes, named `what`."""
        self.db.execute("DELETE FROM undo_steps WHERE undone = 1")
        self.db.execute("INSERT INTO undo_steps(what, made_at, open) VALUES (?, ?, 1)", (what, now()))
        yield
        self.db.execute("UPDATE undo_steps SET open = 0 WHERE open = 1")

    def _log(self, kind: str, row: dict) -> None:
        """A change the triggers do not see (a class's), into the open step."""
        self.db.execute("INSERT INTO undo_log(step_id, kind, row) VALUES ((SELECT MAX(id) FROM undo_steps), ?, ?)",
                        (kind, json.dumps(row)))

    def _step(self, undone: bool) -> tuple[int, str | None] | None:
        """The step an undo (the newest done) or a redo (the oldest undone) acts on: (id, what)."""
        row = self.db.execute(
            "SELECT id, what FROM undo_steps WHERE undone = ? AND open = 0 ORDER BY id " + ("ASC" if undone else "DESC")
            + " LIMIT 1", (int(undone),)).fetchone()
        return (row[0], row[1]) if row else None

    def undo_name(self) -> str | None:
        """What Ctrl+Z undoes now, in words ("Label cell_003.png as round"), or None: nothing to undo."""
        step = self._step(undone=False)
        return self._describe(*step) if step else None

    def redo_name(self) -> str | None:
        step = self._step(undone=True)
        return self._describe(*step) if step else None

    def _describe(self, step_id: int, what: str | None) -> str:
        if what:
            return what
        row = self.db.execute("SELECT kind, row FROM undo_log WHERE step_id = ? AND kind IN ('label+', 'kept+') "
                              "ORDER BY id LIMIT 1", (step_id,)).fetchone()
        if row is None:
            return "an edit"
        data = json.loads(row[1])
        found = self.db.execute("SELECT path FROM images WHERE id = ?", (data["image_id"],)).fetchone()
        name = PurePosixPath(found[0]).name if found else "a picture"
        if row[0] == "kept+":
            return f"Keep {name} as it is"
        source, label = data["source"], data["class_name"]
        if source == "excluded":
            return f"Exclude {name}"
        if source == "unlabelled":
            return f"Take the label off {name}"
        return f"{'Accept' if source == 'accepted' else 'Label'} {name} as {label}"

    def undo(self) -> str:
        """Undo the newest edit; returns what it was. A sentence when there is nothing to undo."""
        return self._replay(undone=False)

    def redo(self) -> str:
        """Make the newest undone edit again; returns what it was."""
        return self._replay(undone=True)

    def _replay(self, undone: bool) -> str:
        with self.transaction():
            step = self._step(undone)
            if step is None:
                raise ProjectError("There is nothing to redo." if undone else "There is nothing to undo.")
            name = self._describe(*step)
            log = self.db.execute("SELECT kind, row FROM undo_log WHERE step_id = ? ORDER BY id", (step[0],)).fetchall()
            self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('undo_replaying', '1')")
            pictures: set[int] = set()
            for kind, row in (log if undone else reversed(log)):
                data = json.loads(row)
                (self._redo_one if undone else self._undo_one)(kind, data)
                if "image_id" in data:
                    pictures.add(data["image_id"])
            self.db.executemany(_FROM_HISTORY, [(i,) for i in sorted(pictures)])
            self.db.execute("DELETE FROM meta WHERE key = 'undo_replaying'")
            self.db.execute("UPDATE undo_steps SET undone = ? WHERE id = ?", (int(not undone), step[0]))
        return name

    def _undo_one(self, kind: str, data: dict) -> None:
        db = self.db
        if kind == "label+":
            db.execute("DELETE FROM labels WHERE id = ?", (data["id"],))
        elif kind == "kept+":
            db.execute("DELETE FROM check_kept WHERE image_id = ? AND view = ?", (data["image_id"], data["view"]))
        elif kind == "kept-":
            _insert(db, "check_kept", ("image_id", "view", "made_at"), data, "INSERT OR REPLACE")
        elif kind == "finding-":
            _insert(db, "check_findings", _FINDING_COLUMNS, data, "INSERT OR IGNORE")
        elif kind == "class+":
            db.execute("DELETE FROM classes WHERE id = ?", (data["id"],))
        elif kind == "class-":
            _insert(db, "classes", _CLASS_COLUMNS, data)
        elif kind == "class~":
            self._set_class(data["before"])
        elif kind == "labels~":  # the decisions that named a deleted class get it back
            db.executemany("UPDATE labels SET class_id = ? WHERE id = ?", [(data["class_id"], i) for i in data["ids"]])

    def _redo_one(self, kind: str, data: dict) -> None:
        db = self.db
        if kind == "label+":
            _insert(db, "labels", _LABEL_COLUMNS, data)
        elif kind == "kept+":
            _insert(db, "check_kept", ("image_id", "view", "made_at"), data, "INSERT OR REPLACE")
        elif kind == "kept-":
            db.execute("DELETE FROM check_kept WHERE image_id = ? AND view = ?", (data["image_id"], data["view"]))
        elif kind == "finding-":
            db.execute("DELETE FROM check_findings WHERE image_id = ? AND view = ?", (data["image_id"], data["view"]))
        elif kind == "class+":
            _insert(db, "classes", _CLASS_COLUMNS, data)
        elif kind == "class-":
            db.execute("DELETE FROM classes WHERE id = ?", (data["id"],))
        elif kind == "class~":
            self._set_class(data["after"])
        elif kind == "labels~":
            pass  # the class's deletion (class-, after this) takes its name off them again

    def _set_class(self, row: dict) -> None:
        # an UPDATE: a REPLACE would delete the row first, and its pictures would lose their class
        self.db.execute("UPDATE classes SET name = ?, colour = ?, position = ? WHERE id = ?",
                        (row["name"], row["colour"], row["position"], row["id"]))

    def _class_row(self, class_id: int) -> dict:
        row = self.db.execute("SELECT id, name, colour, position FROM classes WHERE id = ?", (class_id,)).fetchone()
        return dict(zip(_CLASS_COLUMNS, row, strict=True))
