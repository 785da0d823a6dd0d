"""Each picture has a decoding budget, checked before a pixel is decoded: the two bombs of issue 23 (a PNG of
13,000 x 13,000 in a few hundred bytes, a progressive JPEG of thousands of scans) become their row's error,
fast, and normal pictures are untouched."""

from __future__ import annotations

import struct
import time
import zlib

import pytest
from PIL import Image

from resnet_gui.core.images.files import MAX_JPEG_SCANS, ImageDecodeError, load_rgb


def png_bomb(path, side=13_000):
    """A valid PNG header for side x side grey pixels, and compressed rows of zeros (a few hundred KB at most)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    rows = zlib.compressobj(9)
    body = b"".join(rows.compress(b"\x00" * (side + 1)) for _ in range(200)) + rows.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", body) + chunk(b"IEND", b""))
    return path


def progressive_bomb(path, scans=5_000):
    """A progressive JPEG with thousands of start-of-scan segments after its real ones (each a scan header a
    decoder must read and run): the shape of the 264 KB file that took 75 s."""
    Image.new("RGB", (64, 64), (120, 30, 200)).save(path, progressive=True)
    data = path.read_bytes()
    end = data.rindex(b"\xff\xd9")
    # DC refinement scans of the Y component: SOS, length 8, 1 component, id 1, tables 0, Ss=0 Se=0 Ah=1 Al=0
    extra = (b"\xff\xda\x00\x08\x01\x01\x00\x00\x00\x10" + b"\x00" * 8) * scans
    path.write_bytes(data[:end] + extra + data[end:])
    return path


def test_a_huge_png_is_refused_before_decoding(tmp_path):
    bomb = png_bomb(tmp_path / "bomb.png")
    assert bomb.stat().st_size < 300_000
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError, match="13000 x 13000 pixels, more than the 120 megapixels"):
        load_rgb(bomb)
    assert time.perf_counter() - started < 1.0


def test_a_progressive_jpeg_with_thousands_of_scans_is_refused(tmp_path):
    bomb = progressive_bomb(tmp_path / "scans.jpg")
    started = time.perf_counter()
    with pytest.raises(ImageDecodeError, match=f"progressive JPEG of 50\\d\\d scans \\(at most {MAX_JPEG_SCANS}"):
        load_rgb(bomb)
    assert time.perf_counter() - started < 1.0


def test_normal_pictures_keep_decoding(tmp_path):
    Image.new("RGB", (4000, 3000), (10, 200, 30)).save(tmp_path / "photo.jpg", progressive=True, quality=90)
    Image.new("RGB", (640, 480), (10, 20, 30)).save(tmp_path / "plain.jpg")
    Image.new("L", (2000, 2000)).save(tmp_path / "scan.png")
    assert load_rgb(tmp_path / "photo.jpg", draft_size=256).size[0] >= 256
    assert load_rgb(tmp_path / "plain.jpg").size == (640, 480)
    assert load_rgb(tmp_path / "scan.png").size == (2000, 2000)


def test_a_bomb_is_its_rows_error_and_the_batch_goes_on(tmp_path, tiny_checkpoint, capsys):
    from resnet_gui.cli import main
    from tests.support import save_noise

    folder = tmp_path / "mixed"
    folder.mkdir()
    png_bomb(folder / "bomb.png")
    progressive_bomb(folder / "scans.jpg")
    save_noise(folder / "fine.png", seed=1)
    assert main(["classify", str(folder), "--checkpoint", str(tiny_checkpoint), "--json"]) == 1
    import json

    lines = capsys.readouterr().out.splitlines()
    rows = {json.loads(line)["path"].rsplit("/", 1)[1]: json.loads(line) for line in lines if '"path"' in line}
    assert "megapixels" in rows["bomb.png"]["error"] and "scans" in rows["scans.jpg"]["error"]
    assert rows["fine.png"]["error"] is None and rows["fine.png"]["top_k"]
