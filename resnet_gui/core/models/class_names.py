"""A model's class names when its checkpoint holds none: a list file given or found beside it
(class_indices.json, NAME.classes.txt, ...), or "class 0", "class 1", ... No torch here."""

from __future__ import annotations

import json
from pathlib import Path

from resnet_gui.core.errors import CheckpointError


def read_class_names(path: Path) -> list[str]:
    """Class names from class_indices.json ({"0": "daisy", ...} or a list) or a text file, one per line."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise CheckpointError(f"Cannot read the class list {path}: {exc.strerror or exc}.") from None
    except UnicodeDecodeError:
        raise CheckpointError(f"The class list {path.name} is not UTF-8 text. Save it as UTF-8 and try again.") \
            from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise CheckpointError(f"{path.name} is not valid JSON. Expected {{\"0\": \"daisy\", ...}}.") from None
        if isinstance(data, list):
            return [str(v) for v in data]
        if isinstance(data, dict):
            try:
                items = sorted(((int(k), str(v)) for k, v in data.items()))
            except ValueError:
                raise CheckpointError(f"{path.name} must map class indices to names, "
                                      "like {\"0\": \"daisy\"}.") from None
            if [i for i, _ in items] != list(range(len(items))):
                raise CheckpointError(f"{path.name} must number its classes 0, 1, 2, ... without gaps.")
            return [v for _, v in items]
        raise CheckpointError(f"{path.name} must hold a list of names or an index-to-name mapping.")
    return [line.strip() for line in text.splitlines() if line.strip()]


def find_class_names_beside(path: Path) -> Path | None:
    for name in (f"{path.stem}.classes.txt", f"{path.stem}.class_indices.json", "class_indices.json", "classes.txt"):
        candidate = path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def default_class_names(num_classes: int) -> list[str]:
    return [f"class {i}" for i in range(num_classes)]
