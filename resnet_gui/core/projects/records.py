"""The small types a project hands out (a class, a picture, a run, the counts a review shows, a view of
the pictures) and the names of the files a project folder holds. No torch, no SQL here."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from resnet_gui.core.images.placing import UNFAMILIAR_FOLDER, UNSURE_FOLDER  # noqa: F401 - the project's words too
from resnet_gui.core.projects.review_order import why_here
from resnet_gui.core.projects.schema import ProjectError

DATABASE_NAME = "project.sqlite"
MODELS_FOLDER = "models"
CACHE_FOLDER = "cache"  # thumbnails: safe to delete, made again when needed
CHECKS_FOLDER = "checks"  # the last check of the data, as a page (made again by each check)
# The review's orders, each with what it puts first (the window's list and `project review --order` say it).
REVIEW_ORDERS = {
    "confidence": "Lowest confidence first",
    "margin": "Smallest margin first",
    "entropy": "Most uncertain first (entropy)",
    "diverse": "Most unlike the labelled first (diverse)",
    "mixed": "Doubtful, then spread out (mixed)",
    "quota": "Each predicted class in turn (per-class quota)",
    "random": "Random order",  # the same for a run at every key press
}
# The order a review starts in: chosen by benchmarks/review_orders.py (RESULTS.md), labels saved against random.
DEFAULT_REVIEW_ORDER = "quota"
# The review views the last check of the data feeds (core/projects/audit.py), in the order the list shows them.
CHECK_VIEWS = ("mislabelled", "copies", "leaking")
VIEW_KINDS = ("review", "unlabelled", "all", "excluded", "class", *CHECK_VIEWS)


def is_project_folder(folder: str | os.PathLike) -> bool:
    """Whether a folder is a project (it holds the project's database)."""
    return (Path(folder) / DATABASE_NAME).is_file()


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
    note: str | None = None  # in a check's view: why the check put it there
    suggested: int | None = None  # in the likely mislabelled: the class it looks like
    finding: int | None = None  # in a check's view: the finding it belongs to (copies share one)
    # In the review: what the order knew when it placed it (order, class names, distance, rank in its class);
    # `why` makes the line from it only when asked, so a refresh of thousands parses no top-k it never shows.
    placed: tuple | None = None

    @property
    def path(self) -> Path:
        """Where the file is expected, absolute (made when asked: a list of 100,000 needs few)."""
        path = Path(self.stored)
        return path if path.is_absolute() else self.root / path

    @property
    def why(self) -> str | None:
        """In the review: why the order put it where it is (core/projects/review_order.py)."""
        if self.placed is None:
            return None
        order, names, distance, rank = self.placed
        return why_here(order, self.top_k(), names, distance=distance, rank_in_class=rank)

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
    pinned: int | None = None  # the run pinned as the project's model

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
            "pinned": self.pinned,
        }


@dataclass(frozen=True)
class ViewCounts:
    """What the class list shows: pictures per class (not excluded), unlabelled, excluded, all, and in review."""

    classes: dict[int, int]
    unlabelled: int
    excluded: int
    all: int
    review: int
    checks: dict[str, int] = field(default_factory=dict)  # check view -> pictures in it


@dataclass(frozen=True)
class Decision:
    """What a decision recorded (the class name, or None when excluded; the source), the picture as it is now,
    and the counts after it: the review shows them without asking the database again."""

    label: str | None
    source: str
    picture: Picture
    counts: ViewCounts


# The run whose prediction a decision reviews (:run, or the newest run that predicted unlabelled pictures) and


@dataclass(frozen=True)
class ProjectView:
    """Which pictures a list shows: "review" (unlabelled with a prediction, most doubtful first), "unlabelled",
    "all", "excluded", "class" (the pictures labelled `class_id`, named `class_name` when it was chosen), or
    one of the last check's findings (CHECK_VIEWS: likely mislabelled, copies, leaking into validation)."""

    kind: str
    class_id: int | None = None
    class_name: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in VIEW_KINDS:
            raise ProjectError(f"Unknown view '{self.kind}'.")
        if (self.kind == "class") != (self.class_id is not None):
            raise ProjectError("A class view names its class; the other views name none.")

    @classmethod
    def of_class(cls, project_class: ProjectClass) -> ProjectView:
        return cls("class", project_class.id, project_class.name)

    def same_as(self, other: ProjectView | None) -> bool:
        """The same list, whatever its class is called now (a rename keeps a class's view)."""
        return other is not None and (self.kind, self.class_id) == (other.kind, other.class_id)

    def holds(self, picture: Picture) -> bool:
        """Whether a picture (just decided) still belongs in this list."""
        if self.kind == "class":
            return picture.class_id == self.class_id and not picture.excluded
        if self.kind in ("review", "unlabelled"):
            return picture.class_id is None and not picture.excluded
        if self.is_check:
            return False  # a decision settles the picture's findings
        return picture.excluded if self.kind == "excluded" else True

    @property
    def is_check(self) -> bool:
        return self.kind in CHECK_VIEWS
