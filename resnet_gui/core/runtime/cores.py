"""How many cores this process may use, and the user's override of the decoders (RESNET_GUI_WORKERS); without
torch, for the start that runs a cached OpenVINO model without it (inference/ready_start.py)."""

from __future__ import annotations

import os


def usable_cores() -> int:
    """The cores this process may run on (its affinity where the platform tells it), at least 1."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def workers_override() -> int | None:
    """RESNET_GUI_WORKERS, where it is set to a whole number: decoders the user asked for."""
    override = os.environ.get("RESNET_GUI_WORKERS")
    return int(override) if override is not None and override.strip().isdigit() else None
