"""`resnet-gui gui` (and `resnet-gui` alone): open the window, optionally with work to do at once."""

from __future__ import annotations

import argparse

from resnet_gui.cli.common import image_size, positive_int, say


def add_parser(sub, archs: list[str]) -> None:
    gui = sub.add_parser("gui", help="open the window (the default)")
    gui.add_argument("paths", nargs="*", metavar="PATH", help="images or folders to classify at start")
    gui.add_argument("--arch", choices=archs, help="architecture")
    gui.add_argument("--checkpoint", metavar="FILE", help="checkpoint to classify with")
    gui.add_argument("--device", default=None, help="auto, cpu, cuda, cuda:N or mps")
    gui.add_argument("--screenshot", metavar="OUT.png", help="save the window once the work is done, then quit")
    gui.add_argument("--report-stalls", action="store_true", help="print the longest GUI stall at exit")
    gui.add_argument("--train-dir", metavar="DIR", help="fill the Train tab with this folder")
    gui.add_argument("--weights", metavar="imagenet|none|FILE", help="training start weights")
    gui.add_argument("--epochs", type=positive_int, help="training epochs")
    gui.add_argument("--image-size", type=image_size, help="training image size")
    gui.add_argument("--start-training", action="store_true", help="start training at once")
    gui.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resnet_gui.gui.app import run_gui

    outcome = run_gui(args)
    for message in outcome.messages:
        say(message)
    if args.report_stalls:
        print(f"max_stall_ms={outcome.max_stall_ms:.0f}")
        print(f"window_shown_ms={outcome.window_shown_ms:.0f}")
    return outcome.code
