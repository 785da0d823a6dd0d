"""The Classify tab: the results table and its model."""
