"""The `resnet-gui` command line: a thin front end over resnet_gui.core.

Exit status: 0 when everything asked for was done, 1 when some files could
not be classified (their rows are still written), 2 for a usage error or an
unusable input (a message on stderr), 3 for an unexpected internal error
(details in the log file named on stderr), 130 when interrupted.

One module per group of commands (`classify`, `watch`, `model`: info / explain /
export, `training`: train / evaluate, `example`, `window`: gui); each registers its
parsers and a handler, and shares only `common`. torch is imported inside
the handlers, so `resnet-gui --help` and the window start without waiting for it.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import sys
import time
import warnings

from resnet_gui import __version__
from resnet_gui.cli import audit, classify, evaluate, example, model, project, training, watch, window
from resnet_gui.cli.common import EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, UsageParser, say
from resnet_gui.core.errors import UserError
from resnet_gui.core.models.architectures import ARCHITECTURES
from resnet_gui.crash_log import write_crash_log


def build_parser() -> argparse.ArgumentParser:
    parser = UsageParser(
        prog="resnet-gui",
        description="Classify images with a ResNet and fine-tune ResNets on your own pictures.",
        epilog="Without a command, the window opens.",
    )
    parser.add_argument("--version", action="version", version=f"resnet-gui {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=UsageParser, metavar="COMMAND")
    archs = list(ARCHITECTURES)
    window.add_parser(sub, archs)
    classify.add_parser(sub, archs)
    watch.add_parser(sub, archs)
    model.add_parsers(sub, archs)
    training.add_parser(sub, archs)
    evaluate.add_parser(sub)
    audit.add_parser(sub)
    project.add_parser(sub, archs)
    example.add_parser(sub)
    parser.commands = frozenset(sub.choices)  # what a first argument must be to not mean "gui"
    return parser


def quiet_and_safe_streams() -> None:
    """stderr carries only the app's own sentences, and no file name can crash a print.

    Library warnings (Pillow's odd-EXIF notes, torch's deprecations) are not the user's business;
    a file name that is not UTF-8 is printed with \\xNN escapes instead of raising.
    """
    warnings.filterwarnings("ignore")
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")


_TERMINATED: list[int] = []  # the SIGTERM that arrived, if one did


def stop_on_sigterm() -> None:
    """`kill` (SIGTERM) ends the command as Ctrl+C does: files being written are removed, not left half."""
    def handler(signum, frame):
        _TERMINATED.append(signum)
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError, AttributeError):  # not the main thread, or no SIGTERM (Windows)
        signal.signal(signal.SIGTERM, handler)


def mistyped_command(word: str, commands) -> str | None:
    """A sentence when `word`, the first argument, is no file or folder and looks like a command mistyped
    (`resnet-gui clasify x.png` opened the window on two missing files); None to start the window."""
    import difflib

    if word.startswith("-") or os.path.lexists(word) or os.sep in word or "." in word:
        return None
    close = difflib.get_close_matches(word, sorted(commands), n=1, cutoff=0.6)
    if not close:
        return None
    return f"no such command or file '{word}'; did you mean {close[0]}? (resnet-gui --help lists the commands)"


def main(argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    argv = sys.argv[1:] if argv is None else list(argv)
    quiet_and_safe_streams()
    stop_on_sigterm()
    parser = build_parser()
    if not argv or (argv[0] not in parser.commands and argv[0] not in ("-h", "--help", "--version")):
        mistyped = mistyped_command(argv[0], parser.commands) if argv else None
        if mistyped is not None:
            say(mistyped)
            return EXIT_USAGE
        argv = ["gui", *argv]
    args = parser.parse_args(argv)
    args.argv = argv  # for commands that start themselves again (train --nproc)
    args.started = started  # a run of set minutes counts its imports too
    try:
        return run_command(args)
    except UserError as exc:
        say(str(exc))
        return EXIT_USAGE
    except KeyboardInterrupt:
        say("interrupted.")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `resnet-gui classify ... | head`: the reader left; that is not an error.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - anything else is the app's fault: logged, and said in a sentence
        if _TERMINATED:
            # The KeyboardInterrupt of a SIGTERM raised inside C++ (torch.save writing a checkpoint, as the
            # launcher stops a multi-process run's survivors) comes out as that code's own error: it was the kill.
            say("interrupted.")
            return EXIT_INTERRUPTED
        where = write_crash_log(exc)
        say(f"an unexpected error stopped the command ({type(exc).__name__}: {exc}). "
            f"Details were written to {where}; please include that file when you report it.")
        return EXIT_INTERNAL


def entry() -> None:
    """The `resnet-gui` program: run `main`, then end the process without interpreter finalisation.

    Everything the app wrote is flushed and closed by then; what finalisation would add is only noise on
    stderr (extension modules torch imports, such as triton's nanobind bindings, print "leaked" reports)
    that a user would take for the app's own errors.
    """
    code = main()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def run_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.runtime.allocator import keep_freed_memory

    keep_freed_memory()  # before torch allocates anything: see core/runtime/allocator.py
    return args.handler(args)
