"""The CPU runtime: whole-process `resnet-gui classify` of photo-sized JPEGs with PyTorch (the app before the
runtime seam: eager, bfloat16 autocast where the CPU has it, channels_last) against OpenVINO (bfloat16 hint
where the CPU has it), ResNet-18 and ResNet-50 trained here on striped photos (or seeded, with --seeded),
rounds alternating, medians; the top-1 agreement of OpenVINO with PyTorch float32; and what the first use
costs (conversion and compile) against a cached start.

OpenVINO is timed twice: the start a user gets once the model is cached (without importing torch:
core/inference/ready_start.py), and PyTorch's start of the same cached model, which `--image-size` (given as
the checkpoint's own, so nothing else changes) sends down that path.

With --int8, an INT8 copy of each trained model is made as a user makes it (`export --int8`) and timed the same
way.

    python benchmarks/openvino_runtime.py [--count 300] [--rounds 3] [--archs resnet18,resnet50] [--seeded] [--int8]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys

from common import machine, photo_jpegs, run_timed, seeded_checkpoint, striped_photos, trained_checkpoint, work_dir


def classify(folder, checkpoint, runtime: str, cache, *extra) -> tuple[float, dict[str, str], dict]:
    seconds, done = run_timed([sys.executable, "-m", "resnet_gui", "classify", str(folder), "--checkpoint",
                               str(checkpoint), "--runtime", runtime, "--json", *extra],
                              env={"XDG_CACHE_HOME": str(cache), "RESNET_GUI_RUNTIME": "auto"})
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    best = {line["path"]: line["top_k"][0]["label"] for line in lines if "path" in line and line["top_k"]}
    summary = next(line["summary"] for line in lines if "summary" in line)
    return seconds, best, summary


def agreement(answered: dict[str, str], exact: dict[str, str]) -> float:
    """The share of pictures whose best class is PyTorch float32's."""
    return sum(answered[p] == exact[p] for p in exact) / len(exact)


EPOCHS = {"resnet18": 4, "resnet50": 6}  # enough to learn the stripes' direction at 224 px


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--archs", default="resnet18,resnet50")
    parser.add_argument("--seeded", action="store_true", help="random weights instead of a trained model")
    parser.add_argument("--int8", action="store_true",
                        help="also an INT8 copy of each trained model (export --int8, calibrated on the stripes)")
    args = parser.parse_args()
    print(machine())
    folder = work_dir("photos")
    photo_jpegs(folder, args.count)
    cache = work_dir("openvino-cache")
    for arch in args.archs.split(","):
        if args.seeded:
            checkpoint = seeded_checkpoint(work_dir("ckpt") / f"{arch}.pt", arch)
        else:
            stripes = striped_photos(work_dir("stripes"), per_class=60)
            checkpoint = trained_checkpoint(work_dir("ckpt") / f"{arch}-stripes.pt", arch, stripes, EPOCHS[arch])
        shutil.rmtree(cache, ignore_errors=True)
        first, _, first_summary = classify(folder, checkpoint, "openvino", cache)
        assert first_summary["runtime"].startswith("OpenVINO"), first_summary["runtime"]
        times = {"torch": [], "openvino": [], "openvino, torch's start": []}
        answers = {}
        for _ in range(args.rounds):
            for runtime in times:
                extra = ("--image-size", "224") if runtime == "openvino, torch's start" else ()
                seconds, best, summary = classify(folder, checkpoint, runtime.split(",")[0], cache, *extra)
                assert (runtime == "openvino") == summary["runtime"].endswith("without PyTorch"), summary["runtime"]
                times[runtime].append(seconds)
                answers[runtime] = best
        _, exact, _ = classify(folder, checkpoint, "torch", cache, "--no-amp")
        _, fast, summary = classify(folder, checkpoint, "openvino", cache)
        _, openvino_f32, f32_summary = classify(folder, checkpoint, "openvino", cache, "--no-amp")
        agree = agreement(fast, exact)
        spread = len(set(exact.values()))
        torch_s, openvino_s = statistics.median(times["torch"]), statistics.median(times["openvino"])
        torch_start_s = statistics.median(times["openvino, torch's start"])
        print(f"\n{arch}, {args.count} JPEGs of 500x375, whole process, median of {args.rounds}:")
        print(f"  PyTorch (the app before)          {torch_s:6.1f} s  {args.count / torch_s:6.1f} images/s")
        print(f"  OpenVINO, cached, without torch   {openvino_s:6.1f} s  {args.count / openvino_s:6.1f} images/s  "
              f"{torch_s / openvino_s:.2f}x")
        print(f"  OpenVINO, cached, torch's start   {torch_start_s:6.1f} s  "
              f"{args.count / torch_start_s:6.1f} images/s  {torch_s / torch_start_s:.2f}x")
        print(f"  OpenVINO, first use               {first:6.1f} s  (conversion and compile: about "
              f"{first - torch_start_s:.1f} s more, once per model)")
        print(f"  top-1 agreement with PyTorch float32: {agree:.1%} of {len(exact)}, {spread} classes answered "
              f"({summary['runtime']})")
        print(f"    the same for PyTorch's own path (bfloat16 autocast where the CPU has it): "
              f"{agreement(answers['torch'], exact):.1%}; "
              f"OpenVINO float32 (--no-amp): {agreement(openvino_f32, exact):.1%} "
              f"({f32_summary['runtime'][:40]}...)")

        if args.int8 and not args.seeded:
            int8_copy(folder, checkpoint, stripes, cache, torch_s, exact, args.rounds)


def int8_copy(folder, checkpoint, stripes, cache, torch_s: float, exact: dict[str, str], rounds: int) -> None:
    """An INT8 copy made as a user makes it, then classified whole-process from the cache (without torch)."""
    copy = checkpoint.with_name(f"{checkpoint.stem}-int8.pt")
    if not copy.exists():
        try:
            made, done = run_timed([sys.executable, "-m", "resnet_gui", "export", str(checkpoint), "--format",
                                    "openvino", "--int8", "--calibration", str(stripes), "--out", str(copy)],
                                   env={"XDG_CACHE_HOME": str(cache)})
        except RuntimeError as refused:  # below the agreement bar: the app says so and saves nothing
            print(f"  INT8 copy refused: {str(refused).strip().splitlines()[-1]}")
            return
        print(f"  INT8 copy made in {made:.1f} s: {done.stderr.strip().splitlines()[-1]}")
    classify(folder, copy, "openvino", cache)  # its first start, through PyTorch's
    times, answers, summary = [], {}, {}
    for _ in range(rounds):
        seconds, answers, summary = classify(folder, copy, "openvino", cache)
        times.append(seconds)
    seconds = statistics.median(times)
    print(f"  INT8 copy, cached, without torch  {seconds:6.1f} s  {len(exact) / seconds:6.1f} images/s  "
          f"{torch_s / seconds:.2f}x the app before; top-1 agreement with PyTorch float32 "
          f"{agreement(answers, exact):.1%} ({summary['runtime'][:60]}...)")


if __name__ == "__main__":
    main()
