"""What the chosen augmentation makes of a few training pictures, as one grid picture: a row per picture (one
of each class first), the picture as validation sees it, then DRAWS random draws of the training transform
(core/images/transforms.py, the one training uses), at the input size the run would choose. So a user sees
that a crop cuts the cell in half, or that a flip makes no sense for text, before a run."""

from __future__ import annotations

import os

import numpy as np
import torch
from PIL import Image, ImageDraw

from resnet_gui.core.errors import UserError
from resnet_gui.core.images.files import readable_formats
from resnet_gui.core.images.folders import scan_class_folder, typical_short_side
from resnet_gui.core.images.transforms import Augmentation, Preprocessing, ResizeCenterCrop, train_transform
from resnet_gui.core.training.settings import TrainSettings, input_choice

DRAWS = 5
ROWS = 4
CELL = 112  # pixels a cell is drawn at: small inputs are enlarged (without smoothing) to be seen
GAP = 4


def pick_pictures(data_dir: str, rows: int = ROWS) -> list[tuple[str, str]]:
    """(path, class) of up to `rows` training pictures: the first of each class in turn."""
    scan = scan_class_folder(data_dir)
    by_class: dict[int, list[str]] = {}
    for path, label in scan.train:
        by_class.setdefault(label, []).append(path)
    picked: list[tuple[str, str]] = []
    for turn in range(rows):
        for label, paths in sorted(by_class.items()):
            if len(picked) < rows and turn < len(paths):
                picked.append((paths[turn], scan.classes[label]))
    return picked


def _to_cell(tensor: torch.Tensor) -> Image.Image:
    picture = Image.fromarray(tensor.permute(1, 2, 0).numpy().astype(np.uint8))
    return picture.resize((CELL, CELL), Image.Resampling.NEAREST if picture.width < CELL else Image.Resampling.LANCZOS)


def preview_augmentation(settings: TrainSettings, *, draws: int = DRAWS, rows: int = ROWS,
                         seed: int = 0) -> Image.Image:
    """The grid for `settings` (its data_dir, augment, crop_scale and input size), the same for the same seed."""
    picked = pick_pictures(settings.data_dir, rows)
    if not picked:
        raise UserError(f"{settings.data_dir} has no training pictures to show the augmentation on.")
    typical = None if settings.image_size else typical_short_side([p for p, _ in picked])
    size, _, _ = input_choice(settings.image_size, settings.small_input, typical, settings.stem)
    prep = Preprocessing.imagenet(size)
    augment = train_transform(prep, Augmentation.from_names(settings.augment, settings.crop_scale))
    plain = ResizeCenterCrop(prep.resize, prep.image_size)
    torch.manual_seed(seed)
    width = (draws + 1) * (CELL + GAP) + GAP
    grid = Image.new("RGB", (width, len(picked) * (CELL + GAP + 14) + GAP), "white")
    pen = ImageDraw.Draw(grid)
    for row, (path, label) in enumerate(picked):
        with Image.open(path, formats=readable_formats()) as opened:
            picture = opened.convert("RGB")
        top = GAP + row * (CELL + GAP + 14)
        pen.text((GAP, top), f"{label}: {os.path.basename(path)[:40]}", fill="black")
        cells = [_to_cell(_pil_to_tensor(plain(picture)))] + [_to_cell(augment(picture)) for _ in range(draws)]
        for column, cell in enumerate(cells):
            grid.paste(cell, (GAP + column * (CELL + GAP), top + 14))
        pen.rectangle([GAP - 1, top + 13, GAP + CELL, top + 14 + CELL], outline="#1f77b4")  # as validation sees it
    return grid


def _pil_to_tensor(picture) -> torch.Tensor:
    if isinstance(picture, torch.Tensor):
        return picture
    return torch.from_numpy(np.asarray(picture.convert("RGB"))).permute(2, 0, 1)
