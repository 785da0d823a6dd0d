"""`resnet-gui audit` and `resnet-gui project audit`: check the pictures before training."""

from __future__ import annotations

import argparse
import contextlib
import sys

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_OK,
    EXIT_SOME_FAILED,
    ProgressBar,
    json_line,
    say,
    say_plain,
    shown,
)
from resnet_gui.core.errors import UserError

STAGES = {"reading": "reading the pictures", "features": "the model's view of them",
          "labels": "cross-checking the labels"}


def add_parser(sub) -> None:
    audit = sub.add_parser(
        "audit", help="check a class folder before training: copies across the split, duplicates, likely "
                      "mislabelled pictures, balance and oddities",
        description="Check the pictures of a class folder (one subfolder per class) before training. Exit 0 when "
                    "nothing was found, 1 when something was, 2 for a usage error.")
    audit.add_argument("data_dir", metavar="DATA_DIR",
                       help="the training pictures (or a folder with train/ and val/ or test/ in it)")
    audit.add_argument("--val-dir", metavar="DIR", help="the validation pictures, in the same class subfolders")
    audit.add_argument("--test-dir", metavar="DIR", help="the test pictures, in the same class subfolders")
    add_check_options(audit)
    audit.set_defaults(handler=audit_command)


def add_check_options(parser: argparse.ArgumentParser, *, checkpoint_help: str | None = None) -> None:
    parser.add_argument("--checkpoint", metavar="FILE",
                        help=checkpoint_help or "a model (.pt) whose view of the pictures confirms near copies and "
                                                "finds mislabelled ones better (without one, the pictures at 8 x 8 "
                                                "pixels are used)")
    parser.add_argument("--report", metavar="DIR", help="also write DIR/audit.html, with thumbnails of each finding")
    parser.add_argument("--json", action="store_true", help="JSON Lines: one finding a line, then the summary")
    parser.add_argument("--quick", action="store_true",
                        help="only the checks that need no model (copies, balance, oddities): seconds, not minutes")
    parser.add_argument("--device", default="auto", help=DEVICE_HELP)


def audit_command(args) -> int:
    from resnet_gui.core.audit.check import CheckOptions, check_pictures
    from resnet_gui.core.audit.pictures import class_folder_pictures, splits_of
    from resnet_gui.core.errors import DatasetError

    try:
        pictures, passed = class_folder_pictures(splits_of(args.data_dir, args.val_dir, args.test_dir))
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    for path, why in passed.skipped:
        say(f"skipped {shown(path)}: {why}")
    if not pictures:
        raise UserError("No pictures were found in the class subfolders given.")
    check_report_target(args)
    bundle = None
    if args.checkpoint and not args.quick:
        from resnet_gui.core.models.resnets import load_checkpoint_bundle

        bundle = load_checkpoint_bundle(args.checkpoint)
    say(f"checking {len(pictures)} picture(s)" + (" (copies, balance and oddities only)" if args.quick else "")
        + "…")
    with progress_bars() as progress:
        report = check_pictures(pictures, bundle, CheckOptions(cheap_only=args.quick, device=args.device),
                                progress=progress)
    return say_report(args, report, f"Check of {args.data_dir}")


def project_audit_command(args) -> int:
    from resnet_gui.core.audit.check import CheckOptions
    from resnet_gui.core.projects.audit import check_project

    check_report_target(args)
    say("checking the labelled pictures" + (" (copies, balance and oddities only)" if args.quick else "") + "…")
    with progress_bars() as progress:
        report, _, run_id = check_project(args.project, checkpoint=args.checkpoint, progress=progress,
                                          options=CheckOptions(cheap_only=args.quick, device=args.device),
                                          write_page=False)
    if run_id is not None:
        say(f"the model of run {run_id} looked at the pictures (--checkpoint FILE for another).")
    return say_report(args, report, f"Check of the project {args.project}")


def check_report_target(args) -> None:
    if args.report:  # before any work: a bad target costs nothing
        from resnet_gui.core.atomic_write import check_writable
        from resnet_gui.core.audit.report_page import PAGE_NAME

        check_writable(f"{args.report}/{PAGE_NAME}", "the report")


@contextlib.contextmanager
def progress_bars():
    """A progress bar per stage of the check, and the time reading will take when it is more than 20 s."""
    bars: dict[str, ProgressBar] = {}
    said_estimate: list[bool] = []

    def progress(stage: str, done: int, total: int, left: float | None) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = ProgressBar(total, label=f"{STAGES[stage]} ")
        bars[stage].update(done)
        if stage == "reading" and left is not None and not said_estimate and left > 20:
            said_estimate.append(True)
            say(f"reading the pictures will take about {max(1, round(left / 60))} minute(s) more.")

    try:
        yield progress
    finally:
        for bar in bars.values():
            bar.close()


def say_report(args, report, title: str) -> int:
    if args.json:
        for finding in report.findings:
            sys.stdout.write(json_line(finding.to_dict()) + "\n")
        sys.stdout.write(json_line(report.summary()) + "\n")
    else:
        print_findings(report)
    if args.report:
        from resnet_gui.core.audit.report_page import write_report_page

        page = write_report_page(report, args.report, title)
        say_plain(f"Report written to {shown(page)}")
    for line in report.advice():
        say_plain(line)
    return EXIT_SOME_FAILED if report.findings else EXIT_OK


def print_findings(report) -> None:
    from resnet_gui.core.audit.findings import KINDS, TITLES

    for kind in KINDS:
        findings = report.of_kind(kind)
        if not findings:
            continue
        print(f"{TITLES[kind]} ({len(findings)}):")
        for finding in findings:
            print(f"  {shown(finding.text)}")
            for picture in finding.pictures:
                print(f"    {picture.split}/{shown(picture.label)}: {shown(picture.path)}")
