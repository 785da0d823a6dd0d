"""resnet-gui: classify images and fine-tune ResNets from a window or the command line."""

__version__ = "0.1.0"
