"""How good a model is on a labelled folder: figures, curves and the HTML report."""
