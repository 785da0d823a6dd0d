"""Sentences about results, shared by the command line and the window.

No torch here: the window imports this before torch has loaded.
"""

from __future__ import annotations


def describe_threshold(unsure_below: float | None) -> str:
    """The suggestion in words, for the command line and the window."""
    if not unsure_below:
        return "no 'unsure' threshold needed: the validation answers were right at every confidence"
    return f"suggested 'unsure' below {unsure_below:.1%}"
