"""Shared fixtures: tiny seeded models, checkpoints and images made in tmp_path.

torch is imported before any Qt module (see shared/STYLE.md: PySide6 first
has broken torch's DLL loading on Windows), and Qt runs offscreen.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("RESNET_GUI_WORKERS", "0")  # tests decode in-process unless they ask for workers

import numpy as np
import pytest
import torch  # noqa: F401  (import order matters, see above)
from PIL import Image

from resnet_gui.core.checkpoints import checkpoint_payload, write_checkpoint
from resnet_gui.core.models import build_model
from resnet_gui.core.transforms import Preprocessing

TINY = Preprocessing(image_size=32, resize=36)
COLOURS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 220)}


@pytest.fixture(autouse=True)
def _isolated_state(tmp_path_factory, monkeypatch):
    """Logs and settings go to a temporary folder, never the developer's home."""
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(state / "config"))


def tiny_model(num_classes: int = 3, seed: int = 0, small_input: bool = True):
    torch.manual_seed(seed)
    return build_model("resnet18", num_classes, small_input=small_input).eval()


@pytest.fixture
def tiny_checkpoint(tmp_path):
    """A seeded resnet18 (small-input stem, 32 px) saved in the app's format, with 3 colour classes."""
    model = tiny_model()
    path = tmp_path / "tiny.pt"
    write_checkpoint(
        path,
        checkpoint_payload(model=model, arch="resnet18", classes=list(COLOURS), small_input=True, preprocessing=TINY),
    )
    return path


def save_noise(path, size=(48, 40), seed=0, mode="RGB"):
    rng = np.random.RandomState(seed)
    array = rng.randint(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    image = Image.fromarray(array)
    if mode != "RGB":
        image = image.convert(mode)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path


@pytest.fixture
def image_folder(tmp_path):
    """Five distinct PNG images (one in a subfolder with spaces and non-Latin letters) and one broken file."""
    root = tmp_path / "images"
    paths = [save_noise(root / f"noise {i}.png", seed=i) for i in range(3)]
    paths += [save_noise(root / "sous dossier" / f"образец {i}.png", seed=10 + i) for i in range(2)]
    (root / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (root / "notes.txt").write_text("not an image")
    return root


def make_shapes_dataset(root, per_class=12, size=40, seed=0, classes=("red", "green", "blue"), suffix=".png"):
    """Coloured squares at random places on grey noise: a dataset a model learns in a few epochs."""
    rng = np.random.RandomState(seed)
    for name in classes:
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = rng.randint(90, 160, (size, size, 3)).astype(np.uint8)
            side = rng.randint(size // 3, size // 2)
            x, y = rng.randint(0, size - side, 2)
            pixels[y:y + side, x:x + side] = COLOURS.get(name, (240, 200, 20) if name == "cat" else (20, 20, 20))
            Image.fromarray(pixels).save(folder / f"{name}_{i:03d}{suffix}")
    return root


@pytest.fixture
def shapes(tmp_path):
    return make_shapes_dataset(tmp_path / "shapes")


@pytest.fixture(scope="session")
def colour_model(tmp_path_factory):
    """A resnet18 trained once per test session to tell red, green and blue squares apart
    (4 epochs at 32 px): (data folder, TrainResult) for the tests that need a model that learned."""
    from resnet_gui.core.training import Trainer, TrainSettings

    root = tmp_path_factory.mktemp("colours")
    data = make_shapes_dataset(root / "shapes", per_class=14)
    result = Trainer(TrainSettings(data_dir=str(data), weights="none", small_input=True, image_size=32, epochs=4,
                                   batch_size=8, lr=2e-3, out=str(root / "colours.pt"))).run()
    return data, result
