"""`evaluate`: how good a checkpoint is on a folder of labelled class subfolders, as a table, JSON or an
HTML report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_OK,
    EXIT_SOME_FAILED,
    NO_AMP_HELP,
    add_tta_option,
    image_size,
    json_line,
    positive_int,
    shown,
)
from resnet_gui.core.text import figure


def add_parser(sub) -> None:
    evaluate = sub.add_parser("evaluate", help="measure a checkpoint on a folder of class subfolders")
    evaluate.add_argument("data_dir", metavar="DATA_DIR", help="one subfolder of labelled images per class")
    evaluate.add_argument("--checkpoint", required=True, metavar="FILE", help="the model to measure")
    evaluate.add_argument("--image-size", type=image_size, help="input crop size (default: from the checkpoint)")
    evaluate.add_argument("--device", default="auto", help=DEVICE_HELP)
    evaluate.add_argument("--batch-size", type=positive_int, default=64, help="images per batch (default 64)")
    evaluate.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)
    evaluate.add_argument("--json", action="store_true", help="the figures as one JSON object on the last line")
    evaluate.add_argument("--report", metavar="DIR", help="also write a self-contained HTML report into DIR")
    add_tta_option(evaluate)
    evaluate.set_defaults(handler=evaluate_command)


def evaluate_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.evaluation.evaluate import evaluate_model
    from resnet_gui.core.models.resnets import load_checkpoint_bundle

    if args.report:
        from resnet_gui.core.atomic_write import check_writable

        check_writable(Path(args.report) / "index.html", "the report")
    bundle = load_checkpoint_bundle(args.checkpoint, image_size=args.image_size)
    report = evaluate_model(bundle, args.data_dir, device=args.device, batch_size=args.batch_size,
                            thumbnails=128 if args.report else 0, amp=not args.no_amp, tta=args.tta)
    if args.report:
        from resnet_gui.core.evaluation.report import write_report

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
    from resnet_gui.core.summaries import describe_tta, describe_unfamiliar

    for line in (describe_tta(report["tta"]), describe_unfamiliar(report["unfamiliar"], report["samples"])):
        if line:
            print(line)
    names = {c: shown(c) for c in report["classes"]}  # a class name never acts on the terminal
    width = max(12, *(len(n) for n in names.values()))
    for note in report["notes"]:
        print(f"note: {shown(note)}", file=sys.stderr)
    print(f"{'class':<{width}}  precision  recall     f1  support")
    for name, f in report["per_class"].items():
        print(f"{names.get(name, shown(name)):<{width}}  {figure(f['precision']):>9}  {figure(f['recall']):>6}  "
              f"{figure(f['f1']):>5}  "
              f"{f['support']:7d}")
    print("\nconfusion matrix (rows: true class, columns: predicted)")
    classes = [names[c] for c in report["classes"]]
    if max(len(c) for c in classes) <= 8:  # short names head their own columns
        headers, rows = classes, classes
    else:  # long names would be cut into look-alikes: number the columns, and the rows with them
        headers = [f"#{i + 1}" for i in range(len(classes))]
        rows = [f"#{i + 1} {c}" for i, c in enumerate(classes)]
    cell = max(6, *(len(h) for h in headers), *(len(str(v)) for r in report["confusion_matrix"] for v in r))
    width = max(width, *(len(r) for r in rows))
    print(" " * width + "  " + " ".join(f"{h:>{cell}}" for h in headers))
    for name, row in zip(rows, report["confusion_matrix"], strict=False):
        print(f"{name:<{width}}  " + " ".join(f"{v:>{cell}d}" for v in row))
    return status
