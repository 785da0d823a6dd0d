"""`resnet-gui example DIR`: write the offline example data set, to try the whole path before your own pictures."""

from __future__ import annotations

import argparse

from resnet_gui.cli.common import EXIT_OK, non_negative_int, say_plain, shown


def add_parser(sub) -> None:
    example = sub.add_parser("example", help="write an example data set (needs no internet) to try the app on")
    example.add_argument("folder", metavar="DIR", help="where to write train/ and test/ (created if needed)")
    example.add_argument("--seed", type=non_negative_int, default=0, help="which pictures to make (0)")
    example.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.projects.example import write_example

    check_writable(f"{args.folder}/README.txt", "the example")
    made = write_example(args.folder, seed=args.seed)
    say_plain(f"Wrote {made.images} pictures of {len(made.classes)} kinds ({', '.join(made.classes)}) to "
              f"{shown(made.root)}.")
    say_plain(f"Next: resnet-gui train {shown(made.train)} --weights none --out model.pt")
    say_plain(f"then: resnet-gui evaluate {shown(made.test)} --checkpoint model.pt")
    return EXIT_OK
