"""The engine: models, checkpoints, images, inference and training. Imports no Qt.

Modules that need torch import it at their top; the torch-free ones
(`architectures`, `errors`, `images` discovery) are safe to import from the
GUI thread before torch has loaded.
"""
