"""Benchmark 6: time from process start until the main window is shown, against a bare PySide6 window.

Each child prints the wall-clock time at which its window was shown; the
parent subtracts the time it launched the process. torch must not be on
this path (it loads in a worker thread after the window appears).

    python benchmarks/startup.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from common import machine, work_dir

BARE = """
import time
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication([])
window = QMainWindow(); window.resize(1280, 800); window.show(); app.processEvents()
print(time.time())
"""

APP = """
import sys, time
from resnet_gui.gui.app import make_application
from resnet_gui.gui.main_window import MainWindow
app = make_application()
window = MainWindow(); window.resize(1280, 800); window.show(); app.processEvents()
print(time.time())
print('torch imported before the window:', 'torch' in sys.modules, file=sys.stderr)
"""


def shown_after(code: str, env) -> float:
    started = time.time()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    if "True" in done.stderr:
        raise RuntimeError("torch was imported before the window was shown")
    return float(done.stdout.strip().splitlines()[0]) - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(work_dir("startup"))}
    bare = statistics.median(shown_after(BARE, env) for _ in range(args.repeat))
    app = statistics.median(shown_after(APP, env) for _ in range(args.repeat))
    print(f"machine: {machine()}")
    print(f"bare PySide6 window shown after {bare * 1000:6.0f} ms (median of {args.repeat})")
    print(f"resnet-gui window shown after   {app * 1000:6.0f} ms (median of {args.repeat})")
    print(f"ratio app/bare: {app / bare:.2f}x")


if __name__ == "__main__":
    main()
