"""The seams: one atomic writer, one place for each rule, no import cycles. No Qt here."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from resnet_gui.core import atomic_write as aw
from resnet_gui.core.atomic_write import AtomicFile, atomic_path, atomic_write
from resnet_gui.core.errors import UserError
from resnet_gui.core.inference.options import RunOptions
from resnet_gui.core.inference.predictions import Guess, Prediction, is_unsure
from resnet_gui.core.models.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.core.models.files import last_path_for
from resnet_gui.core.training.saver import CheckpointSaver
from resnet_gui.core.training.schedules import make_scheduler, restore_scheduler
from resnet_gui.core.training.settings import TrainSettings, stem_for
from tests.support import TINY, make_shapes_dataset, tiny_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def umask_022():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".tmp")


# ---------------------------------------------------------------- the atomic writer
def test_atomic_write_gives_the_umask_mode_not_mkstemps_0600(tmp_path, umask_022):
    with atomic_write(tmp_path / "a.txt", "w", encoding="utf-8") as stream:
        stream.write("hello")
    assert (tmp_path / "a.txt").read_text(encoding="utf-8") == "hello"
    assert mode(tmp_path / "a.txt") == 0o644
    os.umask(0o077)
    with atomic_write(tmp_path / "private.bin") as stream:
        stream.write(b"x")
    assert mode(tmp_path / "private.bin") == 0o600
    assert leftovers(tmp_path) == []


def test_a_failed_write_keeps_the_old_file_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "model.pt"
    target.write_bytes(b"the good model")
    with pytest.raises(ZeroDivisionError):
        with atomic_write(target) as stream:
            stream.write(b"half a mod")
            raise ZeroDivisionError("the writer failed half-way")
    assert target.read_bytes() == b"the good model"
    assert leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(tmp_path / "export.onnx") as temporary:
            temporary.write_bytes(b"partial")
            raise KeyboardInterrupt
    assert not (tmp_path / "export.onnx").exists() and leftovers(tmp_path) == []


def test_atomic_file_commit_and_abort(tmp_path):
    kept = AtomicFile(tmp_path / "kept.csv", "w", encoding="utf-8")
    kept.stream.write("a,b\n")
    assert not (tmp_path / "kept.csv").exists()  # nothing visible until commit
    kept.commit()
    dropped = AtomicFile(tmp_path / "dropped.csv", "w", encoding="utf-8")
    dropped.stream.write("x")
    dropped.abort()
    assert (tmp_path / "kept.csv").read_text(encoding="utf-8") == "a,b\n"
    assert not (tmp_path / "dropped.csv").exists() and leftovers(tmp_path) == []


def test_every_file_the_app_writes_gets_the_umask_mode(tmp_path, umask_022, tiny_checkpoint, image_folder):
    """Checkpoints, result CSVs, the HTML report, exports and their sidecars, Grad-CAM pictures."""
    from resnet_gui.cli import main

    out = tmp_path / "out"
    checkpoint = write_checkpoint(out / "model.pt", checkpoint_payload(
        model=tiny_model(), arch="resnet18", classes=["red", "green", "blue"], small_input=True, preprocessing=TINY))
    assert main(["classify", str(image_folder), "--checkpoint", str(checkpoint), "--csv", str(out / "r.csv"),
                 "--json"]) == 1  # one broken file in the folder
    assert main(["export", str(checkpoint), "--format", "torchscript", "--out", str(out / "m.ts")]) == 0
    picture = next(image_folder.glob("*.png"))
    assert main(["explain", str(picture), "--checkpoint", str(checkpoint), "--out", str(out / "cam.png")]) == 0
    data = make_shapes_dataset(tmp_path / "shapes", per_class=2)
    assert main(["evaluate", str(data), "--checkpoint", str(checkpoint), "--report", str(out / "report")]) == 0
    written = ["model.pt", "r.csv", "m.ts", "m.ts.json", "cam.png", "report/index.html"]
    assert {name: oct(mode(out / name)) for name in written} == {name: "0o644" for name in written}
    assert leftovers(out) == [] and leftovers(out / "report") == []


def test_only_the_atomic_writer_makes_temporary_files():
    makers = [p for p in (ROOT / "resnet_gui").rglob("*.py")
              if "mkstemp" in p.read_text(encoding="utf-8") or "NamedTemporaryFile" in p.read_text(encoding="utf-8")]
    assert makers == [Path(aw.__file__)]


def test_explain_refuses_an_unknown_picture_format_before_writing(tmp_path, tiny_checkpoint, image_folder, capsys):
    from resnet_gui.cli import main

    picture = next(image_folder.glob("*.png"))
    assert main(["explain", str(picture), "--checkpoint", str(tiny_checkpoint), "--out", str(tmp_path / "x.xyz")]) == 2
    assert "x.xyz" in capsys.readouterr().err and not (tmp_path / "x.xyz").exists()


# ---------------------------------------------------------------- one rule, one place
def test_the_unsure_rule():
    assert is_unsure(0.5, 0.8) and not is_unsure(0.9, 0.8) and not is_unsure(0.1, None)
    unsure = Prediction("a.png", [Guess("cat", 0, 0.5)], None, True)
    assert unsure.verdict == "unsure" and Prediction("b.png", [Guess("cat", 0, 0.9)]).verdict == "cat"


def test_the_stem_follows_the_input_size_as_documented():
    # the cheapest stem that leaves the first residual stage at least 16 px (settings.stem_for)
    assert [stem_for(px) for px in (16, 31, 32, 48, 63, 64, 96, 224)] == \
        ["small", "small", "pooled", "pooled", "pooled", "imagenet", "imagenet", "imagenet"]


def test_the_command_line_defaults_are_train_settings_defaults():
    from resnet_gui.cli import build_parser
    from resnet_gui.cli.train_options import settings_from_args

    args = build_parser().parse_args(["train", "data"])
    from_cli = settings_from_args(args).to_dict()
    defaults = TrainSettings(data_dir="data").to_dict()
    assert from_cli == defaults
    # `project train` shares the options: the same recipe, only the pictures come from the project
    project = settings_from_args(build_parser().parse_args(["project", "train", "proj"])).to_dict()
    recipe = {k: v for k, v in defaults.items() if k not in ("data_dir",)}
    assert {k: v for k, v in project.items() if k != "data_dir"} == recipe
    # the recipe chosen in benchmarks/train_vs_fastai.py, shown by both front ends from this one place
    assert (defaults["schedule"], defaults["crop_scale"], defaults["augment"]) == ("onecycle", 0.75, ["hflip"])
    assert not defaults["find_lr"] and defaults["lr"] == 1e-3


def test_run_options_emit_only_real_changes():
    options = RunOptions(top_k=5)
    seen = []
    stop = options.observe(lambda name, value: seen.append((name, value)))
    options.top_k = 5
    options.top_k = 3
    options.unsure_below = 0  # 0 means off, as None does
    options.unsure_below = 0.8
    options.amp = False
    stop()
    options.device = "cpu"
    assert seen == [("top_k", 3), ("unsure_below", 0.8), ("amp", False)]
    with pytest.raises(AttributeError):
        options.batch_size = 4  # not an option: a typo must not pass silently


# ---------------------------------------------------------------- schedules and the checkpoint policy
def rates_over(schedule: str, epochs: int, steps_per_epoch: int, lr: float = 1.0):
    """The rate of every step of a run, and the optimizer after it."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make_scheduler(schedule, optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch)
    rates = []
    for _ in range(epochs * steps_per_epoch):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates, optimizer


def test_cosine_schedule_warms_up_then_decays_to_a_hundredth():
    rates, optimizer = rates_over("cosine", epochs=10, steps_per_epoch=5)
    assert rates[0] == pytest.approx(1 / 6)  # warm-up over the first epoch
    assert rates[4] == pytest.approx(5 / 6) and rates[5] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(rates[5:], rates[6:], strict=False))  # then only down
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.01)


def test_step_and_constant_schedules():
    rates, _ = rates_over("step", epochs=6, steps_per_epoch=2)
    assert rates == pytest.approx([1.0] * 4 + [0.1] * 4 + [0.01] * 4)
    rates, optimizer = rates_over("constant", epochs=3, steps_per_epoch=4, lr=0.5)
    assert rates == [0.5] * 12 and optimizer.param_groups[0]["lr"] == 0.5


def test_a_scheduler_state_from_an_older_app_is_replayed():
    """Older .last.pt files hold a LambdaLR state; resuming them lands on the same rate."""
    def fresh():
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        return optimizer, make_scheduler("cosine", optimizer, epochs=4, steps_per_epoch=5)

    optimizer, scheduler = fresh()
    for _ in range(10):
        optimizer.step()
        scheduler.step()
    old_lambda_state = {"base_lrs": [1.0], "last_epoch": 10, "_step_count": 11, "lr_lambdas": [None]}
    resumed_optimizer, resumed = fresh()
    restore_scheduler(resumed, old_lambda_state, steps_done=10)
    assert resumed_optimizer.param_groups[0]["lr"] == pytest.approx(optimizer.param_groups[0]["lr"])
    again_optimizer, again = fresh()
    restore_scheduler(again, scheduler.state_dict(), steps_done=0)  # today's own state loads as it is
    assert again.last_epoch == scheduler.last_epoch


def test_checkpoint_saver_keeps_the_best_and_writes_the_last_state(tmp_path):
    model = tiny_model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = make_scheduler("constant", optimizer, 3, 1)
    saver = CheckpointSaver(tmp_path / "m.pt")
    fields = dict(arch="resnet18", classes=["a", "b", "c"], small_input=True, preprocessing=TINY)
    assert saver.save_checkpoint(fields, model, accuracy=0.5, loss=1.0)
    assert not saver.save_checkpoint(fields, model, accuracy=0.5, loss=1.2)  # same accuracy, worse loss
    assert saver.save_checkpoint(fields, model, accuracy=0.5, loss=0.9)  # same accuracy, better loss
    assert saver.since_best == 0 and saver.best_path == tmp_path / "m.pt"
    saver.save_recovery(fields, model, 1, optimizer, scheduler)  # every epoch end
    from resnet_gui.core.models.checkpoints import read_checkpoint

    resume = read_checkpoint(last_path_for(tmp_path / "m.pt")).extra["resume"]
    assert resume["epoch"] == 1 and resume["best_val_acc"] == 0.5 and resume["best_val_loss"] == 0.9
    again = CheckpointSaver(tmp_path / "m.pt", resuming=True)
    assert again.restore(resume) == 2 and again.best_path == tmp_path / "m.pt"
    assert not again.is_improvement(0.5, 0.95) and again.is_improvement(0.6, 2.0)
    assert again.best_epoch().fields["classes"] == ["a", "b", "c"]  # read back from the file


# ---------------------------------------------------------------- structure
def test_every_package_is_installed():
    """pyproject lists the packages a wheel holds: a package left out (the core's subpackages once were) is
    missing from every install that is not editable, and the app does not start."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "resnet_gui").rglob("__init__.py")}
    assert found - listed == set() and listed - found == {"resnet_gui.resources"}


def test_import_linter_fails_on_a_cycle(tmp_path):
    """The contract is real: a copy of the package with one import added back from core to the cli breaks it."""
    shutil.copytree(ROOT / "resnet_gui", tmp_path / "resnet_gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    lint = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())"]
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    kept = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    common = tmp_path / "resnet_gui" / "cli" / "common.py"
    cycle = "\n\ndef _cycle():\n    from resnet_gui.cli import classify\n"
    common.write_text(common.read_text(encoding="utf-8") + cycle, encoding="utf-8")
    broken = subprocess.run(lint, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert broken.returncode != 0 and "No import cycles" in broken.stdout


def test_json_of_training_settings_round_trips():
    settings = TrainSettings(data_dir="d", augment=["hflip"], image_size=48)
    assert TrainSettings.from_dict(json.loads(json.dumps(settings.to_dict()))) == settings


def test_user_errors_are_user_errors():
    with pytest.raises(UserError, match="optimizer"):
        TrainSettings(optimizer="lbfgs").validate()


def test_no_class_over_300_lines_and_no_module_over_450():
    """The house keeps its rooms small (issue 24): a class past 300 lines or a module past 450 is split by job."""
    import ast

    too_long = []
    for path in sorted((ROOT / "resnet_gui").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 450:
            too_long.append(f"{path.relative_to(ROOT)}: {len(text.splitlines())} lines")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef) and node.end_lineno - node.lineno + 1 > 300:
                too_long.append(f"{path.relative_to(ROOT)}:{node.name}: {node.end_lineno - node.lineno + 1} lines")
    assert not too_long, too_long
