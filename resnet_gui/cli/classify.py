"""`resnet-gui classify`: images and folders in, a table, JSON Lines or a CSV out."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_BROKEN_PIPE,
    EXIT_OK,
    EXIT_SOME_FAILED,
    NO_AMP_HELP,
    ProgressBar,
    add_model_options,
    add_tta_option,
    confidence,
    json_line,
    non_negative_int,
    positive_int,
    say,
    say_plain,
    shown,
)
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.architectures import DEFAULT_ARCH


def add_parser(sub, archs: list[str]) -> None:
    classify = sub.add_parser("classify", help="classify images and folders")
    classify.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders (searched recursively)")
    add_model_options(classify, archs, DEFAULT_ARCH)
    classify.add_argument("--top-k", type=positive_int, default=5, help="how many classes to report (default 5)")
    classify.add_argument("--device", default="auto", help=DEVICE_HELP)
    classify.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    classify.add_argument("--workers", type=non_negative_int, default=None,
                          help="decoders: threads on a CPU, processes beside a GPU (default: by device)")
    classify.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    classify.add_argument("--unsure-below", type=confidence, metavar="P",
                          help="report 'unsure' below this confidence, like 80%% (default: the checkpoint's "
                               "suggestion from its validation set; 0 turns it off)")
    add_tta_option(classify)
    classify.add_argument("--no-unfamiliar", action="store_true",
                          help="do not mark pictures unlike the training pictures as 'unfamiliar' (checkpoints "
                               "trained by this version can tell; the best guess is kept either way)")
    classify.add_argument("--csv", metavar="OUT.csv", help="also write the results to this CSV file")
    classify.add_argument("--resume", action="store_true",
                          help="with --csv: skip the files already in OUT.csv (and in the parts a stopped "
                               "torchrun run left beside it) and add the rest: a stopped run over many pictures "
                               "goes on where it stopped, with any number of processes")
    classify.add_argument("--nproc", type=positive_int, metavar="N",
                          help="classify with N processes on this machine (one per GPU), as torchrun would start "
                               "them; each takes a share of the files and OUT.csv holds them in one order")
    classify.add_argument("--json", action="store_true", help="print JSON Lines, one object per file")
    classify.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resnet_gui.core.runtime.distributed import world_from_environment

    world = world_from_environment()
    if world.is_distributed:
        return run_sharded(args, world)
    if args.nproc and args.nproc > 1:
        from resnet_gui.cli.processes import launch_processes

        if args.csv is not None and not args.csv.strip():
            raise UserError("--csv needs a file name (for example --csv results.csv).")
        return launch_processes(args.argv, args.nproc)
    return run_one_process(args)


def run_one_process(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.images.files import discover

    if args.csv is not None and not args.csv.strip():  # --csv '' wrote nothing and exited 0
        raise UserError("--csv needs a file name (for example --csv results.csv).")
    if args.resume and not args.csv:
        raise UserError("--resume goes on with a CSV file: name it with --csv OUT.csv.")
    if args.csv:
        check_writable(args.csv, "the CSV file")  # before any work: a bad target costs nothing
    found = discover(args.paths)
    for missing in found.missing:
        say(f"{shown(missing)} does not exist; skipped.")
    if found.skipped:
        say(f"skipped {len(found.skipped)} file(s):")
        for path, reason in found.skipped:
            say_plain(f"  {shown(path)}: {reason}")
    if not found.files:
        raise UserError(
            "No images were found in the paths given. Supported: .jpg .jpeg .png .bmp .gif .tif .tiff .webp "
            ".avif (and .heic with pillow-heif)."
        )

    from resnet_gui.core.inference.predictor import Predictor
    from resnet_gui.core.inference.results_csv import CsvResultWriter
    from resnet_gui.core.models.resnets import load_bundle

    bundle = load_bundle(args.checkpoint, arch=args.arch, classes_file=args.classes, image_size=args.image_size)
    unsure_below = bundle.unsure_below if args.unsure_below is None else (args.unsure_below or None)
    predictor = Predictor(bundle, predict_options(args, unsure_below))
    from resnet_gui.core.inference.results_csv import CsvResultAppender, merge_parts, part_paths, remove_parts

    # The same columns as a fresh CSV: top-k as the predictor has it (no more than the model's classes).
    if args.resume and part_paths(args.csv):  # a stopped multi-process run's parts: into OUT.csv first
        merge_parts(args.csv, predictor.top_k, [str(f) for f in found.files], keep_existing=True)
    appender = CsvResultAppender(args.csv, predictor.top_k) if args.resume else None
    files = found.files
    if appender is not None:
        files = [f for f in files if not appender.is_done(f)]
        say(f"{len(found.files) - len(files)} file(s) are in {shown(args.csv)} already; {len(files)} to go.")
    out = Output(sys.stdout)
    progress = ProgressBar(len(files))
    failed = done = unfamiliar = 0
    started = time.perf_counter()
    if not args.json:
        out.write(f"{'confidence':>10}  {'label':<24}  file\n")
    csv_writer = CsvResultWriter(args.csv, predictor.top_k) if args.csv and appender is None else None
    try:
        for batch in predictor.predict(files):
            if appender is not None:
                appender.write_batch(batch)
            for prediction in batch:
                done += 1
                failed += not prediction.ok
                unfamiliar += prediction.unfamiliar
                if csv_writer:
                    csv_writer.write(prediction)
                out.write(row_text(prediction, args.json))
            out.flush()
            if out.closed and csv_writer is None:
                break  # the reader left and nothing else wants the results
            progress.update(done)
    except BaseException:
        if csv_writer:
            csv_writer.abort()
        raise
    finally:
        progress.close()
        if appender is not None:
            appender.close()
    if csv_writer:
        csv_writer.commit()
        remove_parts(args.csv)  # a stopped multi-process run's parts are older than this CSV
    seconds = time.perf_counter() - started
    summary = run_summary(unsure_below, done, failed, len(found.skipped), seconds, predictor, bundle, unfamiliar)
    if args.json:
        out.write(json_line({"summary": summary}) + "\n")
        out.flush()
    else:
        say_plain(f"{done - failed} of {done} image(s) classified with {bundle.arch} on {predictor.device} "
                  f"in {seconds:.1f}s" + (f"; {failed} could not be read." if failed else "."))
        say_unfamiliar(unfamiliar, done - failed)
        if args.csv:
            say_plain(f"Results written to {shown(args.csv)}")
    if out.closed:
        return EXIT_BROKEN_PIPE
    return EXIT_SOME_FAILED if failed else EXIT_OK


def predict_options(args: argparse.Namespace, unsure_below: float | None, **changes):
    """What `classify`'s arguments ask of the Predictor, one process or many."""
    from resnet_gui.core.inference.options import PredictOptions

    return PredictOptions(**{"device": args.device, "batch_size": args.batch_size, "num_workers": args.workers,
                             "top_k": args.top_k, "unsure_below": unsure_below, "amp": not args.no_amp,
                             "tta": args.tta, "check_familiarity": not args.no_unfamiliar, **changes})


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


def say_unfamiliar(unfamiliar: int, classified: int) -> None:
    if unfamiliar:
        say_plain(f"{unfamiliar} of {classified} picture(s) look unlike anything the model was trained on: marked "
                  "'unfamiliar' (the best guess is kept; do not trust it).")


def run_summary(unsure_below, files: int, failed: int, skipped: int, seconds: float, predictor, bundle,
                unfamiliar: int) -> dict:
    return {
        "unsure_below": unsure_below,
        "unfamiliar": unfamiliar if predictor.familiarity is not None else None,
        "tta": predictor.tta,
        "files": files,
        "classified": files - failed,
        "failed": failed,
        "skipped": skipped,
        "seconds": round(seconds, 3),
        "images_per_second": round(files / seconds, 2) if seconds > 0 else None,
        "device": str(predictor.device),
        "arch": bundle.arch,
    }


class Output:
    """stdout that notices when its reader has gone (`... | head`): later writes are dropped, so the
    run can still finish what it writes elsewhere (the CSV), and the exit status says the pipe closed."""

    def __init__(self, stream):
        self.stream = stream
        self.closed = False

    def write(self, text: str) -> None:
        if self.closed:
            return
        try:
            self.stream.write(text)
        except BrokenPipeError:
            self._close()

    def flush(self) -> None:
        if self.closed:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._close()

    def _close(self) -> None:
        import os

        self.closed = True
        # Python flushes stdout again at exit; point it at /dev/null so that flush cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self.stream.fileno())
        os.close(devnull)


def run_sharded(args: argparse.Namespace, world) -> int:
    """Under torchrun: each process classifies a fixed, contiguous share of the sorted file list still to
    do. With --csv, each appends its rows to its own part file beside OUT.csv as it goes (a batch at a time,
    whole rows only), and the main process merges the parts into OUT.csv at the end: every file once, in
    the order one process gives. A run stopped on the way leaves its parts; --resume merges them with
    OUT.csv and goes on with the files in neither, with any number of processes."""
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.images.files import discover
    from resnet_gui.core.inference.predictor import Predictor
    from resnet_gui.core.inference.results_csv import (
        CsvResultAppender,
        merge_parts,
        part_path,
        remove_parts,
        same_file_key,
    )
    from resnet_gui.core.models.resnets import load_bundle
    from resnet_gui.core.runtime.distributed import (
        device_for,
        end_process_group,
        gather_to_main,
        share_from_main,
        start_process_group,
    )

    if args.resume and not args.csv:
        raise UserError("--resume goes on with a CSV file: name it with --csv OUT.csv.")
    if args.csv and world.is_main:
        check_writable(args.csv, "the CSV file")
    start_process_group(world)
    try:
        found = discover(args.paths)
        if world.is_main:
            for path, reason in found.skipped:
                say(f"skipped {shown(path)}: {reason}.")
        if not found.files:
            raise UserError("No images were found in the paths given.")
        bundle = load_bundle(args.checkpoint, arch=args.arch, classes_file=args.classes,
                             image_size=args.image_size)
        unsure_below = bundle.unsure_below if args.unsure_below is None else (args.unsure_below or None)
        predictor = Predictor(bundle, predict_options(args, unsure_below, device=device_for(world, args.device)))
        order = [str(f) for f in found.files]
        done: set[str] = set()
        if args.csv and world.is_main:  # before any process writes a part
            if args.resume:
                done = merge_parts(args.csv, predictor.top_k, order, keep_existing=True)
                say(f"{len(done & set(order))} file(s) are in {shown(args.csv)} already; "
                    f"{len(set(order) - done)} to go.")
            else:
                remove_parts(args.csv)  # a stopped run's parts: this run starts afresh
        done = share_from_main(world, done)
        started = time.perf_counter()
        done_files = {same_file_key(name) for name in done}  # the file, however it was spelled
        mine = world.shard([f for f in found.files if str(f) not in done and same_file_key(f) not in done_files])
        part = CsvResultAppender(part_path(args.csv, world.rank, world.size), predictor.top_k) if args.csv else None
        rows_of_mine = []
        try:
            for batch in predictor.predict(mine):
                if part is not None:
                    part.write_batch(batch)
                rows_of_mine.extend(replace(p, thumbnail=None) for p in batch)
        finally:
            if part is not None:
                part.close()
        shares = gather_to_main(world, rows_of_mine)  # also waits until every part is whole
        if not world.is_main:
            return EXIT_OK
        rows = [p for share in shares for p in share]
        if args.csv:
            merge_parts(args.csv, predictor.top_k, order, keep_existing=bool(args.resume))
        failed = sum(not p.ok for p in rows)
        seconds = time.perf_counter() - started
        out = Output(sys.stdout)
        if not args.json:
            out.write(f"{'confidence':>10}  {'label':<24}  file\n")
        for prediction in rows:
            out.write(row_text(prediction, args.json))
        unfamiliar = sum(p.unfamiliar for p in rows)
        summary = {**run_summary(unsure_below, len(rows), failed, len(found.skipped), seconds, predictor, bundle,
                                 unfamiliar),
                   "processes": world.size}
        if args.json:
            out.write(json_line({"summary": summary}) + "\n")
        out.flush()
        say_plain(f"{len(rows) - failed} of {len(rows)} image(s) classified by {world.size} processes in "
                  f"{seconds:.1f}s" + (f"; {failed} could not be read." if failed else "."))
        say_unfamiliar(unfamiliar, len(rows) - failed)
        return EXIT_SOME_FAILED if failed else EXIT_OK
    finally:
        end_process_group()
