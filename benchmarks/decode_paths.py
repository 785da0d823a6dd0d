"""Benchmark: where a photo's decoding time goes, and what the faster ways give (issue 28's decoding side).

Per picture, single-threaded, medians of rounds: reading the file, decoding it, and the resize and centre crop
to the model's input, for photo-sized JPEGs (500x375, as a phone camera's after a lab's export) and large ones
(2000x1500). Paths measured:

  app            load_rgb (JPEG draft mode where the picture is at least twice the input) + ResizeCenterCrop
  no draft       the same without draft mode
  reducing_gap   Pillow's resize with reducing_gap=2.0 (a cheap reduce first, then the antialiased resize)
  decode_jpeg    torchvision.io.decode_jpeg, then torchvision's resize and crop on the tensor

    python benchmarks/decode_paths.py [--count 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

from common import machine, photo_jpegs, work_dir


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import torch
    from PIL import Image
    from torchvision.io import decode_jpeg, read_file
    from torchvision.transforms import InterpolationMode, v2

    from resnet_gui.core.images.files import load_rgb
    from resnet_gui.core.images.transforms import ResizeCenterCrop

    torch.set_num_threads(1)
    crop = ResizeCenterCrop(256, 224)
    tensor_steps = v2.Compose([v2.Resize(256, interpolation=InterpolationMode.BILINEAR, antialias=True),
                               v2.CenterCrop(224)])

    def app(path, draft=True):
        return crop(load_rgb(path, draft_size=256 if draft else None))

    def reducing_gap(path):
        image = load_rgb(path, draft_size=256)
        width, height = image.size
        scale = 256 / min(width, height)
        resized = image.resize((round(width * scale), round(height * scale)), Image.Resampling.BILINEAR,
                               reducing_gap=2.0)
        left, top = (resized.width - 224) // 2, (resized.height - 224) // 2
        return resized.crop((left, top, left + 224, top + 224))

    def tensor_path(path):
        return tensor_steps(decode_jpeg(read_file(str(path))))

    ways = {"app": app, "no draft": lambda p: app(p, draft=False), "reducing_gap": reducing_gap,
            "decode_jpeg": tensor_path}
    print(f"Machine: {machine()}; one thread")
    for size in ((500, 375), (2000, 1500)):
        paths = photo_jpegs(work_dir(f"photos-{size[0]}"), args.count, size=size)
        times = {name: [] for name in ways}
        for _ in range(args.rounds):
            for name, way in ways.items():  # alternating, so that drift hits every way alike
                started = time.perf_counter()
                for path in paths:
                    way(path)
                times[name].append((time.perf_counter() - started) / len(paths) * 1000)
        base = statistics.median(times["app"])
        print(f"{size[0]}x{size[1]} JPEGs to a 224 px input:")
        for name, values in times.items():
            ms = statistics.median(values)
            print(f"  {name:13s} {ms:6.2f} ms per picture ({base / ms:.2f}x the app's speed)")


if __name__ == "__main__":
    main()
