"""Checks on plain values read from files and settings (no torch here)."""

from __future__ import annotations

import math
from typing import Any


def finite_number(value: Any) -> bool:
    """An int or float that is neither NaN nor infinite (a bool is not a number here)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def whole_number(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
