import io

import numpy as np
import pytest
from PIL import Image

from resnet_gui.core.images import files as images
from resnet_gui.core.images.files import ImageDecodeError, discover, load_rgb
from tests.support import save_noise


def test_discover_recurses_sorts_and_matches_extensions_case_insensitively(tmp_path):
    for name in ["b.JPG", "a.png", "sub/c.TIFF", "sub/deeper/d.webp", "sub/e.Jpeg", "f.gif", "g.bmp", "h.tif"]:
        save_noise(tmp_path / name)
    (tmp_path / "readme.txt").write_text("x")
    (tmp_path / ".hidden.png").write_bytes(b"")
    found = discover([tmp_path, tmp_path / "a.png", tmp_path / "missing.png"])
    names = [p.relative_to(tmp_path).as_posix() for p in found.files]
    assert names == ["a.png", "b.JPG", "f.gif", "g.bmp", "h.tif", "sub/c.TIFF", "sub/e.Jpeg", "sub/deeper/d.webp"]
    assert [(p.name, why) for p, why in found.skipped] == [(".hidden.png", "hidden file"),
                                                           ("readme.txt", "not an image file name")]
    assert [p.name for p in found.missing] == ["missing.png"]


def test_exif_orientation_is_applied(tmp_path):
    image = Image.new("RGB", (40, 20), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 20))  # blue on the left edge
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "phone.jpg", exif=exif.tobytes(), quality=95)
    rgb = load_rgb(tmp_path / "phone.jpg")
    assert rgb.size == (20, 40)
    top = np.asarray(rgb)[2, 10]
    assert top[2] > 200 and top[0] < 60  # the left edge is now on top


@pytest.mark.parametrize("mode", ["L", "P", "CMYK", "1", "I"])
def test_every_mode_becomes_rgb(tmp_path, mode):
    source = Image.fromarray(np.random.RandomState(0).randint(0, 256, (16, 16, 3), dtype=np.uint8))
    converted = source.convert(mode)
    suffix = ".tif" if mode in ("CMYK", "I") else ".png"
    converted.save(tmp_path / f"x{suffix}")
    rgb = load_rgb(tmp_path / f"x{suffix}")
    assert rgb.mode == "RGB" and rgb.size == (16, 16)


def test_alpha_is_composited_on_white(tmp_path):
    rgba = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    rgba.putpixel((0, 0), (255, 0, 0, 255))
    rgba.save(tmp_path / "a.png")
    la = Image.new("LA", (4, 4), (0, 0))
    la.save(tmp_path / "la.png")
    rgb = np.asarray(load_rgb(tmp_path / "a.png"))
    assert tuple(rgb[0, 0]) == (255, 0, 0) and tuple(rgb[3, 3]) == (255, 255, 255)
    assert tuple(np.asarray(load_rgb(tmp_path / "la.png"))[1, 1]) == (255, 255, 255)


def test_palette_with_transparency_is_composited(tmp_path):
    image = Image.new("P", (4, 4), 0)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.putpixel((1, 1), 1)
    image.save(tmp_path / "p.png", transparency=0)
    rgb = np.asarray(load_rgb(tmp_path / "p.png"))
    assert tuple(rgb[0, 0]) == (255, 255, 255) and tuple(rgb[1, 1]) == (255, 0, 0)


def test_sixteen_bit_tiff_is_rescaled_to_its_own_range(tmp_path):
    values = np.linspace(1000, 4000, 64, dtype=np.uint16).reshape(8, 8)  # a 12-bit camera image
    Image.fromarray(values).save(tmp_path / "scan.tif")
    rgb = np.asarray(load_rgb(tmp_path / "scan.tif"))
    assert rgb.shape == (8, 8, 3)
    assert rgb.min() == 0 and rgb.max() == 255  # not near-black, not clipped white
    assert 120 <= rgb[4, 0, 0] <= 135  # the middle value lands mid-grey


def test_float_tiff_is_rescaled_not_clipped(tmp_path):
    values = np.linspace(0.0, 1.0, 64, dtype=np.float32).reshape(8, 8)
    values[0, 0] = np.nan
    Image.fromarray(values).save(tmp_path / "float.tif")
    rgb = np.asarray(load_rgb(tmp_path / "float.tif"))
    assert rgb[7, 7, 0] == 255 and rgb[0, 1, 0] < 10
    assert len(np.unique(rgb[..., 0])) > 50


def test_multipage_tiff_gives_the_first_page(tmp_path):
    pages = [Image.new("RGB", (8, 8), colour) for colour in [(0, 255, 0), (255, 0, 0), (0, 0, 255)]]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    assert tuple(np.asarray(load_rgb(tmp_path / "stack.tif"))[0, 0]) == (0, 255, 0)


def test_names_with_spaces_and_non_latin_letters(tmp_path):
    path = save_noise(tmp_path / "папка с пробелом" / "顕微鏡 画像 1.png")
    assert load_rgb(path).size == (48, 40)
    assert discover([tmp_path]).files == [path]


def test_jpeg_draft_decodes_smaller_but_not_below_the_target(tmp_path):
    save_noise(tmp_path / "big.jpg", size=(1600, 1200))
    assert load_rgb(tmp_path / "big.jpg").size == (1600, 1200)
    drafted = load_rgb(tmp_path / "big.jpg", draft_size=256)
    assert drafted.size == (400, 300)  # 1/4 scale: the shorter side stays >= 256


def broken_files(tmp_path):
    good = io.BytesIO()
    Image.new("RGB", (64, 64), (9, 9, 9)).save(good, "JPEG")
    data = good.getvalue()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "half.jpg").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.jpg").write_text("this is not an image")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    return tmp_path


@pytest.mark.parametrize("name", ["empty.png", "half.jpg", "text.jpg", "corrupt.png", "missing.png"])
def test_broken_files_raise_a_short_reason(tmp_path, name):
    broken_files(tmp_path)
    with pytest.raises(ImageDecodeError) as info:
        load_rgb(tmp_path / name)
    reason = str(info.value)
    assert reason and "\n" not in reason and len(reason) < 160


def test_truncated_file_says_so(tmp_path):
    broken_files(tmp_path)
    with pytest.raises(ImageDecodeError, match="truncated"):
        load_rgb(tmp_path / "half.jpg")


def test_decompression_bomb_is_refused(tmp_path, monkeypatch):
    Image.new("RGB", (100, 100)).save(tmp_path / "bomb.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    with pytest.raises(ImageDecodeError, match="decompression bomb"):
        load_rgb(tmp_path / "bomb.png")


def test_extension_list():
    assert images.is_image_path("A.JPEG") and images.is_image_path("x.Tif")
    assert not images.is_image_path("x.txt") and not images.is_image_path("png")
