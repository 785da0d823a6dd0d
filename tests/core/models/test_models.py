import pytest
import torch
import torchvision

from resnet_gui.core.errors import UserError, WeightsUnavailableError
from resnet_gui.core.models.architectures import ARCHITECTURES
from resnet_gui.core.models.checkpoints import infer_architecture
from resnet_gui.core.models.resnets import build_model, count_parameters, imagenet_weights, load_bundle, stage_table


def meta_model(arch, num_classes=1000, small_input=False):
    with torch.device("meta"):
        return build_model(arch, num_classes, small_input=small_input)


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
def test_every_architecture_matches_torchvision_parameter_count(arch):
    with torch.device("meta"):
        reference = torchvision.models.get_model(arch, weights=None)
    assert count_parameters(meta_model(arch)) == count_parameters(reference)


def test_known_parameter_counts():
    assert count_parameters(meta_model("resnet18")) == 11_689_512
    assert count_parameters(meta_model("resnet50")) == 25_557_032


@pytest.mark.parametrize("arch", list(ARCHITECTURES))
@pytest.mark.parametrize("small_input", [False, True])
def test_architecture_inferred_from_weights(arch, small_input):
    state = meta_model(arch, num_classes=7, small_input=small_input).state_dict()
    assert infer_architecture(state) == (arch, small_input, 7)


def test_small_input_stem_keeps_resolution():
    model = build_model("resnet18", 4, small_input=True).eval()
    assert model.conv1.kernel_size == (3, 3) and model.conv1.stride == (1, 1)
    assert isinstance(model.maxpool, torch.nn.Identity)
    rows = {r.name: r for r in stage_table(model, 32)}
    assert rows["layer4"].output_shape == (1, 512, 4, 4)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 4)


def test_stage_table_for_resnet50_at_224():
    rows = stage_table(meta_model("resnet50"), 224)
    assert [r.blocks for r in rows if r.name.startswith("layer")] == [3, 4, 6, 3]
    assert rows[4].output_shape == (1, 2048, 7, 7)
    assert sum(r.params for r in rows) == 25_557_032


def test_unknown_architecture_is_a_sentence():
    with pytest.raises(UserError, match="Unknown architecture 'resnet9'"):
        build_model("resnet9")


def test_imagenet_weights_come_from_torchvision_enum():
    weights = imagenet_weights("resnet50")
    assert weights is torchvision.models.ResNet50_Weights.DEFAULT
    assert len(weights.meta["categories"]) == 1000


def test_offline_imagenet_download_is_a_clear_message(monkeypatch):
    import urllib.error

    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torchvision.models._api, "load_state_dict_from_url", offline, raising=False)
    with pytest.raises(WeightsUnavailableError, match="could not be downloaded.*choose a checkpoint"):
        load_bundle(None, arch="resnet18")


def test_imagenet_bundle_uses_the_enum_preprocessing_and_classes(monkeypatch):
    """With the download faked by a cache hit, the bundle takes names and transforms from the enum."""
    weights = torchvision.models.ResNet18_Weights.DEFAULT
    state = build_model("resnet18", 1000).state_dict()
    monkeypatch.setattr(type(weights), "get_state_dict", lambda self, *a, **k: state)
    bundle = load_bundle(None, arch="resnet18")
    assert bundle.classes == list(weights.meta["categories"])
    assert (bundle.preprocessing.image_size, bundle.preprocessing.resize) == (224, 256)
    assert bundle.source.startswith("ImageNet")
