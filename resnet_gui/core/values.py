"""Checks on plain values read from files and settings (no torch here)."""

from __future__ import annotations

import math
from typing import Any

# The input sizes every front end and every checkpoint may ask for: one limit for all. A ResNet at 4096 px
# needs more than 6 GB for one picture; checkpoints could claim it while the command line stopped at 2048.
MIN_IMAGE_SIZE, MAX_IMAGE_SIZE = 16, 2048
MAX_RESIZE = MAX_IMAGE_SIZE * 8 // 7  # the resize before the centre crop keeps 224/256 of the side
# The classes' colours (a project's, a map's), Tableau 10: distinct on screen and for the common colour-vision
# deficiencies.
CLASS_COLOURS = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
                 "#9c755f", "#bab0ac")


def finite_number(value: Any) -> bool:
    """An int or float that is neither NaN nor infinite (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
