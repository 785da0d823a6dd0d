from resnet_gui.cli import entry

entry()
