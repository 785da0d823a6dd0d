"""The window's jobs: the QThread task that runs one, and the workers that do the work off the GUI thread."""
