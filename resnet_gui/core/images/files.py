"""Finding image files and decoding any of them to an 8-bit RGB picture.

Everything a lab user's folder may hold goes through `load_rgb`: phone JPEGs
rotated by EXIF, 16-bit and float microscopy TIFFs, multi-page stacks,
grayscale, RGBA, palette, CMYK and 1-bit images. A file that cannot be decoded
raises `ImageDecodeError` with a short reason; callers that work on batches
turn it into an error record for that one file.
"""

from __future__ import annotations

import functools
import os
import stat
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".avif",
                              ".heic", ".heif"})

# Pillow opens a file by its content, whatever its name: PostScript saved as photo.jpg would be handed
# to Ghostscript, which can write files. Only these raster decoders, none of which runs another
# program, are ever used. HEIF is there when the pillow-heif plugin is installed.
RASTER_FORMATS = ("JPEG", "PNG", "TIFF", "BMP", "GIF", "WEBP", "AVIF", "HEIF")


def _register_heif() -> None:
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return
    register_heif_opener()


_register_heif()


@functools.cache
def readable_formats() -> tuple[str, ...]:
    """The allow-list, less the decoders this Pillow lacks (worked out once: it is asked per picture)."""
    Image.init()
    return tuple(f for f in RASTER_FORMATS if f in Image.OPEN)


class ImageDecodeError(Exception):
    """A file that is not a usable image. The message is a short reason."""


def is_image_path(path: str | os.PathLike) -> bool:
    return os.path.splitext(os.fspath(path))[1].lower() in IMAGE_EXTENSIONS


@dataclass
class Discovery:
    """Image files found under some paths, in a stable order, and every file passed over, with why."""

    files: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (path, reason)
    missing: list[Path] = field(default_factory=list)  # paths that do not exist
    identities: dict[Path, object] = field(default_factory=dict)  # file_identity of each file found

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append((path, reason))


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def iter_images(paths: Iterable[str | os.PathLike], discovery: Discovery | None = None) -> Iterator[Path]:
    """Yield image files under `paths`, folders searched recursively in sorted order.

    Only regular files are yielded (a named pipe or a device would hang the reader). Links to files
    are followed; links to folders are not (their target is either inside the tree, and read there,
    or outside it, or a loop). Hidden files and folders are passed over. Everything passed over is
    recorded in `discovery` with a reason when one is given.
    """
    found = discovery if discovery is not None else Discovery()
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from _walk(path, found)
        elif not os.path.lexists(path):
            found.missing.append(path)
        elif (reason := _why_not_read(path)) is None:
            yield path
        else:
            found.skip(path, reason)


def _walk(top: Path, found: Discovery) -> Iterator[Path]:
    top_real = os.path.realpath(top)

    def unreadable(error: OSError) -> None:
        found.skip(Path(error.filename or top), f"folder cannot be read ({error.strerror or error})")

    for root, dirs, names in os.walk(top, onerror=unreadable):
        dirs.sort()
        kept = []
        for name in dirs:
            child = Path(root, name)
            if name.startswith("."):
                found.skip(child, "hidden folder")
            elif os.path.islink(child):
                target = os.path.realpath(child)
                where = "inside the folder (its pictures are read there)" if _inside(target, top_real) \
                    else "outside the folder"
                found.skip(child, f"a link to a folder {where}; links to folders are not followed")
            else:
                kept.append(name)
        dirs[:] = kept
        for name in sorted(names):
            child = Path(root, name)
            reason = "hidden file" if name.startswith(".") else _why_not_read(child)
            if reason is None:
                yield child
            else:
                found.skip(child, reason)


def _why_not_read(path: Path) -> str | None:
    """Why a file (not a folder) is passed over, or None when it is an image file to read (one stat)."""
    if not is_image_path(path):
        return "not an image file name"
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return "a link that points nowhere (or to itself)"
    return None if stat.S_ISREG(mode) else "not a regular file (a pipe, device or socket)"


def file_identity(path: str | os.PathLike) -> object:
    """What two paths to the same file share (a link and its target, hard links): its device and inode, one
    stat, where a real path costs a stat per folder on the way; the real path where the system has no inodes."""
    try:
        status = os.stat(path)
        if status.st_ino:
            return status.st_dev, status.st_ino
    except OSError:
        pass
    return os.path.realpath(path)


def discover(paths: Iterable[str | os.PathLike]) -> Discovery:
    """All image files under `paths`, each once (a file reached twice, through a link or two
    overlapping paths, is read once), with the skipped and missing ones."""
    found = Discovery()
    seen: dict[object, Path] = {}
    for image in iter_images(paths, found):
        key = file_identity(image)
        if key in seen:
            if seen[key] != image:
                found.skip(image, f"the same file as {seen[key]}")
            continue
        seen[key] = image
        found.files.append(image)
        found.identities[image] = key
    return found


# One picture's decoding budget, checked from its header before a pixel is decoded: a 164 KB PNG of
# 13,000 x 13,000 decoded to 1.3 GB in every decoding thread (Pillow only warns below 179 megapixels), and a
# 264 KB progressive JPEG of 5,000 scans took 75 s. A phone's 50 MP photo and a 12,000 x 9,000 scan pass; a
# JPEG is measured after draft mode has scaled it down. libjpeg-turbo's own advice is to limit the scans.
MAX_DECODE_PIXELS = 120_000_000
MAX_JPEG_SCANS = 256


def check_decoding_budget(path: str | os.PathLike, image: Image.Image) -> None:
    """Refuse (ImageDecodeError) a picture whose decoding would take more memory or time than one picture may."""
    width, height = image.size
    if width * height > MAX_DECODE_PIXELS:
        raise ImageDecodeError(f"image is {width} x {height} pixels, more than the {MAX_DECODE_PIXELS // 1_000_000} "
                               "megapixels one picture may have; shrink it, or cut it into tiles")
    if image.format == "JPEG" and image.info.get("progressive"):  # a baseline JPEG costs no extra read
        scans = _jpeg_scans(path)
        if scans > MAX_JPEG_SCANS:
            raise ImageDecodeError(f"a progressive JPEG of {scans} scans (at most {MAX_JPEG_SCANS} are decoded): "
                                   "it would take minutes to decode; save it again as a normal JPEG")


def _jpeg_scans(path: str | os.PathLike) -> int:
    """How many scans a JPEG holds: its start-of-scan markers. Inside the compressed data a 0xFF byte is always
    followed by 0x00 or a restart marker, so 0xFFDA marks a scan (an embedded thumbnail adds its own one)."""
    with open(path, "rb") as stream:
        return stream.read().count(b"\xff\xda")


def load_rgb(path: str | os.PathLike, draft_size: int | None = None) -> Image.Image:
    """Decode `path` to an 8-bit RGB image the way a person sees it.

    Only regular files are opened, only with the raster decoders of `RASTER_FORMATS`, and any
    failure of a decoder becomes `ImageDecodeError`: one bad file is that file's problem alone.
    `draft_size` lets the JPEG decoder scale down by 1/2, 1/4 or 1/8 while the shorter side stays
    at least that many pixels: the resize that follows sees the same picture at a fraction of the cost.
    """
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ImageDecodeError("file not found") from None
    except OSError as exc:
        raise ImageDecodeError(f"cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(mode):
        raise ImageDecodeError("is a folder, not an image")
    if not stat.S_ISREG(mode):
        raise ImageDecodeError("not a regular file (a pipe, device or socket)")
    try:
        with warnings.catch_warnings():
            # Pillow warns, then raises, on decompression bombs; the warning is harmless for the
            # large-but-sane scans labs produce. Its other warnings (odd EXIF, palettes) are noise.
            warnings.simplefilter("ignore")
            with Image.open(path, formats=readable_formats()) as image:
                if draft_size and image.format == "JPEG":
                    image.draft("RGB", (draft_size, draft_size))
                check_decoding_budget(path, image)
                image.load()
                return to_rgb(image)
    except ImageDecodeError:
        raise
    except Image.DecompressionBombError:
        raise ImageDecodeError("image is too large to decode safely (possible decompression bomb)") from None
    except UnidentifiedImageError:
        raise ImageDecodeError("not a picture the app reads (JPEG, PNG, TIFF, BMP, GIF, WebP, AVIF or HEIF)") \
            from None
    except PermissionError:
        raise ImageDecodeError("permission denied") from None
    except MemoryError:
        raise ImageDecodeError("image is too large for the memory available") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = str(exc) or type(exc).__name__
        if "truncated" in reason.lower() or isinstance(exc, EOFError):
            reason = "file is truncated or half-copied"
        raise ImageDecodeError(f"cannot decode image: {reason}") from None
    except Exception as exc:  # noqa: BLE001 - a decoder bug (IndexError, RuntimeError in a plugin) costs this file only
        raise ImageDecodeError(f"cannot decode image: {type(exc).__name__}: {exc}") from None


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
