"""The Project tab: the class list, the picture grid, the review."""
