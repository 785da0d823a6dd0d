"""The map of a set of pictures: each placed by the model's features, so that pictures the model sees alike lie
close together and a picture deep inside another class's cloud is a likely mistake. UMAP (`umap-learn`,
the `[map]` extra) when it is installed, PCA (scikit-learn) at once otherwise; drawn as a PNG with Pillow,
and written as a CSV of coordinates for scripts. Torch only inside `look_and_place`, for the model's look."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from resnet_gui.core.atomic_write import atomic_path, atomic_write
from resnet_gui.core.inference.results_csv import spreadsheet_row
from resnet_gui.core.values import CLASS_COLOURS

METHODS = ("auto", "umap", "pca")
UNLABELLED_COLOUR = "#9a9a9a"
MAP_SIDE = 1000
_MARGIN = 40


def umap_available() -> bool:
    """Whether umap-learn is installed, without importing it: the import brings numba and takes seconds,
    and the window asks on its own thread."""
    import importlib.util

    return importlib.util.find_spec("umap") is not None


def place(features: np.ndarray, method: str = "auto", seed: int = 0) -> tuple[np.ndarray, str]:
    """[N, 2] coordinates for the rows of `features` (rows with NaN, pictures the model could not read, get
    NaN), and the method that placed them."""
    from resnet_gui.core.errors import UserError

    if method not in METHODS:
        raise UserError(f"Unknown map method '{method}'. Use auto, umap or pca.")
    if method == "umap" and not umap_available():
        raise UserError("The UMAP map needs umap-learn: pip install 'resnet-gui[map]' (or use --method pca).")
    chosen = "umap" if method == "umap" or (method == "auto" and umap_available()) else "pca"
    usable = np.isfinite(features).all(axis=1)
    xy = np.full((len(features), 2), np.nan, dtype=np.float32)
    rows = features[usable]
    if len(rows) < 3:
        return xy, chosen
    if chosen == "umap" and len(rows) > 15:
        import umap

        xy[usable] = umap.UMAP(n_components=2, random_state=seed, n_neighbors=min(15, len(rows) - 1)) \
            .fit_transform(rows)
    else:
        from sklearn.decomposition import PCA

        chosen = "pca"
        xy[usable] = PCA(n_components=2, random_state=seed).fit_transform(rows)
    return xy, chosen


@dataclass
class PictureMap:
    """Pictures placed by what a model sees in them, with what it says of each: the points of a map and
    what they can be coloured by (their label, the model's guess, its confidence, unfamiliar or not)."""

    paths: list[str]
    labels: list[str | None]  # the picture's class; None: unlabelled (or a folder that has no labels)
    predicted: list[str | None]  # the model's best guess; None: not read
    confidence: np.ndarray  # [N] the best guess's probability, NaN: not read
    unfamiliar: np.ndarray  # [N] bool
    features: np.ndarray  # [N, D], for a finer placement later
    xy: np.ndarray  # [N, 2], NaN: not placed
    method: str  # "pca" or "umap"
    colours: dict[str, str]  # class name -> colour
    image_ids: list[int] | None = None  # a project's pictures: what a selection labels or excludes
    run: int | None = None  # the project's run whose model looked
    title: str = ""

    @property
    def placed(self) -> int:
        return int(np.isfinite(self.xy).all(axis=1).sum())


def look_and_place(paths: Sequence[str], labels: Sequence[str | None], bundle, *, method: str = "pca",
                   colours: dict[str, str] | None = None, device: str = "auto", progress=None,
                   cancelled=None) -> PictureMap:
    """One forward pass over `paths` with the loaded model `bundle` (features, guesses, familiarity), then the
    points placed by `method`. PCA takes well under a second for 100,000 pictures, so a window shows it at
    once and places the points again by UMAP afterwards (`place(map.features, "umap")`)."""
    from resnet_gui.core.inference.predictor import Predictor

    predictor = Predictor(bundle, device=device, tta=None, check_familiarity=True, thumbnail_size=0)
    looked = predictor.look(list(paths), cancelled=cancelled, progress=progress)
    read = np.isfinite(looked.probabilities).all(axis=1)
    probabilities = np.nan_to_num(looked.probabilities)
    best = np.where(read, probabilities.argmax(axis=1), -1)
    predicted = [bundle.classes[b] if b >= 0 else None for b in best.tolist()]
    confidence = np.where(read, probabilities.max(axis=1), np.nan).astype(np.float32)
    xy, used = place(looked.features, method)
    names = list(bundle.classes) + sorted({label for label in labels if label and label not in bundle.classes})
    colours = dict(colours or {})
    for name in names:
        colours.setdefault(name, CLASS_COLOURS[len(colours) % len(CLASS_COLOURS)])
    return PictureMap(list(paths), list(labels), predicted, confidence, looked.unfamiliar, looked.features, xy, used,
                      colours)


COLOUR_BY = {"label": "Label", "prediction": "The model's guess", "confidence": "Confidence",
             "unfamiliar": "Unfamiliar"}
# Confidence in four bands, red (doubtful) to green (sure), and the other marks.
CONFIDENCE_BANDS = ((0.5, "under 50%", "#d62728"), (0.8, "50-80%", "#ff7f0e"), (0.95, "80-95%", "#bcbd22"),
                    (1.01, "95% or more", "#2ca02c"))
UNFAMILIAR_COLOUR, FAMILIAR_COLOUR = "#d62728", "#4e79a7"
MAX_LASSO_CORNERS = 64


def colour_groups(made: PictureMap, by: str) -> list[tuple[str, str, np.ndarray]]:
    """The map's placed points in groups of one colour, as its legend names them: (name, colour, rows)."""
    if by not in COLOUR_BY:
        raise ValueError(f"colour by one of {', '.join(COLOUR_BY)}")
    placed = np.isfinite(made.xy).all(axis=1)
    if by in ("label", "prediction"):
        values = made.labels if by == "label" else made.predicted
        keys = np.array([v if v is not None else "" for v in values], dtype=object)
        groups = [(name, colour, keys == name) for name, colour in made.colours.items()]
        groups.append(("unlabelled" if by == "label" else "not read", UNLABELLED_COLOUR, keys == ""))
    elif by == "confidence":
        confidence = made.confidence
        groups, low = [], -np.inf
        for high, name, colour in CONFIDENCE_BANDS:
            groups.append((name, colour, (confidence >= low) & (confidence < high)))
            low = high
        groups.append(("not read", UNLABELLED_COLOUR, ~np.isfinite(confidence)))
    else:
        groups = [("familiar", FAMILIAR_COLOUR, ~made.unfamiliar), ("unfamiliar", UNFAMILIAR_COLOUR, made.unfamiliar)]
    return [(name, colour, np.flatnonzero(rows & placed)) for name, colour, rows in groups if (rows & placed).any()]


def points_inside(xy: np.ndarray, polygon: np.ndarray) -> np.ndarray:
    """The rows of `xy` [N, 2] inside `polygon` [M, 2] (closed by its first point), by the even-odd rule: the
    points a drawn selection holds. Vectorised over the points, so 100,000 take milliseconds."""
    if len(polygon) < 3:
        return np.zeros(0, dtype=np.int64)
    if len(polygon) > MAX_LASSO_CORNERS:  # a hand-drawn line has a corner per mouse move: keep its shape
        polygon = polygon[np.linspace(0, len(polygon) - 1, MAX_LASSO_CORNERS).astype(int)]
    low, high = polygon.min(axis=0), polygon.max(axis=0)
    with np.errstate(invalid="ignore"):
        near = np.flatnonzero(((xy >= low) & (xy <= high)).all(axis=1))  # NaN rows fall out here
    x, y = xy[near, 0], xy[near, 1]
    inside = np.zeros(len(near), dtype=bool)
    ends = np.roll(polygon, -1, axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        for (x1, y1), (x2, y2) in zip(polygon, ends, strict=True):
            crosses = (y1 > y) != (y2 > y)
            at = (x2 - x1) * (y - y1) / (y2 - y1) + x1
            inside ^= crosses & (x < at)
    return near[inside]


def draw_map(xy: np.ndarray, labels: Sequence[str | None], colours: dict[str, str], out: str | os.PathLike,
             title: str = "") -> Path:
    """A PNG of the points, coloured by label (None: unlabelled, grey), with a legend; written whole."""
    image = Image.new("RGB", (MAP_SIDE + 220, MAP_SIDE), "white")
    draw = ImageDraw.Draw(image)
    finite = np.isfinite(xy).all(axis=1)
    if finite.any():
        low, high = xy[finite].min(axis=0), xy[finite].max(axis=0)
        span = np.where(high - low > 0, high - low, 1)
        scaled = (xy - low) / span * (MAP_SIDE - 2 * _MARGIN) + _MARGIN
        radius = 4 if finite.sum() < 2000 else 2
        # unlabelled first, so the labelled points are on top
        order = sorted(range(len(xy)), key=lambda i: labels[i] is not None)
        for i in order:
            if finite[i]:
                x, y = scaled[i]
                y = MAP_SIDE - y
                colour = colours.get(labels[i], UNLABELLED_COLOUR) if labels[i] is not None else UNLABELLED_COLOUR
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
    if title:
        draw.text((_MARGIN, 10), title, fill="black")
    legend = [(name, colour) for name, colour in colours.items()]
    if any(label is None for label in labels):
        legend.append(("unlabelled", UNLABELLED_COLOUR))
    for row, (name, colour) in enumerate(legend):
        y = _MARGIN + row * 22
        draw.ellipse((MAP_SIDE + 10, y, MAP_SIDE + 24, y + 14), fill=colour)
        draw.text((MAP_SIDE + 32, y), name, fill="black")
    with atomic_path(out, suffix="") as temporary:
        image.save(temporary, "PNG")
    return Path(out)


def write_coordinates(paths: Sequence[str], labels: Sequence[str | None], xy: np.ndarray,
                      out: str | os.PathLike) -> Path:
    with atomic_write(out, "w", encoding="utf-8", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["path", "label", "x", "y"])
        for path, label, (x, y) in zip(paths, labels, xy, strict=True):
            # names as cells no spreadsheet runs; the numbers as numbers (a negative one starts with '-')
            writer.writerow([*spreadsheet_row([path, label or ""]), "" if not np.isfinite(x) else f"{x:.5f}",
                             "" if not np.isfinite(y) else f"{y:.5f}"])
    return Path(out)
