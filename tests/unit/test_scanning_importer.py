"""Importing files: every accepted type, content over name, and every bad input refused cleanly."""

from __future__ import annotations

import io
import logging
import re
import struct
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib import pdfencrypt
from reportlab.lib.pagesizes import A0, A4
from reportlab.pdfgen import canvas

from counter_client.errors import Cancelled, UserError
from counter_client.scanning import importer
from counter_client.scanning.errors import ScanError
from counter_client.scanning.importer import (
    ImportLimits,
    import_bytes,
    import_file,
    import_many,
    sniff,
)
from counter_client.scanning.normalize import NormalizeOptions
from counter_client.scanning.pages import JPEG

CJK = re.compile(r"[\u4e00-\u9fff]")


# --- inputs, generated at run time ------------------------------------------------------------


def _image_bytes(fmt: str, size=(300, 200), colour=(200, 30, 30), **save) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt, **save)
    return buffer.getvalue()


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _pdf(path: Path, pages: int = 3, pagesize=A4, rotate_second: bool = False, **kwargs) -> Path:
    c = canvas.Canvas(str(path), pagesize=pagesize, **kwargs)
    for number in range(pages):
        if rotate_second and number == 1:
            c.setPageRotation(90)
        c.setFont("Helvetica", 36)
        c.drawString(72, pagesize[1] - 144, f"Page {number + 1}")
        c.rect(72, 72, 144, 144, fill=1)
        c.showPage()
        c.setPageRotation(0)
    c.save()
    return path


def _multipage_tiff(path: Path, sizes=((300, 200), (200, 300), (400, 400))) -> Path:
    frames = [Image.new("RGB", size, colour) for size, colour in zip(sizes, ("red", "green", "blue"))]
    frames[0].save(path, "TIFF", save_all=True, append_images=frames[1:], dpi=(300, 300))
    return path


def _png_declaring(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge image (the IDAT is a token)."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + chunk(b"IEND", b""))


def _assert_clear(error: UserError, *fragments: str) -> None:
    assert CJK.search(error.message), error.message
    assert not CJK.search(error.log.split(": ", 1)[-1]), error.log   # English after the file name
    assert error.log and error.log != error.message
    for fragment in fragments:
        assert fragment in error.message, error.message


# --- what is accepted -------------------------------------------------------------------------


def test_jpeg_with_exif_orientation_comes_out_upright_and_clean(tmp_path):
    image = Image.new("RGB", (400, 200), "white")
    exif = image.getexif()
    exif[0x0112] = 6
    exif[0x010F] = "SECRETCAM"
    path = tmp_path / "身份证.jpg"
    image.save(path, "JPEG", exif=exif)
    [page] = import_file(path)
    assert (page.width, page.height) == (200, 400)
    assert page.source == "身份证.jpg" and page.index == 0
    assert b"SECRETCAM" not in page.data and b"Exif" not in page.data


@pytest.mark.parametrize("fmt, name", [("PNG", "a.png"), ("BMP", "a.bmp"), ("WEBP", "a.webp"), ("JPEG", "a.jpeg")])
def test_single_image_formats(tmp_path, fmt, name):
    [page] = import_file(_write(tmp_path / name, _image_bytes(fmt)))
    assert (page.width, page.height) == (300, 200)
    assert page.media_type == JPEG


def test_multipage_tiff_gives_every_frame(tmp_path):
    pages = import_file(_multipage_tiff(tmp_path / "户口本.tif"))
    assert [(p.width, p.height) for p in pages] == [(300, 200), (200, 300), (400, 400)]
    assert [p.index for p in pages] == [0, 1, 2]
    assert all(p.dpi == 300 for p in pages)
    assert Image.open(io.BytesIO(pages[2].data)).getpixel((10, 10))[2] > 200   # blue


def test_three_page_pdf_is_rendered_at_200_dpi(tmp_path):
    seen = []
    pages = import_file(_pdf(tmp_path / "申请表.pdf"), progress=lambda done, total: seen.append((done, total)))
    assert len(pages) == 3
    assert [p.index for p in pages] == [0, 1, 2]
    assert all((p.width, p.height) == (1654, 2339) and p.dpi == 200 for p in pages)
    assert [p.label for p in pages] == ["申请表.pdf 第1页", "申请表.pdf 第2页", "申请表.pdf 第3页"]
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_pdf_page_rotation_is_honoured(tmp_path):
    pages = import_file(_pdf(tmp_path / "r.pdf", rotate_second=True))
    assert pages[0].width < pages[0].height
    assert pages[1].width < pages[1].height  # reportlab swaps the box: displays portrait again
    sizes = {(p.width, p.height) for p in pages}
    assert len(sizes) == 1


def test_huge_pdf_page_renders_within_the_max_edge(tmp_path):
    [page] = import_file(_pdf(tmp_path / "a0.pdf", pages=1, pagesize=A0))
    assert max(page.width, page.height) == 3000
    assert page.dpi is not None and page.dpi < 200


def test_pdf_grayscale_option(tmp_path):
    pages = import_file(_pdf(tmp_path / "g.pdf", pages=1), NormalizeOptions(grayscale=True))
    assert Image.open(io.BytesIO(pages[0].data)).mode == "L"


def test_pdf_form_field_values_are_rendered(tmp_path):
    path = tmp_path / "form.pdf"
    c = canvas.Canvas(str(path), pagesize=A4)
    c.acroForm.textfield(name="applicant", value="WANG WU 110101", x=72, y=600, width=300, height=40,
                         borderWidth=0, fillColor=None, fontSize=24)
    c.showPage()
    c.save()
    [page] = import_file(path)
    image = Image.open(io.BytesIO(page.data)).convert("L")
    scale = 200 / 72
    box = (int(72 * scale), int((842 - 640) * scale), int(372 * scale), int((842 - 600) * scale))
    assert image.crop(box).getextrema()[0] < 100   # dark text inside the field


def test_pdf_with_only_an_owner_password_opens(tmp_path):
    """Permission restrictions without an open password: readable, so imported."""
    encryption = pdfencrypt.StandardEncryption("", ownerPassword="owner", canPrint=0, canCopy=0)
    assert len(import_file(_pdf(tmp_path / "restricted.pdf", pages=2, encrypt=encryption))) == 2


def test_content_decides_not_the_name(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="counter_client.scanning")
    path = _write(tmp_path / "scan.pdf", _image_bytes("PNG"))
    [page] = import_file(path)
    assert page.width == 300
    assert "content is png" in caplog.text


def test_pdf_with_leading_junk_is_accepted(tmp_path):
    data = _pdf(tmp_path / "x.pdf", pages=1).read_bytes()
    assert len(import_bytes(b"\r\n" + data, "x.pdf")) == 1


# --- what is refused --------------------------------------------------------------------------


def test_encrypted_pdf(tmp_path):
    with pytest.raises(ScanError) as info:
        import_file(_pdf(tmp_path / "locked.pdf", encrypt="secret"))
    _assert_clear(info.value, "locked.pdf", "密码")
    assert "password" in info.value.log


def test_truncated_jpeg(tmp_path):
    noisy = io.BytesIO()
    Image.effect_noise((800, 600), 50).convert("RGB").save(noisy, "JPEG")
    data = noisy.getvalue()
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "cut.jpg", data[: len(data) // 2]))
    _assert_clear(info.value, "cut.jpg", "损坏或不完整")


def test_truncated_png(tmp_path):
    noisy = io.BytesIO()
    Image.effect_noise((400, 400), 50).save(noisy, "PNG")
    data = noisy.getvalue()
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "cut.png", data[: len(data) // 2]))
    _assert_clear(info.value, "损坏或不完整")


@pytest.mark.parametrize("keep", [0.5, 0.98])
def test_truncated_pdf(tmp_path, keep):
    data = _pdf(tmp_path / "whole.pdf").read_bytes()
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "cut.pdf", data[: int(len(data) * keep)]))
    _assert_clear(info.value, "cut.pdf", "损坏或不完整")


def test_corrupt_tiff_frame_imports_nothing(tmp_path):
    data = _multipage_tiff(tmp_path / "t.tif").read_bytes()
    with pytest.raises(ScanError):
        import_file(_write(tmp_path / "cut.tif", data[: len(data) - 200]))


def test_jpg_that_is_a_zip(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("scan1.jpg", b"...")
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "x.jpg", buffer.getvalue()))
    _assert_clear(info.value, "文件“x.jpg”实际上不是图片，而是 ZIP 压缩包", "解压")


def test_jpg_that_is_an_ofd(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("OFD.xml", "<ofd:OFD/>")
        archive.writestr("Doc_0/Document.xml", "<ofd:Document/>")
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "营业执照.jpg", buffer.getvalue()))
    _assert_clear(info.value, "OFD", "另存为 PDF")


def test_jpg_that_is_text(tmp_path):
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "note.jpg", "这不是图片，是一段文字。\n".encode() * 20))
    _assert_clear(info.value, "实际上不是图片，而是文本文件")


def test_pdf_that_is_a_word_document(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "合同.pdf", buffer.getvalue()))
    _assert_clear(info.value, "实际上不是 PDF，而是 Word 文档", "导出为 PDF")


def test_unrecognised_bytes(tmp_path):
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "x.jpg", bytes(range(256)) * 8))
    _assert_clear(info.value, "不是可识别的图片或 PDF")


def test_gif_and_heic_are_named_for_what_they_are(tmp_path):
    gif = io.BytesIO()
    Image.new("P", (10, 10)).save(gif, "GIF")
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "a.gif", gif.getvalue()))
    _assert_clear(info.value, "是 GIF 图片，无法导入")
    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "IMG_0001.jpg", heic))
    _assert_clear(info.value, "实际上是 HEIC 照片", "JPEG")


@pytest.mark.parametrize("data, key", [
    (b"\xff\xd8\xff\xe0", "jpeg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"II*\x00", "tiff"), (b"MM\x00*", "tiff"),
    (b"BM" + b"\x00" * 12 + struct.pack("<I", 40), "bmp"), (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
    (b"%PDF-1.7\n", "pdf"), (b"GIF89a", "gif"), (b"Rar!\x1a\x07\x00", "rar"), (b"7z\xbc\xaf\x27\x1c", "7z"),
    (b"\x1f\x8b\x08", "gzip"), (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "ole"), (b"MZ\x90\x00", "exe"),
    (b"<!DOCTYPE html><html>", "html"), (b"<?xml version='1.0'?><svg/>", "svg"), (b"{\\rtf1", "rtf"),
    (b"\x00\x00\x00\x20ftypisom", "video"), (b"\x00\x00\x00\x1cftypavif", "avif"), ("纯文本".encode("gb18030"), "text"),
])
def test_sniff(data, key):
    kind = sniff(data)
    assert kind is not None and kind.key == key


def test_sniff_does_not_take_text_starting_with_bm_for_a_bitmap():
    kind = sniff(b"BMW service record, page 1\n" * 4)
    assert kind is not None and kind.key == "text"


def test_decompression_bomb_png(tmp_path):
    """A real single-colour PNG of 121 megapixels (a few KB on disk): Pillow's warning zone."""
    path = tmp_path / "bomb.png"
    Image.new("1", (11000, 11000), 1).save(path, "PNG")
    assert path.stat().st_size < 100_000
    with pytest.raises(ScanError) as info:
        import_file(path)
    _assert_clear(info.value, "尺寸过大")
    assert "decompression bomb" in info.value.log


def test_decompression_bomb_header(tmp_path):
    """A header claiming 10 gigapixels: Pillow's DecompressionBombError zone."""
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "huge.png", _png_declaring(100_000, 100_000)))
    _assert_clear(info.value, "尺寸过大")


def test_our_own_pixel_limit_applies(tmp_path):
    path = _write(tmp_path / "a.png", _image_bytes("PNG", size=(1200, 1000)))
    with pytest.raises(ScanError) as info:
        import_file(path, limits=ImportLimits(max_pixels=1_000_000))
    _assert_clear(info.value, "1200×1000")


def test_every_tiff_frame_is_checked(tmp_path):
    path = _multipage_tiff(tmp_path / "t.tif", sizes=((100, 100), (100, 100), (2000, 1000)))
    with pytest.raises(ScanError) as info:
        import_file(path, limits=ImportLimits(max_pixels=1_000_000))
    _assert_clear(info.value, "2000×1000")


def test_total_pixels_are_capped(tmp_path):
    path = _multipage_tiff(tmp_path / "t.tif", sizes=((1000, 1000),) * 3)
    with pytest.raises(ScanError):
        import_file(path, limits=ImportLimits(max_total_pixels=2_500_000))


@pytest.mark.parametrize("maker", ["tiff", "pdf"])
def test_page_count_is_capped(tmp_path, maker):
    path = _multipage_tiff(tmp_path / "t.tif") if maker == "tiff" else _pdf(tmp_path / "t.pdf")
    with pytest.raises(ScanError) as info:
        import_file(path, limits=ImportLimits(max_pages=2))
    _assert_clear(info.value, "3 页", "2 页")


def test_oversize_file_is_refused_before_reading(tmp_path, monkeypatch):
    path = _write(tmp_path / "big.jpg", _image_bytes("JPEG", size=(500, 500)))

    def no_reading(*args, **kwargs):
        raise AssertionError("the file was opened")

    monkeypatch.setattr(importer, "open", no_reading, raising=False)
    with pytest.raises(ScanError) as info:
        import_file(path, max_bytes=1000)
    _assert_clear(info.value, "big.jpg", "超过上限")


def test_folder_missing_empty_and_unreadable(tmp_path, monkeypatch):
    with pytest.raises(ScanError) as info:
        import_file(tmp_path)
    _assert_clear(info.value, "文件夹")
    with pytest.raises(ScanError) as info:
        import_file(tmp_path / "nowhere.jpg")
    _assert_clear(info.value, "找不到文件“nowhere.jpg”")
    with pytest.raises(ScanError) as info:
        import_file(_write(tmp_path / "empty.pdf", b""))
    _assert_clear(info.value, "空文件")

    def locked(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    path = _write(tmp_path / "locked.jpg", _image_bytes("JPEG"))
    monkeypatch.setattr(importer, "open", locked, raising=False)
    with pytest.raises(ScanError) as info:
        import_file(path)
    _assert_clear(info.value, "无法读取", "占用")


def test_scan_error_is_a_user_error():
    assert issubclass(ScanError, UserError)


def test_cancel_stops_between_pages(tmp_path):
    path = _pdf(tmp_path / "p.pdf")
    calls = iter([False, True])
    with pytest.raises(Cancelled):
        import_file(path, cancelled=lambda: next(calls))


# --- batches and threads ----------------------------------------------------------------------


def test_import_many_keeps_the_successes(tmp_path):
    good1 = _write(tmp_path / "1.jpg", _image_bytes("JPEG"))
    bad = _write(tmp_path / "2.jpg", b"PK\x03\x04 not really")
    good2 = _pdf(tmp_path / "3.pdf", pages=2)
    missing = tmp_path / "4.png"
    seen = []
    report = import_many([good1, bad, good2, missing], progress=lambda d, t: seen.append(d))
    assert [path for path, _ in report.imported] == [good1, good2]
    assert len(report.pages) == 3
    assert [f.path for f in report.failures] == [bad, missing]
    assert "ZIP" in report.failures[0].message and "找不到" in report.failures[1].message
    assert not report.ok
    assert report.summary() == "已导入 2 个文件共 3 页；2 个文件未导入"
    assert seen == [1, 2, 3, 4]


def test_pdfs_import_safely_from_several_threads(tmp_path):
    paths = [_pdf(tmp_path / f"{n}.pdf", pages=2) for n in range(6)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(import_file, paths))
    assert [len(pages) for pages in results] == [2] * 6
    assert len({p.sha256 for pages in results for p in pages}) == 2  # same two pages each time
