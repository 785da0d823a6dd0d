"""The options of a training run and what a run says on the terminal, shared by `train` and `project train`."""

from __future__ import annotations

import argparse
import sys

from resnet_gui.cli.common import (
    DEVICE_HELP,
    NO_AMP_HELP,
    ProgressBar,
    finite_float,
    fraction,
    image_size,
    json_line,
    non_negative_int,
    positive_int,
    shown,
)
from resnet_gui.core.models.stems import STEMS
from resnet_gui.core.summaries import describe_calibration, describe_threshold, duration
from resnet_gui.core.training.settings import MAX_LR


def rate_or_auto(text: str) -> float | str:
    return "auto" if text.strip().lower() == "auto" else finite_float(text)


def add_training_options(parser, archs: list[str]) -> None:
    """The options of a run, shared by `train` and `project train`."""
    from resnet_gui.core.training.settings import (
        AUGMENTATIONS,
        BALANCING,
        OPTIMIZERS,
        SCHEDULES,
        SWEEP_STEPS,
        TrainSettings,
    )

    d = TrainSettings()
    parser.add_argument("--val-split", type=fraction, default=d.val_split, help="share kept for validation (0.2)")
    parser.add_argument("--arch", choices=archs,
                        help=f"architecture (default: the start checkpoint's, else {d.arch})")
    parser.add_argument("--weights", default=d.weights, metavar="imagenet|none|CHECKPOINT",
                        help="start from ImageNet weights (default), random weights, or a checkpoint")
    parser.add_argument("--freeze-backbone", action="store_true", help="train only the last layer")
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=positive_int,
                        help=f"passes over the training images ({d.epochs}; with --resume, the run's own)")
    length.add_argument("--minutes", type=finite_float, metavar="M",
                        help="train for about M minutes, reading and finishing included: the number of epochs is "
                             "chosen from the first batches' pace")
    parser.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                        help=f"images per step, over all processes ({d.batch_size})")
    parser.add_argument("--lr", type=rate_or_auto, default=d.lr, metavar="LR|auto",
                        help=f"learning rate, above 0 and at most {MAX_LR:g}, or auto: a range test over about "
                             f"{SWEEP_STEPS} batches picks it ({d.lr})")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help=f"optimizer ({d.optimizer})")
    parser.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                        help=f"learning-rate schedule ({d.schedule})")
    parser.add_argument("--weight-decay", type=finite_float, default=d.weight_decay,
                        help=f"weight decay, 0 to 1 ({d.weight_decay})")
    parser.add_argument("--image-size", type=image_size,
                        help="input size (default: the pictures' typical size, 32 to 224 px)")
    stem = parser.add_mutually_exclusive_group()
    stem.add_argument("--stem", choices=list(STEMS), default=d.stem,
                      help="the first layer: imagenet (7x7/2 + max-pool), pooled (3x3/1 + max-pool) or small "
                           "(3x3/1, no max-pool); default: pooled at an input of 64 px or less, imagenet above")
    stem.add_argument("--small-input", dest="small_input", action="store_const", const=True,
                      help="the same as --stem small")
    stem.add_argument("--no-small-input", dest="small_input", action="store_const", const=False,
                      help="the same as --stem imagenet")
    parser.add_argument("--augment", nargs="+", default=d.augment, metavar="NAME",
                        help=f"any of {' '.join(AUGMENTATIONS)}, or none (default: {' '.join(d.augment)})")
    parser.add_argument("--crop-scale", type=finite_float, default=d.crop_scale,
                        help=f"with the crop augmentation: the smallest share of the picture's area a random crop "
                             f"keeps, 0.05 to 1 ({d.crop_scale})")
    parser.add_argument("--label-smoothing", type=finite_float, default=d.label_smoothing,
                        help="share of each target spread over the other classes, 0 to below 1 "
                             f"({d.label_smoothing:g})")
    parser.add_argument("--balance", choices=BALANCING, default=d.balance,
                        help="class-balanced loss or sampling for imbalanced folders (none)")
    parser.add_argument("--patience", type=non_negative_int, default=d.patience,
                        help="stop after this many epochs without improvement (0: never)")
    parser.add_argument("--seed", type=non_negative_int, default=d.seed,
                        help=f"seed of the split, the shuffles and the start weights, 0 to 2**32-1 ({d.seed})")
    parser.add_argument("--device", default=d.device, help=DEVICE_HELP)
    parser.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    parser.add_argument("--workers", type=non_negative_int,
                        help="data loading processes (default: by device and cache)")
    parser.add_argument("--json", action="store_true", help="JSON Lines of events instead of a progress bar")


def settings_from_args(args: argparse.Namespace):
    from resnet_gui.core.errors import UserError
    from resnet_gui.core.training.settings import TrainSettings

    data_dir, resume = getattr(args, "data_dir", None), getattr(args, "resume", None)
    if not data_dir and not resume and args.command == "train":
        raise UserError("Name the training folder: resnet-gui train DATA_DIR (or continue a run with --resume).")
    d = TrainSettings()
    arch = args.arch or _arch_of_start_checkpoint(args.weights) or d.arch
    return TrainSettings(
        data_dir=data_dir or "", val_dir=getattr(args, "val_dir", None), val_split=args.val_split, arch=arch,
        weights=args.weights, freeze_backbone=args.freeze_backbone,
        epochs=args.epochs or (None if resume else d.epochs), minutes=args.minutes,
        batch_size=args.batch_size, lr=d.lr if args.lr == "auto" else args.lr, find_lr=args.lr == "auto",
        optimizer=args.optimizer, schedule=args.schedule,
        weight_decay=args.weight_decay, image_size=args.image_size, small_input=args.small_input,
        stem=args.stem,
        augment=[] if args.augment == ["none"] else list(args.augment), crop_scale=args.crop_scale,
        label_smoothing=args.label_smoothing,
        balance=args.balance, seed=args.seed, device=args.device, amp=not args.no_amp, patience=args.patience,
        workers=args.workers, out=getattr(args, "out", None), resume=resume,
        keep_last=getattr(args, "keep_last", False), sync_bn=getattr(args, "sync_bn", False),
    )


def _arch_of_start_checkpoint(weights: str | None) -> str | None:
    """Without --arch, a run that starts from a checkpoint trains that checkpoint's architecture."""
    if not weights or weights in ("imagenet", "none"):
        return None
    from resnet_gui.core.models.checkpoints import read_checkpoint

    return read_checkpoint(weights).arch


def train_report(as_json: bool):
    """What a run says on the terminal: a progress bar and a line per epoch, or JSON Lines of events."""
    from resnet_gui.core.training.events import TrainingCallback

    out = sys.stdout

    class Report(TrainingCallback):
        bar: ProgressBar | None = None

        def emit(self, event: str, **data) -> None:
            out.write(json_line({"event": event, **data}) + "\n")
            out.flush()

        def on_status(self, text):
            if not as_json and sys.stderr.isatty():
                sys.stderr.write(f"\r{text}\x1b[K")
                sys.stderr.flush()

        def on_input_chosen(self, text):
            if as_json:
                self.emit("input", text=text)
            else:
                print(text, file=sys.stderr)

        def on_data_ready(self, data):
            if not as_json and sys.stderr.isatty():
                sys.stderr.write("\r\x1b[K")
            both = [a + b for a, b in zip(data.class_counts(), data.class_counts("val"), strict=True)]
            counts = dict(zip(data.classes, both, strict=True))
            if as_json:
                self.emit("data", classes=data.classes, counts=counts, train=len(data.train), val=len(data.val),
                          skipped=[{"path": p, "error": e} for p, e in data.skipped], warnings=data.warnings)
                return
            print(f"{len(data.classes)} classes: " + ", ".join(f"{k} ({v})" for k, v in counts.items()),
                  file=sys.stderr)
            print(f"{len(data.train)} images to train on, {len(data.val)} to validate"
                  + (", held in memory" if data.cached else ""), file=sys.stderr)
            for path, error in data.skipped:
                print(f"  skipped {shown(path)}: {error}", file=sys.stderr)
            for warning in data.warnings:
                print(f"  note: {warning}", file=sys.stderr)

        def on_lr_sweep(self, step, steps, rate, loss):
            if not as_json and sys.stderr.isatty():
                sys.stderr.write(f"\rFinding the learning rate… {step}/{steps}  rate {rate:.1e}  loss {loss:.3f}\x1b[K")
                sys.stderr.flush()

        def on_lr_found(self, finding):
            if as_json:
                self.emit("lr_found", suggestion=finding.suggestion, stopped=finding.stopped, rates=finding.rates,
                          losses=finding.losses, notes=finding.notes)
                return
            if sys.stderr.isatty():
                sys.stderr.write("\r\x1b[K")
            print(f"learning rate: {finding.suggestion:.2g} (a range test over {len(finding.rates)} batches, "
                  f"{finding.rates[0]:.0e} to {finding.rates[-1]:.0e})" if finding.rates else
                  f"learning rate: {finding.suggestion:.2g}", file=sys.stderr)
            for note in finding.notes:
                print(f"  note: {note}", file=sys.stderr)

        def on_epochs_chosen(self, epochs, text):
            if as_json:
                self.emit("epochs_chosen", epochs=epochs, text=text)
            else:
                if self.bar is not None:
                    self.bar.label = f"epoch 1/{epochs} "
                print(f"\r\x1b[K{text}" if sys.stderr.isatty() else text, file=sys.stderr)

        def on_estimate(self, seconds, batches_timed):
            if as_json:
                self.emit("estimate", seconds=round(seconds, 1), batches_timed=batches_timed)
            else:
                print(f"about {duration(seconds)} to train (from {batches_timed} timed batches)", file=sys.stderr)

        def on_epoch_start(self, epoch, epochs):
            if not as_json:
                self.bar = ProgressBar(0, label=f"epoch {epoch}/{epochs} ")

        def on_batch_end(self, e):
            if as_json:
                self.emit("batch", epoch=e.epoch, batch=e.batch, batches=e.batches, loss=round(e.loss, 6),
                          lr=e.lr, images_per_second=round(e.images_per_second, 2))
            elif self.bar is not None:
                self.bar.total = e.batches
                self.bar.update(e.batch, f"loss {e.loss:.4f} {e.images_per_second:.0f} img/s")

        def on_epoch_end(self, e):
            if as_json:
                self.emit("epoch", **e.to_dict())
                return
            if self.bar is not None:
                self.bar.close()
            mark = "  * best" if e.improved else ""
            print(f"epoch {e.epoch}/{e.epochs}  train loss {e.train_loss:.4f} acc {e.train_acc:.1%}  "
                  f"val loss {e.val_loss:.4f} acc {e.val_acc:.1%}  {e.seconds:.1f}s{mark}", file=sys.stderr)

        def on_calibrated(self, c):
            if as_json:
                self.emit("calibrated", temperature=c["temperature"], nll_before=c["nll_before"],
                          nll_after=c["nll_after"], ece_before=c["reliability_before"]["ece"],
                          ece_after=c["reliability_after"]["ece"], unsure_below=c["unsure_below"],
                          unfamiliar=c.get("unfamiliar"), declined=c.get("declined"))
            else:
                print(f"calibration: {describe_calibration(c)}; {describe_threshold(c['unsure_below'])}",
                      file=sys.stderr)
                if c.get("unfamiliar"):
                    print(f"unfamiliar pictures: {c['unfamiliar']['method']} score fitted; 95% of the validation "
                          "pictures count as familiar", file=sys.stderr)

        def on_finished(self, result):
            if as_json:
                self.emit("finished", best_path=result.best_path, last_path=result.last_path, stopped=result.stopped,
                          metrics={k: v for k, v in result.metrics.items() if k != "confusion_matrix"})

    return Report()
