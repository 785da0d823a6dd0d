"""Beyond one process with PyTorch's own launcher: a tiny 2-process run on the CPU (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from resnet_gui.cli import main
from resnet_gui.core.distributed import World, world_from_environment
from tests.support import save_noise

ROOT = Path(__file__).resolve().parent.parent


def test_the_world_comes_from_torchrun_or_slurm():
    assert world_from_environment({}) == World(0, 1, 0) and not World().is_distributed
    assert world_from_environment({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}) == World(3, 4, 1)
    assert world_from_environment({"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1"}) == World(5, 8, 1)


def test_shards_are_fixed_contiguous_and_cover_everything_once():
    items = list(range(11))
    shares = [World(r, 3).shard(items) for r in range(3)]
    assert [x for share in shares for x in share] == items and [len(s) for s in shares] == [3, 4, 4]


def test_two_processes_classify_row_for_row_as_one(tmp_path, tiny_checkpoint, capsys):
    folder = tmp_path / "imgs"
    for i in range(9):
        save_noise(folder / f"{i:02d}.png", seed=i)
    assert main(["classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(tmp_path / "one.csv"),
                 "--json"]) == 0
    one_json = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "XDG_STATE_HOME": str(tmp_path / "s")}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "resnet_gui",
         "classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(tmp_path / "two.csv"),
         "--json", "--workers", "0"],
        capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "two.csv").read_text(encoding="utf-8") == (tmp_path / "one.csv").read_text(encoding="utf-8")
    two_json = [json.loads(line) for line in done.stdout.splitlines()]  # printed by one process only
    assert [r["path"] for r in two_json[:-1]] == [r["path"] for r in one_json[:-1]]
    assert [r["top_k"][0]["label"] for r in two_json[:-1]] == [r["top_k"][0]["label"] for r in one_json[:-1]]
    assert two_json[-1]["summary"]["processes"] == 2 and two_json[-1]["summary"]["files"] == 9
