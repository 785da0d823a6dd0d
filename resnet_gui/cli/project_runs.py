"""`resnet-gui project runs | compare | pin`: a project's runs side by side, and the run it uses as its model."""

from __future__ import annotations

import argparse

from resnet_gui.cli.common import EXIT_OK, json_line, positive_int, say, shown
from resnet_gui.core.errors import UserError


def add_run_actions(action) -> None:
    """The three actions, added with the project parser's `action(name, summary, handler)`."""
    runs = action("runs", "every run: when, how it went, what it trained on, and the settings that changed "
                          "since the run before", runs_command)
    runs.add_argument("--json", action="store_true", help="JSON Lines: one run a line, oldest first")

    compare = action("compare", "two runs side by side on the validation pictures both were validated on: "
                                "per-class precision and recall, confusion matrices, and where they disagree",
                     compare_command)
    compare.add_argument("run_a", type=positive_int, metavar="RUN_A")
    compare.add_argument("run_b", type=positive_int, metavar="RUN_B")
    compare.add_argument("--show", type=positive_int, default=20, metavar="N",
                         help="list the first N pictures they disagree on (default 20; labelled ones first)")
    compare.add_argument("--json", action="store_true", help="one JSON object, every disagreement listed")

    pin = action("pin", "use one run as the project's model (predict, sort, audit, the window) instead of the "
                        "newest", pin_command)
    group = pin.add_mutually_exclusive_group(required=True)
    group.add_argument("run", type=positive_int, nargs="?", metavar="RUN", help="the run to pin")
    group.add_argument("--latest", action="store_true", help="unpin: use the newest run with a model again")


def _open(args):
    from resnet_gui.core.projects.project import Project

    return Project.open(args.project)


def _percent(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "-"


def _change(key: str, before, after) -> str:
    return f"{key} {before if before is not None else '-'} -> {after if after is not None else '-'}"


def runs_command(args) -> int:
    from resnet_gui.core.projects.compare import run_summaries

    with _open(args) as project:
        summaries = run_summaries(project)
    if args.json:
        for summary in summaries:
            print(json_line(summary.to_dict()))
        return EXIT_OK
    if not summaries:
        say(f"{shown(args.project)} has no runs yet: resnet-gui project train {shown(args.project)}")
        return EXIT_OK
    print(f"{'run':>4}  {'started':<19}  {'status':<14} {'trained':>7} {'val':>5} {'val acc':>8}  changed since the "
          "run before")
    for s in summaries:
        changes = "; ".join(_change(k, *v) for k, v in s.changed.items()) or "-"
        started = s.run.started_at.replace("T", " ")[:19]
        print(f"{s.run.id:>4}{'*' if s.pinned else ' '} {started:<19}  {s.run.status:<14} {s.trained:>7} "
              f"{s.validated:>5} {_percent(s.run.accuracy):>8}  {shown(changes)}")
    if any(s.pinned for s in summaries):
        print("* pinned: the project's model (resnet-gui project pin PROJECT --latest uses the newest again)")
    return EXIT_OK


def _matrix(title: str, classes: list[str], rows: list[list[int]]) -> None:
    width = max([5, *(len(shown(c)) for c in classes)])
    print(title)
    print(" " * (width + 2) + " ".join(f"{shown(c)[:width]:>{width}}" for c in classes))
    for name, row in zip(classes, rows, strict=True):
        print(f"{shown(name):<{width}}  " + " ".join(f"{n:>{width}}" for n in row))


def compare_command(args) -> int:
    from resnet_gui.core.projects.compare import compare_two_runs

    with _open(args) as project:
        c = compare_two_runs(project, args.run_a, args.run_b)
    if args.json:
        print(json_line(c.to_dict()))
        return EXIT_OK
    a, b = c.runs
    if not c.pictures:
        say(f"runs {a} and {b} share no labelled validation pictures with predictions, so their figures cannot be "
            "compared; the pictures they disagree on are listed below.")
    else:
        print(f"run {a} against run {b} on the {c.pictures} validation pictures both were validated on "
              "(today's labels)")
        diff = (c.accuracy[1] - c.accuracy[0]) * 100
        print(f"accuracy  run {a} {_percent(c.accuracy[0])}  run {b} {_percent(c.accuracy[1])}  ({diff:+.1f} points)")
        width = max([5, *(len(shown(f.name)) for f in c.per_class)])
        print(f"{'class':<{width}}  {'pictures':>8}  {f'prec. {a}':>9} {f'prec. {b}':>9} {'diff':>6}  "
              f"{f'recall {a}':>9} {f'recall {b}':>9} {'diff':>6}")
        for f in c.per_class:
            cells = []
            for pair in (f.precision, f.recall):
                change = f"{(pair[1] - pair[0]) * 100:+.0f}" if None not in pair else "-"
                cells.append(f"{_percent(pair[0]):>9} {_percent(pair[1]):>9} {change:>6}")
            print(f"{shown(f.name):<{width}}  {f.pictures:>8}  {cells[0]}  {cells[1]}")
        _matrix(f"run {a}: rows the label, columns the guess", c.classes, c.confusion[0])
        _matrix(f"run {b}: rows the label, columns the guess", c.classes, c.confusion[1])
    print(f"they disagree on {c.disagreeing} of the {c.predicted_by_both} pictures both predicted"
          + (f"; the first {min(args.show, len(c.disagreements))} (labelled ones first):" if c.disagreements else "."))
    for d in c.disagreements[:args.show]:
        print(f"  {shown(d.label or 'unlabelled'):<14} run {a}: {shown(d.said[0] or '-'):<14} run {b}: "
              f"{shown(d.said[1] or '-'):<14} {shown(d.path)}")
    return EXIT_OK


def pin_command(args: argparse.Namespace) -> int:
    with _open(args) as project:
        if args.latest:
            project.pin_run(None)
            run = project.model_run()
            say("nothing is pinned: the project uses its newest run with a model"
                + (f" (run {run.id})." if run is not None else " (it has none yet)."))
            return EXIT_OK
        if args.run is None:
            raise UserError("Name the run to pin (resnet-gui project runs lists them), or --latest.")
        project.pin_run(args.run)
    say(f"run {args.run} is the project's model now: predict, sort, audit and the window use it until another run "
        f"is pinned (or --latest).")
    return EXIT_OK
