"""`resnet-gui train` and `resnet-gui evaluate` (built with the training engine)."""


def add_commands(sub, archs, default_arch, positive_int, image_size, fraction) -> None:
    return None


def run(args) -> int:
    raise NotImplementedError(args.command)
