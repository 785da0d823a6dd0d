"""The PySide6 + pyqtgraph window: a thin front end over resnet_gui.core."""
