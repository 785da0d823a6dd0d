"""`resnet-gui classify`: images and folders in, a table, JSON Lines or a CSV out."""

from __future__ import annotations

import argparse
import json
import sys
import time

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_OK,
    EXIT_SOME_FAILED,
    NO_AMP_HELP,
    ProgressBar,
    add_model_options,
    confidence,
    positive_int,
    say,
)
from resnet_gui.core.architectures import DEFAULT_ARCH
from resnet_gui.core.errors import UserError


def add_parser(sub, archs: list[str]) -> None:
    classify = sub.add_parser("classify", help="classify images and folders")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    add_model_options(classify, archs, DEFAULT_ARCH)
    classify.add_argument("--top-k", type=positive_int, default=5, help="how many classes to report (default 5)")
    classify.add_argument("--device", default="auto", help=DEVICE_HELP)
    classify.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    classify.add_argument("--workers", type=int, default=None,
                          help="decoders: threads on a CPU, processes beside a GPU (default: by device)")
    classify.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    classify.add_argument("--unsure-below", type=confidence, metavar="P",
                          help="report 'unsure' below this confidence, like 80%% (default: the checkpoint's "
                               "suggestion from its validation set; 0 turns it off)")
    classify.add_argument("--csv", metavar="OUT.csv", help="also write the results to this CSV file")
    classify.add_argument("--json", action="store_true", help="print JSON Lines, one object per file")
    classify.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resnet_gui.core.images import discover

    found = discover(args.paths)
    for missing in found.missing:
        say(f"{missing} does not exist; skipped.")
    if found.skipped:
        say(f"skipped {len(found.skipped)} file(s) that are not images.")
    if not found.files:
        raise UserError(
            "No images were found in the paths given. Supported: .jpg .jpeg .png .bmp .gif .tif .tiff .webp."
        )

    from resnet_gui.core.inference import Predictor
    from resnet_gui.core.models import load_bundle
    from resnet_gui.core.results_csv import CsvResultWriter

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
