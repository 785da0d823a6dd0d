import threading

import pytest
import torch

from resnet_gui.core.devices import policy_for, resolve_device
from resnet_gui.core.errors import DeviceError
from resnet_gui.core.images import discover, load_rgb
from resnet_gui.core.inference import Predictor
from resnet_gui.core.models import ModelBundle
from resnet_gui.core.transforms import eval_transform

from conftest import TINY, save_noise, tiny_model

CLASSES = ["a", "b", "c", "d", "e"]


def bundle(seed=0):
    return ModelBundle(tiny_model(len(CLASSES), seed=seed), "resnet18", CLASSES, TINY, True, "test")


def plain_probabilities(model, paths):
    """The tutorial way: one image at a time, PIL + transforms + one forward."""
    transform = eval_transform(TINY)
    with torch.no_grad():
        return torch.cat([torch.softmax(model(transform(load_rgb(p)).unsqueeze(0)), 1) for p in paths])


@pytest.mark.parametrize("workers", [0, 2])
def test_predictions_equal_a_plain_torchvision_forward(image_folder, workers):
    b = bundle()
    paths = discover([image_folder]).files
    good = [p for p in paths if p.suffix == ".png"]
    expected = plain_probabilities(b.model, good)
    predictor = Predictor(b, device="cpu", batch_size=2, num_workers=workers, top_k=5)
    results = predictor.predict_all(paths)
    assert [r.path for r in results] == [str(p) for p in paths]  # input order kept across batches
    by_path = {r.path: r for r in results}
    for row, path in enumerate(good):
        result = by_path[str(path)]
        assert result.error is None
        probs = torch.zeros(len(CLASSES))
        for guess in result.top_k:
            probs[guess.index] = guess.prob
            assert guess.label == CLASSES[guess.index]
        torch.testing.assert_close(probs, expected[row], atol=1e-5, rtol=1e-4)
        assert [g.prob for g in result.top_k] == sorted((g.prob for g in result.top_k), reverse=True)


def test_broken_file_becomes_an_error_row_and_the_batch_goes_on(image_folder):
    predictor = Predictor(bundle(), device="cpu", batch_size=4, top_k=2)
    results = predictor.predict_all(discover([image_folder]).files)
    broken = [r for r in results if r.path.endswith("broken.jpg")]
    assert len(broken) == 1 and broken[0].top_k == [] and "truncated" in broken[0].error
    assert sum(r.ok for r in results) == 5
    assert all(len(r.top_k) == 2 for r in results if r.ok)


def test_results_stream_one_batch_at_a_time_and_cancel_between_batches(tmp_path):
    paths = [save_noise(tmp_path / f"{i}.png", seed=i) for i in range(7)]
    predictor = Predictor(bundle(), device="cpu", batch_size=2)
    stop = threading.Event()
    batches = []
    for batch in predictor.predict(paths, cancelled=stop.is_set):
        batches.append(batch)
        stop.set()
    assert [len(b) for b in batches] == [2]
    assert [len(b) for b in predictor.predict(paths)] == [2, 2, 2, 1]


def test_top_k_is_clamped_to_the_class_count():
    assert Predictor(bundle(), device="cpu", top_k=50).top_k == len(CLASSES)


def test_empty_input_yields_nothing():
    assert Predictor(bundle(), device="cpu").predict_all([]) == []


def test_device_resolution_on_this_machine(monkeypatch):
    assert resolve_device("cpu") == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto").type in ("cpu", "mps")
    with pytest.raises(DeviceError, match="No CUDA GPU"):
        resolve_device("cuda:0")
    with pytest.raises(DeviceError, match="not a device"):
        resolve_device("gpu please")


def test_cuda_index_out_of_range_is_a_sentence(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(DeviceError, match="There is no GPU 3"):
        resolve_device("cuda:3")


def test_policies():
    cpu = policy_for(torch.device("cpu"))
    assert cpu.amp_dtype is None and cpu.channels_last and not cpu.pin_memory


def test_cuda_policy_uses_amp_channels_last_and_pinned_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    cuda = policy_for(torch.device("cuda", 0))
    assert (cuda.amp_dtype, cuda.channels_last, cuda.pin_memory) == (torch.bfloat16, True, True)
    assert policy_for(torch.device("cuda", 0), amp=False).amp_dtype is None


def test_thumbnails_are_made_while_decoding(image_folder):
    predictor = Predictor(bundle(), device="cpu", thumbnail_size=16)
    results = predictor.predict_all(discover([image_folder]).files)
    good = [r for r in results if r.ok]
    assert all(r.thumbnail.shape == (13, 16, 3) for r in good)  # 48x40 scaled to fit 16, aspect kept
    assert all(r.thumbnail is None for r in results if not r.ok)
    assert "thumbnail" not in good[0].to_dict()
