"""A project: classes, pictures, labels with their history, training runs and their predictions.

A project is a folder the user chooses, holding `project.sqlite` and `models/` (every run's checkpoint,
never overwritten). Every change is one transaction (write-ahead log, full sync): killing the app loses
at most the decision being made. Pictures inside the project folder are stored by their relative path,
so a project copied elsewhere opens there; every picture also keeps its size and SHA-256, so a file
that moved can be found again by pointing at a folder. No torch here: the window opens projects on
its own thread.
The four halves live beside it by job: classes.py, pictures.py, review.py, runs.py; the small types it
hands out are in records.py.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from resnet_gui.core.projects.classes import ProjectClasses
from resnet_gui.core.projects.pictures import ProjectPictures
from resnet_gui.core.projects.records import (
    CACHE_FOLDER,
    DATABASE_NAME,
    MODELS_FOLDER,
    AddReport,
    ProjectStatus,
    now,
)
from resnet_gui.core.projects.review import ProjectReview
from resnet_gui.core.projects.runs import ProjectRuns
from resnet_gui.core.projects.schema import ProjectError, damaged_sentence, migrate
from resnet_gui.core.projects.undo import ProjectUndo

PROJECT_TABLES = frozenset({"meta", "classes", "images", "runs", "run_images", "predictions", "labels",
                            "check_findings", "check_kept", "undo_steps", "undo_log"})


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


class Project(ProjectClasses, ProjectPictures, ProjectReview, ProjectRuns, ProjectUndo):
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
        return ProjectStatus(self.classes(), unlabelled, excluded, self.runs(), missing, self.pinned_run_id())

