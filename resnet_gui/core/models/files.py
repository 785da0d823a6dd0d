"""Names of model files: a new run's own name, the resumable state beside a model, a whole copy.

No torch here: the window calls these on its own thread.
"""

from __future__ import annotations

from pathlib import Path

MODEL_FILE = "model.pt"  # what train writes when --out is not given, in the folder it runs in
WINDOW_MODEL_FILE = "resnet-gui-model.pt"  # the Train tab's first suggestion, in the user's home folder


def unique_model_path(path: str | Path) -> Path:
    """`path`, or NAME-2.pt, NAME-3.pt ... beside it: the first name no model (or its resumable state)
    has yet, so a new run never replaces a model made before."""
    path = Path(path)
    candidate, number = path, 1
    while candidate.exists() or last_path_for(candidate).exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix or '.pt'}")
    return candidate


def copy_model(source: str | Path, target: str | Path) -> Path:
    """A copy of a model file under another name, written whole (the window's Save as…)."""
    from resnet_gui.core.atomic_write import atomic_write, check_writable

    check_writable(target, "the model file")
    with open(source, "rb") as stream, atomic_write(target) as out:
        while chunk := stream.read(1 << 20):
            out.write(chunk)
    return Path(target)


def last_path_for(out: str | Path) -> Path:
    """Where the resumable state of a run writing `out` goes: NAME.last.pt beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}.last{out.suffix or '.pt'}")
