"""What every command shares: exit codes, the parser class, argument types, help texts, the progress bar.

No command module imports another; they all import this one.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any

from resnet_gui.core.text import terminal_text

EXIT_OK, EXIT_SOME_FAILED, EXIT_USAGE, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as a shell reports a writer whose reader left

NO_AMP_HELP = "full float32 (default: mixed precision on a GPU, and bfloat16 on a CPU that computes it in hardware)"
DEVICE_HELP = "auto, cpu, cuda, cuda:N or mps (default auto)"


class UsageParser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line of advice, never a traceback."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {minimum} or more, not {value}")
    return value


def positive_int(text: str) -> int:
    return whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return whole_number(text, 0)


def image_size(text: str) -> int:
    from resnet_gui.core.values import MAX_IMAGE_SIZE, MIN_IMAGE_SIZE

    value = positive_int(text)
    if not MIN_IMAGE_SIZE <= value <= MAX_IMAGE_SIZE:
        raise argparse.ArgumentTypeError(f"{value} px is out of range; use {MIN_IMAGE_SIZE} to {MAX_IMAGE_SIZE}")
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
    value = finite_float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1, like 0.2")
    return value


def add_tta_option(parser: argparse.ArgumentParser) -> None:
    from resnet_gui.core.inference.tta import MODES  # torch-free: --help stays quick

    parser.add_argument("--tta", choices=MODES,
                        help="test-time augmentation: average the probabilities of the picture and its mirror "
                             "image (flip), of 5 crops (five-crop) or of 5 crops and their mirror images "
                             "(ten-crop, as in the ResNet paper); 2, 5 or 10 times the work")


def add_model_options(parser: argparse.ArgumentParser, archs: list[str], default_arch: str) -> None:
    """--arch, --checkpoint, --classes and --image-size: which model to use, as classify and explain take them."""
    parser.add_argument("--arch", choices=archs,
                        help=f"architecture (default: from the checkpoint, else {default_arch})")
    parser.add_argument("--checkpoint", metavar="FILE", help="weights to use (default: ImageNet, downloaded once)")
    parser.add_argument("--classes", metavar="FILE", help="class names (class_indices.json or one per line)")
    parser.add_argument("--image-size", type=image_size, help="input crop size (default: from the checkpoint)")


def add_predict_options(parser: argparse.ArgumentParser) -> None:
    """How the model answers, as classify and watch take it: top-k, device, batches, precision, thresholds."""
    parser.add_argument("--top-k", type=positive_int, default=5, help="how many classes to report (default 5)")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)
    parser.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    parser.add_argument("--workers", type=non_negative_int, default=None,
                        help="decoders: threads on a CPU, processes beside a GPU (default: by device)")
    parser.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    parser.add_argument("--unsure-below", type=confidence, metavar="P",
                        help="report 'unsure' below this confidence, like 80%% (default: the checkpoint's "
                             "suggestion from its validation set; 0 turns it off)")
    parser.add_argument("--no-unfamiliar", action="store_true",
                        help="do not mark pictures unlike the training pictures as 'unfamiliar' (checkpoints "
                             "trained by this version can tell; the best guess is kept either way)")
    parser.add_argument("--runtime", choices=("auto", "torch", "openvino"), default=None,
                        help="what runs the model on a CPU: auto (OpenVINO when it is installed and answers as the "
                             "checkpoint does, else PyTorch), torch or openvino (default: auto, or "
                             "RESNET_GUI_RUNTIME)")


class ProgressBar:
    """A one-line progress bar on stderr, drawn only on a terminal, at most 10 times a second."""

    def __init__(self, total: int, label: str = "", stream=None):
        stream = stream or sys.stderr  # the stderr of now, not of when this module was imported
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


def shown(path) -> str:
    """A path or a name (a class, a checkpoint's label) for a terminal line: undecodable bytes as \\xNN and
    control characters escaped, so a file or class name can never move the cursor or write the clipboard."""
    return terminal_text(os.fspath(path) if isinstance(path, os.PathLike) else str(path))


def json_line(data: Any) -> str:
    """One JSON Lines record: never NaN or Infinity, always valid UTF-8. A file name that is not UTF-8
    is kept exactly, as \\udcNN escapes, so json.loads gives back the name that opens the file."""
    data = _finite(data)
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, default=str)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(data, ensure_ascii=True, allow_nan=False, default=str)
    return text


def _finite(value: Any) -> Any:
    """NaN and infinities become null: an area under a curve of a class with no examples has no value."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def say(message: str) -> None:
    """One of the app's own sentences, on stderr."""
    print(f"resnet-gui: {terminal_text(message, keep_newlines=True)}", file=sys.stderr)


def say_plain(message: str) -> None:
    """A summary line on stderr, without the program's name."""
    print(terminal_text(message, keep_newlines=True), file=sys.stderr)


def predict_options(args: argparse.Namespace, unsure_below: float | None, **changes):
    """What `classify`'s arguments ask of the Predictor, one process or many."""
    from resnet_gui.core.inference.options import PredictOptions, default_runtime

    return PredictOptions(**{"device": args.device, "batch_size": args.batch_size, "num_workers": args.workers,
                             "top_k": args.top_k, "unsure_below": unsure_below, "amp": not args.no_amp,
                             "tta": args.tta, "check_familiarity": not args.no_unfamiliar,
                             "runtime": args.runtime or default_runtime(), **changes})


def model_for(args: argparse.Namespace, options, *, without_torch: bool = True):
    """The model `classify` or `watch` asks for, as (the model, the options with its unsure threshold, a
    predictor or None): with `without_torch`, none imported where OpenVINO has run this checkpoint before
    (core/inference/ready_start.py: the predictor comes made), else the checkpoint loaded by PyTorch's start."""
    from dataclasses import replace

    from resnet_gui.core.inference.predictions import unsure_threshold
    from resnet_gui.core.inference.ready_start import ready_predictor
    from resnet_gui.core.runtime.imports import heavy_imports

    ready = ready_predictor(options, checkpoint=args.checkpoint, arch=args.arch, classes_file=args.classes,
                            image_size=args.image_size, unsure_below=args.unsure_below) if without_torch else None
    if ready is not None:
        return ready.ready, ready.options, ready
    with heavy_imports():
        from resnet_gui.core.models.resnets import load_bundle

    bundle = load_bundle(args.checkpoint, arch=args.arch, classes_file=args.classes, image_size=args.image_size)
    return bundle, replace(options, unsure_below=unsure_threshold(args.unsure_below, bundle.unsure_below)), None


def row_text(prediction, as_json: bool) -> str:
    """One file's line: JSON, or the table's `confidence  label  file`."""
    if as_json:
        return json_line(prediction.to_dict()) + "\n"
    if prediction.ok:
        best = prediction.best
        name = shown(best.label)
        if prediction.unfamiliar:
            label = f"unfamiliar ({name}?)"
        else:
            label = f"unsure ({name}?)" if prediction.unsure else name
        return f"{best.prob:>10.1%}  {label:<24}  {shown(prediction.path)}\n"
    return f"{'failed':>10}  {'-':<24}  {shown(prediction.path)}  ({shown(prediction.error)})\n"
