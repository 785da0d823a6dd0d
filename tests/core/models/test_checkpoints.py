import json

import pytest
import torch
from safetensors.torch import save_file

from resnet_gui.core.errors import CheckpointError
from resnet_gui.core.images.transforms import Preprocessing
from resnet_gui.core.models.checkpoints import (
    checkpoint_payload,
    read_checkpoint,
    strip_prefixes,
    write_checkpoint,
)
from resnet_gui.core.models.resnets import load_checkpoint_bundle
from tests.support import TINY, tiny_model


def same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_own_format_round_trip(tmp_path):
    model = tiny_model(4, seed=3)
    path = write_checkpoint(
        tmp_path / "m.pt",
        checkpoint_payload(model=model, arch="resnet18", classes=list("abcd"), small_input=True,
                           preprocessing=TINY, metrics={"val_acc": 0.75}, history=[{"epoch": 1}], train={"lr": 0.01}),
    )
    contents = read_checkpoint(path)
    found = (contents.kind, contents.arch, contents.num_classes, contents.small_input)
    assert found == ("resnet-gui", "resnet18", 4, True)
    assert contents.classes == list("abcd")
    assert contents.preprocessing == TINY
    assert contents.metrics == {"val_acc": 0.75} and contents.train == {"lr": 0.01}
    assert contents.history == [{"epoch": 1}]
    assert same_weights(contents.state_dict, model.state_dict())
    # The file loads with the strictest torch.load there is.
    assert torch.load(path, weights_only=True)["format"] == "resnet-gui"


def test_bare_wrapped_prefixed_and_safetensors_state_dicts(tmp_path):
    model = tiny_model(5, small_input=False)
    state = model.state_dict()
    torch.save(state, tmp_path / "bare.pth")
    torch.save({"state_dict": {f"module.{k}": v for k, v in state.items()}, "epoch": 3}, tmp_path / "wrapped.pth")
    torch.save({"model": {f"_orig_mod.{k}": v for k, v in state.items()}}, tmp_path / "compiled.pt")
    save_file({k: v.contiguous() for k, v in state.items()}, tmp_path / "w.safetensors")
    for name, kind in [("bare.pth", "state_dict"), ("wrapped.pth", "state_dict"), ("compiled.pt", "state_dict"),
                       ("w.safetensors", "safetensors")]:
        contents = read_checkpoint(tmp_path / name)
        found = (contents.kind, contents.arch, contents.num_classes, contents.small_input)
        assert found == (kind, "resnet18", 5, False)
        assert contents.classes == [f"class {i}" for i in range(5)]
        assert contents.preprocessing == Preprocessing(224, 256)
        assert same_weights(contents.state_dict, state)


def test_bare_state_dict_image_size_override(tmp_path):
    torch.save(tiny_model().state_dict(), tmp_path / "bare.pth")
    assert read_checkpoint(tmp_path / "bare.pth", image_size=112).preprocessing == Preprocessing(112, 128)


def test_class_names_from_files_beside(tmp_path):
    torch.save(tiny_model(3).state_dict(), tmp_path / "bare.pth")
    (tmp_path / "class_indices.json").write_text(json.dumps({"1": "tulip", "0": "daisy", "2": "rose"}))
    assert read_checkpoint(tmp_path / "bare.pth").classes == ["daisy", "tulip", "rose"]
    (tmp_path / "class_indices.json").unlink()
    (tmp_path / "classes.txt").write_text("один\ntwo\n\nthree\n", encoding="utf-8")
    assert read_checkpoint(tmp_path / "bare.pth").classes == ["один", "two", "three"]


def test_class_count_mismatch_is_named(tmp_path):
    torch.save(tiny_model(3).state_dict(), tmp_path / "bare.pth")
    (tmp_path / "names.txt").write_text("a\nb\n")
    with pytest.raises(CheckpointError, match="names.txt lists 2 classes, but the model in bare.pth has 3 outputs"):
        read_checkpoint(tmp_path / "bare.pth", classes_file=tmp_path / "names.txt")


def test_arch_mismatch(tiny_checkpoint):
    with pytest.raises(CheckpointError, match="holds resnet18 weights, but resnet50 was chosen"):
        read_checkpoint(tiny_checkpoint, arch="resnet50")
    assert read_checkpoint(tiny_checkpoint, arch="resnet18").arch == "resnet18"


def test_code_carrying_pickle_is_refused_and_nothing_runs(tmp_path):
    marker = tmp_path / "ran.txt"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"state_dict": tiny_model().state_dict(), "hook": Payload()}, tmp_path / "evil.pt")
    with pytest.raises(CheckpointError, match="refused for safety"):
        read_checkpoint(tmp_path / "evil.pt")
    assert not marker.exists()


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "is empty"),
        (b"hello, this is text", "not a PyTorch checkpoint|could not be read"),
    ],
)
def test_files_that_are_not_checkpoints(tmp_path, content, message):
    path = tmp_path / "x.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        read_checkpoint(path)


def test_truncated_checkpoint(tiny_checkpoint):
    data = tiny_checkpoint.read_bytes()
    tiny_checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupt"):
        read_checkpoint(tiny_checkpoint)


def test_missing_file_and_non_resnet_weights(tmp_path):
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "nope.pt")
    torch.save(torch.nn.Linear(3, 2).state_dict(), tmp_path / "linear.pt")
    with pytest.raises(CheckpointError, match="does not hold ResNet weights"):
        read_checkpoint(tmp_path / "linear.pt")
    torch.save({"epoch": 3}, tmp_path / "nothing.pt")
    with pytest.raises(CheckpointError, match="does not hold model weights"):
        read_checkpoint(tmp_path / "nothing.pt")


def test_damaged_weights_are_reported_on_load(tmp_path):
    state = tiny_model().state_dict()
    state["layer2.0.bn1.weight"] = torch.ones(7)
    torch.save(state, tmp_path / "damaged.pth")
    with pytest.raises(CheckpointError, match="do not fit resnet18"):
        load_checkpoint_bundle(tmp_path / "damaged.pth")


def test_write_is_atomic_and_keeps_the_old_file_on_failure(tiny_checkpoint, monkeypatch):
    before = tiny_checkpoint.read_bytes()

    def failing_save(obj, stream):
        stream.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", failing_save)
    with pytest.raises(OSError):
        write_checkpoint(tiny_checkpoint, {"format": "resnet-gui"})
    assert tiny_checkpoint.read_bytes() == before
    assert [p.name for p in tiny_checkpoint.parent.iterdir() if p.name.endswith(".tmp")] == []


def test_newer_version_with_unknown_keys_still_reads(tmp_path):
    payload = checkpoint_payload(model=tiny_model(), arch="resnet18", classes=["a", "b", "c"], small_input=True,
                                 preprocessing=TINY, temperature=1.5)
    payload["version"] = 99
    write_checkpoint(tmp_path / "future.pt", payload)
    contents = read_checkpoint(tmp_path / "future.pt")
    assert contents.version == 99 and contents.extra["temperature"] == 1.5


def test_strip_prefixes_only_when_every_key_has_it():
    assert strip_prefixes({"module.a": 1, "module.b": 2}) == {"a": 1, "b": 2}
    assert strip_prefixes({"module.a": 1, "b": 2}) == {"module.a": 1, "b": 2}


def test_a_checkpoint_records_its_stem_and_older_files_still_load(tmp_path):
    from torch import nn

    from resnet_gui.core.models.resnets import build_model

    pooled = build_model("resnet18", 3, stem="pooled").eval()
    x = torch.rand(2, 3, 32, 32)
    write_checkpoint(tmp_path / "pooled.pt", checkpoint_payload(
        model=pooled, arch="resnet18", classes=["a", "b", "c"], small_input=True, stem="pooled", preprocessing=TINY))
    bundle = load_checkpoint_bundle(tmp_path / "pooled.pt")
    assert bundle.stem == "pooled" and bundle.small_input and isinstance(bundle.model.maxpool, nn.MaxPool2d)
    with torch.no_grad():  # the same network: the max-pool is part of what the file holds
        assert torch.allclose(bundle.model(x), pooled(x), atol=1e-6)

    # a file from before stems had names: a 3x3 first layer was the small-input stem, without the max-pool
    older = checkpoint_payload(model=tiny_model(), arch="resnet18", classes=["a", "b", "c"], small_input=True,
                               preprocessing=TINY)
    del older["stem"]
    write_checkpoint(tmp_path / "older.pt", older)
    bundle = load_checkpoint_bundle(tmp_path / "older.pt")
    assert bundle.stem == "small" and isinstance(bundle.model.maxpool, nn.Identity)

    lying = checkpoint_payload(model=tiny_model(), arch="resnet18", classes=["a", "b", "c"], small_input=True,
                               preprocessing=TINY)
    lying["stem"] = "imagenet"  # a 7x7 stem recorded over 3x3 weights
    write_checkpoint(tmp_path / "lying.pt", lying)
    with pytest.raises(CheckpointError, match="recorded as 'imagenet', which its weights do not have"):
        read_checkpoint(tmp_path / "lying.pt")
