"""The watched folder (`resnet-gui watch`): how soon a picture's row is on disk, a burst's throughput against
`classify`, and memory over many arrivals.

1. Latency: a writer puts one photo-sized JPEG a second into the folder (written in pieces, closed, as a
   camera's software does); for each, the seconds from its writer closing it to its row being in the CSV
   (the watch's callback runs after the row is fsynced). ResNet-18 at 224 px on the CPU.
2. Burst: 1,000 JPEGs renamed into the folder at once; the time until the last row, against
   `ClassificationRun` (what `classify --csv` runs) over the same files, in the same process.
3. Memory: 10,000 small pictures arriving in bursts of 500 (the small-input model at 32 px: memory, not
   speed, is measured); the process's resident memory after each 1,000.

    python benchmarks/watch_folder.py [--latency 30] [--burst 1000] [--arrivals 10000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import threading
import time
from pathlib import Path

import numpy as np
from common import machine, photo_jpegs, seeded_checkpoint, work_dir
from PIL import Image

from resnet_gui.core.inference.classification import ClassificationRun
from resnet_gui.core.inference.options import PredictOptions
from resnet_gui.core.live.watched_folder import WatchedFolderClassification, WatchSettings
from resnet_gui.core.models.resnets import load_bundle


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class Running:
    """A watch on a thread of its own; `recorded[path]` is when each row was on disk (monotonic seconds)."""

    def __init__(self, folder: Path, csv: Path, checkpoint: Path, batch_size: int = 32):
        options = PredictOptions(device="cpu", batch_size=batch_size, top_k=3)
        self.watch = WatchedFolderClassification(WatchSettings(str(folder), csv=str(csv)), load_bundle(checkpoint),
                                                 options)
        self.recorded: dict[str, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.watch.run, args=(self._on_batch,),
                                       kwargs={"cancelled": self.stop.is_set, "wait": 0.05}, daemon=True)

    def _on_batch(self, batch) -> None:
        now = time.monotonic()
        for prediction in batch.predictions:
            self.recorded[prediction.path] = now

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()

    def wait_for(self, count: int, timeout: float = 3600) -> None:
        end = time.monotonic() + timeout
        while len(self.recorded) < count and time.monotonic() < end:
            time.sleep(0.005)


def fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def latency(work: Path, photos: list[Path], checkpoint: Path, count: int) -> list[float]:
    folder = fresh(work / "latency-in")
    (work / "latency.csv").unlink(missing_ok=True)
    closed: dict[str, float] = {}
    with Running(folder, work / "latency.csv", checkpoint) as running:
        time.sleep(1.0)  # the model loaded and the watch started
        for i in range(count):
            data = photos[i % len(photos)].read_bytes()
            target = folder / f"frame_{i:04d}.jpg"
            with open(target, "wb") as out:
                for start in range(0, len(data), 16384):  # in pieces, as a camera's software writes
                    out.write(data[start:start + 16384])
            closed[str(target)] = time.monotonic()
            time.sleep(max(0.0, 1.0 - (time.monotonic() - closed[str(target)])))
        running.wait_for(count)
    return [running.recorded[path] - closed[path] for path in closed]


def burst(work: Path, photos: list[Path], checkpoint: Path) -> tuple[float, float]:
    """Seconds for the watch to record a burst, and for ClassificationRun on the same files."""
    staged = fresh(work / "burst-staged")
    for photo in photos:
        shutil.copyfile(photo, staged / photo.name)
    folder = fresh(work / "burst-in")
    (work / "burst.csv").unlink(missing_ok=True)
    with Running(folder, work / "burst.csv", checkpoint) as running:
        time.sleep(1.0)
        started = time.monotonic()
        for path in sorted(staged.iterdir()):
            os.replace(path, folder / path.name)
        running.wait_for(len(photos))
        watched = time.monotonic() - started
    options = PredictOptions(device="cpu", batch_size=32, top_k=3)
    started = time.monotonic()
    run = ClassificationRun([str(folder)], load_bundle(checkpoint), options, csv=str(work / "classify.csv"))
    for _ in run.batches():
        pass
    run.finish()
    return watched, time.monotonic() - started


def memory(work: Path, arrivals: int, checkpoint: Path) -> list[tuple[int, float]]:
    source = work / "small"
    source.mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(len(list(source.glob("*.png"))), 500):
        Image.fromarray(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)).save(source / f"{i:03d}.png")
    folder = fresh(work / "memory-in")
    (work / "memory.csv").unlink(missing_ok=True)
    samples = []
    with Running(folder, work / "memory.csv", checkpoint, batch_size=64) as running:
        for start in range(0, arrivals, 500):
            for i, path in enumerate(sorted(source.glob("*.png"))):
                if start + i < arrivals:
                    shutil.copyfile(path, folder / f"a{start + i:06d}.png")
            running.wait_for(min(arrivals, start + 500))
            if (start + 500) % 1000 == 0:
                samples.append((start + 500, rss_mb()))
    return samples


def small_checkpoint(path: Path) -> Path:
    import torch

    from resnet_gui.core.images.transforms import Preprocessing
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from resnet_gui.core.models.resnets import build_model

    if not path.exists():
        torch.manual_seed(0)
        write_checkpoint(path, checkpoint_payload(model=build_model("resnet18", 3, small_input=True), arch="resnet18",
                                                  classes=["a", "b", "c"], small_input=True,
                                                  preprocessing=Preprocessing(image_size=32, resize=36)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=int, default=30, help="pictures written one a second")
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--arrivals", type=int, default=10000)
    args = parser.parse_args()
    print(machine())
    work = work_dir("watch")
    photos = photo_jpegs(work / "photos", max(args.burst, 30))
    checkpoint = seeded_checkpoint(work / "resnet18.pt", num_classes=10)
    waits = latency(work, photos, checkpoint, args.latency)
    print(f"\n1. one photo a second, {len(waits)} photos, ResNet-18 224 px: file closed -> row on disk "
          f"median {statistics.median(waits):.2f} s, worst {max(waits):.2f} s")
    watched, classified = burst(work, photos[:args.burst], checkpoint)
    print(f"2. {args.burst} photos at once: watch {watched:.1f} s ({args.burst / watched:.1f} images/s), classify "
          f"{classified:.1f} s ({args.burst / classified:.1f} images/s); watch / classify throughput "
          f"{classified / watched:.2f}")
    samples = memory(work, args.arrivals, small_checkpoint(work / "small.pt"))
    print(f"3. {args.arrivals} arrivals: resident memory " + ", ".join(f"{n}: {mb:.0f} MB" for n, mb in samples)
          + f"; last / first {samples[-1][1] / samples[0][1]:.2f}")


if __name__ == "__main__":
    main()
