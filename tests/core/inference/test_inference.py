import threading

import pytest
import torch

from resnet_gui.core.errors import DeviceError
from resnet_gui.core.images.files import discover, load_rgb
from resnet_gui.core.images.transforms import eval_transform
from resnet_gui.core.inference.predictor import Predictor
from resnet_gui.core.models.resnets import ModelBundle
from resnet_gui.core.runtime import devices
from resnet_gui.core.runtime.devices import cpu_has_native_bf16, policy_for, resolve_device
from tests.support import TINY, save_noise, tiny_model

CLASSES = ["a", "b", "c", "d", "e"]


def bundle(seed=0):
    return ModelBundle(tiny_model(len(CLASSES), seed=seed), "resnet18", CLASSES, TINY, True, "test")


def plain_probabilities(model, paths):
    """The tutorial way: one image at a time, PIL + transforms + one forward."""
    transform = eval_transform(TINY)
    with torch.no_grad():
        return torch.cat([torch.softmax(model(transform(load_rgb(p)).unsqueeze(0)), 1) for p in paths])


# Inline, in threads taking turns with the model (the CPU's way), and in worker processes running ahead
# (the GPU's way, exercised here on the CPU).
@pytest.mark.parametrize("workers, decode_ahead", [(0, False), (2, False), (2, True)])
def test_predictions_equal_a_plain_torchvision_forward(image_folder, workers, decode_ahead):
    b = bundle()
    paths = discover([image_folder]).files
    good = [p for p in paths if p.suffix == ".png"]
    expected = plain_probabilities(b.model, good)
    # Full precision: this checks decoding and preprocessing, which bfloat16 rounding would blur.
    predictor = Predictor(b, device="cpu", batch_size=2, num_workers=workers, top_k=5, amp=False,
                          decode_ahead=decode_ahead)
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
        # The decoder resamples just the crop box: inputs within 1/255 of torchvision's (test_transforms.py),
        # which moves these probabilities by about 1e-4; a wrong crop, size or normalisation moves them by far more.
        torch.testing.assert_close(probs, expected[row], atol=1e-3, rtol=0)
        assert [g.prob for g in result.top_k] == sorted((g.prob for g in result.top_k), reverse=True)


def test_on_a_cpu_decoding_threads_and_the_model_take_turns(tmp_path, monkeypatch):
    import multiprocessing
    import time

    from resnet_gui.core.inference import decoded_batches as inference

    paths = [save_noise(tmp_path / f"{i}.png", seed=i) for i in range(12)]
    events = []  # (what, thread name, start, end)
    load = inference.load_rgb

    def recording_load(path, **kwargs):
        started = time.perf_counter()
        image = load(path, **kwargs)
        time.sleep(0.002)  # long enough for overlaps to show, were there any
        events.append(("decode", threading.current_thread().name, started, time.perf_counter()))
        return image

    monkeypatch.setattr(inference, "load_rgb", recording_load)
    predictor = Predictor(bundle(), device="cpu", batch_size=4, num_workers=2)
    assert not predictor.decode_ahead
    outputs = predictor.outputs

    def recording_probabilities(images):
        started = time.perf_counter()
        result = outputs(images)
        events.append(("model", threading.current_thread().name, started, time.perf_counter()))
        return result

    predictor.outputs = recording_probabilities
    results = predictor.predict_all(paths)
    assert [r.path for r in results] == [str(p) for p in paths] and all(r.ok for r in results)
    decodes = [e for e in events if e[0] == "decode"]
    models = [e for e in events if e[0] == "model"]
    assert len(decodes) == 12 and len(models) == 3
    assert {name.split("_")[0] for _, name, _, _ in decodes} == {"resnet-gui-decode"}
    assert len({name for _, name, _, _ in decodes}) == 2  # both threads decoded
    for _, _, m_start, m_end in models:
        assert all(d_end <= m_start or d_start >= m_end for _, _, d_start, d_end in decodes)
    assert multiprocessing.active_children() == []


def test_beside_a_gpu_decoding_runs_ahead_in_worker_processes(monkeypatch):
    from resnet_gui.core.inference import predictor as inference

    monkeypatch.delenv("RESNET_GUI_WORKERS")
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", torch.backends.cudnn.benchmark)  # restored after
    monkeypatch.setattr(inference, "resolve_device", lambda spec: torch.device("cuda", 0))
    monkeypatch.setattr(inference, "policy_for",
                        lambda device, amp=True: devices.DevicePolicy(device, None, False, True))
    b = bundle()
    monkeypatch.setattr(b.model, "to", lambda *args, **kwargs: b.model)  # no CUDA here: the model stays put
    predictor = Predictor(b, device="cuda")
    assert predictor.decode_ahead and predictor.num_workers >= 2
    loader = predictor.batches([f"{i}.png" for i in range(100)])
    assert isinstance(loader, torch.utils.data.DataLoader)
    assert loader.pin_memory and loader.num_workers == predictor.num_workers and loader.prefetch_factor == 4


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


def test_cpu_policy_uses_bfloat16_only_where_the_processor_computes_it(monkeypatch):
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    cpu = policy_for(torch.device("cpu"))
    assert (cpu.amp_dtype, cpu.channels_last, cpu.pin_memory) == (torch.bfloat16, True, False)
    assert cpu.precision == "bfloat16"
    assert policy_for(torch.device("cpu"), amp=False).amp_dtype is None
    assert policy_for(torch.device("cpu"), amp=False).precision == "float32"
    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: False)  # emulated bf16 is slower than float32
    cpu = policy_for(torch.device("cpu"))
    assert (cpu.amp_dtype, cpu.channels_last, cpu.pin_memory) == (None, True, False)


@pytest.mark.parametrize("amx, avx512_bf16, expected",
                         [(True, False, True), (False, True, True), (False, False, False)])
def test_native_bf16_is_read_from_torchs_cpu_checks(monkeypatch, amx, avx512_bf16, expected):
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    assert cpu_has_native_bf16() is expected


def test_native_bf16_probe_that_is_missing_or_fails_means_float32(monkeypatch):
    def broken():
        raise RuntimeError("cpuinfo failed")

    monkeypatch.delattr(torch.cpu, "_is_amx_tile_supported", raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", broken, raising=False)
    assert cpu_has_native_bf16() is False
    assert policy_for(torch.device("cpu")).amp_dtype is None


def head_dtypes(model):
    """Record the dtype of every output of the classifier head: bfloat16 only under autocast."""
    seen = []
    model.fc.register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    return seen


def test_cuda_policy_uses_amp_channels_last_and_pinned_memory(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: True)
    cuda = policy_for(torch.device("cuda", 0))
    assert (cuda.amp_dtype, cuda.channels_last, cuda.pin_memory) == (torch.bfloat16, True, True)
    assert policy_for(torch.device("cuda", 0), amp=False).amp_dtype is None


def test_bfloat16_classification_agrees_with_float32_on_a_trained_model(colour_model, monkeypatch, tmp_path):
    from resnet_gui.core.models.resnets import load_checkpoint_bundle
    from tests.support import COLOURS, make_shapes_dataset

    monkeypatch.setattr(devices, "cpu_has_native_bf16", lambda: True)
    _, result = colour_model
    paths = discover([make_shapes_dataset(tmp_path / "fresh", per_class=4, seed=7)]).files
    full = Predictor(load_checkpoint_bundle(result.best_path), device="cpu", amp=False, top_k=3)
    fast_bundle = load_checkpoint_bundle(result.best_path)
    dtypes = head_dtypes(fast_bundle.model)
    fast = Predictor(fast_bundle, device="cpu", top_k=3)
    assert fast.policy.amp_dtype == torch.bfloat16
    expected, got = full.predict_all(paths), fast.predict_all(paths)
    assert dtypes and set(dtypes) == {torch.bfloat16}  # the forward really ran in bfloat16
    assert [p.best.label for p in got] == [p.best.label for p in expected]
    assert sum(p.best.label == p.path.split("/")[-2] for p in got) >= 0.8 * len(paths)
    for a, b in zip(got, expected, strict=False):
        probs_a = {g.label: g.prob for g in a.top_k}
        probs_b = {g.label: g.prob for g in b.top_k}
        assert set(probs_a) == set(COLOURS)
        assert max(abs(probs_a[k] - probs_b[k]) for k in probs_a) < 0.03


def test_thumbnails_are_made_while_decoding(image_folder):
    predictor = Predictor(bundle(), device="cpu", thumbnail_size=16)
    results = predictor.predict_all(discover([image_folder]).files)
    good = [r for r in results if r.ok]
    assert all(r.thumbnail.shape == (13, 16, 3) for r in good)  # 48x40 scaled to fit 16, aspect kept
    assert all(r.thumbnail is None for r in results if not r.ok)
    assert "thumbnail" not in good[0].to_dict()
