"""The CPU runtime: whole-process `resnet-gui classify` of photo-sized JPEGs with PyTorch (the app before the
runtime seam: eager, bfloat16 autocast where the CPU has it, channels_last) against OpenVINO (bfloat16 hint
where the CPU has it), ResNet-18 and ResNet-50, rounds alternating, medians; the top-1 agreement of OpenVINO
with PyTorch float32; and what the first use costs (conversion and compile) against a cached start.

    python benchmarks/openvino_runtime.py [--count 300] [--rounds 3] [--archs resnet18,resnet50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys

from common import machine, photo_jpegs, run_timed, seeded_checkpoint, work_dir


def classify(folder, checkpoint, runtime: str, cache, *extra) -> tuple[float, dict[str, str], dict]:
    seconds, done = run_timed([sys.executable, "-m", "resnet_gui", "classify", str(folder), "--checkpoint",
                               str(checkpoint), "--runtime", runtime, "--json", *extra],
                              env={"XDG_CACHE_HOME": str(cache), "RESNET_GUI_RUNTIME": "auto"})
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    best = {line["path"]: line["top_k"][0]["label"] for line in lines if "path" in line and line["top_k"]}
    summary = next(line["summary"] for line in lines if "summary" in line)
    return seconds, best, summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--archs", default="resnet18,resnet50")
    args = parser.parse_args()
    print(machine())
    folder = work_dir("photos")
    photo_jpegs(folder, args.count)
    cache = work_dir("openvino-cache")
    for arch in args.archs.split(","):
        checkpoint = seeded_checkpoint(work_dir("ckpt") / f"{arch}.pt", arch)
        shutil.rmtree(cache, ignore_errors=True)
        first, _, first_summary = classify(folder, checkpoint, "openvino", cache)
        assert first_summary["runtime"].startswith("OpenVINO"), first_summary["runtime"]
        times = {"torch": [], "openvino": []}
        for _ in range(args.rounds):
            for runtime in ("torch", "openvino"):
                seconds, _, _ = classify(folder, checkpoint, runtime, cache)
                times[runtime].append(seconds)
        _, exact, _ = classify(folder, checkpoint, "torch", cache, "--no-amp")
        _, fast, summary = classify(folder, checkpoint, "openvino", cache)
        agree = sum(fast[p] == exact[p] for p in exact) / len(exact)
        torch_s, openvino_s = statistics.median(times["torch"]), statistics.median(times["openvino"])
        print(f"\n{arch}, {args.count} JPEGs of 500x375, whole process, median of {args.rounds}:")
        print(f"  PyTorch (the app before)  {torch_s:6.1f} s  {args.count / torch_s:6.1f} images/s")
        print(f"  OpenVINO, cached          {openvino_s:6.1f} s  {args.count / openvino_s:6.1f} images/s  "
              f"{torch_s / openvino_s:.2f}x")
        print(f"  OpenVINO, first use       {first:6.1f} s  (conversion and compile: about {first - openvino_s:.1f} s "
              "more, once per model)")
        print(f"  top-1 agreement with PyTorch float32: {agree:.1%} of {len(exact)} ({summary['runtime']})")


if __name__ == "__main__":
    main()
