"""`resnet-gui train` and `resnet-gui evaluate`: the command-line front end of core.training and core.evaluation."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    NO_AMP_HELP,
    ProgressBar,
    finite_float,
    fraction,
    image_size,
    json_line,
    non_negative_int,
    positive_int,
    say,
    shown,
)
from resnet_gui.core.text import figure
from resnet_gui.core.train_config import MAX_LR
from resnet_gui.core.summaries import describe_threshold


def add_parsers(sub, archs: list[str]) -> None:
    from resnet_gui.core.train_config import AUGMENTATIONS, BALANCING, OPTIMIZERS, SCHEDULES, TrainSettings

    d = TrainSettings()
    train = sub.add_parser("train", help="fine-tune a ResNet on a folder of class subfolders")
    train.add_argument("data_dir", metavar="DATA_DIR", nargs="?",
                       help="one subfolder per class, or train/ and val/ folders (optional with --resume)")
    train.add_argument("--val-dir", metavar="DIR", help="validation folder (default: split DATA_DIR)")
    train.add_argument("--val-split", type=fraction, default=d.val_split, help="share kept for validation (0.2)")
    train.add_argument("--arch", choices=archs,
                       help=f"architecture (default: the start checkpoint's, else {d.arch})")
    train.add_argument("--weights", default=d.weights, metavar="imagenet|none|CHECKPOINT",
                       help="start from ImageNet weights (default), random weights, or a checkpoint")
    train.add_argument("--freeze-backbone", action="store_true", help="train only the last layer")
    train.add_argument("--epochs", type=positive_int,
                       help=f"passes over the training images ({d.epochs}; with --resume, the run's own)")
    train.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                       help=f"images per step, over all processes ({d.batch_size})")
    train.add_argument("--lr", type=finite_float, default=d.lr,
                       help=f"learning rate, above 0 and at most {MAX_LR:g} ({d.lr})")
    train.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"optimizer ({d.optimizer})")
    train.add_argument("--schedule", choices=SCHEDULES, default=d.schedule, help=f"learning-rate schedule ({d.schedule})")
    train.add_argument("--weight-decay", type=finite_float, default=d.weight_decay,
                       help=f"weight decay, 0 to 1 ({d.weight_decay})")
    train.add_argument("--image-size", type=image_size,
                       help="input size (default: the pictures' typical size, 32 to 224 px)")
    stem = train.add_mutually_exclusive_group()
    stem.add_argument("--small-input", dest="small_input", action="store_const", const=True,
                      help="3x3 stem without max-pool (default: at an input of 64 px or less)")
    stem.add_argument("--no-small-input", dest="small_input", action="store_const", const=False,
                      help="the ImageNet stem even for small inputs")
    train.add_argument("--augment", nargs="+", default=d.augment, metavar="NAME",
                       help=f"any of {' '.join(AUGMENTATIONS)}, or none (default: crop hflip)")
    train.add_argument("--label-smoothing", type=finite_float, default=d.label_smoothing,
                       help=f"share of each target spread over the other classes, 0 to below 1 ({d.label_smoothing:g})")
    train.add_argument("--balance", choices=BALANCING, default=d.balance,
                       help="class-balanced loss or sampling for imbalanced folders (none)")
    train.add_argument("--patience", type=non_negative_int, default=d.patience,
                       help="stop after this many epochs without improvement (0: never)")
    train.add_argument("--seed", type=non_negative_int, default=d.seed,
                       help=f"seed of the split, the shuffles and the start weights, 0 to 2**32-1 ({d.seed})")
    train.add_argument("--device", default=d.device, help=DEVICE_HELP)
    train.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    train.add_argument("--workers", type=non_negative_int,
                       help="data loading processes (default: by device and cache)")
    train.add_argument("--out", metavar="FILE", help="best checkpoint (model.pt); the last state goes beside it")
    train.add_argument("--resume", metavar="CHECKPOINT", help="continue a run from its .last.pt file")
    train.add_argument("--keep-last", action="store_true",
                       help="keep NAME.last.pt after the run completes (it is always kept after a stop)")
    train.add_argument("--json", action="store_true", help="JSON Lines of events instead of a progress bar")
    train.add_argument("--nproc", type=positive_int, metavar="N",
                       help="train with N processes on this machine (one per GPU), as torchrun would start them")
    train.set_defaults(handler=train_command)

    evaluate = sub.add_parser("evaluate", help="measure a checkpoint on a folder of class subfolders")
    evaluate.add_argument("data_dir", metavar="DATA_DIR", help="one subfolder of labelled images per class")
    evaluate.add_argument("--checkpoint", required=True, metavar="FILE", help="the model to measure")
    evaluate.add_argument("--image-size", type=image_size, help="input crop size (default: from the checkpoint)")
    evaluate.add_argument("--device", default="auto", help=DEVICE_HELP)
    evaluate.add_argument("--batch-size", type=positive_int, default=64, help="images per batch (default 64)")
    evaluate.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    evaluate.add_argument("--json", action="store_true", help="the figures as one JSON object on the last line")
    evaluate.add_argument("--report", metavar="DIR", help="also write a self-contained HTML report into DIR")
    evaluate.set_defaults(handler=evaluate_command)


def settings_from_args(args: argparse.Namespace):
    from resnet_gui.core.errors import UserError
    from resnet_gui.core.train_config import TrainSettings

    if not args.data_dir and not args.resume:
        raise UserError("Name the training folder: resnet-gui train DATA_DIR (or continue a run with --resume).")
    arch = args.arch or _arch_of_start_checkpoint(args.weights) or TrainSettings().arch
    return TrainSettings(
        data_dir=args.data_dir or "", val_dir=args.val_dir, val_split=args.val_split, arch=arch,
        weights=args.weights, freeze_backbone=args.freeze_backbone,
        epochs=args.epochs or (None if args.resume else TrainSettings().epochs),
        batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer, schedule=args.schedule,
        weight_decay=args.weight_decay, image_size=args.image_size, small_input=args.small_input,
        augment=[] if args.augment == ["none"] else list(args.augment), label_smoothing=args.label_smoothing,
        balance=args.balance, seed=args.seed, device=args.device, amp=not args.no_amp, patience=args.patience,
        workers=args.workers, out=args.out, resume=args.resume, keep_last=args.keep_last,
    )


def _arch_of_start_checkpoint(weights: str | None) -> str | None:
    """Without --arch, a run that starts from a checkpoint trains that checkpoint's architecture."""
    if not weights or weights in ("imagenet", "none"):
        return None
    from resnet_gui.core.checkpoints import read_checkpoint

    return read_checkpoint(weights).arch


def launch_processes(argv: list[str], nproc: int) -> int:
    """`train --nproc N`: the same command under PyTorch's own launcher, N processes on this machine."""
    import subprocess

    rest, skip = [], False
    for token in argv:
        if skip:
            skip = False
        elif token == "--nproc":
            skip = True
        elif not token.startswith("--nproc="):
            rest.append(token)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               "-m", "resnet_gui", *rest]
    return subprocess.call(command)


def train_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.checkpoint_saver import last_path_for
    from resnet_gui.core.distributed import world_from_environment
    from resnet_gui.core.training import Trainer, TrainingCallback

    world = world_from_environment()
    if args.nproc and args.nproc > 1 and not world.is_distributed:
        return launch_processes(args.argv, args.nproc)

    settings = settings_from_args(args)
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
    out = sys.stdout

    class Report(TrainingCallback):
        bar: ProgressBar | None = None

        def emit(self, event: str, **data) -> None:
            out.write(json_line({"event": event, **data}) + "\n")
            out.flush()

        def on_status(self, text):
            if not args.json and sys.stderr.isatty():
                sys.stderr.write(f"\r{text}\x1b[K")
                sys.stderr.flush()

        def on_input_chosen(self, text):
            if args.json:
                self.emit("input", text=text)
            else:
                print(text, file=sys.stderr)

        def on_data_ready(self, data):
            if not args.json and sys.stderr.isatty():
                sys.stderr.write("\r\x1b[K")
            counts = dict(zip(data.classes, [a + b for a, b in zip(data.class_counts(), data.class_counts("val"))]))
            if args.json:
                self.emit("data", classes=data.classes, counts=counts, train=len(data.train), val=len(data.val),
                          skipped=[{"path": p, "error": e} for p, e in data.skipped], warnings=data.warnings)
                return
            print(f"{len(data.classes)} classes: " + ", ".join(f"{k} ({v})" for k, v in counts.items()), file=sys.stderr)
            print(f"{len(data.train)} images to train on, {len(data.val)} to validate"
                  + (", held in memory" if data.cached else ""), file=sys.stderr)
            for path, error in data.skipped:
                print(f"  skipped {shown(path)}: {error}", file=sys.stderr)
            for warning in data.warnings:
                print(f"  note: {warning}", file=sys.stderr)

        def on_epoch_start(self, epoch, epochs):
            if not args.json:
                self.bar = ProgressBar(0, label=f"epoch {epoch}/{epochs} ")

        def on_batch_end(self, e):
            if args.json:
                self.emit("batch", epoch=e.epoch, batch=e.batch, batches=e.batches, loss=round(e.loss, 6),
                          lr=e.lr, images_per_second=round(e.images_per_second, 2))
            elif self.bar is not None:
                self.bar.total = e.batches
                self.bar.update(e.batch, f"loss {e.loss:.4f} {e.images_per_second:.0f} img/s")

        def on_epoch_end(self, e):
            if args.json:
                self.emit("epoch", **e.to_dict())
                return
            if self.bar is not None:
                self.bar.close()
            mark = "  * best" if e.improved else ""
            print(f"epoch {e.epoch}/{e.epochs}  train loss {e.train_loss:.4f} acc {e.train_acc:.1%}  "
                  f"val loss {e.val_loss:.4f} acc {e.val_acc:.1%}  {e.seconds:.1f}s{mark}", file=sys.stderr)

        def on_calibrated(self, c):
            if args.json:
                self.emit("calibrated", temperature=c["temperature"], nll_before=c["nll_before"],
                          nll_after=c["nll_after"], ece_before=c["reliability_before"]["ece"],
                          ece_after=c["reliability_after"]["ece"], unsure_below=c["unsure_below"])
            else:
                print(f"calibration: temperature {c['temperature']:.2f}, expected calibration error "
                      f"{c['reliability_before']['ece']:.3f} -> {c['reliability_after']['ece']:.3f}; "
                      f"{describe_threshold(c['unsure_below'])}", file=sys.stderr)

        def on_finished(self, result):
            if args.json:
                self.emit("finished", best_path=result.best_path, last_path=result.last_path, stopped=result.stopped,
                          metrics={k: v for k, v in result.metrics.items() if k != "confusion_matrix"})

    try:
        result = Trainer(settings, [Report()], cancelled=stop.is_set).run()
    except InterruptedError:
        say("stopped before training began.")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    if not world.is_main:
        return EXIT_OK  # the first process speaks for the run
    if not args.json:
        why = {"early_stopping": " (stopped early: no improvement)", "cancelled": " (stopped by you)"}.get(result.stopped, "")
        if result.best_path:
            acc = result.metrics.get("val_acc")
            print(f"Best checkpoint{why}: validation accuracy {acc:.1%}", file=sys.stderr)
            print(result.best_path)
        else:
            print(f"No checkpoint was written{why}.", file=sys.stderr)
    return EXIT_INTERRUPTED if interrupted else EXIT_OK


def evaluate_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.evaluation import evaluate_model
    from resnet_gui.core.models import load_checkpoint_bundle

    if args.report:
        from resnet_gui.core.atomic_write import check_writable

        check_writable(Path(args.report) / "index.html", "the report")
    bundle = load_checkpoint_bundle(args.checkpoint, image_size=args.image_size)
    report = evaluate_model(bundle, args.data_dir, device=args.device, batch_size=args.batch_size,
                            thumbnails=128 if args.report else 0, amp=not args.no_amp)
    if args.report:
        from resnet_gui.core.report import write_report

        where = write_report(report, args.report)
        print(f"Report written to {shown(where)}", file=sys.stderr)
    status = EXIT_SOME_FAILED if report["skipped"] else EXIT_OK  # some files could not be read
    for item in report["passed_over"]:
        print(f"passed over {shown(item['path'])}: {item['reason']}", file=sys.stderr)
    for item in report["skipped"]:
        print(f"could not read {shown(item['path'])}: {item['error']}", file=sys.stderr)
    if args.json:
        figures = {k: v for k, v in report.items() if k not in ("curves", "mistakes", "items")}
        figures["mistakes"] = [{k: v for k, v in m.items() if k != "thumbnail"} for m in report["mistakes"]]
        print(json_line(figures))
        return status
    print(f"accuracy {report['accuracy']:.2%} on {report['samples']} images, "
          f"macro ROC AUC {figure(report['macro_roc_auc'])}")
    width = max(12, *(len(c) for c in report["classes"]))
    for note in report["notes"]:
        print(f"note: {note}", file=sys.stderr)
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, f in report["per_class"].items():
        print(f"{name:<{width}}  {figure(f['precision']):>9}  {figure(f['recall']):>6}  {figure(f['f1']):>5}  "
              f"{f['support']:7d}")
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    classes = report["classes"]
    if max(len(c) for c in classes) <= 8:  # short names head their own columns
        headers, rows = classes, classes
    else:  # long names would be cut into look-alikes: number the columns, and the rows with them
        headers = [f"#{i + 1}" for i in range(len(classes))]
        rows = [f"#{i + 1} {c}" for i, c in enumerate(classes)]
    cell = max(6, *(len(h) for h in headers), *(len(str(v)) for r in report["confusion_matrix"] for v in r))
    width = max(width, *(len(r) for r in rows))
    print(" " * width + "  " + " ".join(f"{h:>{cell}}" for h in headers))
    for name, row in zip(rows, report["confusion_matrix"]):
        print(f"{name:<{width}}  " + " ".join(f"{v:>{cell}d}" for v in row))
    return status
