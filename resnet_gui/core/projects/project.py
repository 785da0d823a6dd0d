"""A project: classes, pictures, labels with their history, training runs and their predictions.

A project is a folder the user chooses, holding `project.sqlite` and `models/` (every run's checkpoint,
never overwritten). Every change is one transaction (write-ahead log, full sync): killing the app loses
at most the decision being made. Pictures inside the project folder are stored by their relative path,
so a project copied elsewhere opens there; every picture also keeps its size and SHA-256, so a file
that moved can be found again by pointing at a folder. No torch here: the window opens projects on
its own thread.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from PIL import Image

from resnet_gui.core.images.files import discover, readable_formats
from resnet_gui.core.inference.results_csv import from_spreadsheet_cell
from resnet_gui.core.projects.schema import ProjectError, damaged_sentence, migrate
from resnet_gui.core.text import display_path, is_text

DATABASE_NAME = "project.sqlite"
MODELS_FOLDER = "models"
CACHE_FOLDER = "cache"  # thumbnails: safe to delete, made again when needed
UNSURE_FOLDER = "_unsure"
UNFAMILIAR_FOLDER = "_unfamiliar"  # pictures unlike anything the model was trained on: no class folder
# Tableau 10: distinct on screen and for the common colour-vision deficiencies.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
           "#9c755f", "#bab0ac")
REVIEW_ORDERS = ("confidence", "margin")
_CHUNK = 256  # pictures added per transaction: a kill loses at most the chunk being added

__all__ = ["Project", "ProjectError", "ProjectClass", "Picture", "AddReport", "ProjectStatus", "RunRecord"]


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def file_sha256(path: str | os.PathLike) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


@dataclass(frozen=True)
class ProjectClass:
    id: int
    name: str
    colour: str
    position: int
    count: int = 0  # labelled pictures


@dataclass(slots=True)
class Picture:
    """One picture as a list or grid shows it, with the prediction of the run being reviewed, if any."""

    id: int
    stored: str  # the path as the project records it
    root: Path
    class_id: int | None
    excluded: bool
    prob: float | None = None
    margin: float | None = None
    predicted: int | None = None  # class id of the best guess
    top_k_json: str | None = None
    error: str | None = None
    sha256: str | None = None
    unfamiliar: bool = False  # the run's familiarity check found it unlike the training pictures

    @property
    def path(self) -> Path:
        """Where the file is expected, absolute (made when asked: a list of 100,000 needs few)."""
        path = Path(self.stored)
        return path if path.is_absolute() else self.root / path

    def top_k(self) -> list[tuple[int, float]]:
        """[(class id, probability), ...], best first (parsed when asked: a grid of 100,000 needs none)."""
        return [(int(c), float(p)) for c, p in json.loads(self.top_k_json)] if self.top_k_json else []


@dataclass
class AddReport:
    added: list[int] = field(default_factory=list)  # image ids
    labelled: int = 0  # pictures already in the project that were given a label
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason)


@dataclass
class RunRecord:
    id: int
    started_at: str
    finished_at: str | None
    status: str
    checkpoint: Path | None
    settings: dict[str, Any]
    metrics: dict[str, Any]
    classes: list[tuple[int, str]]  # (class id, name at the time), in the model's output order

    @property
    def accuracy(self) -> float | None:
        return self.metrics.get("val_acc")


@dataclass
class ProjectStatus:
    classes: list[ProjectClass]
    unlabelled: int
    excluded: int
    runs: list[RunRecord]
    missing: list[str]

    @property
    def labelled(self) -> dict[str, int]:
        return {c.name: c.count for c in self.classes}

    def to_dict(self) -> dict[str, Any]:
        return {
            "classes": [c.name for c in self.classes],
            "labelled": self.labelled,
            "unlabelled": self.unlabelled,
            "excluded": self.excluded,
            "runs": [{"id": r.id, "status": r.status, "accuracy": r.accuracy, "started": r.started_at,
                      "checkpoint": str(r.checkpoint) if r.checkpoint else None,
                      "val_samples": r.metrics.get("val_samples")} for r in self.runs],
            "missing": self.missing,
        }


@dataclass(frozen=True)
class ViewCounts:
    """What the class list shows: pictures per class (not excluded), unlabelled, excluded, all, and in review."""

    classes: dict[int, int]
    unlabelled: int
    excluded: int
    all: int
    review: int


@dataclass(frozen=True)
class Decision:
    """What a decision recorded (the class name, or None when excluded; the source), the picture as it is now,
    and the counts after it: the review shows them without asking the database again."""

    label: str | None
    source: str
    picture: Picture
    counts: ViewCounts


# The run whose prediction a decision reviews (:run, or the newest run that predicted unlabelled pictures) and
# the name of the class it predicted (the project's, or the run's own for a class deleted since), as SQL.
_REVIEWED_RUN = ("COALESCE(:run, (SELECT MAX(pr.run_id) FROM predictions pr JOIN images im ON im.id = pr.image_id "
                 "WHERE im.class_id IS NULL))")
_PREDICTED_NAME = ("COALESCE((SELECT pc.name FROM classes pc WHERE pc.id = p.class_id), (SELECT json_extract(e.value, "
                   "'$[1]') FROM runs r, json_each(r.classes) e WHERE r.id = p.run_id "
                   "AND json_extract(e.value, '$[0]') = p.class_id))")


PROJECT_TABLES = frozenset({"meta", "classes", "images", "runs", "run_images", "predictions", "labels"})


def check_project_database(path: Path) -> None:
    """Refuse, before anything writes to it, a project.sqlite that is empty or is no project's database: opened
    as usual, a 0-byte file silently became a new, empty project, and every label seemed gone without a word."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ProjectError(f"The project database {path} cannot be read ({exc.strerror or exc}).") from None
    if size == 0:
        raise ProjectError(damaged_sentence(path, "it is empty, 0 bytes"))
    try:
        peek = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10.0)
        try:
            version = peek.execute("PRAGMA user_version").fetchone()[0]
            tables = {row[0] for row in peek.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        finally:
            peek.close()
    except sqlite3.OperationalError:
        return  # it cannot even be opened (a read-only disk, a lock): opening it says so in its own words
    except sqlite3.DatabaseError as exc:
        raise ProjectError(damaged_sentence(path, f"SQLite says: {exc}")) from None
    if version == 0 or "images" not in tables:
        raise ProjectError(damaged_sentence(path, "it holds no resnet-gui project"))


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


class Project:
    """An open project. Use as a context manager, or call `close()`. One connection per thread."""

    def __init__(self, root: Path, db: sqlite3.Connection):
        self.root = root
        self.db = db
        self.database = root / DATABASE_NAME

    # ------------------------------------------------------------ opening
    @classmethod
    def create(cls, folder: str | os.PathLike) -> "Project":
        root = Path(folder).expanduser().absolute()
        if (root / DATABASE_NAME).exists():
            raise ProjectError(f"{root} is already a project. Open it instead.")
        if root.exists() and not root.is_dir():
            raise ProjectError(f"{root} is a file; a project is a folder. Choose a new folder name.")
        try:
            (root / MODELS_FOLDER).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ProjectError(f"The project folder {root} cannot be made ({exc.strerror or exc}). "
                               "Choose another place.") from None
        project = cls._connect(root)
        with project.transaction():
            project.db.execute("INSERT INTO meta(key, value) VALUES ('created_at', ?)", (now(),))
        return project

    @classmethod
    def create_from_class_tree(cls, folder: str | os.PathLike, tree: str | os.PathLike,
                               progress: Callable[[int, int], None] | None = None) -> tuple["Project", AddReport]:
        """A new project holding a class-folder tree's pictures and labels. When the tree cannot be imported
        (not a folder, no classes, interrupted), no half-made project is left: what was made is removed."""
        root = Path(folder).expanduser().absolute()
        made = [p for p in (root, *root.parents) if not p.exists()]
        project = cls.create(root)
        try:
            return project, project.import_class_tree(tree, progress=progress)
        except BaseException:
            project.close()
            project._remove_new(made)
            raise

    def _remove_new(self, made: list[Path]) -> None:
        """Remove a project just made (its database and empty models folder, then the folders `create` made),
        never anything else: a folder that holds other files stays."""
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                (self.root / (DATABASE_NAME + suffix)).unlink()
        for folder in [self.root / MODELS_FOLDER, *made]:
            with contextlib.suppress(OSError):  # not empty: someone else's files, kept
                folder.rmdir()

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "Project":
        root = Path(folder).expanduser().absolute()
        if root.name == DATABASE_NAME and root.is_file():
            root = root.parent
        if not (root / DATABASE_NAME).is_file():
            raise ProjectError(f"{root} is not a resnet-gui project (it has no {DATABASE_NAME}). Make one with "
                               f"'resnet-gui project new {root}'.",
                               in_window=f"{root} is not a resnet-gui project (it has no {DATABASE_NAME}). "
                                         "Choose the project's folder, or make a new project.")
        check_project_database(root / DATABASE_NAME)
        project = cls._connect(root)
        missing = PROJECT_TABLES - {row[0] for row in project.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if missing:
            project.close()
            raise ProjectError(damaged_sentence(root / DATABASE_NAME, f"its tables {', '.join(sorted(missing))} are "
                                                                      "missing"))
        project.notice_interrupted_runs()
        return project

    @classmethod
    def _connect(cls, root: Path) -> "Project":
        path = root / DATABASE_NAME
        try:
            db = sqlite3.connect(path, isolation_level=None, timeout=10.0)
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            migrate(db, path)
        except sqlite3.DatabaseError as exc:
            raise ProjectError(f"The project database {path} cannot be read ({exc}). If the folder is on a "
                               "read-only disk, copy it somewhere writable.") from None
        return cls(root, db)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> "Project":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def models_dir(self) -> Path:
        return self.root / MODELS_FOLDER

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_FOLDER

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One decision: all of it is written, or (on any error, or a kill) none of it."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # ------------------------------------------------------------ paths
    def stored_path(self, path: str | os.PathLike) -> str:
        """How a file is recorded: relative (POSIX) when inside the project, so the project can move."""
        absolute = Path(os.path.abspath(path))
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            return str(absolute)

    def file_path(self, stored: str) -> Path:
        path = Path(stored)
        return path if path.is_absolute() else self.root / path

    # ------------------------------------------------------------ classes
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
        with self.transaction():
            return self._add_class(name, colour)

    def _add_class(self, name: str, colour: str | None = None) -> ProjectClass:
        name = check_class_name(name)
        if self.db.execute("SELECT 1 FROM classes WHERE name = ?", (name,)).fetchone():
            raise ProjectError(f"The project already has a class named '{name}'.")
        count = self.db.execute("SELECT COUNT(*), COALESCE(MAX(position), -1) FROM classes").fetchone()
        colour = colour or PALETTE[count[0] % len(PALETTE)]
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
        with self.transaction():
            self.db.execute("UPDATE classes SET name = ? WHERE id = ?", (new, target.id))

    def set_colour(self, name: str, colour: str) -> None:
        target = self.class_named(name)
        with self.transaction():
            self.db.execute("UPDATE classes SET colour = ? WHERE id = ?", (colour, target.id))

    def merge_classes(self, source: str, into: str) -> int:
        """Move every picture of `source` into `into` (each move recorded), then remove `source`."""
        a, b = self.class_named(source), self.class_named(into)
        if a.id == b.id:
            raise ProjectError("Choose two different classes to merge.")
        with self.transaction():
            ids = [r[0] for r in self.db.execute("SELECT id FROM images WHERE class_id = ?", (a.id,))]
            self.db.executemany(
                "INSERT INTO labels(image_id, class_id, class_name, source, made_at) VALUES (?, ?, ?, 'typed', ?)",
                [(i, b.id, b.name, now()) for i in ids])
            self.db.execute("UPDATE images SET class_id = ? WHERE class_id = ?", (b.id, a.id))
            self.db.execute("DELETE FROM classes WHERE id = ?", (a.id,))
        return len(ids)

    def delete_class(self, name: str) -> int:
        """Remove a class; its pictures become unlabelled (recorded), never removed."""
        target = self.class_named(name)
        with self.transaction():
            ids = [r[0] for r in self.db.execute("SELECT id FROM images WHERE class_id = ?", (target.id,))]
            self.db.executemany(
                "INSERT INTO labels(image_id, class_id, class_name, source, made_at) VALUES (?, NULL, ?, "
                "'unlabelled', ?)", [(i, target.name, now()) for i in ids])
            self.db.execute("UPDATE images SET class_id = NULL WHERE class_id = ?", (target.id,))
            self.db.execute("DELETE FROM classes WHERE id = ?", (target.id,))
        return len(ids)

    def move_class(self, name: str, position: int) -> None:
        order = [c.id for c in self.classes()]
        target = self.class_named(name).id
        order.remove(target)
        order.insert(max(0, min(position, len(order))), target)
        with self.transaction():
            self.db.executemany("UPDATE classes SET position = ? WHERE id = ?", list(enumerate(order)))

    # ------------------------------------------------------------ pictures
    def add_images(self, paths: Iterable[str | os.PathLike], label: str | None = None, *, source: str = "typed",
                   specimen: str | None = None, split: str | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> AddReport:
        """Add image files and folders (searched in full). A picture already in the project is given
        `label` if it has none; a copy of one already there (same content) is passed over.

        The specimen of a picture found in a folder is its subfolder below that folder (a slide, a
        patient), unless `specimen` names one for all."""
        entries: list[tuple[Path, str | None]] = []
        report = AddReport()
        for given in paths:
            given = Path(given)
            found = discover([given])
            report.skipped += [(str(p), why) for p, why in found.skipped]
            for file in found.files:
                group = specimen
                if group is None and given.is_dir():
                    below = Path(os.path.relpath(file.parent, given)).as_posix()
                    group = None if below == "." else below
                entries.append((file, group))
        class_id = None
        if label is not None:
            with self.transaction():
                class_id = self._class_for(label, create=True)
        for start in range(0, len(entries), _CHUNK):
            if cancelled is not None and cancelled():
                break
            chunk = [(path, group, _describe_file(path)) for path, group in entries[start:start + _CHUNK]]
            with self.transaction():
                for path, group, described in chunk:
                    self._add_one(path, group, described, class_id, label, source, split, report)
            if progress is not None:
                progress(min(start + _CHUNK, len(entries)), len(entries))
        return report

    def _add_one(self, path: Path, group: str | None, described: tuple | str, class_id: int | None,
                 label: str | None, source: str, split: str | None, report: AddReport) -> None:
        if isinstance(described, str):
            report.skipped.append((str(path), described))
            return
        stored = self.stored_path(path)
        if not is_text(stored) or (group is not None and not is_text(group)):
            report.skipped.append((str(path), "its name is not UTF-8 text, which the project cannot keep; rename "
                                              "the file (or its folder) and add it again"))
            return
        row = self.db.execute("SELECT id, class_id FROM images WHERE path = ?", (stored,)).fetchone()
        if row is None:
            twin = self.db.execute("SELECT path FROM images WHERE sha256 = ? AND bytes = ?",
                                   (described[3], described[2])).fetchone()
            if twin is not None:
                report.skipped.append((str(path), f"the same picture as {twin[0]}, already in the project"))
                return
            cursor = self.db.execute(
                "INSERT INTO images(path, width, height, bytes, sha256, added_at, specimen, split) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (stored, *described, now(), group, split))
            row = (cursor.lastrowid, None)
            report.added.append(cursor.lastrowid)
        elif class_id is not None and row[1] is None:
            report.labelled += 1
        if class_id is not None and row[1] is None:
            self._record_label(row[0], class_id, label, source)

    def import_class_tree(self, root: str | os.PathLike, progress: Callable[[int, int], None] | None = None,
                          cancelled: Callable[[], bool] | None = None) -> AddReport:
        """Pictures and labels from a class-folder tree (one subfolder per class, or train/ and val/ with
        them); a val/ folder's pictures stay on the validation side of every split."""
        from resnet_gui.core.images.folders import scan_class_folder

        scan = scan_class_folder(root, min_classes=1)
        report = AddReport(skipped=list(scan.skipped))
        parts = [(scan.train, None)] + ([(scan.val, "val")] if scan.val is not None else [])
        total, done = sum(len(p) for p, _ in parts), 0
        with self.transaction():
            ids = {name: self._class_for(name, create=True) for name in scan.classes}
        for pairs, split in parts:
            for start in range(0, len(pairs), _CHUNK):
                if cancelled is not None and cancelled():
                    return report
                chunk = pairs[start:start + _CHUNK]
                described = [(Path(p), y, _describe_file(p)) for p, y in chunk]
                with self.transaction():
                    for path, y, info in described:
                        name = scan.classes[y]
                        class_folder = path.parent
                        while class_folder.name != name and class_folder != class_folder.parent:
                            class_folder = class_folder.parent
                        below = Path(os.path.relpath(path.parent, class_folder)).as_posix()
                        self._add_one(path, None if below == "." else below, info, ids[name], name, "imported",
                                      split or ("train" if scan.val is not None else None), report)
                done += len(chunk)
                if progress is not None:
                    progress(done, total)
        return report

    def import_csv(self, file: str | os.PathLike) -> AddReport:
        """Labels from a CSV of `path,label` (a header row is optional; an optional third column names the
        specimen). Paths may be relative to the CSV's folder; pictures not yet in the project are added."""
        file = Path(file)
        try:
            with open(file, newline="", encoding="utf-8-sig") as handle:
                rows = [[from_spreadsheet_cell(cell) for cell in row] for row in csv.reader(handle)
                        if row and any(cell.strip() for cell in row)]  # a CSV the app wrote reads back
        except (OSError, UnicodeDecodeError) as exc:
            raise ProjectError(f"{file} cannot be read as a CSV file ({getattr(exc, 'strerror', None) or exc}).") \
                from None
        if rows and [c.strip().lower() for c in rows[0][:2]] == ["path", "label"]:
            rows = rows[1:]
        report = AddReport()
        for number, row in enumerate(rows, 1):
            if len(row) < 2 or not row[0].strip() or not row[1].strip():
                report.skipped.append((f"{file.name} row {number}", "needs a path and a label"))
                continue
            path = Path(row[0].strip()).expanduser()
            path = path if path.is_absolute() else file.parent / path
            if not path.is_file():
                report.skipped.append((str(path), "file not found"))
                continue
            group = row[2].strip() if len(row) > 2 and row[2].strip() else None
            stored = self.stored_path(path)
            known = self.db.execute("SELECT id FROM images WHERE path = ?", (stored,)).fetchone()
            if known is None:
                part = self.add_images([path], row[1].strip(), source="imported", specimen=group)
                report.added += part.added
                report.skipped += part.skipped
            else:
                with self.transaction():
                    class_id = self._class_for(row[1].strip(), create=True)
                    self._record_label(known[0], class_id, row[1].strip(), "imported")
                report.labelled += 1
        return report

    def image_id(self, path: str | os.PathLike) -> int:
        row = self.db.execute("SELECT id FROM images WHERE path = ?", (self.stored_path(path),)).fetchone()
        if row is None:
            raise ProjectError(f"{path} is not in the project. Add it first: resnet-gui project add.",
                               in_window=f"{path} is not in the project. Add it first.")
        return row[0]

    def count_images(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM images").fetchone()[0]

    def pictures(self, view: str = "all", *, class_id: int | None = None, run_id: int | None = None,
                 order: str = "confidence", limit: int | None = None) -> list[Picture]:
        """Pictures for a list or grid. `view`: "review" (unlabelled with a prediction of `run_id`, most
        doubtful first by `order`), "unlabelled", "class" (labelled `class_id`), "excluded" or "all"."""
        if order not in REVIEW_ORDERS:
            raise ProjectError(f"Unknown review order '{order}'. Use confidence or margin.")
        if view == "review" and run_id is None:
            run_id = self.latest_predicting_run()
        where = {"review": "i.class_id IS NULL AND i.excluded = 0 AND p.run_id IS NOT NULL",
                 "unlabelled": "i.class_id IS NULL AND i.excluded = 0",
                 "class": "i.class_id = :class_id AND i.excluded = 0",
                 "excluded": "i.excluded = 1", "all": "1"}.get(view)
        if where is None:
            raise ProjectError(f"Unknown view '{view}'.")
        join = "JOIN" if view == "review" else "LEFT JOIN"
        ordering = f"p.{'margin' if order == 'margin' else 'prob'} ASC, i.id" if view == "review" else "i.id"
        sql = (f"SELECT i.id, i.path, i.class_id, i.excluded, p.prob, p.margin, p.class_id, p.top_k, p.error, "
               f"i.sha256, COALESCE(p.unfamiliar, 0) FROM images i "
               f"{join} predictions p ON p.image_id = i.id AND p.run_id = :run_id "
               f"WHERE {where} ORDER BY {ordering}" + (" LIMIT :limit" if limit else ""))
        rows = self.db.execute(sql, {"run_id": run_id if run_id is not None else -1, "class_id": class_id,
                                     "limit": limit})
        root = self.root
        return [Picture(r[0], r[1], root, r[2], bool(r[3]), *r[4:10], bool(r[10])) for r in rows]

    def count_review(self, run_id: int | None) -> int:
        """How many unlabelled pictures a run's review holds."""
        return self.db.execute(
            "SELECT COUNT(*) FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = ? "
            "AND i.class_id IS NULL AND i.excluded = 0", (run_id if run_id is not None else -1,)).fetchone()[0]

    def picture(self, image_id: int, run_id: int | None = None) -> Picture:
        r = self.db.execute(
            "SELECT i.id, i.path, i.class_id, i.excluded, p.prob, p.margin, p.class_id, p.top_k, p.error, i.sha256, "
            "COALESCE(p.unfamiliar, 0) FROM images i "
            "LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = ? WHERE i.id = ?",
            (run_id if run_id is not None else -1, image_id)).fetchone()
        if r is None:
            raise ProjectError(f"Picture {image_id} is not in the project.")
        return Picture(r[0], r[1], self.root, r[2], bool(r[3]), *r[4:10], bool(r[10]))

    # ------------------------------------------------------------ decisions
    def _record_label(self, image_id: int, class_id: int | None, class_name: str | None, source: str,
                      run_id: int | None = None, predicted: str | None = None, prob: float | None = None) -> None:
        # the labels_apply trigger gives the picture its label (or takes it out) in the same statement
        self.db.execute(
            "INSERT INTO labels(image_id, class_id, class_name, source, run_id, predicted_class, predicted_prob, "
            "made_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (image_id, class_id, class_name, source, run_id, predicted, prob, now()))

    def _prediction_of(self, image_id: int, run_id: int | None) -> tuple[int | None, int | None, float | None]:
        """(run id, predicted class id, probability) of the latest prediction reviewed for `image_id`."""
        run_id = run_id if run_id is not None else self.latest_predicting_run()
        if run_id is None:
            return None, None, None
        row = self.db.execute("SELECT class_id, prob FROM predictions WHERE run_id = ? AND image_id = ?",
                              (run_id, image_id)).fetchone()
        return (run_id, row[0], row[1]) if row else (None, None, None)

    def _decide(self, image_id: int, select: str, values: dict[str, Any], run_id: int | None) -> Decision | None:
        """One decision as one statement: INSERT INTO labels ... SELECT `select` (the prediction reviewed joined
        in SQL) RETURNING what was recorded, then the changed picture with the new counts in one more. None
        when `select` finds nothing (no such class, no prediction): the caller says why."""
        values = {"image": image_id, "run": run_id, "now": now(), **values}
        row = self.db.execute(
            "INSERT INTO labels(image_id, class_id, class_name, source, run_id, predicted_class, predicted_prob, "
            f"made_at) {select} RETURNING class_name, source", values).fetchone()
        if row is None:
            return None
        picture, counts = self._picture_and_counts(image_id, run_id)
        return Decision(row[0], row[1], picture, counts)

    def assign(self, image_id: int, class_name: str, *, run_id: int | None = None) -> Decision:
        """Label a picture. Recorded as `accepted` when the reviewed prediction said the same, `corrected`
        when it said otherwise, `typed` without one."""
        decision = self._decide(image_id, (
            "SELECT :image, c.id, c.name, CASE WHEN p.run_id IS NULL THEN 'typed' WHEN p.class_id = c.id "
            f"THEN 'accepted' ELSE 'corrected' END, p.run_id, {_PREDICTED_NAME}, p.prob, :now FROM classes c "
            f"LEFT JOIN predictions p ON p.image_id = :image AND p.run_id = {_REVIEWED_RUN} WHERE c.name = :name"),
            {"name": (class_name or "").strip()}, run_id)
        if decision is None:
            self.class_named(class_name)  # raises with the list of classes
            raise ProjectError(f"Picture {image_id} could not be labelled {class_name!r}.")
        return decision

    def accept(self, image_id: int, *, run_id: int | None = None) -> Decision:
        """Take the reviewed prediction as the label."""
        decision = self._decide(image_id, (
            "SELECT :image, c.id, c.name, 'accepted', p.run_id, c.name, p.prob, :now FROM predictions p "
            f"JOIN classes c ON c.id = p.class_id WHERE p.image_id = :image AND p.run_id = {_REVIEWED_RUN}"),
            {}, run_id)
        if decision is None:  # only now is it worth asking why
            run, predicted, _ = self._prediction_of(image_id, run_id)
            if run is None or predicted is None:
                raise ProjectError("This picture has no prediction to accept. Assign a class instead.")
            raise ProjectError(f"The predicted class '{self._name_in_run(run, predicted)}' is no longer in the "
                               "project. Assign a class instead.")
        return decision

    def exclude(self, image_id: int, *, run_id: int | None = None) -> Decision:
        """Keep a picture out of training, sorting and review (recorded; `unlabel` brings it back)."""
        decision = self._decide(image_id, (
            f"SELECT :image, NULL, NULL, 'excluded', p.run_id, {_PREDICTED_NAME}, p.prob, :now FROM (SELECT 1) "
            f"LEFT JOIN predictions p ON p.image_id = :image AND p.run_id = {_REVIEWED_RUN}"), {}, run_id)
        assert decision is not None  # the SELECT always gives its one row
        return decision

    def _picture_and_counts(self, image_id: int, run_id: int | None) -> tuple[Picture, ViewCounts]:
        """A picture as `picture` gives it, and every count the class list shows, in one statement."""
        r = self.db.execute(
            "SELECT i.id, i.path, i.class_id, i.excluded, p.prob, p.margin, p.class_id, p.top_k, p.error, i.sha256, "
            "COALESCE(p.unfamiliar, 0), "
            "(SELECT json_group_object(c.id, (SELECT COUNT(*) FROM images x WHERE x.class_id = c.id "
            "AND x.excluded = 0)) FROM classes c), "
            "(SELECT COUNT(*) FROM images WHERE class_id IS NULL AND excluded = 0), "
            "(SELECT COUNT(*) FROM images WHERE excluded = 1), (SELECT COUNT(*) FROM images), "
            "(SELECT COUNT(*) FROM predictions q JOIN images y ON y.id = q.image_id WHERE q.run_id = :run "
            "AND y.class_id IS NULL AND y.excluded = 0) "
            "FROM images i LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = :run WHERE i.id = :image",
            {"run": run_id if run_id is not None else -1, "image": image_id}).fetchone()
        picture = Picture(r[0], r[1], self.root, r[2], bool(r[3]), *r[4:10], bool(r[10]))
        per_class = {int(k): v for k, v in json.loads(r[11] or "{}").items()}
        return picture, ViewCounts(per_class, r[12], r[13], r[14], r[15])

    def unlabel(self, image_id: int) -> None:
        with self.transaction():
            self._record_label(image_id, None, None, "unlabelled")

    def history(self, image_id: int) -> list[dict[str, Any]]:
        rows = self.db.execute(
            "SELECT class_name, source, run_id, predicted_class, predicted_prob, made_at FROM labels "
            "WHERE image_id = ? ORDER BY id", (image_id,))
        keys = ("label", "source", "run", "predicted", "prob", "made_at")
        return [dict(zip(keys, row, strict=False)) for row in rows]

    def _name_in_run(self, run_id: int | None, class_id: int | None) -> str | None:
        if run_id is None or class_id is None:
            return None
        names = self.class_names()
        if class_id in names:
            return names[class_id]
        return dict(self.run(run_id).classes).get(class_id)

    # ------------------------------------------------------------ files that moved
    def missing(self) -> list[tuple[int, str]]:
        """(image id, stored path) of every picture whose file is not where the project expects it."""
        return [(i, p) for i, p in self.db.execute("SELECT id, path FROM images ORDER BY id")
                if not self.file_path(p).is_file()]

    def locate(self, folder: str | os.PathLike) -> int:
        """Find missing pictures under `folder` by their content (size, then SHA-256); returns how many."""
        wanted = {(size, digest): image_id for image_id, path, size, digest
                  in self.db.execute("SELECT id, path, bytes, sha256 FROM images")
                  if not self.file_path(path).is_file()}
        sizes = {size for size, _ in wanted}
        found: list[tuple[str, int]] = []
        for file in discover([folder]).files:
            if not wanted:
                break
            try:
                size = file.stat().st_size
            except OSError:
                continue
            if size not in sizes:
                continue
            image_id = wanted.pop((size, file_sha256(file)), None)
            if image_id is not None:
                found.append((self.stored_path(file), image_id))
        with self.transaction():
            self.db.executemany("UPDATE images SET path = ? WHERE id = ?", found)
        return len(found)

    def moved(self, image_id: int, new_path: str | os.PathLike) -> None:
        with self.transaction():
            self.db.execute("UPDATE images SET path = ? WHERE id = ?", (self.stored_path(new_path), image_id))

    # ------------------------------------------------------------ runs
    def _run_from_row(self, row) -> RunRecord:
        try:
            settings, metrics, classes = json.loads(row[5]), json.loads(row[6] or "{}"), json.loads(row[7])
            if not (isinstance(settings, dict) and isinstance(metrics, dict) and isinstance(classes, list)):
                raise ValueError("not the JSON objects a run keeps")
            classes = [(int(c[0]), str(c[1])) for c in classes]
        except (ValueError, TypeError, IndexError, KeyError):  # JSONDecodeError is a ValueError
            raise ProjectError(damaged_sentence(self.database, f"run {row[0]}'s settings, metrics or classes are not "
                                                               "readable JSON")) from None
        return RunRecord(row[0], row[1], row[2], row[3], self.file_path(row[4]) if row[4] else None,
                         settings, metrics, classes)

    _RUN_COLUMNS = "id, started_at, finished_at, status, checkpoint, settings, metrics, classes"

    def runs(self) -> list[RunRecord]:
        return [self._run_from_row(r) for r in self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY id")]

    def run(self, run_id: int) -> RunRecord:
        row = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise ProjectError(f"The project has no run {run_id}.")
        return self._run_from_row(row)

    def latest_run(self, *, usable: bool = True) -> RunRecord | None:
        """The newest run with a model (or any run). A run still training is not usable: its model file is
        rewritten as it improves. An interrupted run's best model is, until the run is resumed."""
        for run in reversed(self.runs()):
            if not usable or (run.status != "running" and run.checkpoint is not None and run.checkpoint.is_file()):
                return run
        return None

    def notice_interrupted_runs(self) -> list[int]:
        """Mark "interrupted" the runs recorded as running whose process has gone (killed, or the computer
        stopped): their lock (core/projects/run_lock.py) is held by no one. Returns their ids."""
        from resnet_gui.core.projects.run_lock import is_held

        gone = [run_id for run_id, lock in self.db.execute("SELECT id, lock FROM runs WHERE status = 'running'")
                if lock is None or not is_held(self.models_dir / Path(lock).name)]
        if gone:
            with self.transaction():
                self.db.executemany("UPDATE runs SET status = 'interrupted', finished_at = ? "
                                    "WHERE id = ? AND status = 'running'", [(now(), i) for i in gone])
        return gone

    def resumable_run(self) -> RunRecord | None:
        """The newest run that stopped before its last epoch (interrupted, or stopped by the user) and left
        the state to go on from (its NAME.last.pt); None when there is none."""
        from resnet_gui.core.models.files import last_path_for

        for run in reversed(self.runs()):
            if run.status in ("interrupted", "cancelled") and run.checkpoint is not None \
                    and last_path_for(run.checkpoint).is_file():
                return run
        return None

    def plan_run_checkpoint(self, run_id: int, path: Path) -> None:
        """The model file a run writes, recorded as it starts: a run that is killed leaves its best model
        there, and the project uses it."""
        with self.transaction():
            self.db.execute("UPDATE runs SET checkpoint = ? WHERE id = ?", (self.stored_path(path), run_id))

    def restart_run(self, run_id: int, lock: str) -> None:
        """A stopped run goes on, trained by the process that holds `lock`."""
        with self.transaction():
            self.db.execute("UPDATE runs SET status = 'running', finished_at = NULL, lock = ? WHERE id = ?",
                            (lock, run_id))

    def latest_predicting_run(self) -> int | None:
        """The newest run that predicted unlabelled pictures: the one a review shows."""
        row = self.db.execute(
            "SELECT MAX(p.run_id) FROM predictions p JOIN images i ON i.id = p.image_id "
            "WHERE i.class_id IS NULL").fetchone()
        return row[0]

    def begin_run(self, settings: dict[str, Any], classes: list[tuple[int, str]],
                  train: Sequence[int], val: Sequence[int], labels: dict[int, int], lock: str | None = None) -> int:
        """Record a run about to start with the split it uses; pictures get their side for good. `lock`: the
        lock file its process holds while it trains (core/projects/run_lock.py)."""
        with self.transaction():
            cursor = self.db.execute(
                "INSERT INTO runs(started_at, status, settings, classes, lock) VALUES (?, 'running', ?, ?, ?)",
                (now(), json.dumps(settings), json.dumps(classes), lock))
            run_id = cursor.lastrowid
            rows = [(run_id, i, "train", labels[i]) for i in train] + [(run_id, i, "val", labels[i]) for i in val]
            self.db.executemany("INSERT INTO run_images(run_id, image_id, part, class_id) VALUES (?, ?, ?, ?)", rows)
            self.db.executemany("UPDATE images SET split = ? WHERE id = ? AND split IS NULL",
                                [("train", i) for i in train] + [("val", i) for i in val])
        return run_id

    def finish_run(self, run_id: int, status: str, checkpoint: Path | None, metrics: dict[str, Any],
                   history: list[dict[str, Any]], settings: dict[str, Any]) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET status = ?, finished_at = ?, checkpoint = ?, metrics = ?, history = ?, settings = ? "
                "WHERE id = ?", (status, now(), self.stored_path(checkpoint) if checkpoint else None,
                                 json.dumps(metrics), json.dumps(history), json.dumps(settings), run_id))

    def run_images(self, run_id: int, part: str) -> list[tuple[int, int]]:
        """(image id, class id it was used with) of one side of a run's split."""
        return list(self.db.execute("SELECT image_id, class_id FROM run_images WHERE run_id = ? AND part = ? "
                                    "ORDER BY image_id", (run_id, part)))

    def store_predictions(self, run_id: int, rows: Iterable[tuple]) -> None:
        """Keep a batch of a run's answers: (image id, [(class id, probability), ...] best first, error[,
        unfamiliar])."""
        values = []
        for image_id, top_k, error, *rest in rows:
            unfamiliar = int(bool(rest and rest[0]))
            if top_k:
                margin = top_k[0][1] - (top_k[1][1] if len(top_k) > 1 else 0.0)
                values.append((run_id, image_id, top_k[0][0], top_k[0][1], margin,
                               json.dumps([[c, round(p, 6)] for c, p in top_k]), None, now(), unfamiliar))
            else:
                values.append((run_id, image_id, None, None, None, None, error, now(), 0))
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO predictions(run_id, image_id, class_id, prob, margin, top_k, "
                                "error, made_at, unfamiliar) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    def compare_runs(self, new: int, old: int) -> dict[str, Any]:
        """Both runs' accuracy on the validation pictures they share, against the labels of today."""
        rows = self.db.execute(
            "SELECT i.class_id, a.class_id, b.class_id FROM run_images ra "
            "JOIN run_images rb ON rb.image_id = ra.image_id AND rb.run_id = :old AND rb.part = 'val' "
            "JOIN images i ON i.id = ra.image_id AND i.class_id IS NOT NULL AND i.excluded = 0 "
            "JOIN predictions a ON a.run_id = :new AND a.image_id = ra.image_id "
            "JOIN predictions b ON b.run_id = :old AND b.image_id = ra.image_id "
            "WHERE ra.run_id = :new AND ra.part = 'val'", {"new": new, "old": old}).fetchall()
        n = len(rows)
        return {"run": new, "previous": old, "pictures": n,
                "accuracy": sum(t == a for t, a, _ in rows) / n if n else None,
                "previous_accuracy": sum(t == b for t, _, b in rows) / n if n else None}

    # ------------------------------------------------------------ the whole
    def training_pictures(self) -> list[tuple[int, Path, int, str | None, str | None]]:
        """(image id, file, class id, specimen, fixed side of the split) of every labelled picture."""
        rows = self.db.execute("SELECT id, path, class_id, specimen, split FROM images "
                               "WHERE class_id IS NOT NULL AND excluded = 0 ORDER BY id")
        return [(i, self.file_path(p), c, s, side) for i, p, c, s, side in rows]

    def status(self, *, check_files: bool = True) -> ProjectStatus:
        unlabelled, excluded = self.db.execute(
            "SELECT COALESCE(SUM(class_id IS NULL AND excluded = 0), 0), COALESCE(SUM(excluded), 0) FROM images"
        ).fetchone()
        missing = [str(self.file_path(p)) for _, p in self.missing()] if check_files else []
        return ProjectStatus(self.classes(), unlabelled, excluded, self.runs(), missing)


def _describe_file(path: str | os.PathLike) -> tuple[int | None, int | None, int, str] | str:
    """(width, height, bytes, sha256) of an image file, or why it cannot be added."""
    try:
        size = os.stat(path).st_size
        with Image.open(path, formats=readable_formats()) as image:
            width, height = image.size
        return width, height, size, file_sha256(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as exc:
        return f"not a readable image ({getattr(exc, 'strerror', None) or exc})"
    except Exception as exc:  # noqa: BLE001 - any decoder failure is this file's reason
        return f"not a readable image ({exc})"
