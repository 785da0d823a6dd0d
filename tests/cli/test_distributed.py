"""Beyond one process with PyTorch's own launcher: a tiny 2-process run on the CPU (gloo)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from resnet_gui.cli import main
from resnet_gui.core.runtime.distributed import World, world_from_environment
from tests.support import save_noise

ROOT = Path(__file__).resolve().parents[2]  # the project's folder


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
    # What a run of 3 processes leaves when it is killed: OUT.csv from an earlier stop, whole rows in two
    # parts, a row cut short in one. --resume with 2 processes finishes it: every file once, in order.
    header, *rows = (tmp_path / "one.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "three.csv").write_text(header + rows[0] + rows[1], encoding="utf-8")
    (tmp_path / "three.csv.part-0-of-3").write_text(header + rows[3], encoding="utf-8")
    (tmp_path / "three.csv.part-2-of-3").write_text(header + rows[7] + rows[8][:20], encoding="utf-8")
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m",
                "resnet_gui", "classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--json", "--workers", "0"]
    runs = [subprocess.Popen([*launcher, "--csv", str(tmp_path / name), *more], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=env)
            for name, more in (("two.csv", []), ("three.csv", ["--resume"]))]  # side by side: each starts torch
    (fresh_out, fresh_err), (resumed_out, resumed_err) = (run.communicate(timeout=300) for run in runs)

    assert runs[0].returncode == 0, fresh_err
    assert (tmp_path / "two.csv").read_text(encoding="utf-8") == (tmp_path / "one.csv").read_text(encoding="utf-8")
    two_json = [json.loads(line) for line in fresh_out.splitlines()]  # printed by one process only
    assert [r["path"] for r in two_json[:-1]] == [r["path"] for r in one_json[:-1]]
    assert [r["top_k"][0]["label"] for r in two_json[:-1]] == [r["top_k"][0]["label"] for r in one_json[:-1]]
    assert two_json[-1]["summary"]["processes"] == 2 and two_json[-1]["summary"]["files"] == 9
    assert not list(tmp_path.glob("two.csv.part-*"))  # the parts were merged and removed

    assert runs[1].returncode == 0, resumed_err
    assert "4 file(s) are in" in resumed_err and "5 to go" in resumed_err
    assert (tmp_path / "three.csv").read_text(encoding="utf-8") == (tmp_path / "one.csv").read_text(
        encoding="utf-8")
    resumed = [json.loads(line)["path"] for line in resumed_out.splitlines()[:-1]]
    assert resumed == [one_json[i]["path"] for i in (2, 4, 5, 6, 8)]  # only the files still to do
    assert not list(tmp_path.glob("three.csv.part-*"))


def test_one_process_resumes_what_several_left(tmp_path, tiny_checkpoint, capsys):
    folder = tmp_path / "imgs"
    for i in range(5):
        save_noise(folder / f"{i:02d}.png", seed=i)
    assert main(["classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--csv",
                 str(tmp_path / "one.csv")]) == 0
    header, *rows = (tmp_path / "one.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (tmp_path / "out.csv.part-1-of-2").write_text(header + rows[3] + rows[4], encoding="utf-8")
    (tmp_path / "out.csv.part-0-of-2").write_text(header + rows[0][:10], encoding="utf-8")  # cut short
    capsys.readouterr()
    assert main(["classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--csv", str(tmp_path / "out.csv"),
                 "--resume"]) == 0
    assert "2 file(s) are in" in capsys.readouterr().err
    merged, one = (tmp_path / "out.csv").read_text(), (tmp_path / "one.csv").read_text()
    assert sorted(merged.splitlines()) == sorted(one.splitlines())  # resumed rows are appended
    assert not list(tmp_path.glob("out.csv.part-*"))


def test_two_processes_train_one_model_that_scores_like_one_process(tmp_path, capsys):
    """train --nproc 2 (torch.distributed.run, gloo): one checkpoint, written once, that scores within a few
    points of a one-process run on the same data; and the run resumes with one process."""
    from resnet_gui.core.models.checkpoints import read_checkpoint
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "d", per_class=14)
    common = ["--weights", "none", "--image-size", "32", "--batch-size", "16", "--seed", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "XDG_STATE_HOME": str(tmp_path / "s")}
    two = subprocess.Popen([sys.executable, "-m", "resnet_gui", "train", str(data), "--epochs", "4", *common,
                            "--out", str(tmp_path / "two" / "m.pt"), "--keep-last", "--nproc", "2"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    # the one-process run trains here while the processes start torch
    assert main(["train", str(data), "--epochs", "4", *common, "--out", str(tmp_path / "one" / "m.pt")]) == 0
    two_out, two_err = two.communicate(timeout=300)
    assert two.returncode == 0, two_err
    assert two_err.count("Best checkpoint") == 1 and two_out.count("m.pt") == 1  # one process speaks
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["m.last.pt", "m.pt"]
    capsys.readouterr()
    scores = []
    for run in ("one", "two"):
        assert main(["evaluate", str(data), "--checkpoint", str(tmp_path / run / "m.pt"), "--json"]) == 0
        scores.append(json.loads(capsys.readouterr().out.splitlines()[-1])["accuracy"])
    assert abs(scores[0] - scores[1]) <= 0.15 and min(scores) >= 0.6, scores
    first_run = read_checkpoint(tmp_path / "two" / "m.pt").history
    assert main(["train", "--resume", str(tmp_path / "two" / "m.last.pt"), "--epochs", "5", "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [e["epoch"] for e in events if e["event"] == "epoch"] == [5]  # goes on after the 4 epochs of 2 processes
    assert read_checkpoint(tmp_path / "two" / "m.pt").history[: len(first_run)] == first_run


# The three failing runs below are started side by side, once, when the first of their tests asks: each spends
# seconds starting torch in three processes, mostly on one core at a time.
ERROR_IN_PROCESS_1 = """
import os
if os.environ.get("RANK") == "1":  # the test's fault, in process 1 only
    from resnet_gui.core.training import trainer as training
    from resnet_gui.core.errors import UserError

    def refuse(*args, **kwargs):
        raise UserError("Process 1 cannot read the pictures (the test made it so).")

    training.set_up = refuse
"""

KILL_PROCESS_1 = """
import os
import signal
if os.environ.get("RANK") == "1":  # the test's kill -9, in process 1 once its first epoch is saved
    from resnet_gui.core.training import saver as checkpoint_saver

    def then_killed(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGKILL)

    checkpoint_saver.CheckpointSaver.save_recovery = then_killed
"""


class FailingRun:
    """One `resnet-gui ... --nproc 2` process started now; `done()` waits for it (CompletedProcess-like)."""

    def __init__(self, folder: Path, arguments: list[str], hook: str | None = None):
        import time

        folder.mkdir(parents=True)
        paths = [str(ROOT)]
        if hook is not None:
            (folder / "hook").mkdir()
            (folder / "hook" / "sitecustomize.py").write_text(hook)
            paths.insert(0, str(folder / "hook"))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(paths), "OMP_NUM_THREADS": "1",
               "XDG_STATE_HOME": str(folder / "s")}
        self.folder, self.started = folder, time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "resnet_gui", *arguments], stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True, env=env)
        self.result = None

    def done(self) -> subprocess.CompletedProcess:
        import time

        if self.result is None:
            out, err = self.process.communicate(timeout=240)
            self.result = subprocess.CompletedProcess(self.process.args, self.process.returncode, out, err)
            self.seconds = time.perf_counter() - self.started
        return self.result

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


@pytest.fixture(scope="module")
def failing_runs(tmp_path_factory):
    from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
    from tests.support import COLOURS, TINY, make_shapes_dataset, tiny_model

    base = tmp_path_factory.mktemp("failing")
    data = make_shapes_dataset(base / "d", per_class=4)
    small = make_shapes_dataset(base / "d20", per_class=4, size=20)
    folder = base / "imgs"
    for i in range(4):
        save_noise(folder / f"{i:02d}.png", seed=i)
    (folder / "broken.png").write_bytes(b"not a picture")
    checkpoint = base / "tiny.pt"
    write_checkpoint(checkpoint, checkpoint_payload(model=tiny_model(), arch="resnet18", classes=list(COLOURS),
                                                    small_input=True, preprocessing=TINY))
    runs = {
        "error": FailingRun(base / "error", ["train", str(data), "--nproc", "2", "--weights", "none", "--image-size",
                                             "16", "--epochs", "1", "--out", str(base / "error" / "m.pt")],
                            ERROR_IN_PROCESS_1),
        "killed": FailingRun(base / "killed", ["train", str(small), "--nproc", "2", "--weights", "none",
                                               "--image-size", "16", "--epochs", "3", "--out",
                                               str(base / "killed" / "m.pt")], KILL_PROCESS_1),
        "unreadable": FailingRun(base / "unreadable", ["classify", str(folder), "--checkpoint", str(checkpoint),
                                                       "--nproc", "2", "--workers", "0", "--csv",
                                                       str(base / "unreadable" / "o.csv")]),
    }
    yield runs
    for run in runs.values():
        run.stop()


def test_an_error_in_one_process_stops_every_process_with_its_sentence(failing_runs):
    """train --nproc 2 where process 1 fails after joining the group: process 0 would wait for it in its
    first collective; the launcher stops it instead, and the user reads process 1's sentence, no traceback."""
    run = failing_runs["error"]
    done = run.done()
    assert done.returncode == 2, done.stderr
    assert run.seconds < 200  # stopped, not left waiting for the gloo timeout (30 min)
    assert "Process 1 cannot read the pictures" in done.stderr
    assert "process 1 of 2 stopped (exit status 2); the others were stopped with it" in done.stderr
    assert "Traceback" not in done.stderr and "ChildFailedError" not in done.stderr and "exitcode" not in done.stderr
    assert not (run.folder / "m.pt").exists()


def test_a_killed_process_is_named_and_the_others_stop_with_a_sentence(failing_runs):
    """train --nproc 2 where process 1 is killed (kill -9) after its first epoch: process 0 lost its peer
    mid-collective and ended in an 'unexpected error', exit 3, with a crash log. Now process 0 says it stops
    because another process ended, and the launcher names the killed one and how to go on."""
    run = failing_runs["killed"]
    done = run.done()
    assert done.returncode == 3, done.stderr
    assert "process 1 of 2 was killed (SIGKILL); the others were stopped with it" in done.stderr
    assert "resnet-gui train --resume" in done.stderr and "m.last.pt" in done.stderr
    assert "unexpected error" not in done.stderr and "Traceback" not in done.stderr
    assert not (run.folder / "s" / "resnet-gui" / "errors.log").exists()


def test_classify_nproc_with_an_unreadable_file_is_exit_1_without_the_launchers_report(failing_runs):
    """Some unreadable files are a normal outcome (exit 1): under torchrun it came with torchrun's
    ChildFailedError traceback. `classify --nproc 2` says it in the run's own words."""
    run = failing_runs["unreadable"]
    done = run.done()
    assert done.returncode == 1, done.stderr
    assert "4 of 5 image(s) classified by 2 processes" in done.stderr and "1 could not be read" in done.stderr
    assert "Traceback" not in done.stderr and "ChildFailedError" not in done.stderr and "stopped" not in done.stderr
    assert len((run.folder / "o.csv").read_text(encoding="utf-8-sig").splitlines()) == 6


def test_the_launcher_of_train_nproc_starts_torch_but_not_torchvision(tmp_path):
    """`train --nproc N` is a launcher: it needs torch.distributed.run, and leaves the models to its processes
    (torchvision costs it 1.3 s of start-up, most of it torch._dynamo)."""
    from tests.support import make_shapes_dataset

    data = make_shapes_dataset(tmp_path / "d", per_class=2, size=16)
    probe = ("import sys\n"
             "from resnet_gui.cli import training\n"
             "training.launch_processes = lambda *a, **k: print(sorted({'torch', 'torchvision'} & set(sys.modules)))"
             " or 0\n"
             "from resnet_gui.cli import main\n"
             f"sys.exit(main(['train', {str(data)!r}, '--nproc', '2', '--weights', 'none', '--out', "
             f"{str(tmp_path / 'm.pt')!r}]))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout  # nothing of torch yet: the launcher imports it itself


def test_sync_batchnorm_with_several_processes_on_gpus_and_a_sentence_on_cpus():
    import pytest
    import torch

    from resnet_gui.cli import build_parser
    from resnet_gui.cli.train_options import settings_from_args
    from resnet_gui.core.errors import UserError
    from resnet_gui.core.runtime.distributed import synchronised_batchnorm
    from tests.support import tiny_model

    model = tiny_model()
    assert synchronised_batchnorm(model, World(), torch.device("cpu")) is model  # one process: the whole batch
    converted = synchronised_batchnorm(tiny_model(), World(0, 2), torch.device("cuda", 0))
    norms = {type(m) for m in converted.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)}
    assert norms == {torch.nn.SyncBatchNorm}
    assert converted.state_dict().keys() == model.state_dict().keys()  # its checkpoints load as before
    with pytest.raises(UserError, match="--sync-bn needs GPUs"):
        synchronised_batchnorm(model, World(0, 2), torch.device("cpu"))
    args = build_parser().parse_args(["train", "data", "--sync-bn"])
    assert settings_from_args(args).sync_bn
    assert not settings_from_args(build_parser().parse_args(["train", "data"])).sync_bn
