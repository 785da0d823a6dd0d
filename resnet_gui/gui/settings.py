"""The window's persistent settings: one declared list, read and written through QSettings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QSettings

ORGANIZATION = "resnet-gui"
APPLICATION = "resnet-gui"
MAX_RECENT = 8


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any


SETTINGS = {
    s.key: s
    for s in (
        Setting("model/arch", str, "resnet50"),
        Setting("model/weights", str, "imagenet"),  # "imagenet" or a checkpoint path
        Setting("model/recent_checkpoints", list, []),
        Setting("model/device", str, "auto"),
        Setting("model/mixed_precision", bool, True),
        Setting("model/tta", str, ""),  # test-time augmentation: "", "flip", "five-crop" or "ten-crop"
        Setting("model/runtime", str, ""),  # "auto", "torch" or "openvino"; "": the lab's default (auto)
        Setting("view/top_k", int, 5),
        Setting("window/geometry", bytes, b""),
        Setting("window/state", bytes, b""),
        Setting("files/last_folder", str, ""),
        Setting("train/last_folder", str, ""),
        Setting("project/recent", list, []),  # project folders, newest first
        Setting("project/last", str, ""),
    )
}


class Settings:
    """Typed access to the declared settings; tests point QSettings at a temporary folder."""

    def __init__(self, store: QSettings | None = None):
        self.store = store or QSettings(ORGANIZATION, APPLICATION)

    def get(self, key: str) -> Any:
        setting = SETTINGS[key]
        if setting.type is list:
            value = self.store.value(key, setting.default)
            if value is None or value == "":
                return []
            return [str(v) for v in (value if isinstance(value, list) else [value])]
        if setting.type is bytes:
            value = self.store.value(key, setting.default)
            return bytes(value) if value is not None else b""
        return self.store.value(key, setting.default, type=setting.type)

    def set(self, key: str, value: Any) -> None:
        if key not in SETTINGS:
            raise KeyError(key)
        self.store.setValue(key, value)

    def add_recent_checkpoint(self, path: str) -> list[str]:
        return self._add_recent("model/recent_checkpoints", path)

    def add_recent_project(self, path: str) -> list[str]:
        return self._add_recent("project/recent", path)

    def _add_recent(self, key: str, path: str) -> list[str]:
        recent = [path, *(p for p in self.get(key) if p != path)][:MAX_RECENT]
        self.set(key, recent)
        return recent

    def sync(self) -> None:
        self.store.sync()
