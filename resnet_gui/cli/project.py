"""`resnet-gui project ...`: the command-line front end of core.project (label, train, predict, review, sort)."""

from __future__ import annotations

import argparse
import os
import shlex
import sys

from resnet_gui.cli.common import (
    DEVICE_HELP,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SOME_FAILED,
    NO_AMP_HELP,
    ProgressBar,
    UsageParser,
    confidence,
    json_line,
    positive_int,
    say,
    shown,
)
from resnet_gui.cli.train_options import add_training_options, settings_from_args, train_report
from resnet_gui.core.errors import UserError
from resnet_gui.core.projects.records import DEFAULT_REVIEW_ORDER, REVIEW_ORDERS, ProjectView


def add_parser(sub, archs: list[str]) -> None:
    project = sub.add_parser("project", help="label, train, review and sort a project's pictures",
                             description="A project keeps classes, pictures, labels with their history, and every "
                                         "training run in one folder (project.sqlite and models/).")
    commands = project.add_subparsers(dest="project_command", parser_class=UsageParser, metavar="ACTION",
                                      required=True, help="what to do with the project")

    def action(name: str, summary: str, handler) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        parser.add_argument("project", metavar="PROJECT", help="the project's folder")
        parser.set_defaults(handler=handler)
        return parser

    new = action("new", "make a new project in a folder", new_command)
    new.add_argument("--from", dest="source", metavar="CLASS_FOLDER_TREE",
                     help="import pictures and labels from a folder with one subfolder per class")

    add = action("add", "add pictures and folders (searched in full), labelled or not", add_command)
    add.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    add.add_argument("--label", metavar="CLASS", help="label them all with this class (made if new)")
    add.add_argument("--specimen", metavar="NAME",
                     help="the specimen they all come from (default: their subfolder below a folder given)")

    label = action("label", "label pictures: PATH CLASS, or a CSV of path,label", label_command)
    label.add_argument("pairs", nargs="*", metavar="PATH CLASS", help="a picture and its class")
    label.add_argument("--csv", metavar="FILE", help="a CSV of path,label[,specimen] rows (paths relative to it)")

    exclude = action("exclude", "keep pictures out of training, review and sorting", exclude_command)
    exclude.add_argument("paths", nargs="+", metavar="PATH", help="pictures in the project")

    classes = action("class", "add, rename, merge, delete or recolour a class", class_command)
    classes.add_argument("change", choices=("add", "rename", "merge", "delete", "colour"), help="what to do")
    classes.add_argument("names", nargs="+", metavar="NAME",
                         help="add NAME | rename OLD NEW | merge SOURCE INTO | delete NAME | colour NAME #RRGGBB")

    train = action("train", "train a new run on the labelled pictures (a new model file each time)", train_command)
    add_training_options(train, archs)
    train.add_argument("--keep-specimens", action="store_true",
                       help="keep each specimen (subfolder, slide, patient) wholly on one side of the split")
    train.add_argument("--resume", action="store_true", dest="resume_run",
                       help="go on with the newest run that stopped early (killed, or stopped with Ctrl+C) from its "
                            "last finished epoch, with its own settings and split")
    train.add_argument("--from-run", type=positive_int, metavar="N",
                       help="start from run N's model (its architecture and input size) instead of from scratch, "
                            "with the labels of today and the stored split: fewer epochs reach the same accuracy")

    predict = action("predict", "let a run label the unlabelled pictures", predict_command)
    predict.add_argument("--run", type=positive_int,
                         help="the run to use (default: the pinned run, or the newest with a model)")
    predict.add_argument("--device", default="auto", help=DEVICE_HELP)
    predict.add_argument("--batch-size", type=positive_int, default=32, help="images per batch (default 32)")
    predict.add_argument("--no-amp", action="store_true", help=NO_AMP_HELP)

    review = action("review", "unlabelled pictures with their predictions, most doubtful first", review_command)
    review.add_argument("--limit", type=positive_int, metavar="N", help="at most N pictures")
    review.add_argument("--order", choices=tuple(REVIEW_ORDERS), default=DEFAULT_REVIEW_ORDER,
                        help="lowest confidence first, smallest margin between the first two classes, highest "
                             "entropy first, most unlike the labelled pictures and each other (diverse), the "
                             "most doubtful spread out (mixed), each predicted class in turn (quota), or random "
                             f"(default {DEFAULT_REVIEW_ORDER}, measured: benchmarks/review_orders.py)")
    review.add_argument("--run", type=positive_int, help="the run whose predictions to review (default: newest)")
    review.add_argument("--predicted", metavar="CLASS", help="only the pictures the run predicted as CLASS")
    review.add_argument("--json", action="store_true", help="JSON Lines: path, label, prob, margin, top_k, why")

    sort = action("sort", "copy (or move) pictures into OUT/<class>/, unsure ones into OUT/_unsure/", sort_command)
    sort.add_argument("out", metavar="OUT", help="the folder to sort into (never overwritten: clashes get a suffix)")
    sort.add_argument("--move", action="store_true", help="move instead of copy (the project follows the files)")
    sort.add_argument("--dry-run", action="store_true", help="only count what would go where")
    sort.add_argument("--unsure-below", type=confidence, metavar="CONFIDENCE",
                      help="predictions below this go to _unsure (default: the run's own threshold)")
    sort.add_argument("--run", type=positive_int, help="the run whose predictions to use (default: newest)")

    status = action("status", "classes, counts, runs and missing files", status_command)
    status.add_argument("--json", action="store_true", help="one JSON object")

    history = action("history", "every decision on one picture: who or which run labelled it, when, and what it "
                                "was before", history_command)
    history.add_argument("path", metavar="PATH", help="the picture, as the project has it (a file path)")
    history.add_argument("--json", action="store_true", help="JSON Lines: one decision a line, oldest first")

    from resnet_gui.cli.audit import add_check_options, project_audit_command

    audit = action("audit", "check the labelled pictures: copies across the stored split, duplicates, likely "
                            "mislabelled pictures, balance and oddities", project_audit_command)
    add_check_options(audit, checkpoint_help="a model (.pt) to look at the pictures with (default: the newest run's)")

    mapping = action("map", "a map of the pictures placed by what the model sees in them (UMAP, or PCA)",
                     map_command)
    mapping.add_argument("--out", metavar="MAP.png", help="the picture of the map (PNG)")
    mapping.add_argument("--csv", metavar="FILE", help="the coordinates: path,label,x,y")
    mapping.add_argument("--method", choices=("auto", "umap", "pca"), default="auto",
                         help="UMAP when umap-learn is installed (the [map] extra), else PCA (default: auto)")
    mapping.add_argument("--checkpoint", metavar="FILE", help="the model to look with (default: the newest run's)")
    mapping.add_argument("--device", default="auto", help=DEVICE_HELP)

    from resnet_gui.cli.project_runs import add_run_actions
    from resnet_gui.cli.project_watch import add_watch_action

    add_run_actions(action)
    add_watch_action(action)

    locate = action("locate", "find missing pictures again in a folder, by their content", locate_command)
    locate.add_argument("folder", metavar="FOLDER", help="where the files are now")


def _open(args):
    from resnet_gui.core.projects.project import Project

    return Project.open(args.project)


def _print_skipped(report) -> None:
    for path, why in report.skipped:
        print(f"  skipped {shown(path)}: {why}", file=sys.stderr)


def _added(report, what: str = "") -> str:
    labelled = f", {report.labelled} already there labelled" if report.labelled else ""
    skipped = f", {len(report.skipped)} skipped" if report.skipped else ""
    return f"added {len(report.added)} picture(s){what}{labelled}{skipped}"


def new_command(args) -> int:
    from resnet_gui.core.projects.project import Project

    if args.source:
        project, report = Project.create_from_class_tree(args.project, args.source, progress=_progress("importing"))
        with project:
            _print_skipped(report)
            classes = ", ".join(f"{c.name} ({c.count})" for c in project.classes())
            say(f"made {shown(project.root)}: {_added(report)}; classes {classes}.")
    else:
        with Project.create(args.project) as project:
            say(f"made {shown(project.root)}. Add pictures with: resnet-gui project add {shown(args.project)} PATH...")
    return EXIT_OK


def _progress(label: str):
    bar: list[ProgressBar] = []

    def update(done: int, total: int) -> None:
        if not bar:
            bar.append(ProgressBar(total, label=f"{label} "))
        bar[0].update(done)
        if done >= total:
            bar[0].close()

    return update


def add_command(args) -> int:
    gone = [path for path in args.paths if not os.path.lexists(path)]
    if gone:  # "added 0" and exit 0 for a mistyped path read as a success
        raise UserError(f"{shown(gone[0])} does not exist; nothing was added. Check the path.")
    with _open(args) as project:
        report = project.add_images(args.paths, args.label, specimen=args.specimen, progress=_progress("adding"))
        _print_skipped(report)
        say(_added(report, f" labelled {args.label}" if args.label else "") + ".")
    return EXIT_SOME_FAILED if report.skipped and not report.added else EXIT_OK


def label_command(args) -> int:
    from resnet_gui.core.errors import UserError

    if bool(args.csv) == bool(args.pairs):
        raise UserError("Give either PATH CLASS pairs or --csv FILE: resnet-gui project label PROJECT PATH CLASS.")
    if len(args.pairs) % 2:
        raise UserError(f"'{args.pairs[-1]}' has no class: give pairs of PATH CLASS.")
    with _open(args) as project:
        if args.csv:
            report = project.import_csv(args.csv)
            _print_skipped(report)
            say(f"labelled {report.labelled} picture(s) already in the project; {_added(report)}.")
            return EXIT_OK
        for path, name in zip(args.pairs[::2], args.pairs[1::2], strict=False):
            image = project.image_id(path)
            if name not in {c.name for c in project.classes()}:
                project.add_class(name)
            decision = project.assign(image, name)
            say(f"{shown(path)}: {name} ({decision.source})")
    return EXIT_OK


def exclude_command(args) -> int:
    with _open(args) as project:
        for path in args.paths:
            project.exclude(project.image_id(path))
        say(f"excluded {len(args.paths)} picture(s).")
    return EXIT_OK


def class_command(args) -> int:
    from resnet_gui.core.errors import UserError

    wanted = {"add": 1, "rename": 2, "merge": 2, "delete": 1, "colour": 2}[args.change]
    if len(args.names) != wanted:
        raise UserError(f"'class {args.change}' takes {wanted} name(s); see resnet-gui project class --help.")
    with _open(args) as project:
        if args.change == "add":
            made = project.add_class(args.names[0])
            say(f"added class {made.name}.")
        elif args.change == "rename":
            project.rename_class(*args.names)
            say(f"renamed {args.names[0]} to {args.names[1]}.")
        elif args.change == "merge":
            moved = project.merge_classes(*args.names)
            say(f"merged {args.names[0]} into {args.names[1]}: {moved} picture(s) moved.")
        elif args.change == "delete":
            freed = project.delete_class(args.names[0])
            say(f"deleted class {args.names[0]}; its {freed} picture(s) are unlabelled again.")
        else:
            colour = args.names[1]
            hex_digits = set("0123456789abcdefABCDEF")
            if not (len(colour) == 7 and colour.startswith("#") and set(colour[1:]) <= hex_digits):
                raise UserError(f"'{colour}' is not a colour; write it as #RRGGBB, like #4e79a7.")
            project.set_colour(args.names[0], colour)
    return EXIT_OK


def train_command(args) -> int:
    import signal
    import threading

    from resnet_gui.core.projects.training import train_project

    resume = args.resume_run  # a run of the project, not a file as train's --resume: train_project finds it
    if resume and args.from_run is not None:
        raise UserError("Use --resume (go on with a stopped run) or --from-run N (a new run from run N's model), "
                        "not both.")
    settings = settings_from_args(args)
    settings.validate()
    if not resume:
        with _open(args) as project:
            stopped = project.resumable_run()
        if stopped is not None:
            say(f"run {stopped.id} stopped early ({stopped.status}); this starts a new run. To go on with run "
                f"{stopped.id} instead: resnet-gui project train {shlex.quote(shown(args.project))} --resume")
    stop = threading.Event()

    def on_interrupt(signum, frame):
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        say("stopping after this batch; the best model so far is kept (Ctrl+C again to quit at once).")

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        run = train_project(args.project, settings, keep_specimens=args.keep_specimens,
                            callbacks=[train_report(args.json)], cancelled=stop.is_set, resume=resume,
                            from_run=args.from_run, started=getattr(args, "started", None))
    except InterruptedError:
        say("stopped before training began.")
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGINT, previous)
    result = run.result
    comparison = run.comparison
    if args.json:
        print(json_line({"event": "run", "run": run.run_id, "checkpoint": result.best_path,
                         "accuracy": result.metrics.get("val_acc"), "comparison": comparison}))
    elif result.best_path:
        print(f"run {run.run_id}: validation accuracy {result.metrics['val_acc']:.1%}", file=sys.stderr)
        if comparison and comparison["pictures"]:
            print(f"on the {comparison['pictures']} validation pictures it shares with run {comparison['previous']}: "
                  f"{comparison['accuracy']:.1%} (run {comparison['previous']}: {comparison['previous_accuracy']:.1%})",
                  file=sys.stderr)
        print(result.best_path)
    else:
        print(f"run {run.run_id}: no model was written.", file=sys.stderr)
    return EXIT_INTERRUPTED if stop.is_set() else EXIT_OK


def predict_command(args) -> int:
    from resnet_gui.core.projects.training import predict_project

    report = predict_project(args.project, args.run, device=args.device, amp=not args.no_amp,
                             batch_size=args.batch_size, progress=_progress("predicting"))
    for path, why in report.failed:
        print(f"could not read {shown(path)}: {why}", file=sys.stderr)
    missing = f"; {report.missing} missing file(s) passed over (see project status)" if report.missing else ""
    say(f"run {report.run_id} labelled {report.predicted - len(report.failed)} unlabelled picture(s){missing}. "
        f"Review them with: resnet-gui project review {shown(args.project)}")
    return EXIT_SOME_FAILED if report.failed else EXIT_OK


def review_command(args) -> int:
    with _open(args) as project:
        run_id = args.run if args.run is not None else project.latest_predicting_run()
        if run_id is None:
            say("nothing to review: no run has predicted the unlabelled pictures yet "
                f"(resnet-gui project predict {shown(args.project)}).")
            return EXIT_OK
        names = project.class_names()
        run_names = dict(project.run(run_id).classes)
        predicted = project.class_named(args.predicted).id if args.predicted else None  # a sentence if unknown
        pictures = project.pictures(ProjectView("review"), run_id=run_id, order=args.order, limit=args.limit,
                                    predicted=predicted)
        for picture in pictures:
            if picture.error:
                continue
            top_k = [{"label": names.get(c, run_names.get(c)), "prob": round(p, 6)} for c, p in picture.top_k()]
            if args.json:
                print(json_line({"path": str(picture.path), "label": top_k[0]["label"], "prob": round(picture.prob, 6),
                                 "margin": round(picture.margin, 6), "top_k": top_k, "why": picture.why}))
            else:
                print(f"{picture.prob:6.1%}  margin {picture.margin:5.2f}  {shown(top_k[0]['label']):<16}  "
                      f"{shown(picture.path)}  ({shown(picture.why)})")
    return EXIT_OK


def sort_command(args) -> int:
    from resnet_gui.core.projects.sort import execute_sort, plan_sort

    with _open(args) as project:
        plan = plan_sort(project, args.out, run_id=args.run, unsure_below=args.unsure_below)
        counts = plan.counts()
        for path in plan.missing:
            print(f"missing {shown(path)} (passed over; find it with project locate)", file=sys.stderr)
        if not args.dry_run:
            report = execute_sort(project, plan, move=args.move,
                                  progress=_progress("moving" if args.move else "copying"))
            for item, why in report.failed:
                print(f"could not place {shown(item.source)}: {why}", file=sys.stderr)
            counts = {name: 0 for name in counts}
            for item, _ in report.placed:
                counts[item.folder] += 1
        width = max(len(shown(name)) for name in counts)
        for name, count in counts.items():
            print(f"{shown(name):<{width}}  {count}")
        if args.dry_run:
            say(f"dry run: nothing was copied or moved into {shown(plan.out)}.")
        else:
            say(f"{'moved' if args.move else 'copied'} {len(report.placed)} picture(s) into {shown(plan.out)}; "
                f"the log is {shown(report.log)}.")
            if report.failed:
                return EXIT_SOME_FAILED
    return EXIT_OK


def history_command(args) -> int:
    with _open(args) as project:
        decisions = project.history(project.image_id(args.path))
    before = None
    for decision in decisions:
        if args.json:
            print(json_line(decision))
            continue
        now = "excluded" if decision["source"] == "excluded" else decision["label"] or "unlabelled"
        said = f"; run {decision['run']} said {decision['predicted']} ({decision['prob']:.0%})" \
            if decision["run"] is not None and decision["predicted"] and decision["prob"] is not None else ""
        was = f" (was {before})" if before is not None and before != now else ""
        print(f"{decision['made_at']}  {decision['source']:<10} {shown(now)}{was}{said}")
        before = now
    if not decisions:
        say(f"{shown(args.path)} has no decisions yet: it was added unlabelled.")
    return EXIT_OK


def status_command(args) -> int:
    with _open(args) as project:
        status = project.status()
        resumable = project.resumable_run()
    if args.json:
        print(json_line(status.to_dict()))
        return EXIT_OK
    print(f"{len(status.classes)} classes, {sum(status.labelled.values())} labelled, {status.unlabelled} unlabelled, "
          f"{status.excluded} excluded")
    for c in status.classes:
        print(f"  {c.name:<20} {c.count}")
    for run in status.runs:
        accuracy = f"{run.accuracy:.1%}" if run.accuracy is not None else "-"
        print(f"run {run.id}  {run.status:<14} validation accuracy {accuracy:>6}  {run.started_at}")
    if resumable is not None:
        why = "was interrupted (its process ended before it finished)" if resumable.status == "interrupted" \
            else "was stopped before its last epoch"
        print(f"run {resumable.id} {why}; its best model so far is used. To go on with it: "
              f"resnet-gui project train {shlex.quote(shown(args.project))} --resume")
    if status.missing:
        print(f"{len(status.missing)} missing file(s); find them with: resnet-gui project locate "
              f"{shlex.quote(shown(args.project))} FOLDER")  # a command to paste, spaces and all
        for path in status.missing[:20]:
            print(f"  {shown(path)}")
    return EXIT_OK


def locate_command(args) -> int:
    if not os.path.isdir(args.folder):
        raise UserError(f"{shown(args.folder)} is not a folder; give the folder the missing pictures are in now.")
    with _open(args) as project:
        before = len(project.missing())
        found = project.locate(args.folder)
    say(f"found {found} of {before} missing picture(s) in {shown(args.folder)}.")
    return EXIT_OK if found == before else EXIT_SOME_FAILED



def map_command(args) -> int:
    from resnet_gui.core.projects.audit import project_map

    if not args.out and not args.csv:
        raise UserError("Say where the map goes: --out MAP.png, --csv FILE, or both.")
    for target, what in ((args.out, "the map"), (args.csv, "the coordinates")):
        if target:
            from resnet_gui.core.atomic_write import check_writable

            check_writable(target, what)
    made = project_map(args.project, args.out, csv=args.csv, checkpoint=args.checkpoint, method=args.method,
                       device=args.device, progress=_progress("looking at the pictures"))
    by = f"the model of run {made.run}" if made.run is not None else shown(args.checkpoint)
    say(f"{made.placed} of {len(made.paths)} picture(s) placed by {made.method.upper()} on what {by} sees"
        + (f"; the map is {shown(args.out)}" if args.out else "") + (f"; the coordinates are {shown(args.csv)}"
                                                                    if args.csv else "") + ".")
    return EXIT_OK if made.placed == len(made.paths) else EXIT_SOME_FAILED
