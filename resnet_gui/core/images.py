"""Finding image files and decoding any of them to an 8-bit RGB picture.

Everything a lab user's folder may hold goes through `load_rgb`: phone JPEGs
rotated by EXIF, 16-bit and float microscopy TIFFs, multi-page stacks,
grayscale, RGBA, palette, CMYK and 1-bit images. A file that cannot be decoded
raises `ImageDecodeError` with a short reason; callers that work on batches
turn it into an error record for that one file.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


class ImageDecodeError(Exception):
    """A file that is not a usable image. The message is a short reason."""


def is_image_path(path: str | os.PathLike) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


@dataclass
class Discovery:
    """Image files found under some paths, in a stable order, and what was passed over."""

    files: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)  # files that are not images
    missing: list[Path] = field(default_factory=list)  # paths that do not exist


def iter_images(paths: Iterable[str | os.PathLike], discovery: Discovery | None = None) -> Iterator[Path]:
    """Yield image files under `paths`, folders searched recursively in sorted order.

    Non-image files and paths that do not exist are recorded in `discovery`
    when one is given, and otherwise passed over silently.
    """
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                dirs[:] = [d for d in dirs if not d.startswith(".")]
                for name in sorted(names):
                    if name.startswith("."):
                        continue
                    child = Path(root, name)
                    if is_image_path(name):
                        yield child
                    elif discovery is not None:
                        discovery.skipped.append(child)
        elif path.is_file():
            if is_image_path(path):
                yield path
            elif discovery is not None:
                discovery.skipped.append(path)
        elif discovery is not None:
            discovery.missing.append(path)


def discover(paths: Iterable[str | os.PathLike]) -> Discovery:
    """All image files under `paths`, without duplicates, with the skipped and missing ones."""
    found = Discovery()
    seen: set[Path] = set()
    for image in iter_images(paths, found):
        key = image.resolve()
        if key not in seen:
            seen.add(key)
            found.files.append(image)
    return found


def load_rgb(path: str | os.PathLike, draft_size: int | None = None) -> Image.Image:
    """Decode `path` to an 8-bit RGB image the way a person sees it.

    `draft_size` lets the JPEG decoder scale down by 1/2, 1/4 or 1/8 while the
    shorter side stays at least that many pixels: the resize that follows sees
    the same picture at a fraction of the decode cost.
    """
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on decompression bombs; the warning is
            # harmless for the large-but-sane scans labs produce.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if draft_size and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                image.load()
                return to_rgb(image)
    except Image.DecompressionBombError:
        raise ImageDecodeError("image is too large to decode safely (possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageDecodeError("not an image, or a format Pillow cannot read") from None
    except FileNotFoundError:
        raise ImageDecodeError("file not found") from None
    except IsADirectoryError:
        raise ImageDecodeError("is a folder, not an image") from None
    except PermissionError:
        raise ImageDecodeError("permission denied") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = "file is truncated or half-copied"
        raise ImageDecodeError(f"cannot decode image: {reason}") from None


def to_rgb(image: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of a decoded image: orientation applied, alpha on white."""
    # Multi-page files: Image.open leaves the first page selected.
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return _rescale_to_rgb(np.asarray(image))
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if mode == "CMYK":
        return image.convert("RGB")
    return image.convert("RGB")  # L, P, 1, YCbCr, LAB, HSV


def _rescale_to_rgb(values: np.ndarray) -> Image.Image:
    """Map a high-bit-depth or float single-channel image to 0..255 by its own range.

    A 12-bit camera image stored in 16 bits would otherwise look almost black,
    and a float image in 0..1 would be clipped to black or white.
    """
    data = values.astype(np.float64)
    finite = np.isfinite(data)
    if not finite.any():
        raise ImageDecodeError("image holds no finite pixel values")
    low, high = float(data[finite].min()), float(data[finite].max())
    data = np.where(finite, data, low)
    if high > low:
        data = (data - low) * (255.0 / (high - low))
    else:
        data = np.zeros_like(data)
    gray = Image.fromarray(np.clip(np.rint(data), 0, 255).astype(np.uint8))
    return gray.convert("RGB")


# Half-written files from a copy in progress should fail, not decode as grey.
ImageFile.LOAD_TRUNCATED_IMAGES = False
