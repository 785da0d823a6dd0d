"""A project's pictures: adding files, folders, class trees and CSV lists; listing them by view; finding the
files that moved. Each picture keeps its size and SHA-256, so a copy is known and a moved file is found."""

from __future__ import annotations

import csv
import os
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path

from PIL import Image

from resnet_gui.core.images.files import discover, readable_formats
from resnet_gui.core.inference.results_csv import from_spreadsheet_cell
from resnet_gui.core.projects.records import (
    CHECK_VIEWS,
    REVIEW_ORDERS,
    AddReport,
    Picture,
    ProjectView,
    file_sha256,
    now,
)
from resnet_gui.core.projects.review_order import SPREAD_ORDERS, spread_order
from resnet_gui.core.projects.schema import ProjectError
from resnet_gui.core.projects.undo import undo_paused
from resnet_gui.core.text import is_text

_CHUNK = 256  # pictures added per transaction: a kill loses at most the chunk being added


_REVIEW_ORDERING = {
    "confidence": "p.prob ASC", "margin": "p.margin ASC", "entropy": "p.entropy DESC",
    "diverse": "p.margin ASC", "mixed": "p.margin ASC",  # most doubtful first, then spread out in Python
    # the most doubtful of each predicted class, then the second of each ...
    "quota": "ROW_NUMBER() OVER (PARTITION BY p.class_id ORDER BY p.prob, i.id), p.prob",
    # a shuffle by a multiplicative hash of the picture and the run: the same order at every key press
    "random": "(i.id * 2654435761 + p.run_id * 40503) % 4294967296",
}


class ProjectPictures:
    """The picture half of `Project` (core/projects/project.py), over its connection and transactions."""

    db: sqlite3.Connection
    root: Path

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
            with self.transaction(), undo_paused(self.db):
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
                with self.transaction(), undo_paused(self.db):
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
                with self.transaction(), undo_paused(self.db):
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

    def pictures(self, view: ProjectView, *, run_id: int | None = None, order: str = "confidence",
                 limit: int | None = None, predicted: int | None = None) -> list[Picture]:
        """Pictures for a list or grid: those `view` names; a review's (unlabelled with a prediction of
        `run_id`, or of the newest run that predicted) most doubtful first by `order`, only those the run
        predicted as class `predicted` when it is given."""
        if order not in REVIEW_ORDERS:
            raise ProjectError(f"Unknown review order '{order}'. Use {', '.join(REVIEW_ORDERS)}.")
        if view.kind == "review" and run_id is None:
            run_id = self.latest_predicting_run()
        where = {"review": "i.class_id IS NULL AND i.excluded = 0 AND p.run_id IS NOT NULL",
                 "unlabelled": "i.class_id IS NULL AND i.excluded = 0",
                 "class": "i.class_id = :class_id AND i.excluded = 0",
                 "excluded": "i.excluded = 1", "all": "1"}.get(view.kind, "1")
        review = view.kind == "review"
        if review and predicted is not None:
            where += " AND p.class_id = :predicted"
        join = "JOIN" if review else "LEFT JOIN"
        ordering = f"{_REVIEW_ORDERING[order]}, i.id" if review else "i.id"
        found, guesses, extra = "NULL, NULL, NULL", "p.top_k", "NULL"
        if review and order in SPREAD_ORDERS:
            extra = "p.features"
        elif review and order == "quota":
            extra = "ROW_NUMBER() OVER (PARTITION BY p.class_id ORDER BY p.prob, i.id)"
        if view.is_check:  # the check's own guesses where the run predicted nothing (a labelled picture)
            join = "JOIN check_findings c ON c.image_id = i.id AND c.view = :view LEFT JOIN"
            ordering, found, guesses = "c.position", "c.reason, c.suggested, c.finding", "COALESCE(p.top_k, c.guesses)"
        spread = review and order in SPREAD_ORDERS  # ordered here, so the limit is applied after
        sql = (f"SELECT i.id, i.path, i.class_id, i.excluded, p.prob, p.margin, p.class_id, {guesses}, p.error, "
               f"i.sha256, COALESCE(p.unfamiliar, 0), {found}, {extra} FROM images i "
               f"{join} predictions p ON p.image_id = i.id AND p.run_id = :run_id "
               f"WHERE {where} ORDER BY {ordering}" + (" LIMIT :limit" if limit and not spread else ""))
        rows = self.db.execute(sql, {"run_id": run_id if run_id is not None else -1, "class_id": view.class_id,
                                     "limit": limit, "view": view.kind, "predicted": predicted}).fetchall()
        root = self.root
        pictures = [Picture(r[0], r[1], root, r[2], bool(r[3]), *r[4:10], bool(r[10]), *r[11:14]) for r in rows]
        return self._explained(pictures, [r[14] for r in rows], order, run_id)[:limit] if review else pictures

    def _explained(self, pictures: list[Picture], extra: list, order: str, run_id: int) -> list[Picture]:
        """A review's pictures in `order` with why each is there (`extra`: each one's sketch for the spread-out
        orders, its place among its predicted class for the per-class order)."""
        distances: dict[int, float] = {}
        if order in SPREAD_ORDERS:
            labelled = [row[0] for row in self.db.execute(
                "SELECT p.features FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.run_id = ? "
                "AND p.features IS NOT NULL AND i.class_id IS NOT NULL AND i.excluded = 0", (run_id,))]
            placed, distances = spread_order(order, extra, labelled)
            pictures = [pictures[i] for i in placed]
            distances = {pictures[n].id: d for n, i in enumerate(placed) if (d := distances.get(i)) is not None}
        names = dict(self.db.execute("SELECT id, name FROM classes").fetchall())
        for n, picture in enumerate(pictures):
            picture.placed = (order, names, distances.get(picture.id), extra[n] if order == "quota" else None)
        return pictures

    def count_checks(self) -> dict[str, int]:
        """How many pictures each of the last check's views holds (CHECK_VIEWS)."""
        found = dict(self.db.execute("SELECT view, COUNT(*) FROM check_findings GROUP BY view").fetchall())
        return {view: found.get(view, 0) for view in CHECK_VIEWS}

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
