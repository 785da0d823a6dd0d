"""`resnet-gui project watch PROJECT DIR`: the pictures written into DIR join the project as they arrive,
unlabelled, each answered by the project's model (the pinned run, or the newest), until Ctrl+C."""

from __future__ import annotations

import argparse
import contextlib
import signal

from resnet_gui.cli.common import DEVICE_HELP, EXIT_OK, finite_float, say, say_plain, shown


def _seconds(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds above 0, like 2 or 0.5")
    return value


def add_watch_action(action) -> None:
    watch = action("watch", "add the pictures written into a folder as they arrive (unlabelled), each answered by "
                            "the project's model, until Ctrl+C", watch_command)
    watch.add_argument("folder", metavar="DIR", help="the folder the pictures are written into")
    watch.add_argument("--recursive", action="store_true", help="also the pictures in DIR's subfolders")
    watch.add_argument("--settle", type=_seconds, default=None, metavar="S",
                       help="a picture is whole once it has not changed for S seconds (default 2)")
    watch.add_argument("--stop-after-idle", type=_seconds, metavar="S",
                       help="stop when nothing new has arrived for S seconds (default: run until Ctrl+C)")
    watch.add_argument("--device", default="auto", help=DEVICE_HELP)


def watch_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.live.arrivals import SETTLE_SECONDS
    from resnet_gui.core.projects.watch import ProjectWatch

    watch = ProjectWatch(args.project, args.folder, recursive=args.recursive, settle=args.settle or SETTLE_SECONDS,
                         device=args.device)
    stop = {"asked": False}

    def ask_to_stop(signum, frame) -> None:
        if stop["asked"]:
            raise KeyboardInterrupt
        stop["asked"] = True

    def arrived(batch) -> None:
        for path, label, prob in batch.added:
            answer = f"{prob:>7.1%}  {shown(label):<20}" if label is not None else f"{'':>7}  {'(no model yet)':<20}"
            say_plain(f"added {answer}  {shown(path)}")
        for path, why in batch.skipped:
            say(f"skipped {shown(path)}: {why}")

    previous = {}
    for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
        if signum is not None:
            with contextlib.suppress(ValueError):
                previous[signum] = signal.signal(signum, ask_to_stop)
    try:
        say(f"watching {shown(args.folder)} for {shown(args.project)}. Ctrl+C stops.")
        watch.run(arrived, cancelled=lambda: stop["asked"],
                  on_status=lambda status: say(f"{shown(args.folder)}: {status}."),
                  stop_after_idle=args.stop_after_idle)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    by = f", answered by run {watch.run_id}" if watch.run_id is not None else " (no run has a model yet)"
    say_plain(f"{watch.added} picture(s) added to the project while watching{by}.")
    return EXIT_OK
