"""Choosing the device, and what each device gets: AMP, memory format, pinned memory, threads."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from resnet_gui.core.errors import DeviceError
from resnet_gui.core.runtime.cores import usable_cores, workers_override


def available_devices() -> list[tuple[str, str]]:
    """(spec, human name) for every device present, 'auto' and 'cpu' first."""
    devices = [("auto", "Auto"), ("cpu", "CPU")]
    if torch.cuda.is_available():
        for index in range(torch.cuda.device_count()):
            devices.append((f"cuda:{index}", f"GPU {index}: {torch.cuda.get_device_name(index)}"))
    if _mps_available():
        devices.append(("mps", "Apple GPU (MPS)"))
    return devices


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend and backend.is_available())


def resolve_device(spec: str | None = "auto") -> torch.device:
    """'auto' -> CUDA, then MPS, then CPU; an explicit device must be present."""
    spec = (spec or "auto").strip().lower()
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec)
    except RuntimeError:
        raise DeviceError(f"'{spec}' is not a device. Use auto, cpu, cuda, cuda:N or mps.") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise DeviceError("No CUDA GPU is available on this computer. Use --device cpu or auto.",
                              in_window="No CUDA GPU is available on this computer. Choose Auto or the CPU as "
                                        "the device.")
        index = device.index if device.index is not None else torch.cuda.current_device()
        if index >= torch.cuda.device_count():
            raise DeviceError(
                f"There is no GPU {index}; this computer has {torch.cuda.device_count()}. Use cuda:0 or auto."
            )
        return torch.device("cuda", index)
    if device.type == "mps" and not _mps_available():
        raise DeviceError("Apple's MPS backend is not available here. Use --device cpu or auto.",
                          in_window="Apple's MPS backend is not available here. Choose Auto or the CPU as the device.")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DeviceError(f"'{spec}' is not supported. Use auto, cpu, cuda, cuda:N or mps.")
    return device


@dataclass(frozen=True)
class DevicePolicy:
    """The speed settings that suit one device."""

    device: torch.device
    amp_dtype: torch.dtype | None  # autocast dtype, None for full float32
    channels_last: bool
    pin_memory: bool

    @property
    def is_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def precision(self) -> str:
        """What the network computes in: "bfloat16", "float16" or "float32"."""
        return str(self.amp_dtype).removeprefix("torch.") if self.amp_dtype is not None else "float32"

    def autocast(self):
        if self.amp_dtype is None:
            return torch.autocast(self.device.type, enabled=False)
        return torch.autocast(self.device.type, dtype=self.amp_dtype)


def cpu_has_native_bf16() -> bool:
    """True where the processor computes bfloat16 in hardware (AVX512-BF16 or AMX).

    Elsewhere oneDNN emulates bfloat16 and autocast runs slower than float32.
    torch exposes the check only privately (its compiler uses it), so a torch
    without it counts as "no".
    """
    for probe in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"):
        check = getattr(torch.cpu, probe, None)
        try:
            if check is not None and check():
                return True
        except Exception:  # noqa: BLE001 - a probe that fails says nothing about the hardware
            continue
    return False


def policy_for(device: torch.device, amp: bool = True) -> DevicePolicy:
    if device.type == "cuda":
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return DevicePolicy(device, dtype if amp else None, channels_last=True, pin_memory=True)
    if device.type == "mps":
        return DevicePolicy(device, torch.float16 if amp else None, channels_last=False, pin_memory=False)
    # CPU: channels_last always, because oneDNN's NHWC convolutions are faster (ResNet-18 at 224 px:
    # inference 114 vs 80 images/s, training 31 vs 26, on 2 Zen 5 cores). bfloat16 autocast only where
    # the processor has it in hardware, where it doubled both again (230 and 63 images/s); emulated,
    # it is slower than float32.
    dtype = torch.bfloat16 if amp and cpu_has_native_bf16() else None
    return DevicePolicy(device, dtype, channels_last=True, pin_memory=False)


def default_num_workers(device: torch.device) -> int:
    """Decoding processes that run ahead of the model: beside a GPU as many as the cores allow;
    on a CPU (training from files that are not cached) two, or a quarter of the cores.

    RESNET_GUI_WORKERS overrides the choice.
    """
    override = workers_override()
    if override is not None:
        return override
    cores = usable_cores()
    if device.type == "cuda":
        return max(2, min(16, cores - 1))
    return min(cores, max(2, cores // 4))


def default_decode_threads() -> int:
    """Decoding threads on a CPU, which take turns with the model: as many as torch computes with.

    RESNET_GUI_WORKERS overrides the choice.
    """
    override = workers_override()
    return override if override is not None else max(1, torch.get_num_threads())
