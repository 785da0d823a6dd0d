"""A project's training runs: each run's settings, split, status, model file and predictions, and what is
known of a run whose process has gone."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from resnet_gui.core.projects.records import RunRecord, now
from resnet_gui.core.projects.schema import ProjectError, damaged_sentence, top_k_entropy


class ProjectRuns:
    """The run half of `Project` (core/projects/project.py), over its connection and transactions."""

    db: sqlite3.Connection
    database: Path

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
        """The run a review shows: the pinned run when it predicted unlabelled pictures, else the newest run
        that did."""
        row = self.db.execute(
            "SELECT MAX(p.run_id), MAX(p.run_id = :pinned) FROM predictions p JOIN images i ON i.id = p.image_id "
            "WHERE i.class_id IS NULL", {"pinned": self.pinned_run_id() or -1}).fetchone()
        return self.pinned_run_id() if row[1] else row[0]

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
        unfamiliar[, sketch]]); a sketch is what review_order.sketch makes of the picture's features."""
        values = []
        for image_id, top_k, error, *rest in rows:
            unfamiliar = int(bool(rest and rest[0]))
            features = rest[1] if len(rest) > 1 else None
            if top_k:
                margin = top_k[0][1] - (top_k[1][1] if len(top_k) > 1 else 0.0)
                values.append((run_id, image_id, top_k[0][0], top_k[0][1], margin,
                               json.dumps([[c, round(p, 6)] for c, p in top_k]), None, now(), unfamiliar,
                               top_k_entropy(top_k), features))
            else:
                values.append((run_id, image_id, None, None, None, None, error, now(), 0, None, None))
        with self.transaction():
            self.db.executemany("INSERT OR REPLACE INTO predictions(run_id, image_id, class_id, prob, margin, top_k, "
                                "error, made_at, unfamiliar, entropy, features) "
                                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)

    def compare_runs(self, new: int, old: int) -> dict[str, Any]:
        """Both runs' accuracy on the validation pictures they share, against the labels of today."""
        from resnet_gui.core.projects.compare import compare_two_runs

        compared = compare_two_runs(self, new, old)
        return {"run": new, "previous": old, "pictures": compared.pictures, "accuracy": compared.accuracy[0],
                "previous_accuracy": compared.accuracy[1]}

    # ------------------------------------------------------------ the project's model
    def pinned_run_id(self) -> int | None:
        """The run pinned as the project's model (Predict, Sort, the check and the Classify tab use it), or None:
        the newest run with a model."""
        row = self.db.execute("SELECT value FROM meta WHERE key = 'pinned_run'").fetchone()
        return int(row[0]) if row and str(row[0]).isdigit() else None

    def pin_run(self, run_id: int | None) -> None:
        """Pin run `run_id` as the project's model (None: the newest run again). A run with no model file, or
        one still training, cannot be pinned."""
        if run_id is not None:
            run = self.run(run_id)
            if run.status == "running" or run.checkpoint is None or not run.checkpoint.is_file():
                why = "is still training" if run.status == "running" else "has no model file"
                raise ProjectError(f"Run {run_id} {why}, so it cannot be the project's model. Pin a finished run "
                                   "(resnet-gui project runs lists them).",
                                   in_window=f"Run {run_id} {why}, so it cannot be the project's model.")
        with self.transaction():
            self.db.execute("DELETE FROM meta WHERE key = 'pinned_run'")
            if run_id is not None:
                self.db.execute("INSERT INTO meta(key, value) VALUES ('pinned_run', ?)", (str(run_id),))

    def model_run(self) -> RunRecord | None:
        """The project's model: the pinned run while its model file is there, else the newest run with one."""
        pinned = self.pinned_run_id()
        if pinned is not None:
            run = self.db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (pinned,)).fetchone()
            if run is not None and (record := self._run_from_row(run)).checkpoint is not None \
                    and record.checkpoint.is_file():
                return record
        return self.latest_run()

