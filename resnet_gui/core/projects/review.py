"""Review decisions on a project's pictures: accept the prediction, assign a class, exclude, take back; each
one statement that hands back the picture and the counts the review shows, and each kept in the history."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from resnet_gui.core.projects.records import CHECK_VIEWS, Decision, Picture, ViewCounts, now
from resnet_gui.core.projects.schema import ProjectError

_REVIEWED_RUN = ("COALESCE(:run, (SELECT MAX(pr.run_id) FROM predictions pr JOIN images im ON im.id = pr.image_id "
                 "WHERE im.class_id IS NULL))")
_PREDICTED_NAME = ("COALESCE((SELECT pc.name FROM classes pc WHERE pc.id = p.class_id), (SELECT json_extract(e.value, "
                   "'$[1]') FROM runs r, json_each(r.classes) e WHERE r.id = p.run_id "
                   "AND json_extract(e.value, '$[0]') = p.class_id))")
_LABEL_INSERT = ("INSERT INTO labels(image_id, class_id, class_name, source, run_id, predicted_class, predicted_prob, "
                 "made_at)")
# A class given to picture :image, recorded as `accepted` when the reviewed prediction said the same, `corrected`
# when it said otherwise, `typed` without one; a WHERE on `c` after it chooses the class.
_ASSIGNED = ("SELECT :image, c.id, c.name, CASE WHEN p.run_id IS NULL THEN 'typed' WHEN p.class_id = c.id "
             f"THEN 'accepted' ELSE 'corrected' END, p.run_id, {_PREDICTED_NAME}, p.prob, :now FROM classes c "
             f"LEFT JOIN predictions p ON p.image_id = :image AND p.run_id = {_REVIEWED_RUN}")


class ProjectReview:
    """The decision half of `Project` (core/projects/project.py), over its connection and transactions."""

    db: sqlite3.Connection

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
        row = self.db.execute(f"{_LABEL_INSERT} {select} RETURNING class_name, source", values).fetchone()
        if row is None:
            return None
        picture, counts = self._picture_and_counts(image_id, run_id)
        return Decision(row[0], row[1], picture, counts)

    def assign(self, image_id: int, class_name: str, *, run_id: int | None = None) -> Decision:
        """Label a picture. Recorded as `accepted` when the reviewed prediction said the same, `corrected`
        when it said otherwise, `typed` without one."""
        decision = self._decide(image_id, f"{_ASSIGNED} WHERE c.name = :name", {"name": (class_name or "").strip()},
                                run_id)
        if decision is None:
            self.class_named(class_name)  # raises with the list of classes
            raise ProjectError(f"Picture {image_id} could not be labelled {class_name!r}.")
        return decision

    def assign_many(self, image_ids: list[int], class_name: str) -> int:
        """Label every picture of `image_ids` (a selection drawn on the map) in one transaction: all or none.
        Recorded as `assign` records each; returns how many were labelled."""
        found = self.class_named(class_name)  # raises with the list of classes
        class_id = found.id
        with self.transaction(), self._undoable(f"Label {len(image_ids)} picture(s) as {found.name}"):
            self.db.executemany(f"{_LABEL_INSERT} {_ASSIGNED} WHERE c.id = :class",
                                [{"image": i, "class": class_id, "run": None, "now": now()} for i in image_ids])
        return len(image_ids)

    def exclude_many(self, image_ids: list[int]) -> int:
        """Exclude every picture of `image_ids` in one transaction; returns how many."""
        with self.transaction(), self._undoable(f"Exclude {len(image_ids)} picture(s)"):
            for image_id in image_ids:
                self._record_label(image_id, None, None, "excluded")
        return len(image_ids)

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
            "AND y.class_id IS NULL AND y.excluded = 0), "
            "(SELECT json_group_object(view, n) FROM (SELECT view, COUNT(*) AS n FROM check_findings GROUP BY view)) "
            "FROM images i LEFT JOIN predictions p ON p.image_id = i.id AND p.run_id = :run WHERE i.id = :image",
            {"run": run_id if run_id is not None else -1, "image": image_id}).fetchone()
        picture = Picture(r[0], r[1], self.root, r[2], bool(r[3]), *r[4:10], bool(r[10]))
        per_class = {int(k): v for k, v in json.loads(r[11] or "{}").items()}
        found = json.loads(r[16] or "{}")
        return picture, ViewCounts(per_class, r[12], r[13], r[14], r[15], {v: found.get(v, 0) for v in CHECK_VIEWS})

    def keep(self, image_id: int, view: str, *, run_id: int | None = None) -> Decision:
        """In one of the last check's views: the picture is right as it is (its label, or this copy), so it
        leaves that view, a group of copies left with one picture goes with it, and the next check does not
        list it there again until its label changes. Its label is not touched."""
        if view not in CHECK_VIEWS:
            raise ProjectError(f"Only the check's views ({', '.join(CHECK_VIEWS)}) have pictures to keep.")
        # one statement: the kept_settles_findings trigger takes it (and a lone copy) out of the view
        self.db.execute("INSERT OR REPLACE INTO check_kept(image_id, view, made_at) VALUES (?, ?, ?)",
                        (image_id, view, now()))
        picture, counts = self._picture_and_counts(image_id, run_id)
        return Decision(None, "kept", picture, counts)

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
