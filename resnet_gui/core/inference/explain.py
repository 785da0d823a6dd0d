"""Where the model looks: Grad-CAM on the last stage (Selvaraju et al., 2017).

The map is computed for the centre crop the network sees, then placed back
on the whole picture, so an overlay lines up with the image the user chose.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from resnet_gui.core.atomic_write import atomic_write
from resnet_gui.core.errors import UserError
from resnet_gui.core.images.transforms import decode_transform, normalize_batch
from resnet_gui.core.models.resnets import ModelBundle


@dataclass
class Explanation:
    heatmap: np.ndarray  # float32 [H, W] in 0..1, the size of the original picture
    class_index: int
    label: str
    prob: float
    stage: str = "layer4"  # layer3 when layer4's map is too small at this input size


def grad_cam(model: torch.nn.Module, x: torch.Tensor, class_index: int) -> np.ndarray:
    """Grad-CAM of `class_index` for one normalised input [1, 3, S, S] -> float32 [S, S] in 0..1.

    The gradient is taken with torch.autograd.grad with respect to layer4's output
    only: no hooks and no parameter gradients, so the same model can classify in
    another thread meanwhile. The model must be in eval mode (bundles are).
    """
    cam, _ = grad_cam_with_stage(model, x, class_index)
    return cam


MIN_MAP = 4  # a Grad-CAM map smaller than 4x4 says little about where the model looks


def grad_cam_with_stage(model: torch.nn.Module, x: torch.Tensor, class_index: int) -> tuple[np.ndarray, str]:
    """Grad-CAM from layer4, or from layer3 when layer4's map is smaller than 4x4 (small inputs)."""
    with torch.no_grad():
        early = model.layer3(model.layer2(model.layer1(model.maxpool(model.relu(model.bn1(model.conv1(x)))))))
        late = model.layer4(early)
    stage, features = ("layer4", late) if min(late.shape[-2:]) >= MIN_MAP or min(early.shape[-2:]) < MIN_MAP \
        else ("layer3", early)
    with torch.enable_grad():
        features = features.detach().float().requires_grad_(True)
        top = model.layer4(features.to(early.dtype)) if stage == "layer3" else features
        logits = model.fc(torch.flatten(model.avgpool(top), 1).to(model.fc.weight.dtype))
        (gradients,) = torch.autograd.grad(logits[0, class_index], features)
    weights = gradients.mean(dim=(2, 3), keepdim=True)
    cam = torch.relu((weights * features.detach()).sum(dim=1, keepdim=True))
    cam = torch.nn.functional.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    peak = cam.max()
    cam = cam / peak if peak > 0 else torch.zeros_like(cam)
    return cam.float().cpu().numpy(), stage


def explain(bundle: ModelBundle, image: Image.Image, class_index: int | None = None) -> Explanation:
    """Grad-CAM for `image` (RGB) and a class (default: the predicted one), mapped onto the whole image."""
    prep = bundle.preprocessing
    model = bundle.model
    device = next(model.parameters()).device
    x = normalize_batch(decode_transform(prep)(image).unsqueeze(0).to(device), prep)
    with torch.inference_mode():
        probs = torch.softmax(model(x).float() / bundle.temperature, 1)[0]
    if class_index is None:
        class_index = int(probs.argmax())
    crop_map, stage = grad_cam_with_stage(model, x, class_index)
    return Explanation(to_image_frame(crop_map, image.size, prep.resize, prep.image_size), class_index,
                       bundle.classes[class_index], float(probs[class_index]), stage)


def to_image_frame(crop_map: np.ndarray, size: tuple[int, int], resize: int, crop: int) -> np.ndarray:
    """Place a map of the centre crop back onto the original picture (zeros outside the crop)."""
    width, height = size
    scale = resize / min(width, height)
    resized_w, resized_h = round(width * scale), round(height * scale)
    left, top = (resized_w - crop) / 2, (resized_h - crop) / 2
    # The crop's corners in original pixels.
    x0, y0 = left / scale, top / scale
    x1, y1 = (left + crop) / scale, (top + crop) / scale
    full = np.zeros((height, width), dtype=np.float32)
    box = (int(round(x0)), int(round(y0)), int(round(x1)), int(round(y1)))
    box_w, box_h = max(1, box[2] - box[0]), max(1, box[3] - box[1])
    patch = np.asarray(Image.fromarray(crop_map.astype(np.float32)).resize((box_w, box_h), Image.BILINEAR))
    # Fade the map to nothing over the crop's outer 8%: cut off at the crop's border, a warm region ended in
    # a hard rectangle that read as part of the picture.
    patch = patch * np.outer(_edge_ramp(box_h), _edge_ramp(box_w))
    xa, ya = max(0, box[0]), max(0, box[1])
    xb, yb = min(width, box[0] + box_w), min(height, box[1] + box_h)
    full[ya:yb, xa:xb] = patch[ya - box[1]:yb - box[1], xa - box[0]:xb - box[0]]
    return np.clip(full, 0.0, 1.0)


def _edge_ramp(length: int, share: float = 0.08) -> np.ndarray:
    """1 in the middle, falling smoothly to 0 at both ends over `share` of `length`."""
    fade = max(1, int(round(length * share)))
    position = np.minimum(np.arange(length), np.arange(length)[::-1]).astype(np.float32)
    ramp = np.clip((position + 0.5) / fade, 0, 1)
    return ramp * ramp * (3 - 2 * ramp)  # smoothstep: no visible seam where the fade begins


def heat_colours(heat: np.ndarray) -> np.ndarray:
    """RGB (uint8) for values 0..1: a compact blue -> cyan -> yellow -> red ramp, readable over photographs
    and micrographs. The overlay and its colour key both use it."""
    heat = np.clip(heat, 0, 1)
    red = np.clip(1.5 * heat * 2 - 0.5, 0, 1)
    green = np.clip(1.5 - np.abs(heat * 4 - 2), 0, 1)
    blue = np.clip(1.0 - heat * 2, 0, 1)
    return (np.stack([red, green, blue], axis=-1) * 255).astype(np.uint8)


def colour_key(width: int = 120, height: int = 10) -> np.ndarray:
    """The overlay's colours from 'barely' (left) to 'most' (right), as an RGB strip for a legend."""
    return np.repeat(heat_colours(np.linspace(0, 1, width, dtype=np.float32))[None], height, axis=0)


def overlay(image: Image.Image, heatmap: np.ndarray, opacity: float = 0.5) -> Image.Image:
    """The picture with the heat map blended on top (blue = cold, red = where the model looks)."""
    heat = np.clip(heatmap, 0, 1)
    colours = heat_colours(heat)
    heat_image = Image.fromarray(colours).resize(image.size, Image.BILINEAR)
    alpha = (np.asarray(Image.fromarray((heat * 255).astype(np.uint8)).resize(image.size)) / 255.0)[..., None]
    alpha = np.clip(opacity * (0.35 + 0.65 * alpha), 0, 1)
    base = np.asarray(image.convert("RGB")).astype(np.float32)
    blended = base * (1 - alpha) + np.asarray(heat_image).astype(np.float32) * alpha
    return Image.fromarray(blended.clip(0, 255).astype(np.uint8))


PICTURE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF",
                   ".webp": "WEBP", ".bmp": "BMP"}


def check_picture_name(out: Path) -> str:
    """The format `out`'s extension names; a name the app cannot write is refused before any work."""
    fmt = PICTURE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"{out.name} does not end in a picture format the app writes; "
                        "use .png, .jpg, .tif or .webp.")
    return fmt


MIN_SAVED_SIDE = 256  # a 32 px overlay saved as it is would be a smudge on screen


def save_picture(picture: Image.Image, out: Path, min_side: int = MIN_SAVED_SIDE) -> Path:
    """Write `picture` in the format its extension names (PNG, JPEG, ...), atomically, at least
    `min_side` pixels on its shorter side."""
    fmt = check_picture_name(out)
    if min(picture.size) < min_side:
        scale = min_side / min(picture.size)
        picture = picture.resize((round(picture.width * scale), round(picture.height * scale)), Image.BICUBIC)
    if fmt == "JPEG":
        picture = picture.convert("RGB")
    with atomic_write(out) as stream:
        picture.save(stream, format=fmt)
    return out
