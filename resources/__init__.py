"""Icons and the .desktop entry shipped with the app (installed as resnet_gui.resources)."""
