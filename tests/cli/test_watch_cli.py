"""`resnet-gui watch`: what a user types, what it prints, and stopping it the ways a user does (Ctrl+C, kill -9)."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.cli.test_hostile import cli_env, run_cli
from tests.support import save_noise


def csv_paths(path: Path) -> list[str]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [row[0] for row in list(csv.reader(handle))[1:]]


def test_watch_classifies_what_is_there_sorts_it_and_stops_when_idle(capsys, tmp_path, tiny_checkpoint, image_folder):
    out = tmp_path / "sorted"
    code, stdout, err = run_cli(capsys, "watch", image_folder, "--checkpoint", tiny_checkpoint, "--csv",
                                tmp_path / "rows.csv", "--sort-into", out, "--json", "--settle", "0.3",
                                "--stop-after-idle", "0.5")
    assert code == 1  # broken.jpg could not be read: its row says so, as classify's does
    rows = [json.loads(line) for line in stdout.splitlines()]
    assert len(rows) == 4  # the three pictures and the broken file; not the subfolder (no --recursive)
    sorted_rows = [r for r in rows if "sorted_to" in r]
    assert len(sorted_rows) == 3 and all(Path(r["sorted_to"]).exists() for r in sorted_rows)
    assert all(Path(r["path"]).exists() for r in rows)  # copied, not moved
    assert "watching" in err and "3 picture(s)" not in err and "4 picture(s) classified while watching" in err
    assert "could not be read" in err and "Traceback" not in err
    assert len(csv_paths(tmp_path / "rows.csv")) == 4


def test_watch_says_what_is_missing_in_a_sentence(capsys, tmp_path, tiny_checkpoint, image_folder):
    code, _, err = run_cli(capsys, "watch", image_folder, "--checkpoint", tiny_checkpoint)
    assert code == 2 and "--csv OUT.csv" in err and "--sort-into OUT" in err
    code, _, err = run_cli(capsys, "watch", image_folder, "--checkpoint", tiny_checkpoint, "--csv", tmp_path / "o.csv",
                           "--move")
    assert code == 2 and "--move moves the pictures" in err
    code, _, err = run_cli(capsys, "watch", tmp_path / "nowhere", "--checkpoint", tiny_checkpoint, "--csv",
                           tmp_path / "o.csv")
    assert code == 2 and "does not exist" in err
    code, _, err = run_cli(capsys, "watch", image_folder, "--checkpoint", tiny_checkpoint, "--csv", "o.csv",
                           "--settle", "0")
    assert code == 2 and "seconds above 0" in err


def start_watch(tmp_path, folder, checkpoint, rows):
    command = [sys.executable, "-m", "resnet_gui", "watch", str(folder), "--checkpoint", str(checkpoint), "--csv",
               str(rows), "--settle", "0.3", "--batch-size", "2"]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=cli_env(tmp_path))


def first_rows(process, count: int) -> list[str]:
    lines = []
    for line in process.stdout:
        lines.append(line)
        if len(lines) == count:
            return lines
    raise AssertionError(f"the watch ended before {count} rows: {process.stderr.read()}")


def test_ctrl_c_stops_cleanly_kill_9_loses_nothing_and_every_picture_is_classified_once(capsys, tmp_path,
                                                                                         tiny_checkpoint, monkeypatch):
    folder, rows = tmp_path / "incoming", tmp_path / "rows.csv"
    for i in range(4):
        save_noise(folder / f"a {i}.png", seed=i)
    # Ctrl+C as the first batch is recorded: it stops after that batch, says what it did and exits 0
    from resnet_gui.core.live.watched_folder import WatchedFolderClassification

    classify = WatchedFolderClassification._classify

    def then_ctrl_c(self, paths):
        recorded = classify(self, paths)
        os.kill(os.getpid(), signal.SIGINT)
        return recorded

    with monkeypatch.context() as patched:  # not monkeypatch.undo(): it would undo conftest's folders too
        patched.setattr(WatchedFolderClassification, "_classify", then_ctrl_c)
        code, stdout, err = run_cli(capsys, "watch", folder, "--checkpoint", tiny_checkpoint, "--csv", rows,
                                    "--settle", "0.3")
    assert code == 0 and "4 picture(s) classified while watching" in err and "Traceback" not in err
    assert sorted(Path(p).name for p in csv_paths(rows)) == [f"a {i}.png" for i in range(4)]

    for i in range(6):
        save_noise(folder / f"b {i}.png", seed=10 + i)
    process = start_watch(tmp_path, folder, tiny_checkpoint, rows)
    first_rows(process, 2)  # its first batch of two is on disk
    process.send_signal(signal.SIGKILL)
    process.wait(30)
    time.sleep(0.1)
    save_noise(folder / "c.png", seed=30)
    code, stdout, err = run_cli(capsys, "watch", folder, "--checkpoint", tiny_checkpoint, "--csv", rows, "--settle",
                                "0.3", "--stop-after-idle", "0.5")
    assert code == 0 and "are in" in err
    paths = csv_paths(rows)
    assert len(paths) == len(set(paths)) == 11  # every picture once, none twice, none lost
