"""Preprocessing: the app's one-step resize-and-crop against torchvision's two steps."""

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode, v2

from resnet_gui.core.images.transforms import Preprocessing, ResizeCenterCrop, decode_transform, resize_for


def torchvision_resize_crop(resize, size):
    return v2.Compose([v2.Resize(resize, interpolation=InterpolationMode.BILINEAR, antialias=True),
                       v2.CenterCrop(size), v2.PILToTensor()])


def noise(width, height, seed):
    # Noise is the hard case: a crop shifted by one pixel, or a size off by one, changes values by up to 255.
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


@pytest.mark.parametrize("size", [32, 64, 224])
def test_resize_center_crop_gives_torchvisions_pixels(size):
    rng = np.random.default_rng(size)
    resize = resize_for(size)
    shapes = [(48, 40), (40, 48), (500, 375), (375, 500), (resize, resize), (resize + 1, 3 * resize), (size, size)]
    shapes += [tuple(int(v) for v in rng.integers(size, 700, 2)) for _ in range(25)]
    for seed, (width, height) in enumerate(shapes):
        image = noise(width, height, seed)
        expected = torchvision_resize_crop(resize, size)(image)
        got = v2.PILToTensor()(ResizeCenterCrop(resize, size)(image))
        assert got.shape == expected.shape == (3, size, size), (width, height)
        # Only rounding differs: Pillow samples the box directly instead of the resized whole.
        assert int((got.int() - expected.int()).abs().max()) <= 1, (width, height)


def test_images_smaller_than_the_crop_are_padded_as_torchvision_does():
    image = noise(20, 12, seed=3)  # resized to 42x25: the 32 px crop needs padding
    expected = torchvision_resize_crop(36, 32)(image)
    assert torch.equal(v2.PILToTensor()(ResizeCenterCrop(36, 32)(image)), expected)


def test_a_tensor_goes_through_torchvisions_steps():
    image = noise(90, 60, seed=4)
    tensor = v2.PILToTensor()(image)
    expected = v2.Compose([v2.Resize(73, antialias=True), v2.CenterCrop(64)])(tensor)
    assert torch.equal(ResizeCenterCrop(73, 64)(tensor), expected)


def test_decode_transform_makes_uint8_network_inputs():
    prep = Preprocessing.imagenet(64)
    tensor = decode_transform(prep)(noise(120, 90, seed=1))
    assert tensor.dtype == torch.uint8 and tensor.shape == (3, 64, 64)
