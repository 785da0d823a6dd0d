"""Makes the README pictures: draws a small shapes dataset, trains on it from the window,
then classifies new pictures with the model it made. Headless (offscreen Qt).

    python docs/make_screenshots.py [--out docs] [--work /tmp/resnet-gui-docs]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("circle", "square", "triangle")
HUES = {"circle": (210, 60, 50), "square": (50, 90, 200), "triangle": (60, 170, 70)}  # a cue per class


def draw(shape: str, rng: np.random.Generator, size: int = 96) -> Image.Image:
    background = rng.integers(60, 200, 3)
    pixels = np.clip(rng.normal(background, 22, (size, size, 3)), 0, 255).astype(np.uint8)
    image = Image.fromarray(pixels)
    pen = ImageDraw.Draw(image)
    colour = tuple(int(np.clip(v + rng.normal(0, 25), 0, 255)) for v in HUES[shape])
    r = int(rng.integers(size // 5, size // 3))
    cx, cy = (int(v) for v in rng.integers(r + 2, size - r - 2, 2))
    if shape == "circle":
        pen.ellipse([cx - r, cy - r, cx + r, cy + r], fill=colour)
    elif shape == "square":
        pen.rectangle([cx - r, cy - r, cx + r, cy + r], fill=colour)
    else:
        pen.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=colour)
    return image


def make_dataset(root: Path, per_class: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for shape in SHAPES:
        (root / shape).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw(shape, rng).save(root / shape / f"{shape}_{i:03d}.png")


def scene(name: str, work: Path, out: Path) -> None:
    """Drive the window in this process (offscreen) for the pictures the command line cannot ask for."""
    from PySide6.QtCore import QTimer

    from resnet_gui.gui.app import make_application
    from resnet_gui.gui.main_window import MainWindow

    app = make_application()
    window = MainWindow(headless_errors=True)
    window.resize(1280, 800)
    window.show()
    window.start()
    panel = window.classify_panel

    def save(widget_name: str) -> None:
        QTimer.singleShot(400, lambda: (window.grab().save(str(out / widget_name)), app.quit()))

    def on_loaded(bundle) -> None:
        if name == "evaluate":
            window.tabs.setCurrentWidget(window.evaluate_panel)
            window.evaluate_panel.evaluated.connect(lambda report: (window.evaluate_panel.show_cell(0, 2),
                                                                     save("evaluate.png")))
            window.evaluate_panel.set_folder(str(work / "test"))
            window.evaluate_panel.evaluate()
        else:
            panel.all_done.connect(lambda: (panel.select_row(3), panel.explain_toggle.setChecked(True)))
            panel.explained.connect(lambda *_: save("explain.png"))
            window.classify_paths([str(work / "new pictures")])

    window.model_loaded.connect(on_loaded)
    window.use_checkpoint(str(work / "shapes-resnet18.pt"))
    app.exec()
    window.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scene", choices=("evaluate", "explain"), help=argparse.SUPPRESS)
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent))
    parser.add_argument("--work", default="/tmp/resnet-gui-docs")
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    work, out = Path(args.work), Path(args.out)
    if args.scene:
        scene(args.scene, work, out)
        return
    make_dataset(work / "shapes", per_class=50, seed=0)
    make_dataset(work / "test", per_class=20, seed=3)
    new = work / "new pictures"
    rng = np.random.default_rng(7)
    new.mkdir(parents=True, exist_ok=True)
    for i in range(14):
        draw(SHAPES[i % 3], rng).save(new / f"sample {i + 1:02d}.png")
    (new / "half-copied.jpg").write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(work / "config")}
    gui = [sys.executable, "-m", "resnet_gui", "gui"]
    # The first start offline: no ImageNet weights to download, nothing chosen yet (online, the
    # window would load ImageNet's ResNet-50 instead).
    subprocess.run([*gui, "--screenshot", str(out / "first_start.png")], check=True,
                   env={**env, "TORCH_HOME": str(work / "empty-torch-home")}, cwd=work)
    subprocess.run([*gui, "--train-dir", str(work / "shapes"), "--weights", "none", "--epochs", str(args.epochs),
                    "--image-size", "48", "--start-training", "--screenshot", str(out / "train.png")],
                   check=True, env=env, cwd=work)
    subprocess.run([*gui, str(new), "--checkpoint", str(work / "shapes-resnet18.pt"),
                    "--screenshot", str(out / "classify.png")], check=True, env=env, cwd=work)
    for name in ("evaluate", "explain"):
        subprocess.run([sys.executable, __file__, "--scene", name, "--work", str(work), "--out", str(out)],
                       check=True, env=env)
    print(f"wrote first_start.png, train.png, classify.png, evaluate.png and explain.png in {out}")


if __name__ == "__main__":
    main()
