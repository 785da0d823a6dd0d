"""The ResNets: the family offered, building and loading them, and their checkpoint files."""
