"""Commands about one model: `info` (and `info --verify`), `explain` and `export`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from resnet_gui.cli.common import EXIT_OK, EXIT_SOME_FAILED, finite_float, image_size, json_line, say, shown
from resnet_gui.core.errors import UserError


def add_parsers(sub, archs: list[str]) -> None:
    info = sub.add_parser("info", help="describe a checkpoint")
    info.add_argument("checkpoint", metavar="CHECKPOINT", help="a .pt, .pth or .safetensors file")
    info.add_argument("--classes", metavar="FILE", help="class names (class_indices.json or one per line)")
    info.add_argument("--image-size", type=image_size, help="input size for the output shapes")
    info.add_argument("--json", action="store_true", help="print one JSON object")
    info.add_argument("--verify", action="store_true",
                      help="re-run the checkpoint's golden samples; exit 1 if its outputs moved; and say which "
                           "runtime runs it on this CPU, and why")
    info.add_argument("--runtime", choices=("auto", "torch", "openvino"), default=None,
                      help="with --verify: the runtime to try (default: auto, or RESNET_GUI_RUNTIME)")
    info.add_argument("--card", action="store_true",
                      help="print a model card in Markdown: the model, its classes, training data, validation "
                           "figures and limitations (the documentation of a bioimage.io package)")
    info.set_defaults(handler=info_command)

    explain = sub.add_parser("explain", help="Grad-CAM: where the model looks in an image")
    explain.add_argument("image", metavar="IMAGE", help="the picture to explain")
    explain.add_argument("--checkpoint", metavar="FILE", help="weights (default: ImageNet)")
    explain.add_argument("--arch", choices=archs, help="architecture for ImageNet weights")
    explain.add_argument("--class", dest="class_label", metavar="LABEL",
                         help="class to explain (default: the top one)")
    explain.add_argument("--opacity", type=finite_float, default=0.5, help="heat-map opacity, 0..1 (0.5)")
    explain.add_argument("--out", required=True, metavar="OUT.png", help="the picture with the heat map")
    explain.set_defaults(handler=explain_command)

    export = sub.add_parser("export", help="export a checkpoint to ONNX, TorchScript, OpenVINO or a bioimage.io "
                                           "package")
    export.add_argument("checkpoint", metavar="CHECKPOINT", help="the model to export")
    export.add_argument("--format", choices=("onnx", "torchscript", "openvino", "bioimageio"), required=True,
                        help="onnx (needs the onnx package), torchscript, openvino (FILE.xml and FILE.bin, for "
                             "OpenVINO's runtime), or bioimageio: a model package zip "
                             "(TorchScript and ONNX weights, test tensors, cover, model card) for the bioimage.io "
                             "ecosystem, tested with bioimageio.core when it is installed")
    export.add_argument("--out", required=True, metavar="FILE",
                        help="the model file (FILE.json goes beside it), or the package's MODEL.zip")
    export.add_argument("--int8", action="store_true",
                        help="openvino: an INT8 copy for CPUs (about twice OpenVINO's float speed), quantized with "
                             "NNCF on a few hundred of your pictures and measured on others; written as a checkpoint "
                             "(FILE.pt) the app opens like any other, and refused if its answers agree with the "
                             "float model's on under 98%% of the pictures")
    export.add_argument("--calibration", metavar="DIR",
                        help="with --int8: the pictures to calibrate and measure on (a class folder gives accuracy "
                             "too); default: the model's training folder")
    export.add_argument("--license", default="CC-BY-4.0", metavar="SPDX",
                        help="bioimageio: the package's licence, an SPDX identifier (default CC-BY-4.0)")
    export.add_argument("--author", action="append", metavar="NAME",
                        help="bioimageio: an author's name (repeat for several)")
    export.set_defaults(handler=export_command)


def info_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.models.resnets import count_parameters, load_checkpoint_bundle, stage_table

    bundle = load_checkpoint_bundle(args.checkpoint, classes_file=args.classes, image_size=args.image_size)
    contents = bundle.checkpoint
    prep = bundle.preprocessing
    rows = stage_table(bundle.model, prep.image_size)
    data = {
        "temperature": bundle.temperature,
        "unsure_below": bundle.unsure_below,
        "golden_samples": len((contents.extra.get("golden") or {}).get("inputs", [])),
        "path": str(contents.path),
        "format": contents.kind,
        "version": contents.version,
        "arch": bundle.arch,
        "num_classes": bundle.num_classes,
        "classes": bundle.classes,
        "params": count_parameters(bundle.model),
        "image_size": prep.image_size,
        "resize": prep.resize,
        "mean": list(prep.mean),
        "std": list(prep.std),
        "small_input": bundle.small_input,
        "stem": bundle.stem,
        "stages": [
            {"name": r.name, "blocks": r.blocks, "output_shape": list(r.output_shape), "params": r.params} for r in rows
        ],
        "train": contents.train,
        "metrics": contents.metrics,
        "epochs": len(contents.history),
    }
    if args.verify:
        return verify_command(bundle, data, args.json, args.runtime)
    if args.card:
        from resnet_gui.core.packaging.card import model_card

        print(model_card(bundle))
        return EXIT_OK
    if args.json:
        print(json_line(data))
        return EXIT_OK
    from resnet_gui.core.models.architectures import architecture
    from resnet_gui.core.models.stems import stem

    spec = architecture(bundle.arch)
    classes = ", ".join(shown(c) for c in bundle.classes[:10]) + (
        f", ... ({bundle.num_classes} in all)" if bundle.num_classes > 10 else "")
    print(f"{shown(contents.path.name)}: {spec.title} ({bundle.arch}), {contents.kind} format")
    print(f"  classes      {bundle.num_classes}: {classes}")
    print(f"  parameters   {data['params']:,}")
    print(f"  input        {prep.image_size}x{prep.image_size} px (resize {prep.resize}), "
          f"{stem(bundle.stem).technical}")
    print(f"  normalise    mean {tuple(round(v, 3) for v in prep.mean)}, std {tuple(round(v, 3) for v in prep.std)}")
    if contents.metrics:
        figures = ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in contents.metrics.items()
                            if isinstance(v, (int, float, str)))
        print(f"  metrics      {figures}")
    print()
    print(f"  {'stage':<8}{'blocks':>7}  {'block type':<11}{'output shape':<22}{'parameters':>12}")
    for r in rows:
        block = spec.block if r.blocks else ""
        shape = " x ".join(str(d) for d in r.output_shape)
        print(f"  {r.name:<8}{(r.blocks or ''):>7}  {block:<11}{shape:<22}{r.params:>12,}")
    print(f"  {'total':<8}{sum(spec.layers):>7}  {'':<11}{'':<22}{data['params']:>12,}")
    return EXIT_OK


def cpu_runtime(bundle, choice: str | None) -> str:
    """Which runtime classifies with `bundle` on this machine's CPU, and why, in a sentence's words."""
    import torch

    from resnet_gui.core.inference.openvino_runtime import choose_forward
    from resnet_gui.core.inference.options import default_runtime

    return choose_forward(bundle, torch.device("cpu"), choice or default_runtime(), amp=True)[1]


def verify_command(bundle, data: dict, as_json: bool, runtime_choice: str | None = None) -> int:
    """info --verify: do the golden samples still give the outputs stored with them?"""
    from resnet_gui.core.trust.golden import golden_tolerance, verify_model

    golden = bundle.checkpoint.extra.get("golden")
    if not golden:
        raise UserError(f"{bundle.checkpoint.path.name} has no golden samples to check (only checkpoints made by "
                        "resnet-gui train carry them).")
    difference = verify_model(bundle.model, golden, bundle.preprocessing, bundle.temperature)
    tolerance = golden_tolerance(golden)
    ok = difference <= tolerance
    runtime = cpu_runtime(bundle, runtime_choice)
    if as_json:
        print(json_line({**data, "verified": ok, "max_difference": difference, "tolerance": tolerance,
                         "cpu_runtime": runtime}))
    elif ok:
        print(f"{bundle.checkpoint.path.name}: the {len(golden['inputs'])} golden samples give the stored outputs "
              f"(largest difference {difference:.1e} in probability, allowed {tolerance:.0e}). On this CPU it runs "
              f"with {runtime}.")
    else:
        say(f"{bundle.checkpoint.path.name} no longer gives the outputs it was saved with: they moved by "
            f"up to {difference:.2e} in probability (allowed {tolerance:.0e}). The file may have been changed, or "
            "torch/torchvision compute differently here; do not trust its answers until this is explained.")
    return EXIT_OK if ok else EXIT_SOME_FAILED


def explain_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.images.files import ImageDecodeError, load_rgb
    from resnet_gui.core.inference.explain import check_picture_name, explain, overlay, save_picture
    from resnet_gui.core.models.resnets import load_bundle

    check_picture_name(Path(args.out))
    check_writable(args.out, "the picture")
    if not 0.0 <= args.opacity <= 1.0:
        raise UserError(f"The opacity must be between 0 and 1, like 0.5, not {args.opacity}.")
    bundle = load_bundle(args.checkpoint, arch=args.arch)
    try:
        image = load_rgb(args.image)
    except ImageDecodeError as exc:
        raise UserError(f"{args.image} cannot be explained: {exc}.") from None
    index = None
    if args.class_label is not None:
        if args.class_label not in bundle.classes:
            raise UserError(f"'{args.class_label}' is not one of the model's classes: "
                            f"{', '.join(bundle.classes[:20])}.")
        index = bundle.classes.index(args.class_label)
    result = explain(bundle, image, index)
    picture = overlay(image, result.heatmap, args.opacity)
    out = save_picture(picture, Path(args.out))
    print(f"{shown(result.label)} ({result.prob:.1%}): heat map written to {shown(out)}", file=sys.stderr)
    if result.stage != "layer4":
        say(f"at {bundle.preprocessing.image_size} px, the last stage's map is under 4x4 pixels; the heat map "
            f"is from {result.stage}, one stage earlier.")
    return EXIT_OK


def export_command(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.packaging.export import export_model

    if args.format == "bioimageio":
        return export_package(args)
    if args.int8 or args.calibration:
        return export_int8(args)
    check_writable(args.out, "the exported model")
    check_writable(args.out + ".json", "the export's description")
    bundle = load_checkpoint_bundle(args.checkpoint)
    model_path, side, check = export_model(bundle, args.format, args.out)
    print(f"Exported {args.format} model to {model_path}, with {side.name} beside it.", file=sys.stderr)
    if check.get("verified"):
        print(f"Checked with the {check['checked_with']}: largest difference {check['max_difference']:.1e} in "
              "probability.", file=sys.stderr)
    else:
        print(f"Not checked: {check['reason']}.", file=sys.stderr)
    return EXIT_OK


def export_int8(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.packaging.int8 import make_int8_copy

    if args.format != "openvino" or not args.int8:
        raise UserError("An INT8 copy is made for OpenVINO: use --format openvino --int8 (and --calibration DIR "
                        "for the pictures to calibrate on).")
    if Path(args.out).exists() and Path(args.out).resolve() == Path(args.checkpoint).resolve():
        raise UserError("The INT8 copy would replace the model it is made of: give --out another name, like "
                        f"{Path(args.out).stem}-int8.pt.")
    check_writable(args.out, "the INT8 copy")
    bundle = load_checkpoint_bundle(args.checkpoint)
    copy = make_int8_copy(bundle, args.out, folder=args.calibration,
                          progress=lambda text: print(text, file=sys.stderr))
    print(f"INT8 copy written to {shown(args.out)}. {copy.sentence()}", file=sys.stderr)
    return EXIT_OK


def export_package(args: argparse.Namespace) -> int:
    from resnet_gui.core.atomic_write import check_writable
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.packaging.bioimageio import check_license, write_package
    from resnet_gui.core.summaries import describe_package_checks

    if not args.out.lower().endswith(".zip"):
        raise UserError(f"A bioimage.io package is a .zip file: name it like MODEL.zip, not {args.out}.")
    check_writable(args.out, "the package")
    check_license(args.license)
    bundle = load_checkpoint_bundle(args.checkpoint)
    print("Writing the package and testing it (a minute at most)…", file=sys.stderr)
    result = write_package(bundle, args.out, license=args.license, authors=args.author)
    print(f"bioimage.io package written to {shown(args.out)}: {describe_package_checks(result)}.", file=sys.stderr)
    return EXIT_OK
