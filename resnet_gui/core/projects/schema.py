"""The project database's schema, built by replaying its migrations in order.

A new project and a project made by the first release go through the same steps, so every migration
runs in every test that makes a project. Each step runs in one transaction together with the
`user_version` it leads to: a step is applied whole or not at all. Before an existing project is
upgraded, a copy of its database is kept beside it (`project.sqlite.vN.bak`).
"""

from __future__ import annotations

import json
import math
import posixpath
import sqlite3
from collections.abc import Callable
from pathlib import Path

from resnet_gui.core.errors import UserError

# Version 1: the first release's schema.
_VERSION_1 = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE classes (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE,
        colour TEXT NOT NULL,
        position INTEGER NOT NULL)""",
    """CREATE TABLE images (
        id INTEGER PRIMARY KEY,
        path TEXT NOT NULL UNIQUE,        -- relative to the project (POSIX) when inside it, else absolute
        width INTEGER, height INTEGER,
        bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,             -- finds the file again after it moved
        added_at TEXT NOT NULL,
        class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL,  -- the label now; NULL: unlabelled
        excluded INTEGER NOT NULL DEFAULT 0,
        split TEXT CHECK (split IN ('train', 'val')))  -- fixed at its first training, kept ever after""",
    """CREATE INDEX images_sha256 ON images(sha256)""",
    """CREATE INDEX images_class ON images(class_id)""",
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        started_at TEXT NOT NULL, finished_at TEXT,
        status TEXT NOT NULL,             -- running, completed, early_stopping, cancelled, failed,
                                         -- interrupted (its process ended without finishing it)
        checkpoint TEXT,                  -- relative to the project
        settings TEXT NOT NULL,           -- JSON
        metrics TEXT, history TEXT,       -- JSON
        classes TEXT NOT NULL)            -- JSON [[class id, name], ...] in the model's output order""",
    """CREATE TABLE run_images (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        part TEXT NOT NULL CHECK (part IN ('train', 'val')),
        class_id INTEGER,                 -- the label it was trained or validated with
        PRIMARY KEY (run_id, image_id))""",
    """CREATE TABLE predictions (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        class_id INTEGER,                 -- the best guess (NULL: the file could not be read)
        prob REAL, margin REAL,           -- its probability; minus the second's
        top_k TEXT,                       -- JSON [[class id, probability], ...]
        error TEXT,
        made_at TEXT NOT NULL,
        PRIMARY KEY (run_id, image_id))""",
    """CREATE TABLE labels (
        id INTEGER PRIMARY KEY,
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        class_id INTEGER REFERENCES classes(id) ON DELETE SET NULL,
        class_name TEXT,                  -- as it was named when decided
        source TEXT NOT NULL CHECK (source IN ('imported', 'typed', 'accepted', 'corrected', 'excluded',
                                               'unlabelled')),
        run_id INTEGER REFERENCES runs(id) ON DELETE SET NULL,  -- the run whose prediction was reviewed
        predicted_class TEXT, predicted_prob REAL,
        made_at TEXT NOT NULL)""",
    """CREATE INDEX labels_image ON labels(image_id)""",
)


def _version_2(db: sqlite3.Connection) -> None:
    """The specimen (subfolder, slide or patient) of each picture, so a split can keep one specimen on one
    side; and indices for the review order. Pictures from before are given the folder they sit in."""
    db.execute("ALTER TABLE images ADD COLUMN specimen TEXT")
    rows = db.execute("SELECT id, path FROM images").fetchall()
    db.executemany("UPDATE images SET specimen = ? WHERE id = ?",
                   [(posixpath.dirname(Path(path).as_posix()) or None, image_id) for image_id, path in rows])
    db.execute("CREATE INDEX predictions_by_prob ON predictions(run_id, prob)")
    db.execute("CREATE INDEX predictions_by_margin ON predictions(run_id, margin)")


def _version_3(db: sqlite3.Connection) -> None:
    """Whether a prediction's picture looked unlike the run's training pictures (its familiarity check), so
    the review marks it and a sort sends it to _unfamiliar/ instead of a class folder. Older predictions
    are taken as familiar: they were made without the check."""
    db.execute("ALTER TABLE predictions ADD COLUMN unfamiliar INTEGER NOT NULL DEFAULT 0")


def _version_4(db: sqlite3.Connection) -> None:
    """The lock file held by the process that trains a run (core/projects/run_lock.py), so a run whose process was
    killed is told from one still training. Runs from before have none."""
    db.execute("ALTER TABLE runs ADD COLUMN lock TEXT")


def _version_5(db: sqlite3.Connection) -> None:
    """A label recorded is a label applied: the picture takes it in the same statement, so a decision in the
    review is one INSERT (a key press costs at most 3 statements: the decision, the changed picture with the
    new counts, the next picture's history)."""
    db.execute("CREATE TRIGGER labels_apply AFTER INSERT ON labels BEGIN "
               "UPDATE images SET class_id = NEW.class_id, excluded = (NEW.source = 'excluded') "
               "WHERE id = NEW.image_id; END")


def _version_6(db: sqlite3.Connection) -> None:
    """What the last check of the data found, picture by picture, for the review views it feeds (likely
    mislabelled, copies, leaking into validation). A decision on a picture settles its findings (a trigger,
    so a decision stays one statement), and a group of copies down to one picture is settled with it."""
    db.execute("""CREATE TABLE check_findings (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        view TEXT NOT NULL CHECK (view IN ('mislabelled', 'copies', 'leaking')),
        position INTEGER NOT NULL,        -- the check's order: most telling first, a group's copies together
        finding INTEGER NOT NULL,         -- the pictures one finding names together
        reason TEXT NOT NULL,             -- why the check put it here, in a line
        suggested INTEGER REFERENCES classes(id) ON DELETE SET NULL,  -- the class it looks like
        guesses TEXT,                     -- JSON [[class id, probability], ...] as the check's quick models saw it
        PRIMARY KEY (view, image_id))""")
    db.execute("CREATE INDEX check_findings_by_position ON check_findings(view, position)")
    # Pictures the user kept as they are in a view (the label is right; this copy stays): the next check does
    # not list them there again, until the picture's label changes.
    db.execute("""CREATE TABLE check_kept (
        image_id INTEGER NOT NULL REFERENCES images(id) ON DELETE CASCADE,
        view TEXT NOT NULL,
        made_at TEXT NOT NULL,
        PRIMARY KEY (view, image_id))""")
    db.execute("CREATE TRIGGER labels_settle_findings AFTER INSERT ON labels BEGIN "
               "DELETE FROM check_findings WHERE image_id = NEW.image_id; "
               f"DELETE FROM check_kept WHERE image_id = NEW.image_id; {SETTLE_LONE_COPIES}; END")
    db.execute("CREATE TRIGGER kept_settles_findings AFTER INSERT ON check_kept BEGIN "
               "DELETE FROM check_findings WHERE image_id = NEW.image_id AND view = NEW.view; "
               f"{SETTLE_LONE_COPIES}; END")


def top_k_entropy(top_k: list) -> float:
    """The entropy (nats) of a stored top-k, the probability left over counted as one more class: exact up to
    k classes, a lower bound beyond (a review order, not a measurement)."""
    probs = [float(p) for _, p in top_k if float(p) > 0]
    rest = 1.0 - sum(probs)
    if rest > 1e-9:
        probs.append(rest)
    return -sum(p * math.log(p) for p in probs)


def _version_7(db: sqlite3.Connection) -> None:
    """Each prediction's entropy, for the review order "most uncertain first" (computed from its stored top
    classes, so the predictions made before get one too)."""
    db.execute("ALTER TABLE predictions ADD COLUMN entropy REAL")
    rows = db.execute("SELECT run_id, image_id, top_k FROM predictions WHERE top_k IS NOT NULL").fetchall()
    db.executemany("UPDATE predictions SET entropy = ? WHERE run_id = ? AND image_id = ?",
                   [(top_k_entropy(json.loads(top_k)), run, image) for run, image, top_k in rows])
    db.execute("CREATE INDEX predictions_by_entropy ON predictions(run_id, entropy)")


def _version_8(db: sqlite3.Connection) -> None:
    """A sketch of what the model saw in each picture it predicted, for the review order "diverse"
    (core/projects/review_order.py); predictions made before have none, and keep their place by doubt."""
    db.execute("ALTER TABLE predictions ADD COLUMN features BLOB")


# Undo: what each edit changed, logged by triggers in the statement that makes it (a review decision stays one
# statement), replayed backwards to undo and forwards to redo (core/projects/undo.py). Not while the project
# itself replays, or adds pictures (meta rows 'undo_replaying', 'undo_paused').
UNDO_LOGGING = ("NOT EXISTS (SELECT 1 FROM meta WHERE key IN ('undo_replaying', 'undo_paused'))")
_OPEN_STEP = "(SELECT MAX(id) FROM undo_steps)"
_NO_OPEN_STEP = "NOT EXISTS (SELECT 1 FROM undo_steps WHERE open = 1)"
_LABEL_ROW = ("json_object('id', NEW.id, 'image_id', NEW.image_id, 'class_id', NEW.class_id, 'class_name', "
              "NEW.class_name, 'source', NEW.source, 'run_id', NEW.run_id, 'predicted_class', NEW.predicted_class, "
              "'predicted_prob', NEW.predicted_prob, 'made_at', NEW.made_at)")


def _version_9(db: sqlite3.Connection) -> None:
    """Undo and redo that outlive the session: the edits (a step: one decision, or one rename, merge ...) and
    what each changed (a row of the log: what it added, removed or changed, as JSON)."""
    db.execute("""CREATE TABLE undo_steps (
        id INTEGER PRIMARY KEY,
        what TEXT,                        -- the edit, as Edit > Undo names it (NULL: a decision, named from its row)
        made_at TEXT NOT NULL,
        open INTEGER NOT NULL DEFAULT 0,  -- an edit of several statements being made
        undone INTEGER NOT NULL DEFAULT 0)""")
    db.execute("""CREATE TABLE undo_log (
        id INTEGER PRIMARY KEY,
        step_id INTEGER NOT NULL REFERENCES undo_steps(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,               -- label+, kept+, kept-, finding-, class+, class-, class~, labels~
        row TEXT NOT NULL)                -- JSON""")
    db.execute("CREATE INDEX undo_log_by_step ON undo_log(step_id)")
    # a decision outside an edit of several statements is a step of its own; a new step drops what was undone
    for table, made in (("labels", "NEW.made_at"), ("check_kept", "NEW.made_at")):
        db.execute(f"CREATE TRIGGER {table}_begin_step BEFORE INSERT ON {table} WHEN {UNDO_LOGGING} AND "
                   f"{_NO_OPEN_STEP} BEGIN DELETE FROM undo_steps WHERE undone = 1; "
                   f"INSERT INTO undo_steps(made_at) VALUES ({made}); END")
    db.execute(f"CREATE TRIGGER labels_log AFTER INSERT ON labels WHEN {UNDO_LOGGING} BEGIN "
               f"INSERT INTO undo_log(step_id, kind, row) VALUES ({_OPEN_STEP}, 'label+', {_LABEL_ROW}); END")
    db.execute(f"CREATE TRIGGER kept_log AFTER INSERT ON check_kept WHEN {UNDO_LOGGING} BEGIN "
               f"INSERT INTO undo_log(step_id, kind, row) VALUES ({_OPEN_STEP}, 'kept+', json_object('image_id', "
               "NEW.image_id, 'view', NEW.view, 'made_at', NEW.made_at)); END")
    db.execute(f"CREATE TRIGGER kept_unlog AFTER DELETE ON check_kept WHEN {UNDO_LOGGING} AND EXISTS "
               f"(SELECT 1 FROM undo_steps) BEGIN INSERT INTO undo_log(step_id, kind, row) VALUES ({_OPEN_STEP}, "
               "'kept-', json_object('image_id', OLD.image_id, 'view', OLD.view, 'made_at', OLD.made_at)); END")
    db.execute(f"CREATE TRIGGER findings_log AFTER DELETE ON check_findings WHEN {UNDO_LOGGING} AND EXISTS "
               f"(SELECT 1 FROM undo_steps) BEGIN INSERT INTO undo_log(step_id, kind, row) VALUES ({_OPEN_STEP}, "
               "'finding-', json_object('image_id', OLD.image_id, 'view', OLD.view, 'position', OLD.position, "
               "'finding', OLD.finding, 'reason', OLD.reason, 'suggested', OLD.suggested, 'guesses', OLD.guesses)); "
               "END")


# A group of copies left with one picture (the others decided on, or kept) is settled with them, and so is a
# leak left on one side of the split.
SETTLE_LONE_COPIES = (
    "DELETE FROM check_findings WHERE view <> 'mislabelled' AND finding IN (SELECT c.finding FROM check_findings c "
    "JOIN images i ON i.id = c.image_id WHERE c.view <> 'mislabelled' GROUP BY c.finding HAVING COUNT(*) < 2 "
    "OR (MAX(c.view) = 'leaking' AND COUNT(DISTINCT COALESCE(i.split, 'train')) < 2))")


def _version_1(db: sqlite3.Connection) -> None:
    for statement in _VERSION_1:
        db.execute(statement)


# MIGRATIONS[n] takes a database from version n to n + 1.
MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (
    _version_1, _version_2, _version_3, _version_4, _version_5, _version_6, _version_7, _version_8, _version_9)
SCHEMA_VERSION = len(MIGRATIONS)


class ProjectError(UserError):
    """A project that cannot be opened or changed as asked."""


def damaged_sentence(path: Path, what: str) -> str:
    return (f"The project database {path} is damaged ({what}); it was left as it is. To recover, copy the "
            f"folder back from a backup, or open the copy the last upgrade kept ({path.name}.vN.bak beside it); "
            f"if a {path.name}-wal file lies beside it, keep it with the database when you copy it.")


def _damaged(path: Path | None, what: str) -> str:
    return damaged_sentence(path or Path("project.sqlite"), what)


def schema_version(db: sqlite3.Connection) -> int:
    return db.execute("PRAGMA user_version").fetchone()[0]


def migrate(db: sqlite3.Connection, path: Path | None = None, *, to: int = SCHEMA_VERSION) -> int:
    """Bring `db` (opened in autocommit mode) to version `to`; returns the version it had."""
    found = schema_version(db)
    if found < 0:
        raise ProjectError(_damaged(path, f"its version number is {found}"))
    if found > SCHEMA_VERSION:
        raise ProjectError(f"This project was made by a newer resnet-gui (project version {found}; this one "
                           f"reads up to {SCHEMA_VERSION}). Update resnet-gui to open it.")
    kept = None
    if found and found < to and path is not None:
        kept = path.with_name(f"{path.name}.v{found}.bak")
        number = 1
        while kept.exists():  # an earlier upgrade's copy is never overwritten
            number += 1
            kept = path.with_name(f"{path.name}.v{found}-{number}.bak")
        backup = sqlite3.connect(kept)
        with backup:
            db.backup(backup)
        backup.close()
    for version in range(found, to):
        db.execute("BEGIN IMMEDIATE")
        try:
            MIGRATIONS[version](db)
            db.execute(f"PRAGMA user_version = {version + 1}")
        except sqlite3.DatabaseError as exc:
            # a user_version that does not match the tables (set by hand, or by another program): the step
            # fails on what is already there, and the database is left as it was
            db.execute("ROLLBACK")
            if kept is not None:  # a copy of the damaged database, not a backup to recover from
                kept.unlink(missing_ok=True)
            raise ProjectError(_damaged(path, f"its version number says {found}, but its tables do not match "
                                              f"(SQLite says: {exc})")) from None
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
    return found
