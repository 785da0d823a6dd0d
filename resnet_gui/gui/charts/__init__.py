"""The window's charts: top-k bars, the live training curves, the confusion matrix, the reliability diagram."""
