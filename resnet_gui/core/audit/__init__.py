"""Know your data: the check of a set of labelled pictures before training (copies across a split, copies
inside one, copies under two classes, likely mislabelled pictures, balance and oddities)."""
