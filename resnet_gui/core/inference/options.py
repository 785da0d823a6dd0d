"""How the app runs models: `PredictOptions`, everything a Predictor is built from (every front end builds
one: the command line from its arguments, the window from its `RunOptions`), and `RunOptions`, the window's
choices right now (device, precision, top-k, the "unsure" threshold, test-time augmentation).

`RunOptions` is one small Qt-free object that emits on change (napari's evented models are the idea): the
window keeps one, every panel reads it when it starts work and observes it to redraw, and each control that
edits a field writes it here. No panel holds its own copy of any of these.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resnet_gui.core.inference.tta import MODES as TTA_MODES

Observer = Callable[[str, Any], None]


@dataclass(frozen=True)
class PredictOptions:
    """How a Predictor (core/inference/predictor.py) runs.

    `num_workers`: decoders (threads on a CPU, processes beside a GPU; 0 decodes inline; None: as the
    machine suits). `decode_ahead`: decode in worker processes while the model runs (None: beside a GPU,
    not on a CPU, where decoding and the model take turns on the same cores). `tta`: test-time augmentation,
    one of core.inference.tta.MODES (None: the centre crop alone). `check_familiarity`: mark pictures unlike
    the training pictures, when the checkpoint can tell. `keep_features`: each prediction carries the centre
    view's pooled features. `device`: "auto", "cpu", "cuda[:N]", "mps" or a
    torch.device. `runtime`: which library runs the forward pass (see below)."""

    device: Any = "auto"
    batch_size: int = 32
    num_workers: int | None = None
    top_k: int = 5
    amp: bool = True
    thumbnail_size: int = 0
    unsure_below: float | None = None
    decode_ahead: bool | None = None
    tta: str | None = None
    check_familiarity: bool = True
    keep_features: bool = False  # hand each prediction its pooled features (a project keeps a sketch of them)
    # "torch", "openvino" or "auto" (OpenVINO on a CPU when it is installed and agrees with the checkpoint:
    # core/inference/openvino_runtime.py); the front ends ask for "auto", a Predictor made in code for torch
    runtime: str = "torch"


class RunOptions:
    FIELDS = ("device", "amp", "top_k", "unsure_below", "tta", "runtime")

    def __init__(self, *, device: str = "auto", amp: bool = True, top_k: int = 5,
                 unsure_below: float | None = None, tta: str | None = None, runtime: str = "auto"):
        object.__setattr__(self, "_observers", [])
        self.device = device  # "auto", "cpu", "cuda", "cuda:N" or "mps"
        self.amp = amp  # mixed precision where the device computes it in hardware
        self.top_k = top_k  # classes the chart shows
        self.unsure_below = unsure_below  # "unsure" below this confidence (0..1); None: off
        self.tta = tta  # test-time augmentation: one of core.tta.MODES, or None for the centre crop alone
        self.runtime = runtime  # what runs the model on a CPU: "auto", "torch" or "openvino" (PredictOptions)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self.FIELDS:
            raise AttributeError(f"RunOptions has no field {name!r}")
        value = _normalised(name, value)
        if getattr(self, name, _UNSET) == value:
            return
        object.__setattr__(self, name, value)
        for observer in list(self._observers):
            observer(name, value)

    def observe(self, observer: Observer) -> Callable[[], None]:
        """Call `observer(field, value)` after every change; returns a function that stops it."""
        self._observers.append(observer)
        return lambda: self._observers.remove(observer) if observer in self._observers else None

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.FIELDS}


_UNSET = object()


RUNTIMES = ("auto", "torch", "openvino")  # what runs the forward pass: core/inference/openvino_runtime.py


def default_runtime() -> str:
    """What the front ends run when the user names no runtime: "auto", unless RESNET_GUI_RUNTIME says otherwise
    (a lab's administrator can keep every user on PyTorch)."""
    chosen = os.environ.get("RESNET_GUI_RUNTIME", "auto").strip().lower()
    return chosen if chosen in RUNTIMES else "auto"


def _normalised(name: str, value: Any) -> Any:
    if name == "device":
        return str(value or "auto")
    if name == "amp":
        return bool(value)
    if name == "top_k":
        return max(1, int(value))
    if name == "tta":
        return value if value in TTA_MODES else None
    if name == "runtime":
        return value if value in RUNTIMES else "auto"
    return float(value) if value else None  # unsure_below: 0 or None both mean off
