"""Benchmark 2: steady images/s of the whole classify pipeline against the bare model.

Pipeline: decode, resize, batch, forward, top-k (Predictor over JPEG files).
Limit: the same model's forward on ready tensors at the same batch size and
settings. Both measured in this process, after a warm-up batch.
Goal: 0.85 or more on a CPU.

    python benchmarks/pipeline_vs_model.py [--count 300] [--arch resnet18] [--batch-size 32] [--workers N]
                                        [--no-amp]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, photo_jpegs, seeded_checkpoint, work_dir


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-amp", action="store_true", help="float32 even where bfloat16 is in hardware")
    parser.add_argument("--runtime", default="torch", choices=("torch", "openvino"))
    parser.add_argument("--overlap", choices=("both", "on", "off"), default="both",
                        help="decode the next batch while the model runs (both: alternate the two)")
    args = parser.parse_args()
    from resnet_gui.core.runtime.allocator import keep_freed_memory

    keep_freed_memory()  # as the app's process does before torch allocates (core/runtime/allocator.py)
    import torch

    from resnet_gui.core.inference.predictor import Predictor
    from resnet_gui.core.models.resnets import load_checkpoint_bundle

    paths = photo_jpegs(work_dir("photos"), args.count)
    bundle = load_checkpoint_bundle(seeded_checkpoint(work_dir("ckpt") / f"{args.arch}.pt", args.arch))
    predictor = Predictor(bundle, device=args.device, batch_size=args.batch_size, num_workers=args.workers, top_k=5,
                          amp=not args.no_amp, runtime=args.runtime)
    size = bundle.preprocessing.image_size

    ready = torch.randint(0, 256, (args.batch_size, 3, size, size), dtype=torch.uint8)
    if predictor.policy.pin_memory:
        ready = ready.pin_memory()
    batches = max(3, args.count // args.batch_size)

    def model_only() -> float:
        started = time.perf_counter()
        for _ in range(batches):
            predictor.probabilities(ready)
        if predictor.device.type == "cuda":
            torch.cuda.synchronize()
        return batches * args.batch_size / (time.perf_counter() - started)

    def pipeline(overlap: bool) -> float:
        predictor.decode_overlap = overlap
        started = time.perf_counter()
        done = sum(len(batch) for batch in predictor.predict(paths))
        assert done == len(paths)
        return done / (time.perf_counter() - started)

    predictor.probabilities(ready)  # warm-up: allocations, oneDNN/cuDNN kernel choice
    list(predictor.predict(paths[: args.batch_size]))
    # Alternate the two so that the machine's drift hits both alike; report medians.
    overlaps = {"both": (False, True), "on": (True,), "off": (False,)}[args.overlap]
    model_rates, pipeline_rates = [], {overlap: [] for overlap in overlaps}
    for _ in range(args.rounds):
        model_rates.append(model_only())
        for overlap in overlaps:
            pipeline_rates[overlap].append(pipeline(overlap))
    model_rate = statistics.median(model_rates)
    done = len(paths)
    print(f"machine: {machine()}")
    print(f"{args.arch} at {size} px, batch {args.batch_size}, device {predictor.device}, {predictor.runtime_name}, "
          f"{predictor.policy.precision}, "
          f"{predictor.num_workers} decoding "
          f"{'processes ahead of' if predictor.decode_ahead else 'threads in turn with'} "
          f"the model, torch threads {torch.get_num_threads()}")
    print(f"model only (ready uint8 tensors, normalise + forward + softmax): {model_rate:7.1f} images/s")
    for overlap, rates in pipeline_rates.items():
        rate = statistics.median(rates)
        how = "the next batch decoded while the model runs" if overlap else "decoding, then the model"
        print(f"whole pipeline ({done} JPEG files, decode .. top-k), {how}: {rate:7.1f} images/s, "
              f"{rate / model_rate:.2f} of the model (median of {args.rounds} alternating rounds)")


if __name__ == "__main__":
    main()
