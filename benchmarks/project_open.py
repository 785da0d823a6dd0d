"""Open a 100,000-picture project: the core's queries, the window's open, and the grid's scroll stalls.

    python benchmarks/project_open.py [--pictures 100000]

The project is made in a temporary folder with the app's own schema (rows written directly: hashing
100,000 real files would measure the disk, not the project). Half the pictures are labelled, with a
label history each; the other half carry a run's predictions, so the review list is 50,000 long.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def build(folder: Path, count: int) -> None:
    from resnet_gui.core.projects.project import Project

    rng = random.Random(0)
    with Project.create(folder) as project:
        ids = [project.add_class(name).id for name in ("round", "elongated", "cluster", "empty")]
        with project.transaction() as db:
            db.executemany(
                "INSERT INTO images(id, path, width, height, bytes, sha256, added_at, class_id, specimen) "
                "VALUES (?, ?, 96, 96, 20000, ?, 't', ?, ?)",
                [(i, f"pictures/slide{i // 500:04d}/cell{i:06d}.png", f"{i:064x}",
                  ids[i % 4] if i % 2 else None, f"slide{i // 500:04d}") for i in range(1, count + 1)])
            db.executemany("INSERT INTO labels(image_id, class_id, class_name, source, made_at) "
                           "VALUES (?, ?, 'x', 'imported', 't')", [(i, ids[i % 4]) for i in range(1, count + 1, 2)])
        run = project.begin_run({}, [(c, str(c)) for c in ids], [], [], {})
        rows = []
        for i in range(2, count + 1, 2):
            probs = sorted((rng.random() for _ in ids), reverse=True)
            total = sum(probs)
            rows.append((i, [(c, p / total) for c, p in zip(ids, probs, strict=False)], None))
        project.store_predictions(run, rows)


def timed(call):
    start = time.perf_counter()
    value = call()
    return value, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pictures", type=int, default=100_000)
    args = parser.parse_args()
    from resnet_gui.core.projects.project import Project
    from resnet_gui.core.projects.records import ProjectView

    figures = {"pictures": args.pictures}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "big"
        _, figures["build_s"] = timed(lambda: build(folder, args.pictures))
        project, figures["open_s"] = timed(lambda: Project.open(folder))
        _, figures["status_s"] = timed(lambda: project.status(check_files=False))
        review, figures["review_list_s"] = timed(lambda: project.pictures(ProjectView("review")))
        every, figures["all_list_s"] = timed(lambda: project.pictures(ProjectView("all")))
        _, figures["missing_check_s"] = timed(project.missing)
        project.close()
        figures["review_length"] = len(review)
        figures.update(window(folder))
    for key, value in figures.items():
        print(f"{key:>22}: {value:.3f}" if isinstance(value, float) else f"{key:>22}: {value}")
    print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in figures.items()}))


def window(folder: Path) -> dict:
    """The window: open the project (the list shown at once), then jump through the grid; the longest wait
    of the GUI thread is the stall a user would feel."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtWidgets import QApplication
    except ImportError:
        return {"window": "skipped (no PySide6)"}
    from resnet_gui.core.inference.options import RunOptions
    from resnet_gui.gui.project.panel import ProjectPanel

    app = QApplication.instance() or QApplication([])
    panel = ProjectPanel(RunOptions())
    panel.resize(1280, 800)
    panel.show()
    app.processEvents()
    start = time.perf_counter()
    panel.open_folder(str(folder))
    app.processEvents()
    opened = time.perf_counter() - start
    rows = panel.model.rowCount()
    stalls = []
    rng = random.Random(1)
    for _ in range(60):
        index = panel.model.index(rng.randrange(rows))
        tick = time.perf_counter()
        panel.grid.scrollTo(index)
        app.processEvents()
        stalls.append(time.perf_counter() - tick)
    for _ in range(60):  # and a steady scroll, page by page
        tick = time.perf_counter()
        bar = panel.grid.verticalScrollBar()
        bar.setValue(bar.value() + bar.pageStep())
        app.processEvents()
        stalls.append(time.perf_counter() - tick)
    panel.shutdown()
    print("slowest steps (ms):", [round(x * 1000) for x in sorted(stalls)[-5:]], "first five:",
          [round(x * 1000) for x in stalls[:5]])
    return {"window_open_s": opened, "grid_rows": rows, "longest_scroll_stall_ms": max(stalls) * 1000,
            "median_scroll_stall_ms": sorted(stalls)[len(stalls) // 2] * 1000}


if __name__ == "__main__":
    main()
    sys.stdout.flush()
    os._exit(0)  # Qt objects torn down during interpreter finalisation can crash PySide6 on exit
