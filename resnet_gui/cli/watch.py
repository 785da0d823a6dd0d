"""`resnet-gui watch`: classify the pictures in a folder, then every new one as it is written, until Ctrl+C."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys

from resnet_gui.cli.common import (
    EXIT_OK,
    EXIT_SOME_FAILED,
    add_model_options,
    add_predict_options,
    add_tta_option,
    finite_float,
    json_line,
    model_for,
    predict_options,
    row_text,
    say,
    say_plain,
    shown,
)
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.architectures import DEFAULT_ARCH


def seconds(text: str) -> float:
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a number of seconds above 0, like 2 or 0.5")
    return value


def add_parser(sub, archs: list[str]) -> None:
    watch = sub.add_parser(
        "watch", help="classify a folder's pictures as they are written into it (a microscope's output folder)",
        description="Classify every picture already in DIR once, then each new one as soon as it is whole, "
                    "until Ctrl+C. Started again with the same --csv, it goes on without classifying a file twice.")
    watch.add_argument("folder", metavar="DIR", help="the folder the pictures are written into")
    add_model_options(watch, archs, DEFAULT_ARCH)
    add_predict_options(watch)
    add_tta_option(watch)
    watch.add_argument("--csv", metavar="OUT.csv", help="append each picture's row to this CSV as it is classified "
                                                         "(whole rows, on disk at once)")
    watch.add_argument("--sort-into", metavar="OUT", help="copy each picture into OUT/<label>/ (OUT/_unsure/, "
                                                         "OUT/_unfamiliar/), never over another file")
    watch.add_argument("--move", action="store_true", help="with --sort-into: move the pictures instead of copying")
    watch.add_argument("--recursive", action="store_true", help="also the pictures in DIR's subfolders")
    watch.add_argument("--settle", type=seconds, default=None, metavar="S",
                       help="a picture is whole once it has not changed for S seconds (default 2; on Linux a "
                            "closed file is whole after a quarter of a second)")
    watch.add_argument("--rescan", type=seconds, default=None, metavar="S",
                       help="also list DIR every S seconds, for network shares that send no events (default 10)")
    watch.add_argument("--stop-after-idle", type=seconds, metavar="S",
                       help="stop when nothing new has arrived for S seconds (default: run until Ctrl+C)")
    watch.add_argument("--json", action="store_true", help="print JSON Lines, one object per picture")
    watch.set_defaults(handler=run)


class StopRequest:
    """Ctrl+C (or `kill`) asks the watch to stop after the batch it is on; a second one stops it at once."""

    def __init__(self):
        self.asked = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopRequest:
        for signum in (signal.SIGINT, getattr(signal, "SIGTERM", None)):
            if signum is not None:
                with contextlib.suppress(ValueError):  # not the main thread
                    self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.asked:
            raise KeyboardInterrupt
        self.asked = True

    def __exit__(self, *exc) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def __call__(self) -> bool:
        return self.asked


def run(args: argparse.Namespace) -> int:
    from resnet_gui.core.inference.ready_start import remember
    from resnet_gui.core.live.arrivals import RESCAN_SECONDS, SETTLE_SECONDS
    from resnet_gui.core.live.watched_folder import WatchedFolderClassification, WatchSettings

    if args.csv is not None and not args.csv.strip():
        raise UserError("--csv needs a file name (for example --csv results.csv).")
    if not args.csv and not args.sort_into:
        raise UserError("watch writes its answers somewhere: name a CSV with --csv OUT.csv, or sorted folders with "
                        "--sort-into OUT (or both).")
    settings = WatchSettings(args.folder, csv=args.csv, sort_into=args.sort_into, move=args.move,
                             recursive=args.recursive, settle=args.settle or SETTLE_SECONDS,
                             rescan=args.rescan or RESCAN_SECONDS)
    model, options, predictor = model_for(args, predict_options(args, None))
    watch = WatchedFolderClassification(settings, model, options, predictor=predictor)
    if predictor is None:  # PyTorch's start: if OpenVINO ran it, the next start needs no torch
        remember(args.checkpoint, model, watch.predictor, amp=options.amp)
    already = f"; {watch.already} picture(s) are in {shown(args.csv)} already" if watch.already else ""
    say(f"watching {shown(args.folder)}{already}. Ctrl+C stops.")

    def recorded(batch) -> None:
        for prediction in batch.predictions:
            if args.json:
                line = prediction.to_dict()
                if prediction.path in batch.placed:
                    line["sorted_to"] = str(batch.placed[prediction.path])
                sys.stdout.write(json_line(line) + "\n")
            else:
                sys.stdout.write(row_text(prediction, False))
        sys.stdout.flush()
        for path, why in batch.failed_to_place.items():
            say(f"{shown(path)} was classified but not sorted: {why}")

    with StopRequest() as stop:
        watch.run(recorded, cancelled=stop, on_status=lambda status: say(f"{shown(args.folder)}: {status}."),
                  stop_after_idle=args.stop_after_idle)
    counts = ", ".join(f"{shown(label)} {n}" for label, n in watch.counts.most_common())
    say_plain(f"{watch.classified} picture(s) classified while watching" + (f" ({counts})" if counts else "")
              + (f"; {watch.failed} could not be read." if watch.failed else "."))
    return EXIT_SOME_FAILED if watch.failed else EXIT_OK
