"""Normalisation of scans: upright, no metadata, bounded, the right mode and encoding; rotation."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageCms, ImageStat, PngImagePlugin

from counter_client.scanning.normalize import (
    DEFAULT_JPEG_QUALITY,
    DEFAULT_MAX_EDGE,
    NormalizeOptions,
    bounded_size,
    normalize_image,
    rotate,
)
from counter_client.scanning.pages import JPEG, PNG, Page

RED, BLUE = (220, 20, 20), (20, 20, 220)
SECRET_STRINGS = (b"SECRETCAM", b"SERIAL-0042", b"Zhang San", b"GPS")


def _open(page: Page) -> Image.Image:
    image = Image.open(io.BytesIO(page.data))
    image.load()
    return image


def _split_red_blue(width: int = 400, height: int = 200) -> Image.Image:
    """Left half red, right half blue: orientation is visible in the pixels."""
    image = Image.new("RGB", (width, height), BLUE)
    image.paste(RED, (0, 0, width // 2, height))
    return image


def _close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b))


def _jpeg_with_metadata(orientation: int) -> bytes:
    image = _split_red_blue()
    exif = image.getexif()
    exif[0x0112] = orientation
    exif[0x010F] = "SECRETCAM"            # Make
    exif[0xA431] = "SERIAL-0042"          # BodySerialNumber
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 54.0, 27.0)
    gps[3] = "E"
    gps[4] = (116.0, 23.0, 17.0)
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, icc_profile=icc, comment=b"Zhang San's ID card",
               xmp=b"<x:xmpmeta>GPS Zhang San</x:xmpmeta>", dpi=(300, 300))
    return buffer.getvalue()


def test_exif_orientation_is_applied_and_all_metadata_dropped():
    data = _jpeg_with_metadata(orientation=6)  # "rotate 90° clockwise to display"
    with Image.open(io.BytesIO(data)) as source:
        assert source.getexif().get_ifd(0x8825)  # the fixture does carry GPS data
        page = normalize_image(source, source="id.jpg")
    assert (page.width, page.height) == (200, 400)
    assert page.media_type == JPEG
    image = _open(page)
    assert image.size == (200, 400)
    # the stored left half (red) is on top once turned clockwise
    assert _close(image.getpixel((100, 50)), RED)
    assert _close(image.getpixel((100, 350)), BLUE)
    assert not image.getexif()
    for key in ("exif", "icc_profile", "comment", "xmp"):
        assert key not in image.info
    for secret in SECRET_STRINGS:
        assert secret not in page.data
    assert b"Exif\x00\x00" not in page.data


@pytest.mark.parametrize("orientation, size", [(1, (400, 200)), (3, (400, 200)), (8, (200, 400))])
def test_other_orientations(orientation, size):
    with Image.open(io.BytesIO(_jpeg_with_metadata(orientation))) as source:
        page = normalize_image(source)
    assert (page.width, page.height) == size


def test_png_text_chunks_are_dropped():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Zhang San")
    info.add_itxt("Comment", "GPS 39.9,116.4")
    buffer = io.BytesIO()
    _split_red_blue().save(buffer, "PNG", pnginfo=info)
    with Image.open(io.BytesIO(buffer.getvalue())) as source:
        page = normalize_image(source)
    for secret in SECRET_STRINGS:
        assert secret not in page.data


def test_large_image_is_bounded_to_3000_and_dpi_follows():
    source = Image.new("RGB", (6000, 1500), "white")
    source.info["dpi"] = (600, 600)
    page = normalize_image(source)
    assert DEFAULT_MAX_EDGE == 3000
    assert (page.width, page.height) == (3000, 750)
    assert page.dpi == 300
    assert _open(page).info["dpi"] == pytest.approx((300, 300), abs=1)


def test_large_jpeg_decodes_reduced_and_is_bounded():
    buffer = io.BytesIO()
    Image.new("RGB", (7000, 5000), "white").save(buffer, "JPEG")
    with Image.open(io.BytesIO(buffer.getvalue())) as source:
        page = normalize_image(source)
    assert (page.width, page.height) == (3000, 2143)


def test_small_image_is_never_enlarged():
    page = normalize_image(Image.new("RGB", (640, 480), "white"), NormalizeOptions(max_edge=3000))
    assert (page.width, page.height) == (640, 480)


def test_configurable_max_edge():
    page = normalize_image(Image.new("RGB", (2000, 1000), "white"), NormalizeOptions(max_edge=1000))
    assert (page.width, page.height) == (1000, 500)


def test_grayscale_option():
    page = normalize_image(_split_red_blue(), NormalizeOptions(grayscale=True))
    assert _open(page).mode == "L"


def test_colour_stays_colour_and_grey_stays_grey():
    assert _open(normalize_image(_split_red_blue())).mode == "RGB"
    assert _open(normalize_image(Image.new("L", (100, 100), 128))).mode == "L"


def test_transparency_becomes_white_paper():
    source = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    source.paste((0, 0, 0, 255), (0, 0, 50, 100))
    image = _open(normalize_image(source))
    assert image.mode == "RGB"
    assert _close(image.getpixel((75, 50)), (255, 255, 255), 8)
    assert _close(image.getpixel((25, 50)), (0, 0, 0), 8)


def test_palette_and_cmyk_become_rgb():
    assert _open(normalize_image(_split_red_blue().convert("P"))).mode == "RGB"
    assert _open(normalize_image(_split_red_blue().convert("CMYK"))).mode == "RGB"


def test_sixteen_bit_grey_is_scaled_not_clipped():
    source = Image.new("I;16", (64, 64), 32768)   # mid grey in 16 bits
    source.paste(65535, (0, 0, 32, 64))
    image = _open(normalize_image(source))
    assert image.mode == "L"
    assert image.getpixel((48, 32)) == pytest.approx(128, abs=3)
    assert image.getpixel((16, 32)) == pytest.approx(255, abs=3)


def test_bilevel_stays_one_bit_png():
    source = Image.new("1", (1000, 1400), 1)
    source.paste(0, (100, 100, 900, 110))          # a ruled line
    page = normalize_image(source)
    assert page.media_type == PNG and page.suffix == ".png"
    assert _open(page).mode == "1"


def test_bilevel_downsized_stays_one_bit_and_keeps_its_lines():
    source = Image.new("1", (6000, 4000), 1)
    source.paste(0, (0, 2000, 6000, 2010))         # a 10 px line: 5 px after halving
    page = normalize_image(source)
    image = _open(page)
    assert page.media_type == PNG and image.mode == "1"
    assert image.size == (3000, 2000)
    assert image.getpixel((1500, 1002)) == 0


def test_jpeg_quality_is_configurable():
    noisy = Image.effect_noise((800, 800), 60).convert("RGB")
    low = normalize_image(noisy, NormalizeOptions(jpeg_quality=40))
    high = normalize_image(noisy, NormalizeOptions(jpeg_quality=90))
    default = normalize_image(noisy)
    assert len(low.data) < len(default.data) < len(high.data)
    assert DEFAULT_JPEG_QUALITY == 82


def test_jpeg_is_baseline_not_progressive():
    image = _open(normalize_image(Image.effect_noise((300, 300), 60).convert("RGB")))
    assert not image.info.get("progressive") and not image.info.get("progression")


@pytest.mark.parametrize("kwargs", [{"max_edge": 10}, {"jpeg_quality": 5}, {"jpeg_quality": 100}, {"pdf_dpi": 20}])
def test_options_are_validated(kwargs):
    with pytest.raises(ValueError):
        NormalizeOptions(**kwargs)


def test_options_are_frozen():
    with pytest.raises(AttributeError):
        NormalizeOptions().max_edge = 10  # type: ignore[misc]


@pytest.mark.parametrize("size, edge, expected", [
    ((4000, 3000), 3000, (3000, 2250)), ((3000, 4000), 3000, (2250, 3000)), ((100, 50), 3000, (100, 50)),
    ((100000, 1), 3000, (3000, 1)),
])
def test_bounded_size(size, edge, expected):
    assert bounded_size(*size, edge) == expected


# rotation


def _page(image: Image.Image) -> Page:
    image.info["dpi"] = (300, 300)
    return normalize_image(image, source="scan.jpg", index=2)


def test_rotate_clockwise_quarter():
    page = _page(_split_red_blue())
    turned = rotate(page, 90)
    assert (turned.width, turned.height) == (200, 400)
    assert (turned.source, turned.index, turned.dpi) == ("scan.jpg", 2, 300)
    image = _open(turned)
    assert _close(image.getpixel((100, 50)), RED)        # left went to the top
    assert _close(_open(rotate(page, -90)).getpixel((100, 350)), RED)  # anticlockwise: left to the bottom


def test_rotate_zero_and_full_turn_return_the_page_itself():
    page = _page(_split_red_blue())
    assert rotate(page, 0) is page
    assert rotate(page, 360) is page


def test_rotate_rejects_odd_angles():
    with pytest.raises(ValueError):
        rotate(_page(_split_red_blue()), 45)


def test_rotating_a_jpeg_costs_at_most_one_reencode():
    """Four separate quarter turns re-encode four times with the page's own tables: the result
    stays close to the original (a careless re-encode at another quality drifts visibly)."""
    page = _page(Image.effect_noise((320, 240), 40).convert("RGB"))
    turned = page
    for _ in range(4):
        turned = rotate(turned, 90)
    assert (turned.width, turned.height) == (page.width, page.height)
    diff = ImageStat.Stat(ImageChops.difference(_open(page), _open(turned))).mean
    assert max(diff) < 3.0
    once = rotate(page, 180)
    assert abs(len(once.data) - len(page.data)) < len(page.data) * 0.1


def test_rotating_a_png_is_lossless():
    source = Image.new("1", (300, 200), 1)
    source.paste(0, (10, 10, 50, 30))
    page = normalize_image(source)
    turned = page
    for _ in range(4):
        turned = rotate(turned, 90)
    assert ImageChops.difference(_open(page).convert("L"), _open(turned).convert("L")).getbbox() is None
    assert turned.media_type == PNG


def test_page_validates_and_hides_bytes_in_repr():
    with pytest.raises(ValueError):
        Page(b"x", "image/gif", 1, 1)
    with pytest.raises(ValueError):
        Page(b"", JPEG, 1, 1)
    page = Page(b"\xff" * 1000, JPEG, 10, 20, source="a.jpg", index=1)
    assert "\\xff" not in repr(page)
    assert page.label == "a.jpg 第2页"
    assert len(page.sha256) == 64
