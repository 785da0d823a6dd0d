"""glibc keeps tensor memory between batches; it goes back to the system when a run ends."""

import os
import platform
import subprocess
import sys

import pytest

from resnet_gui.core.images.files import discover
from resnet_gui.core.inference import predictor as inference
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.runtime import allocator
from resnet_gui.core.training import trainer as training
from resnet_gui.core.training.trainer import Trainer
from tests.support import make_shapes_dataset


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, parameter, value):
        self.calls.append(("mallopt", parameter, value))
        return 1

    def malloc_trim(self, pad):
        self.calls.append(("malloc_trim", pad))
        return 1


@pytest.fixture
def fake_libc(monkeypatch):
    libc = FakeLibc()
    monkeypatch.setattr(allocator, "_glibc", lambda: libc)
    monkeypatch.setattr(allocator, "_applied", False)
    monkeypatch.setattr(allocator, "_libc", None)
    for name in allocator.USER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    return libc


def test_keep_freed_memory_sets_glibcs_thresholds_once(fake_libc):
    assert allocator.keep_freed_memory() is True
    assert allocator.keep_freed_memory() is True
    assert fake_libc.calls == [
        ("mallopt", allocator.M_MMAP_THRESHOLD, 32 << 20),
        ("mallopt", allocator.M_TOP_PAD, 256 << 20),
        ("mallopt", allocator.M_TRIM_THRESHOLD, 1 << 30),
    ]
    allocator.release_freed_memory()
    assert fake_libc.calls[-1] == ("malloc_trim", 0)


@pytest.mark.parametrize("name", ["GLIBC_TUNABLES", "MALLOC_TRIM_THRESHOLD_", "LD_PRELOAD"])
def test_the_users_own_allocator_settings_are_left_alone(fake_libc, monkeypatch, name):
    monkeypatch.setenv(name, "glibc.malloc.trim_threshold=0" if name == "GLIBC_TUNABLES" else "1")
    assert allocator.keep_freed_memory() is False
    allocator.release_freed_memory()
    assert fake_libc.calls == []


def test_nothing_happens_where_the_c_library_is_not_glibc(monkeypatch):
    monkeypatch.setattr(allocator, "_glibc", lambda: None)
    monkeypatch.setattr(allocator, "_applied", False)
    monkeypatch.setattr(allocator, "_libc", None)
    assert allocator.keep_freed_memory() is False
    allocator.release_freed_memory()  # must not fail


PROBE = """
import resource, sys, torch, torchvision
torch.set_num_threads(1)  # the two probes run side by side
if sys.argv[1] == "keep":
    from resnet_gui.core.runtime.allocator import keep_freed_memory
    assert keep_freed_memory()
torch.manual_seed(0)
model = torchvision.models.resnet18(num_classes=3).eval()
x = torch.randn(8, 3, 224, 224)
def forward():
    with torch.inference_mode():
        return model(x)
for _ in range(2):
    forward()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(3):
    forward()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) // 3)
"""


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_forward_passes_stop_page_faulting_their_activations_in():
    env = {k: v for k, v in os.environ.items() if k not in allocator.USER_SETTINGS}
    probes = {mode: subprocess.Popen([sys.executable, "-c", PROBE, mode], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env) for mode in ("default", "keep")}
    faults = {}
    for mode, probe in probes.items():
        out, err = probe.communicate(timeout=300)
        assert probe.returncode == 0, err
        faults[mode] = int(out.split()[-1])
    default, kept = faults["default"], faults["keep"]
    # Measured here: about 17,000 minor faults per forward by default (70 MB faulted in again), 0 when kept.
    assert default > 2000 and kept < default / 10, (default, kept)


def test_the_command_line_keeps_freed_memory(monkeypatch, capsys, tiny_checkpoint):
    from resnet_gui.cli import main

    applied = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda: applied.append(True) or True)
    assert main(["info", str(tiny_checkpoint)]) == 0
    assert applied == [True]


def test_classification_and_training_give_the_memory_back_when_they_end(monkeypatch, tmp_path, tiny_checkpoint):
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from resnet_gui.core.training.settings import TrainSettings

    released = []
    monkeypatch.setattr(inference, "release_freed_memory", lambda: released.append("classify"))
    monkeypatch.setattr(training, "release_freed_memory", lambda: released.append("train"))
    data = make_shapes_dataset(tmp_path / "shapes", per_class=3)
    paths = discover([data]).files
    predictor = Predictor(load_checkpoint_bundle(tiny_checkpoint), device="cpu", batch_size=4)
    assert len(predictor.predict_all(paths)) == 9
    assert released == ["classify"]
    stream = predictor.predict(paths)
    next(stream)
    stream.close()  # a classification stopped part-way (Cancel) gives it back too
    assert released == ["classify", "classify"]
    Trainer(TrainSettings(data_dir=str(data), weights="none", small_input=True, image_size=32, epochs=1,
                          batch_size=4, out=str(tmp_path / "m.pt"))).run()
    assert released[-1] == "train"
