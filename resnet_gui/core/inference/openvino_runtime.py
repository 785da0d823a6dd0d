"""OpenVINO, Intel's runtime for CPUs (it also runs on AMD and ARM ones), as a second way to run a checkpoint's
forward pass: with OpenVINO's bfloat16 hint ResNet-18 ran 2.2x as fast as PyTorch's own bfloat16 path on one of
this project's 2-core machines (a Xeon with AMX) and 1.23x on another (an AMD EPYC without): benchmarks/RESULTS.md.

The network is converted from the loaded checkpoint in memory (`openvino.convert_model`) into a model that
answers the logits and the pooled features together (the familiarity check and the project's review need
both), saved under the cache folder by a hash of the weights and the input size, and compiled for the CPU
with OpenVINO's own compiled-blob cache: a second start converts and compiles nothing. PyTorch stays the
runtime for training, Grad-CAM and every device but the CPU.

OpenVINO is imported with its telemetry off (openvino_files.py). A checkpoint it runs is remembered for the
next start, which can then run it without importing torch (ready_start.py).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from resnet_gui.core.inference.openvino_files import (
    INT8_AGREEMENT,
    OPENVINO_EXTRA,
    compile_for_cpu,
    openvino_installed,
    quiet_openvino,
    runtime_cache_dir,
)
from resnet_gui.core.inference.options import RUNTIMES

BF16_AGREEMENT = 0.02  # bfloat16 answers: the same best class, probabilities within 2 points of float32's


def import_openvino():
    """openvino, with its telemetry off (openvino_files.quiet_openvino), in a process without a SIGCHLD handler."""
    _without_sigchld_handler()
    # converting a model imports torch.utils.cpp_extension, which warns on stderr that no CUDA runtime is
    # there: a machine without a GPU is expected, not something to warn a user of
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
    return quiet_openvino()


def _without_sigchld_handler() -> None:
    """With OpenVINO's threads running, a child process that ends while a Python-level SIGCHLD handler is set
    crashed the whole process (a segmentation fault, seen with the one torch's DataLoader installs in the main
    thread and leaves there after the loader ends, and with a handler that does nothing). So it is taken away,
    and torch is kept from setting it again; a DataLoader still notices a worker that died, by checking its
    workers whenever its queue is quiet. (The window's loaders run on worker threads, where torch sets none.)"""
    import signal
    import threading

    from torch.utils.data._utils import signal_handling

    signal_handling._SIGCHLD_handler_set = True  # noqa: SLF001 - torch's own switch for it
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGCHLD") \
            and callable(signal.getsignal(signal.SIGCHLD)):
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)


class LogitsAndPooled(nn.Module):
    """A torchvision ResNet's forward pass that also answers the pooled features (the input of `fc`)."""

    def __init__(self, resnet: nn.Module):
        super().__init__()
        self.net = resnet

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.net
        x = n.maxpool(n.relu(n.bn1(n.conv1(x))))
        x = n.layer4(n.layer3(n.layer2(n.layer1(x))))
        pooled = torch.flatten(n.avgpool(x), 1)
        return n.fc(pooled), pooled


def weights_key(model: nn.Module, image_size: int, precision: str) -> str:
    """What a converted model is cached under: the weights, the input size, the precision and OpenVINO's version."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    digest.update(f"{image_size}:{precision}:{import_openvino().__version__}".encode())
    return digest.hexdigest()[:24]


def cpu_precision(ov_core) -> str:
    """"bf16" where this CPU computes bfloat16 in hardware (OpenVINO says so), else "f32"."""
    capabilities = ov_core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bf16" if "BF16" in capabilities else "f32"


class OpenVinoForward:
    """`model` (a torchvision ResNet) compiled for the CPU: normalised float32 [N, 3, S, S] -> (logits,
    pooled features), float32 torch tensors. `precision`: "auto" (bfloat16 where the CPU has it), "f32"."""

    def __init__(self, model: nn.Module, image_size: int, cache_dir: str | os.PathLike, precision: str = "auto"):
        ov = import_openvino()
        self.core = ov.Core()
        self.precision = cpu_precision(self.core) if precision == "auto" else precision
        cache_dir = Path(cache_dir)
        self.key = key = weights_key(model, image_size, self.precision)
        self.cache_dir = cache_dir
        xml = cache_dir / f"{key}.xml"
        self.converted_now = not xml.exists()
        if self.converted_now:
            self._convert(ov, model, image_size, xml)
        self._compile(xml)

    @classmethod
    def from_int8_copy(cls, int8: dict, cache_dir: str | os.PathLike) -> "OpenVinoForward":
        """The quantized model an INT8 copy holds (core/packaging/int8.py), put in the cache by its content and
        compiled; its layers that stay float run in the precision the CPU has."""
        forward = cls.__new__(cls)
        forward.core = import_openvino().Core()
        forward.precision = "int8"
        forward.cache_dir = cache_dir = Path(cache_dir)
        forward.key = hashlib.sha256(int8["xml"] + int8["bin"]).hexdigest()[:24]
        xml = cache_dir / f"{forward.key}.int8.xml"
        forward.converted_now = not xml.exists()
        if forward.converted_now:
            _write_ir(int8["xml"], int8["bin"], xml)
        forward._compile(xml, cpu_precision(forward.core))
        return forward

    def _compile(self, xml: Path, precision: str | None = None) -> None:
        self.xml, self.compiled_precision = xml, precision or self.precision
        self.compiled = compile_for_cpu(self.core, xml, self.compiled_precision, self.cache_dir)
        self.request = self.compiled.create_infer_request()

    @staticmethod
    def _convert(ov, model: nn.Module, image_size: int, xml: Path) -> None:
        """Convert and save the model, whole or not at all: written in a folder of its own, moved into place
        .bin first, so that an .xml in the cache always has its weights beside it."""
        xml.parent.mkdir(parents=True, exist_ok=True)
        wrapped = LogitsAndPooled(model).eval()
        example = torch.zeros(1, 3, image_size, image_size)
        with torch.inference_mode():
            converted = ov.convert_model(wrapped, example_input=example, input=[(-1, 3, image_size, image_size)])
        work = Path(tempfile.mkdtemp(prefix=".converting-", dir=xml.parent))
        try:
            ov.save_model(converted, str(work / xml.name), compress_to_fp16=False)
            os.replace(work / xml.with_suffix(".bin").name, xml.with_suffix(".bin"))
            os.replace(work / xml.name, xml)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        outputs = self.request.infer({0: np.ascontiguousarray(x.detach().cpu().float().numpy())})
        logits, pooled = (torch.from_numpy(np.array(outputs[self.compiled.output(i)], dtype=np.float32))
                          for i in range(2))
        return logits, pooled


def _write_ir(xml_bytes: bytes, bin_bytes: bytes, xml: Path) -> None:
    """An IR into the cache, whole or not at all: the .bin first, so that an .xml always has its weights."""
    xml.parent.mkdir(parents=True, exist_ok=True)
    for data, path in ((bin_bytes, xml.with_suffix(".bin")), (xml_bytes, xml)):
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_bytes(data)
        os.replace(partial, path)


def agreement(forward, bundle, precision: str) -> tuple[bool, str]:
    """Whether `forward` answers the checkpoint's golden samples as it did when it was trained: the same best
    class for every sample, probabilities within the golden tolerance (float32) or BF16_AGREEMENT (bfloat16).
    Without golden samples (ImageNet weights, an older file), against PyTorch float32 on seeded pictures."""
    from resnet_gui.core.images.transforms import normalize_batch
    from resnet_gui.core.trust.golden import golden_tolerance

    golden = bundle.checkpoint.extra.get("golden") if bundle.checkpoint is not None else None
    prep = bundle.preprocessing
    if precision == "int8":  # an INT8 copy answers as it did when it was made, not as the float model does
        int8 = bundle.checkpoint.extra["int8"]
        if not golden or int8.get("golden_logits") is None:
            return False, "the copy holds no golden samples to check it with"
        x, expected_logits = normalize_batch(golden["inputs"], prep), int8["golden_logits"].float()
        tolerance = max(golden_tolerance(golden), INT8_AGREEMENT)
    elif golden:
        x, expected_logits = normalize_batch(golden["inputs"], prep), golden["logits"].float()
        tolerance = golden_tolerance(golden)
    else:
        inputs = torch.randint(0, 256, (8, 3, prep.image_size, prep.image_size),
                               generator=torch.Generator().manual_seed(0), dtype=torch.uint8)
        x = normalize_batch(inputs, prep)
        with torch.inference_mode():
            expected_logits = bundle.model.eval().cpu()(x).float()
        tolerance = 1e-4
    if precision == "bf16":
        tolerance = max(tolerance, BF16_AGREEMENT)
    logits, _ = forward(x)
    temperature = bundle.temperature
    now, expected = torch.softmax(logits / temperature, 1), torch.softmax(expected_logits / temperature, 1)
    difference = float((now - expected).abs().max())
    same_best = bool((now.argmax(1) == expected.argmax(1)).all())
    return same_best and difference <= tolerance, f"largest difference {difference:.1e} (allowed {tolerance:.0e})"


def checked_agreement(forward: OpenVinoForward, bundle) -> tuple[bool, str]:
    """`agreement`, worked out once per converted model (and checkpoint's samples) and kept beside it."""
    import json

    golden = bundle.checkpoint.extra.get("golden") if bundle.checkpoint is not None else None
    samples = hashlib.sha256(golden["logits"].float().numpy().tobytes()).hexdigest()[:12] if golden else "none"
    record = forward.cache_dir / f"{forward.key}.{samples}.agreement.json"
    try:
        known = json.loads(record.read_text(encoding="utf-8"))
        return bool(known["agrees"]), str(known["how"])
    except (OSError, ValueError, KeyError):
        pass
    agrees, how = agreement(forward, bundle, forward.precision)
    partial = record.with_name(f"{record.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps({"agrees": agrees, "how": how}), encoding="utf-8")
    os.replace(partial, record)
    return agrees, how


def choose_forward(bundle, device: torch.device, runtime: str, amp: bool) -> tuple[OpenVinoForward | None, str]:
    """The OpenVINO forward pass to classify with, or None for PyTorch's, and a sentence saying which ran and
    why. "auto": OpenVINO on a CPU when it is installed and agrees with the checkpoint; "openvino": the same,
    saying why not when it cannot; "torch": PyTorch."""
    if runtime not in RUNTIMES:
        raise ValueError(f"unknown runtime {runtime!r}")
    if runtime == "torch":
        return None, "PyTorch (chosen)"
    if device.type != "cpu":
        return None, f"PyTorch on {device.type.upper()} (OpenVINO runs on CPUs)"
    if not openvino_installed():
        if bundle.checkpoint is not None and bundle.checkpoint.extra.get("int8"):
            return None, f"PyTorch float32: an INT8 copy runs with OpenVINO, which is not installed ({OPENVINO_EXTRA})"
        why = f"OpenVINO is not installed ({OPENVINO_EXTRA} runs the model faster on a CPU)"
        return None, f"PyTorch: {why}"
    int8 = bundle.checkpoint.extra.get("int8") if bundle.checkpoint is not None else None
    if int8:
        return _int8_forward(bundle, int8)
    precision = "auto" if amp else "f32"
    try:
        forward = OpenVinoForward(bundle.model, bundle.preprocessing.image_size, runtime_cache_dir(), precision)
        agrees, how = checked_agreement(forward, bundle)
    except Exception as exc:  # noqa: BLE001 - a runtime that cannot run this model: PyTorch does, said once
        return None, f"PyTorch: OpenVINO could not run this model ({type(exc).__name__}: {exc})"
    if not agrees:
        return None, f"PyTorch: OpenVINO's answers differed from the checkpoint's ({how})"
    name = "bfloat16" if forward.precision == "bf16" else "float32"
    return forward, f"OpenVINO {name} on the CPU ({how} on the checkpoint's samples)"


def _int8_forward(bundle, int8: dict) -> tuple[OpenVinoForward | None, str]:
    """An INT8 copy's own model, after its golden check (run at every load: four pictures); its float weights
    in PyTorch where that cannot be."""
    try:
        forward = OpenVinoForward.from_int8_copy(int8, runtime_cache_dir())
        agrees, how = agreement(forward, bundle, "int8")
    except Exception as exc:  # noqa: BLE001 - a runtime that cannot run the copy: its float weights do, said once
        return None, f"PyTorch float32: OpenVINO could not run this INT8 copy ({type(exc).__name__}: {exc})"
    if not agrees:
        return None, f"PyTorch float32: the INT8 copy's answers to its golden samples moved ({how})"
    return forward, f"OpenVINO INT8 on the CPU ({how} on the copy's samples)"
