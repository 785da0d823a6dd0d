"""`resnet-gui train` and `resnet-gui evaluate`: the command-line front end of core.training and core.evaluation."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from pathlib import Path

from resnet_gui.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    positive_int,
    say,
    shown,
)
from resnet_gui.cli.processes import EXIT_PEER_LEFT, launch_processes, peer_left
from resnet_gui.cli.train_options import add_training_options, settings_from_args, train_report


def add_parser(sub, archs: list[str]) -> None:
    train = sub.add_parser("train", help="fine-tune a ResNet on a folder of class subfolders")
    train.add_argument("data_dir", metavar="DATA_DIR", nargs="?",
                       help="one subfolder per class, or train/ and val/ folders (optional with --resume)")
    train.add_argument("--val-dir", metavar="DIR", help="validation folder (default: split DATA_DIR)")
    add_training_options(train, archs)
    train.add_argument("--out", metavar="FILE", help="best checkpoint (model.pt); the last state goes beside it")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its .last.pt file")
    train.add_argument("--keep-last", action="store_true",
                       help="keep NAME.last.pt after the run completes (it is always kept after a stop)")
    train.add_argument("--nproc", type=positive_int, metavar="N",
                       help="train with N processes on this machine (one per GPU), as torchrun would start them")
    train.add_argument("--sync-bn", action="store_true",
                       help="with several processes on GPUs: BatchNorm statistics over the whole global batch "
                            "(SyncBatchNorm) instead of each process's share; worth it below about 16 pictures "
                            "per process"),
    train.add_argument("--preview-augment", metavar="OUT.png",
                       help="write a grid of what the chosen augmentation makes of a few training pictures (the "
                            "first column as validation sees them) and stop, before any training")
    train.set_defaults(handler=train_command)


def train_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.models.files import last_path_for
    from resnet_gui.core.runtime.distributed import world_from_environment

    world = world_from_environment()
    if args.nproc and args.nproc > 1 and not world.is_distributed:  # the launcher needs torch, not torchvision
        out = getattr(args, "out", None)
        return launch_processes(args.argv, args.nproc, after_a_kill=(
            f"The best model so far is kept; to go on: resnet-gui train --resume "
            f"{shlex.quote(shown(last_path_for(out)))} --nproc {args.nproc}" if out else
            "The best model so far is kept; go on with resnet-gui train --resume NAME.last.pt."))

    from resnet_gui.core.runtime.imports import heavy_imports
    from resnet_gui.core.training.read_ahead import start_reading_ahead

    # without a checkpoint to read, the settings need no torch, and the pictures can be decoded on the other
    # core while torch is imported (read_ahead.py)
    settings = settings_from_args(args) if args.weights in ("none", "imagenet") else None
    ahead = (start_reading_ahead(settings)
             if settings is not None and not world.is_distributed and not args.preview_augment else None)
    with heavy_imports():
        from resnet_gui.core.training.trainer import Trainer
    if ahead is not None:
        ahead.finish()

    settings = settings or settings_from_args(args)
    if args.preview_augment:
        return _preview_augment(settings, args.preview_augment)
    if not settings.resume:  # a resumed run is checked once merged with its saved settings
        settings.validate()  # every option checked before any image is read
    if settings.out and world.is_main:
        check_writable(settings.out, "the model file")
        check_writable(last_path_for(settings.out), "the resumable state")
        if Path(settings.out).exists() and not settings.resume and world.is_main:
            say(f"{shown(settings.out)} exists; this run replaces it once its first epoch is validated "
                "(without --out, a new name is chosen instead).")
    stop = threading.Event()
    interrupted = []

    def on_interrupt(signum, frame):
        if stop.is_set():
            signal.signal(signal.SIGINT, signal.SIG_DFL)  # a third Ctrl+C ends the process outright
            raise KeyboardInterrupt
        interrupted.append(True)
        stop.set()
        print(file=sys.stderr)
        say("stopping after this batch; the best checkpoint so far is kept (press Ctrl+C again to quit at once).")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        result = Trainer(settings, [train_report(args.json)], cancelled=stop.is_set,
                         started=getattr(args, "started", None)).run()
    except InterruptedError:
        say("stopped before training began.")
        return EXIT_INTERRUPTED
    except Exception as exc:
        if world.is_distributed and peer_left(exc):  # not this process's fault: it says so and stops
            say(f"process {world.rank} of {world.size} stops: another process of the run ended without finishing.")
            return EXIT_PEER_LEFT
        raise
    finally:
        signal.signal(signal.SIGINT, previous)
    if not world.is_main:
        return EXIT_OK  # the first process speaks for the run
    if not args.json:
        why = {"early_stopping": " (stopped early: no improvement)",
               "cancelled": " (stopped by you)"}.get(result.stopped, "")
        if result.best_path:
            acc = result.metrics.get("val_acc")
            # the last line a person reads names the model file (stdout gets the bare path, for scripts)
            print(f"Best checkpoint{why}: validation accuracy {acc:.1%}, saved to {shown(result.best_path)}",
                  file=sys.stderr)
            if result.stopped == "cancelled" and result.last_path:
                print(f"To go on: resnet-gui train --resume {shlex.quote(shown(result.last_path))}", file=sys.stderr)
            print(result.best_path)
        else:
            print(f"No checkpoint was written{why}.", file=sys.stderr)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def _preview_augment(settings, out: str) -> int:
    from resnet_gui.core.atomic_write import atomic_write, check_writable
    from resnet_gui.core.training.augment_preview import preview_augmentation

    check_writable(out, "the preview")
    grid = preview_augmentation(settings)
    with atomic_write(out) as stream:
        grid.save(stream, format="PNG")
    say(f"wrote {shown(out)}: augmentation {', '.join(settings.augment) or 'none'} on a few training pictures, "
        "the first column as validation sees them.")
    return EXIT_OK
