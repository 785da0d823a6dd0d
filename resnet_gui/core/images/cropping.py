"""The evaluation crop on a Pillow image, without torch: torchvision's `Resize(resize)` then `CenterCrop(size)`,
done as one resize of just the cropped box. Both runtimes' decoders use it (transforms.ResizeCenterCrop, and the
start that runs a cached OpenVINO model without importing torch: inference/ready_start.py)."""

from __future__ import annotations

from PIL import Image


def centre_crop_box(width: int, height: int, resize: int, size: int) -> tuple[float, float, float, float] | None:
    """The box of a `width` x `height` picture that `Resize(resize)` then `CenterCrop(size)` keep, in the
    picture's own pixels; None where the crop is larger than the resized picture (CenterCrop pads then).

    The geometry is torchvision's: the shorter side to `resize`, the longer one `int(resize * long / short)`,
    the crop offset rounded as CenterCrop does."""
    if width <= height:
        new_width, new_height = resize, int(resize * height / width)
    else:
        new_width, new_height = int(resize * width / height), resize
    if min(new_width, new_height) < size:
        return None
    top = int(round((new_height - size) / 2.0))
    left = int(round((new_width - size) / 2.0))
    x_scale, y_scale = width / new_width, height / new_height
    return left * x_scale, top * y_scale, (left + size) * x_scale, (top + size) * y_scale


def resize_centre_crop(image: Image.Image, resize: int, size: int) -> Image.Image | None:
    """The `size` x `size` centre crop of `image` resized to `resize`, resampled from the picture itself with
    the antialiased bilinear filter torchvision uses; None where the crop would need padding."""
    box = centre_crop_box(*image.size, resize, size)
    if box is None:
        return None
    return image.resize((size, size), Image.Resampling.BILINEAR, box=box)
