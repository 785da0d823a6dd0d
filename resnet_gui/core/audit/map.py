"""The map of a set of pictures: each placed by the model's features, so that pictures the model sees alike lie
close together and a picture deep inside another class's cloud is a likely mistake. UMAP (`umap-learn`,
the `[map]` extra) when it is installed, PCA (scikit-learn) at once otherwise; drawn as a PNG with Pillow,
and written as a CSV of coordinates for scripts. No torch."""

from __future__ import annotations

import csv
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from resnet_gui.core.atomic_write import atomic_path, atomic_write
from resnet_gui.core.inference.results_csv import spreadsheet_row

METHODS = ("auto", "umap", "pca")
UNLABELLED_COLOUR = "#9a9a9a"
MAP_SIDE = 1000
_MARGIN = 40


def umap_available() -> bool:
    try:
        import umap  # noqa: F401
    except ImportError:
        return False
    return True


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
