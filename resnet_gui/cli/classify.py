"""`resnet-gui classify`: images and folders in, a table, JSON Lines or a CSV out."""

from __future__ import annotations

import argparse
import sys

from resnet_gui.cli.common import (
    EXIT_BROKEN_PIPE,
    EXIT_OK,
    EXIT_SOME_FAILED,
    ProgressBar,
    add_model_options,
    add_predict_options,
    add_tta_option,
    json_line,
    model_for,
    positive_int,
    predict_options,
    row_text,
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
    add_predict_options(classify)
    add_tta_option(classify)
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

    if args.csv is not None and not args.csv.strip():  # --csv '' wrote nothing and exited 0
        raise UserError("--csv needs a file name (for example --csv results.csv).")
    if args.resume and not args.csv:
        raise UserError("--resume goes on with a CSV file: name it with --csv OUT.csv.")
    if args.csv:
        check_writable(args.csv, "the CSV file")  # before any work: a bad target costs nothing
    found = discovered(args.paths)
    run = classification_run(args, found)
    if run.already is not None:
        say(f"{run.already} file(s) are in {shown(args.csv)} already; {len(run.to_do)} to go.")
    out = Output(sys.stdout)
    progress = ProgressBar(len(run.to_do))
    if not args.json:
        out.write(f"{'confidence':>10}  {'label':<24}  file\n")
    try:
        for batch in run.batches():
            for prediction in batch:
                out.write(row_text(prediction, args.json))
            out.flush()
            if out.closed and run.csv is None:
                break  # the reader left and nothing else wants the results
            progress.update(run.classified)
    finally:
        progress.close()
    run.finish()
    say_how_it_went(run, args, out)
    if out.closed:
        return EXIT_BROKEN_PIPE
    return EXIT_SOME_FAILED if run.failed else EXIT_OK


def discovered(paths, *, speak: bool = True):
    """The pictures under `paths`; with `speak`, the ones missing or passed over are said first."""
    from resnet_gui.core.images.files import discover
    from resnet_gui.core.inference.classification import NO_PICTURES

    found = discover(paths)
    if speak:
        for missing in found.missing:
            say(f"{shown(missing)} does not exist; skipped.")
        if found.skipped:
            say(f"skipped {len(found.skipped)} file(s):")
            for path, reason in found.skipped:
                say_plain(f"  {shown(path)}: {reason}")
    if not found.files:
        raise UserError(NO_PICTURES)
    return found


def classification_run(args: argparse.Namespace, found, world=None, **changes):
    """The run `classify`'s arguments ask for, in this process (of `world`); a checkpoint PyTorch's start ran with
    OpenVINO is remembered, so that the next start needs no torch (`model_for`)."""
    from resnet_gui.core.inference.classification import ClassificationRun
    from resnet_gui.core.inference.ready_start import remember

    # several processes (torchrun) start through PyTorch: they share the work through torch.distributed
    model, options, predictor = model_for(args, predict_options(args, None, **changes), without_torch=world is None)
    run = ClassificationRun(args.paths, model, options, csv=args.csv, resume=args.resume, world=world, found=found,
                            predictor=predictor)
    if world is None and predictor is None:
        remember(args.checkpoint, model, run.predictor, amp=options.amp)
    return run


def say_how_it_went(run, args: argparse.Namespace, out: Output) -> None:
    """The summary line (or JSON object) after the rows, and what the CSV became."""
    if args.json:
        out.write(json_line({"summary": run.summary()}) + "\n")
        out.flush()
    done, failed = run.classified, run.failed
    by = f"by {run.world.size} processes" if run.world.is_distributed else \
        f"with {run.bundle.arch} on {run.predictor.device}, run by {run.predictor.runtime}"
    if not args.json or run.world.is_distributed:
        say_plain(f"{done - failed} of {done} image(s) classified {by} in {run.seconds:.1f}s"
                  + (f"; {failed} could not be read." if failed else "."))
    if not args.json or run.world.is_distributed:
        say_unfamiliar(run.unfamiliar, done - failed)
    if not args.json and args.csv:
        say_plain(f"Results written to {shown(args.csv)}")


def say_unfamiliar(unfamiliar: int, classified: int) -> None:
    if unfamiliar:
        say_plain(f"{unfamiliar} of {classified} picture(s) look unlike anything the model was trained on: marked "
                  "'unfamiliar' (the best guess is kept; do not trust it).")


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
    """Under torchrun: each process classifies a fixed, contiguous share of the sorted file list still to do
    and appends its rows to a part file beside OUT.csv; the main process merges them (see
    core/inference/classification.py) and prints every row in the order one process gives."""
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.runtime.distributed import device_for, end_process_group, start_process_group

    if args.resume and not args.csv:
        raise UserError("--resume goes on with a CSV file: name it with --csv OUT.csv.")
    if args.csv and world.is_main:
        check_writable(args.csv, "the CSV file")
    start_process_group(world)
    try:
        found = discovered(args.paths, speak=world.is_main)
        run = classification_run(args, found, world, device=device_for(world, args.device))
        if run.already is not None:
            say(f"{run.already} file(s) are in {shown(args.csv)} already; {run.left} to go.")
        for _ in run.batches():
            pass
        rows = run.finish()  # also waits until every part is whole
        if not world.is_main:
            return EXIT_OK
        out = Output(sys.stdout)
        if not args.json:
            out.write(f"{'confidence':>10}  {'label':<24}  file\n")
        for prediction in rows:
            out.write(row_text(prediction, args.json))
        say_how_it_went(run, args, out)
        out.flush()
        return EXIT_SOME_FAILED if run.failed else EXIT_OK
    finally:
        end_process_group()
