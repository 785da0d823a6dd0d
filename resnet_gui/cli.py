"""The `resnet-gui` command line: a thin front end over resnet_gui.core.

Exit status: 0 when everything asked for was done, 1 when some files could
not be classified (their rows are still written), 2 for a usage error or an
unusable input (a message on stderr), 3 for an unexpected internal error
(details in the log file named on stderr), 130 when interrupted.

torch is imported inside the command handlers, so `resnet-gui --help` and the
window start without waiting for it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path

from resnet_gui import __version__
from resnet_gui.core.architectures import ARCHITECTURES, DEFAULT_ARCH, DEFAULT_TRAIN_ARCH
from resnet_gui.core.errors import UserError
from resnet_gui.crash_log import write_crash_log

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
COMMANDS = ("gui", "classify", "info", "train", "evaluate", "explain", "export")

log = logging.getLogger("resnet_gui")


class UsageParser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line of advice, never a traceback."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def image_size(text: str) -> int:
    value = positive_int(text)
    if value < 16:
        raise argparse.ArgumentTypeError(f"{value} px is too small; use 16 or more")
    return value


def confidence(text: str) -> float:
    """'0.8', '80' or '80%' -> 0.8; 0 turns the threshold off."""
    cleaned = text.strip().rstrip("%")
    try:
        value = float(cleaned)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a confidence like 80% or 0.8") from None
    if value > 1 or text.strip().endswith("%"):
        value /= 100
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 100%")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1, like 0.2")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog="resnet-gui",
        description="Classify images with a ResNet and fine-tune ResNets on your own pictures.",
        epilog="Without a command, the window opens.",
    )
    from resnet_gui import train_cli

    parser.add_argument("--version", action="version", version=f"resnet-gui {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=UsageParser, metavar="COMMAND")
    archs = list(ARCHITECTURES)

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

    classify = sub.add_parser("classify", help="classify images and folders")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    add_model_options(classify, archs)
    classify.add_argument("--top-k", type=positive_int, default=5, help="how many classes to report (default 5)")
    classify.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (default auto)")
    classify.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    classify.add_argument("--workers", type=int, default=None,
                          help="decoders: threads on a CPU, processes beside a GPU (default: by device)")
    classify.add_argument("--no-amp", action="store_true", help=train_cli.NO_AMP_HELP)
    classify.add_argument("--unsure-below", type=confidence, metavar="P",
                          help="report 'unsure' below this confidence, like 80%% (default: the checkpoint's "
                               "suggestion from its validation set; 0 turns it off)")
    classify.add_argument("--csv", metavar="OUT.csv", help="also write the results to this CSV file")
    classify.add_argument("--json", action="store_true", help="print JSON Lines, one object per file")

    info = sub.add_parser("info", help="describe a checkpoint")
    info.add_argument("checkpoint", metavar="CHECKPOINT")
    info.add_argument("--classes", metavar="FILE", help="class names (class_indices.json or one per line)")
    info.add_argument("--image-size", type=image_size, help="input size for the output shapes")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--verify", action="store_true",
                      help="re-run the checkpoint's golden samples; exit 1 if its outputs moved")

    explain = sub.add_parser("explain", help="Grad-CAM: where the model looks in an image")
    explain.add_argument("image", metavar="IMAGE")
    explain.add_argument("--checkpoint", metavar="FILE", help="weights (default: ImageNet)")
    explain.add_argument("--arch", choices=archs, help="architecture for ImageNet weights")
    explain.add_argument("--class", dest="class_label", metavar="LABEL", help="class to explain (default: the top one)")
    explain.add_argument("--opacity", type=float, default=0.5, help="heat-map opacity, 0..1 (0.5)")
    explain.add_argument("--out", required=True, metavar="OUT.png", help="the picture with the heat map")

    export = sub.add_parser("export", help="export a checkpoint to ONNX or TorchScript")
    export.add_argument("checkpoint", metavar="CHECKPOINT")
    export.add_argument("--format", choices=("onnx", "torchscript"), required=True)
    export.add_argument("--out", required=True, metavar="FILE", help="the model file; FILE.json goes beside it")

    train_cli.add_commands(sub, archs, DEFAULT_TRAIN_ARCH, positive_int, image_size, fraction)
    return parser


def add_model_options(parser: argparse.ArgumentParser, archs: list[str]) -> None:
    parser.add_argument("--arch", choices=archs, help=f"architecture (default: from the checkpoint, else {DEFAULT_ARCH})")
    parser.add_argument("--checkpoint", metavar="FILE", help="weights to use (default: ImageNet, downloaded once)")
    parser.add_argument("--classes", metavar="FILE", help="class names (class_indices.json or one per line)")
    parser.add_argument("--image-size", type=image_size, help="input crop size (default: from the checkpoint)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["gui", *argv]
    args = build_parser().parse_args(argv)
    try:
        return run_command(args)
    except UserError as exc:
        print(f"resnet-gui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("resnet-gui: interrupted.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `resnet-gui classify ... | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        where = write_crash_log(exc)
        print(
            f"resnet-gui: an unexpected error stopped the command ({type(exc).__name__}: {exc}). "
            f"Details were written to {where}; please include that file when you report it.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.allocator import keep_freed_memory

    keep_freed_memory()  # before torch allocates anything: see core/allocator.py
    if args.command == "classify":
        return classify_command(args)
    if args.command == "info":
        return info_command(args)
    if args.command == "explain":
        return explain_command(args)
    if args.command == "export":
        return export_command(args)
    if args.command in ("train", "evaluate"):
        from resnet_gui import train_cli

        return train_cli.run(args)
    from resnet_gui.gui.app import run_gui

    outcome = run_gui(args)
    for message in outcome.messages:
        print(f"resnet-gui: {message}", file=sys.stderr)
    if args.report_stalls:
        print(f"max_stall_ms={outcome.max_stall_ms:.0f}")
        print(f"window_shown_ms={outcome.window_shown_ms:.0f}")
    return outcome.code


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal, at most 10 times a second."""

    def __init__(self, total: int, label: str = "", stream=sys.stderr):
        self.total, self.label, self.stream = total, label, stream
        self.enabled = hasattr(stream, "isatty") and stream.isatty()
        self.start = time.perf_counter()
        self.last_draw = 0.0

    def update(self, done: int, extra: str = "") -> None:
        now = time.perf_counter()
        if not self.enabled or (now - self.last_draw < 0.1 and done < self.total):
            return
        self.last_draw = now
        fraction_done = done / self.total if self.total else 1.0
        width = 28
        filled = int(width * fraction_done)
        elapsed = now - self.start
        eta = elapsed / done * (self.total - done) if done else 0.0
        self.stream.write(
            f"\r{self.label}[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} "
            f"{elapsed:5.1f}s, {eta:4.0f}s left {extra}\x1b[K"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def classify_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.images import discover

    found = discover(args.paths)
    for missing in found.missing:
        print(f"resnet-gui: {missing} does not exist; skipped.", file=sys.stderr)
    if found.skipped:
        print(f"resnet-gui: skipped {len(found.skipped)} file(s) that are not images.", file=sys.stderr)
    if not found.files:
        raise UserError(
            "No images were found in the paths given. Supported: .jpg .jpeg .png .bmp .gif .tif .tiff .webp."
        )

    from resnet_gui.core.export import CsvResultWriter
    from resnet_gui.core.inference import Predictor
    from resnet_gui.core.models import load_bundle

    bundle = load_bundle(args.checkpoint, arch=args.arch, classes_file=args.classes, image_size=args.image_size)
    unsure_below = bundle.unsure_below if args.unsure_below is None else (args.unsure_below or None)
    predictor = Predictor(bundle, device=args.device, batch_size=args.batch_size, num_workers=args.workers,
                          top_k=args.top_k, unsure_below=unsure_below, amp=not args.no_amp)
    csv_writer = CsvResultWriter(args.csv, predictor.top_k) if args.csv else None
    progress = ProgressBar(len(found.files))
    failed = done = 0
    started = time.perf_counter()
    out = sys.stdout
    if not args.json:
        out.write(f"{'confidence':>10}  {'label':<24}  file\n")
    try:
        for batch in predictor.predict(found.files):
            for prediction in batch:
                done += 1
                failed += not prediction.ok
                if csv_writer:
                    csv_writer.write(prediction)
                if args.json:
                    out.write(json.dumps(prediction.to_dict(), ensure_ascii=False) + "\n")
                elif prediction.ok:
                    best = prediction.best
                    label = f"unsure ({best.label}?)" if prediction.unsure else best.label
                    out.write(f"{best.prob:>10.1%}  {label:<24}  {prediction.path}\n")
                else:
                    out.write(f"{'failed':>10}  {'-':<24}  {prediction.path}  ({prediction.error})\n")
            out.flush()
            progress.update(done)
    except BaseException:
        if csv_writer:
            csv_writer.abort()
        raise
    finally:
        progress.close()
    if csv_writer:
        csv_writer.commit()
    seconds = time.perf_counter() - started
    summary = {
        "unsure_below": unsure_below,
        "files": done,
        "classified": done - failed,
        "failed": failed,
        "skipped": len(found.skipped),
        "seconds": round(seconds, 3),
        "images_per_second": round(done / seconds, 2) if seconds > 0 else None,
        "device": str(predictor.device),
        "arch": bundle.arch,
    }
    if args.json:
        out.write(json.dumps({"summary": summary}) + "\n")
    else:
        print(
            f"{done - failed} of {done} image(s) classified with {bundle.arch} on {predictor.device} "
            f"in {seconds:.1f}s" + (f"; {failed} could not be read." if failed else "."),
            file=sys.stderr,
        )
        if csv_writer:
            print(f"Results written to {csv_writer.path}", file=sys.stderr)
    return EXIT_SOME_FAILED if failed else EXIT_OK


def info_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.models import count_parameters, load_checkpoint_bundle, stage_table

    bundle = load_checkpoint_bundle(args.checkpoint, classes_file=args.classes, image_size=args.image_size)
    contents = bundle.checkpoint
    prep = bundle.preprocessing
    rows = stage_table(bundle.model, prep.image_size)
    data = {
        "temperature": bundle.temperature,
        "unsure_below": bundle.unsure_below,
        "golden_samples": len(contents.extra.get("golden", {}).get("inputs", [])) if contents.extra.get("golden") else 0,
        "path": str(contents.path),
        "format": contents.kind,
        "version": contents.version,
        "arch": bundle.arch,
        "num_classes": bundle.num_classes,
        "classes": bundle.classes,
        "params": count_parameters(bundle.model),
        "image_size": prep.image_size,
        "resize": prep.resize,
        "mean": list(prep.mean),
        "std": list(prep.std),
        "small_input": bundle.small_input,
        "stages": [
            {"name": r.name, "blocks": r.blocks, "output_shape": list(r.output_shape), "params": r.params} for r in rows
        ],
        "train": contents.train,
        "metrics": contents.metrics,
        "epochs": len(contents.history),
    }
    if args.verify:
        return verify_command(bundle, data, args.json)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, default=str))
        return EXIT_OK
    from resnet_gui.core.architectures import architecture

    spec = architecture(bundle.arch)
    classes = ", ".join(bundle.classes[:10]) + (f", ... ({bundle.num_classes} in all)" if bundle.num_classes > 10 else "")
    print(f"{contents.path.name}: {spec.title} ({bundle.arch}), {contents.kind} format")
    print(f"  classes      {bundle.num_classes}: {classes}")
    print(f"  parameters   {data['params']:,}")
    print(f"  input        {prep.image_size}x{prep.image_size} px (resize {prep.resize}), "
          f"{'small-input stem (3x3, no max-pool)' if bundle.small_input else 'ImageNet stem (7x7/2 + max-pool)'}")
    print(f"  normalise    mean {tuple(round(v, 3) for v in prep.mean)}, std {tuple(round(v, 3) for v in prep.std)}")
    if contents.metrics:
        figures = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in contents.metrics.items()
                            if isinstance(v, (int, float, str)))
        print(f"  metrics      {figures}")
    print()
    print(f"  {'stage':<8}{'blocks':>7}  {'block type':<11}{'output shape':<22}{'parameters':>12}")
    for r in rows:
        block = spec.block if r.blocks else ""
        shape = " x ".join(str(d) for d in r.output_shape)
        print(f"  {r.name:<8}{(r.blocks or ''):>7}  {block:<11}{shape:<22}{r.params:>12,}")
    print(f"  {'total':<8}{sum(spec.layers):>7}  {'':<11}{'':<22}{data['params']:>12,}")
    return EXIT_OK


def verify_command(bundle, data: dict, as_json: bool) -> int:
    """info --verify: do the golden samples still give the outputs stored with them?"""
    from resnet_gui.core.golden import verify_model

    golden = bundle.checkpoint.extra.get("golden")
    if not golden:
        raise UserError(f"{bundle.checkpoint.path.name} has no golden samples to check (only checkpoints made by "
                        "resnet-gui train carry them).")
    difference = verify_model(bundle.model, golden, bundle.preprocessing, bundle.temperature)
    tolerance = float(golden.get("tolerance", 1e-4))
    ok = difference <= tolerance
    if as_json:
        print(json.dumps({**data, "verified": ok, "max_difference": difference, "tolerance": tolerance},
                         ensure_ascii=False, default=str))
    elif ok:
        print(f"{bundle.checkpoint.path.name}: the {len(golden['inputs'])} golden samples give the stored outputs "
              f"(largest difference {difference:.1e} in probability, allowed {tolerance:.0e}).")
    else:
        print(f"resnet-gui: {bundle.checkpoint.path.name} no longer gives the outputs it was saved with: they moved by "
              f"up to {difference:.2e} in probability (allowed {tolerance:.0e}). The file may have been changed, or "
              "torch/torchvision compute differently here; do not trust its answers until this is explained.",
              file=sys.stderr)
    return EXIT_OK if ok else EXIT_SOME_FAILED


def explain_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.explain import explain, overlay
    from resnet_gui.core.images import ImageDecodeError, load_rgb
    from resnet_gui.core.models import load_bundle

    bundle = load_bundle(args.checkpoint, arch=args.arch)
    try:
        image = load_rgb(args.image)
    except ImageDecodeError as exc:
        raise UserError(f"{args.image} cannot be explained: {exc}.") from None
    index = None
    if args.class_label is not None:
        if args.class_label not in bundle.classes:
            raise UserError(f"'{args.class_label}' is not one of the model's classes: {', '.join(bundle.classes[:20])}.")
        index = bundle.classes.index(args.class_label)
    result = explain(bundle, image, index)
    picture = overlay(image, result.heatmap, max(0.0, min(1.0, args.opacity)))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    picture.save(out)
    print(f"{result.label} ({result.prob:.1%}): heat map written to {out}", file=sys.stderr)
    return EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.model_export import export_model
    from resnet_gui.core.models import load_checkpoint_bundle

    bundle = load_checkpoint_bundle(args.checkpoint)
    model_path, side, check = export_model(bundle, args.format, args.out)
    print(f"Exported {args.format} model to {model_path}, with {side.name} beside it.", file=sys.stderr)
    if check.get("verified"):
        print(f"Checked with the {check['checked_with']}: largest difference {check['max_difference']:.1e} in "
              "probability.", file=sys.stderr)
    else:
        print(f"Not checked: {check['reason']}.", file=sys.stderr)
    return EXIT_OK
