"""What both ways of starting OpenVINO share, without torch: whether it is installed, importing it with its
telemetry off, where converted models are kept, and compiling one for the CPU. The start that runs a cached
model without torch (inference/ready_start.py) and the runtime seam (inference/openvino_runtime.py) use it.

`import openvino` sends a usage event and makes files under ~/intel, and treats a missing consent file as
consent; `quiet_openvino` hides its telemetry package first, so OpenVINO falls back to its own stub and nothing
is sent or written.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

from resnet_gui.core.app_cache import app_cache_dir

OPENVINO_EXTRA = 'pip install "resnet-gui[openvino]"'
INT8_AGREEMENT = 0.02  # an INT8 copy at load: as it answered when it was made (another CPU rounds otherwise)


def openvino_installed() -> bool:
    return "openvino" in sys.modules or importlib.util.find_spec("openvino") is not None


def quiet_openvino():
    """openvino, imported with its telemetry off (see the module's note)."""
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # its import fails: ovc uses telemetry_stub
    import openvino

    return openvino


def runtime_cache_dir() -> Path:
    """Where converted and compiled models are kept (safe to delete: made again when needed)."""
    return app_cache_dir("openvino")


def compile_for_cpu(core, xml: Path, precision: str, cache_dir: Path):
    """The IR at `xml` compiled for the CPU at `precision` ("bf16", "f32"), with OpenVINO's compiled-blob cache
    under `cache_dir`: the same settings from either start, so a second start finds the blob the first made."""
    core.set_property({"CACHE_DIR": str(cache_dir / "compiled")})
    return core.compile_model(str(xml), "CPU", {"INFERENCE_PRECISION_HINT": precision, "PERFORMANCE_HINT": "LATENCY"})
