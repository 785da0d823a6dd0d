"""A project's runs side by side: each run with the settings that changed since the one before, and two runs
compared on the validation pictures they share (per-class precision and recall, confusion matrices) with the
pictures on which they disagree. Against the labels of today, so a correction made since counts for both.
No torch: the runs' stored predictions."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from resnet_gui.core.projects.records import RunRecord

if TYPE_CHECKING:  # a Project's own methods use this module: no import at run time
    from resnet_gui.core.projects.project import Project

# settings that name files or where a run wrote: they differ every run and say nothing about the recipe
_NOT_A_SETTING = frozenset({"data_dir", "val_dir", "out", "resume"})
MAX_DISAGREEMENTS = 500


@dataclass(frozen=True)
class RunSummary:
    run: RunRecord
    trained: int  # pictures it trained on
    validated: int  # pictures it was validated on
    changed: dict[str, tuple[Any, Any]]  # setting -> (the previous run's, this run's)
    pinned: bool

    def to_dict(self) -> dict[str, Any]:
        r = self.run
        return {"id": r.id, "started": r.started_at, "finished": r.finished_at, "status": r.status,
                "checkpoint": str(r.checkpoint) if r.checkpoint else None, "trained": self.trained,
                "validated": self.validated, "val_acc": r.metrics.get("val_acc"),
                "val_loss": r.metrics.get("val_loss"), "from_run": r.settings.get("from_run"),
                "changed": {k: list(v) for k, v in self.changed.items()}, "pinned": self.pinned}


def _shown_setting(key: str, value: Any) -> Any:
    if key == "weights" and isinstance(value, str) and value not in ("imagenet", "none"):
        return Path(value).name  # a run started from another run's model: its file's name
    return value


def run_summaries(project: Project) -> list[RunSummary]:
    """Every run, oldest first, with what changed in its settings since the run before it."""
    counts: dict[tuple[int, str], int] = {(r, part): n for r, part, n in project.db.execute(
        "SELECT run_id, part, COUNT(*) FROM run_images GROUP BY run_id, part")}
    pinned = project.pinned_run_id()
    summaries, before = [], None
    for run in project.runs():
        settings = {k: _shown_setting(k, v) for k, v in run.settings.items() if k not in _NOT_A_SETTING}
        changed = {} if before is None else {
            key: (before.get(key), settings.get(key)) for key in sorted(set(before) | set(settings))
            if before.get(key) != settings.get(key)}
        summaries.append(RunSummary(run, counts.get((run.id, "train"), 0), counts.get((run.id, "val"), 0),
                                    changed, run.id == pinned))
        before = settings
    return summaries


@dataclass(frozen=True)
class ClassFigures:
    name: str
    pictures: int  # validation pictures of this class (today's label)
    precision: tuple[float | None, float | None]  # run a's, run b's
    recall: tuple[float | None, float | None]


@dataclass(frozen=True)
class Disagreement:
    image_id: int
    path: str
    label: str | None  # today's label (None: unlabelled)
    said: tuple[str | None, str | None]  # each run's best guess
    probs: tuple[float | None, float | None]


@dataclass
class RunComparison:
    runs: tuple[int, int]
    pictures: int  # validation pictures both runs were validated on, labelled today
    accuracy: tuple[float | None, float | None]
    classes: list[str]  # the confusion matrices' rows (today's label) and columns (the guess), in order
    per_class: list[ClassFigures]
    confusion: tuple[list[list[int]], list[list[int]]]
    disagreements: list[Disagreement] = field(default_factory=list)  # labelled first, then the surest
    disagreeing: int = 0  # of the pictures both runs predicted (the list holds at most MAX_DISAGREEMENTS)
    predicted_by_both: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _share(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def compare_two_runs(project: Project, a: int, b: int) -> RunComparison:
    """Runs `a` and `b` on the validation pictures both were validated on, and where they disagree."""
    runs = project.run(a), project.run(b)  # a sentence for a run that is not there
    names = project.class_names()
    for run in runs:
        for class_id, name in run.classes:
            names.setdefault(class_id, name)  # a class deleted since: the name the run knew it by
    shared = project.db.execute(
        "SELECT i.class_id, pa.class_id, pb.class_id FROM run_images ra "
        "JOIN run_images rb ON rb.image_id = ra.image_id AND rb.run_id = :b AND rb.part = 'val' "
        "JOIN images i ON i.id = ra.image_id AND i.class_id IS NOT NULL AND i.excluded = 0 "
        "JOIN predictions pa ON pa.run_id = :a AND pa.image_id = ra.image_id "
        "JOIN predictions pb ON pb.run_id = :b AND pb.image_id = ra.image_id "
        "WHERE ra.run_id = :a AND ra.part = 'val'", {"a": a, "b": b}).fetchall()
    order = [c for c in names if any(c in row for row in shared)]
    position = {c: n for n, c in enumerate(order)}
    confusion = ([[0] * len(order) for _ in order], [[0] * len(order) for _ in order])
    for truth, *guesses in shared:
        for side, guess in enumerate(guesses):
            if guess is not None:
                confusion[side][position[truth]][position[guess]] += 1
    per_class = []
    for n, class_id in enumerate(order):
        per_class.append(ClassFigures(
            names[class_id], sum(confusion[0][n]),
            tuple(_share(m[n][n], sum(row[n] for row in m)) for m in confusion),
            tuple(_share(m[n][n], sum(m[n])) for m in confusion)))
    n = len(shared)
    accuracy = tuple(_share(sum(m[i][i] for i in range(len(order))), n) for m in confusion)
    comparison = RunComparison((a, b), n, accuracy, [names[c] for c in order], per_class, confusion)
    _add_disagreements(project, comparison, names)
    return comparison


def _add_disagreements(project: Project, comparison: RunComparison, names: dict[int, str]) -> None:
    a, b = comparison.runs
    both = {"a": a, "b": b}
    comparison.predicted_by_both, comparison.disagreeing = project.db.execute(
        "SELECT COUNT(*), COALESCE(SUM(pa.class_id IS NOT pb.class_id), 0) FROM predictions pa "
        "JOIN predictions pb ON pb.image_id = pa.image_id AND pb.run_id = :b WHERE pa.run_id = :a", both).fetchone()
    rows = project.db.execute(
        "SELECT i.id, i.path, i.class_id, pa.class_id, pb.class_id, pa.prob, pb.prob FROM predictions pa "
        "JOIN predictions pb ON pb.image_id = pa.image_id AND pb.run_id = :b "
        "JOIN images i ON i.id = pa.image_id WHERE pa.run_id = :a AND pa.class_id IS NOT pb.class_id "
        "AND i.excluded = 0 ORDER BY i.class_id IS NULL, MAX(COALESCE(pa.prob, 0), COALESCE(pb.prob, 0)) DESC, "
        "i.id LIMIT :limit", both | {"limit": MAX_DISAGREEMENTS})
    comparison.disagreements = [
        Disagreement(image_id, str(project.file_path(path)), names.get(label) if label is not None else None,
                     (names.get(said_a), names.get(said_b)), (prob_a, prob_b))
        for image_id, path, label, said_a, said_b, prob_a, prob_b in rows]
