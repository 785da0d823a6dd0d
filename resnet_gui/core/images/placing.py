"""Putting a picture into a folder of a sorted output (`OUT/<label>/`) without ever overwriting a file.

A project's sort and a watched folder both place pictures this way: the folder must be a real folder
directly inside OUT (never a link planted there), a taken name gets a suffix (`cell-2.png`), and a file
appears under its final name only whole (a hard link, or a rename of a finished copy).
"""

from __future__ import annotations

import filecmp
import os
import secrets
import shutil
import stat
from pathlib import Path

from resnet_gui.core.errors import UserError

UNSURE_FOLDER = "_unsure"
UNFAMILIAR_FOLDER = "_unfamiliar"  # pictures unlike anything the model was trained on: no class folder
UNSAFE_IN_FOLDER_NAMES = '/\\:*?"<>|'


def folder_name_for(label: str) -> str:
    """A folder name that every system accepts for a label a model gives (ImageNet's names hold commas and
    apostrophes, which are fine; a slash or a leading dot is not)."""
    name = "".join("_" if c in UNSAFE_IN_FOLDER_NAMES or ord(c) < 32 else c for c in label).strip()
    name = name.lstrip("._ ")[:100].rstrip(". ")
    return name or "unnamed"


def folder_inside(out: Path, name: str) -> Path:
    """OUT/<name>, made if needed, and only if it is a real folder directly inside OUT: never a link (a link
    planted at OUT/cluster sent the pictures wherever it pointed), never outside OUT."""
    out = out.resolve()
    folder = out / name
    try:
        os.mkdir(folder)
    except FileExistsError:
        pass
    info = os.lstat(folder)
    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise UserError(f"{folder} is a link or a file, not a folder: the pictures of {name!r} are not put "
                        "through it. Remove it, or sort into a new folder.")
    if folder.resolve().parent != out:
        raise UserError(f"{folder} is not inside {out}; nothing is sorted there.")
    return folder


def _copy_to_new_file(source: Path, folder: Path) -> Path:
    """A copy of `source` in `folder` under a hidden name no other file has: created with O_EXCL and
    O_NOFOLLOW, so a link planted at a predictable name is never written through."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        partial = folder / f".{source.name}.partial-{os.getpid()}-{secrets.token_hex(4)}"
        try:
            fd = os.open(partial, flags, 0o600)
        except FileExistsError:
            continue
        try:
            with os.fdopen(fd, "wb") as target, open(source, "rb") as original:
                shutil.copyfileobj(original, target, 1024 * 1024)
            shutil.copystat(source, partial, follow_symlinks=False)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return partial
    raise UserError(f"{folder} has too many files named like .{source.name}.partial-…; remove them.")


def place_file(source: Path, folder: Path, *, move: bool, reuse_same: bool = False) -> Path:
    """Copy (or, for the caller to remove the original, link) `source` into `folder` under its own name, or
    `stem-2.ext`, ... when that is taken. `folder` comes from `folder_inside`. With `reuse_same`, a file
    there already with the same bytes under one of those names is the answer (a placement that a crash cut
    off before it was recorded is not made twice)."""
    partial = None
    if not move or not _same_device(source, folder):
        partial = _copy_to_new_file(source, folder)
    try:
        for n in range(1, 100_000):
            target = folder / (source.name if n == 1 else f"{source.stem}-{n}{source.suffix}")
            try:
                _claim(partial or source, target)
                return target
            except FileExistsError:
                if reuse_same and _same_bytes(source, target):
                    return target
                continue
        raise UserError(f"{folder} has too many files named like {source.name}.")
    finally:
        if partial is not None:
            partial.unlink(missing_ok=True)


def _same_bytes(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b) or filecmp.cmp(a, b, shallow=False)
    except OSError:
        return False


def _claim(candidate: Path, target: Path) -> None:
    """Give `target` the content of `candidate` only if `target` does not exist (FileExistsError if it does)."""
    try:
        os.link(candidate, target)  # atomic, and never replaces
    except FileExistsError:
        raise
    except OSError:
        # No hard links here (FAT, some network drives): reserve the name, then rename over the reservation.
        with open(target, "xb"):
            pass
        os.replace(candidate, target)


def _same_device(a: Path, b: Path) -> bool:
    try:
        return a.stat().st_dev == b.stat().st_dev
    except OSError:
        return False
