"""Import image and PDF files as normalised pages, all or nothing per file.

The type is decided by the content (magic bytes, then Pillow restricted to that one format),
never by the name: a ``.jpg`` that is really a ZIP, an OFD or an iPhone HEIC photo is refused with
a message that says what it is and what to do. Everything that can go wrong with a file the
applicant brought (missing, folder, empty, too big, truncated, encrypted, a decompression bomb)
becomes a ``ScanError``; a file yields either all its pages or none.

Accepted: JPEG, PNG, TIFF (every page), BMP, WebP, PDF (every page, rendered with PDFium).
"""

from __future__ import annotations

import codecs
import io
import logging
import os
import stat
import struct
import threading
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image

from counter_client.errors import Cancelled
from counter_client.scanning.errors import ScanError
from counter_client.scanning.normalize import (
    DEFAULT_OPTIONS,
    NormalizeOptions,
    normalize_image,
)
from counter_client.scanning.pages import Page

log = logging.getLogger(__name__)

MIB = 1024 * 1024
DEFAULT_MAX_FILE_BYTES = 100 * MIB          # checked on the file's size before reading a byte
DEFAULT_MAX_SOURCE_PIXELS = 100_000_000     # one decoded frame: an A3 page at 600 dpi is 70 MP
DEFAULT_MAX_PAGES = 300                     # pages (TIFF frames, PDF pages) in one file
DEFAULT_MAX_TOTAL_PIXELS = 1_500_000_000    # decoded pixels over all pages of one file
PDF_HEADER_WINDOW = 1024                    # "%PDF-" may follow junk, as readers allow
PDF_EOF_WINDOW = 1024                       # "%%EOF" must be this close to the end (as Acrobat wants)
PDF_POINTS_PER_INCH = 72
TEXT_SNIFF_BYTES = 4096

# Pillow's own bomb guard, set on purpose rather than left at its default: it warns above this
# many pixels and raises above twice as many. We turn the warning into an error too, and check
# every frame ourselves against ``ImportLimits.max_pixels`` (Pillow checks only the first).
Image.MAX_IMAGE_PIXELS = DEFAULT_MAX_SOURCE_PIXELS

# PDFium is not thread-safe: one document at a time in the whole process.
_PDFIUM_LOCK = threading.Lock()

# what a decoder raises on bad input; anything else is our bug and propagates
_DECODER_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error,
                   IndexError, KeyError, TypeError)

ProgressFn = Callable[[int, int], None]
CancelledFn = Callable[[], bool]


@dataclass(frozen=True)
class ImportLimits:
    """Upper bounds that keep a hostile or broken file from eating the counter PC's memory."""

    max_pixels: int = DEFAULT_MAX_SOURCE_PIXELS
    max_pages: int = DEFAULT_MAX_PAGES
    max_total_pixels: int = DEFAULT_MAX_TOTAL_PIXELS


DEFAULT_LIMITS = ImportLimits()


# ---------------------------------------------------------------------------------------------
# what a file is, by its content


@dataclass(frozen=True)
class Kind:
    """A file type recognised by content. ``pillow`` lists the Pillow formats allowed to open it."""

    key: str
    label: str                       # for the clerk: "JPEG 图片", "ZIP 压缩包"
    accepted: bool = False
    pillow: tuple[str, ...] = ()
    hint: str = ""                   # what the clerk can do with it instead
    is_image: bool = False           # an image format, accepted or not

    @property
    def is_pdf(self) -> bool:
        return self.key == "pdf"


_ACCEPTED_HINT = "请导入 JPEG、PNG、TIFF、BMP、WebP 图片或 PDF 文件。"
_UNPACK_HINT = "请先解压，再导入其中的图片或 PDF 文件。"
_OFFICE_HINT = "请用 WPS 或 Office 将其导出为 PDF 后再导入。"

JPEG_KIND = Kind("jpeg", "JPEG 图片", True, ("JPEG", "MPO"), is_image=True)
PNG_KIND = Kind("png", "PNG 图片", True, ("PNG",), is_image=True)
TIFF_KIND = Kind("tiff", "TIFF 图片", True, ("TIFF",), is_image=True)
BMP_KIND = Kind("bmp", "BMP 图片", True, ("BMP",), is_image=True)
WEBP_KIND = Kind("webp", "WebP 图片", True, ("WEBP",), is_image=True)
PDF_KIND = Kind("pdf", "PDF 文件", True)

GIF_KIND = Kind("gif", "GIF 图片", is_image=True, hint="本系统不支持 GIF，请另存为 JPEG 或 PNG 后再导入。")
HEIC_KIND = Kind("heic", "HEIC 照片（苹果手机的默认照片格式）",
                 is_image=True, hint="请在手机上转换为 JPEG（或在相机设置中选择“兼容性最佳”）后再导入。")
AVIF_KIND = Kind("avif", "AVIF 图片", is_image=True, hint="请另存为 JPEG 或 PNG 后再导入。")
JP2_KIND = Kind("jp2", "JPEG 2000 图片", is_image=True, hint="请另存为 JPEG 或 PNG 后再导入。")
PSD_KIND = Kind("psd", "Photoshop 文件", is_image=True, hint="请另存为 JPEG 或 PDF 后再导入。")
SVG_KIND = Kind("svg", "SVG 矢量图", is_image=True, hint="请另存为 PNG 或 PDF 后再导入。")
VIDEO_KIND = Kind("video", "视频文件", hint="请拍摄照片或扫描纸质材料后再导入。")
OFD_KIND = Kind("ofd", "OFD 版式文件", hint="请用 OFD 阅读器将其另存为 PDF 后再导入。")
DOCX_KIND = Kind("docx", "Word 文档", hint=_OFFICE_HINT)
XLSX_KIND = Kind("xlsx", "Excel 表格", hint=_OFFICE_HINT)
PPTX_KIND = Kind("pptx", "PowerPoint 演示文稿", hint=_OFFICE_HINT)
OLE_KIND = Kind("ole", "旧版 Word/Excel/WPS 文档", hint=_OFFICE_HINT)
RTF_KIND = Kind("rtf", "RTF 文档", hint=_OFFICE_HINT)
ZIP_KIND = Kind("zip", "ZIP 压缩包", hint=_UNPACK_HINT)
RAR_KIND = Kind("rar", "RAR 压缩包", hint=_UNPACK_HINT)
SEVENZ_KIND = Kind("7z", "7z 压缩包", hint=_UNPACK_HINT)
GZIP_KIND = Kind("gzip", "GZIP 压缩文件", hint=_UNPACK_HINT)
EXE_KIND = Kind("exe", "可执行程序", hint="请勿导入程序文件。" + _ACCEPTED_HINT)
HTML_KIND = Kind("html", "网页文件", hint="请将网页打印为 PDF 后再导入。")
XML_KIND = Kind("xml", "XML 文件", hint=_ACCEPTED_HINT)
TEXT_KIND = Kind("text", "文本文件", hint=_ACCEPTED_HINT)

_BMP_HEADER_SIZES = {12, 40, 52, 56, 64, 108, 124}
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"mif2"}
_AVIF_BRANDS = {b"avif", b"avis"}
_ZIP_MEMBERS = (("OFD.xml", OFD_KIND), ("word/document.xml", DOCX_KIND),
                ("xl/workbook.xml", XLSX_KIND), ("ppt/presentation.xml", PPTX_KIND))
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib", ".webp",
                  ".gif", ".heic", ".heif", ".avif", ".jp2", ".j2k", ".psd", ".svg"}
PDF_SUFFIXES = {".pdf"}
_SUFFIX_KINDS = {".gif": GIF_KIND, ".heic": HEIC_KIND, ".heif": HEIC_KIND, ".avif": AVIF_KIND,
                 ".jp2": JP2_KIND, ".j2k": JP2_KIND, ".psd": PSD_KIND, ".svg": SVG_KIND}
SUPPORTED_SUFFIXES = frozenset({".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".tif", ".tiff", ".bmp", ".dib",
                                ".webp", ".pdf"})


def sniff(data: bytes) -> Kind | None:
    """The file type by content, or None when it is nothing we recognise."""
    head = data[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG_KIND
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG_KIND
    if head[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
        return TIFF_KIND
    if head.startswith(b"BM") and len(head) >= 18 and struct.unpack_from("<I", head, 14)[0] in _BMP_HEADER_SIZES:
        return BMP_KIND
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP_KIND
    if b"%PDF-" in data[:PDF_HEADER_WINDOW]:
        return PDF_KIND
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF_KIND
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _AVIF_BRANDS:
            return AVIF_KIND
        if brand in _HEIF_BRANDS:
            return HEIC_KIND
        return VIDEO_KIND
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return JP2_KIND
    if head.startswith(b"8BPS"):
        return PSD_KIND
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return _zip_kind(data)
    if head.startswith(b"Rar!\x1a\x07"):
        return RAR_KIND
    if head.startswith(b"7z\xbc\xaf\x27\x1c"):
        return SEVENZ_KIND
    if head.startswith(b"\x1f\x8b"):
        return GZIP_KIND
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return OLE_KIND
    if head.startswith(b"{\\rtf"):
        return RTF_KIND
    if head.startswith((b"MZ", b"\x7fELF")):
        return EXE_KIND
    return _text_kind(data[:TEXT_SNIFF_BYTES])


def _zip_kind(data: bytes) -> Kind:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return ZIP_KIND
    for member, kind in _ZIP_MEMBERS:
        if member in names:
            return kind
    return ZIP_KIND


def _text_kind(head: bytes) -> Kind | None:
    if head.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        return TEXT_KIND
    text = None
    for encoding in ("utf-8", "gb18030"):
        try:  # incremental: the sniffed window may end inside a multi-byte character
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
            break
        except UnicodeDecodeError:
            continue
    if not text or any(ord(c) < 32 and c not in "\t\r\n\f" for c in text):
        return None
    lowered = text.lstrip().lower()
    if lowered.startswith(("<!doctype html", "<html")):
        return HTML_KIND
    if lowered.startswith("<svg") or (lowered.startswith("<?xml") and "<svg" in lowered):
        return SVG_KIND
    if lowered.startswith("<?xml"):
        return XML_KIND
    return TEXT_KIND


# ---------------------------------------------------------------------------------------------
# the public entry points


def import_file(path: str | os.PathLike[str], options: NormalizeOptions = DEFAULT_OPTIONS,
                max_bytes: int = DEFAULT_MAX_FILE_BYTES, *, limits: ImportLimits = DEFAULT_LIMITS,
                progress: ProgressFn | None = None, cancelled: CancelledFn | None = None) -> list[Page]:
    """Every page of one file, normalised; raises ``ScanError`` (nothing imported) or ``Cancelled``.

    ``progress(done, total)`` is called after each page; ``cancelled()`` is checked before each.
    """
    path = Path(path)
    data = _read(path, max_bytes)
    return import_bytes(data, path.name or str(path), options, limits=limits, progress=progress,
                        cancelled=cancelled, origin=str(path))


def import_bytes(data: bytes, name: str, options: NormalizeOptions = DEFAULT_OPTIONS, *,
                 limits: ImportLimits = DEFAULT_LIMITS, progress: ProgressFn | None = None,
                 cancelled: CancelledFn | None = None, origin: str | None = None) -> list[Page]:
    """Like ``import_file`` for content already in memory; ``name`` is shown to the clerk."""
    origin = origin or name
    if not data:
        raise _empty(name, origin)
    kind = sniff(data)
    if kind is None or not kind.accepted:
        raise _wrong_kind(name, origin, kind)
    claimed = _claimed_by_name(name)
    if claimed is not None and claimed != ("pdf" if kind.is_pdf else "image"):
        log.info("import %s: name suggests %s but the content is %s; going by the content", origin, claimed, kind.key)
    if kind.is_pdf:
        pages = _import_pdf(data, name, origin, options, limits, progress, cancelled)
    else:
        pages = _import_image(data, kind, name, origin, options, limits, progress, cancelled)
    log.info("imported %s: %d page(s) from %s (%d bytes)", origin, len(pages), kind.key, len(data))
    return pages


@dataclass(frozen=True)
class FileFailure:
    """A file of a batch that was not imported, with the reason for the clerk and the log."""

    path: Path
    message: str
    log: str


@dataclass(frozen=True)
class ImportReport:
    """What ``import_many`` got: the pages per imported file, in the order given, and the failures."""

    imported: tuple[tuple[Path, tuple[Page, ...]], ...] = ()
    failures: tuple[FileFailure, ...] = ()

    @property
    def pages(self) -> list[Page]:
        return [page for _, pages in self.imported for page in pages]

    @property
    def ok(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        """One line for the clerk, e.g. "已导入 3 个文件共 7 页；2 个文件未导入"."""
        text = f"已导入 {len(self.imported)} 个文件共 {len(self.pages)} 页"
        return text + (f"；{len(self.failures)} 个文件未导入" if self.failures else "")


def import_many(paths: Iterable[str | os.PathLike[str]], options: NormalizeOptions = DEFAULT_OPTIONS,
                max_bytes: int = DEFAULT_MAX_FILE_BYTES, *, limits: ImportLimits = DEFAULT_LIMITS,
                progress: ProgressFn | None = None, cancelled: CancelledFn | None = None) -> ImportReport:
    """Import several files; a file that fails is reported and the others are kept.

    ``progress(done, total)`` counts files. ``Cancelled`` drops the whole batch (nothing half-done).
    """
    paths = [Path(p) for p in paths]
    imported: list[tuple[Path, tuple[Page, ...]]] = []
    failures: list[FileFailure] = []
    for number, path in enumerate(paths, 1):
        if cancelled is not None and cancelled():
            raise Cancelled()
        try:
            pages = import_file(path, options, max_bytes, limits=limits, cancelled=cancelled)
        except ScanError as exc:
            log.warning("%s", exc.log)
            failures.append(FileFailure(path, exc.message, exc.log))
        else:
            imported.append((path, tuple(pages)))
        if progress is not None:
            progress(number, len(paths))
    return ImportReport(tuple(imported), tuple(failures))


# ---------------------------------------------------------------------------------------------
# reading


def _read(path: Path, max_bytes: int) -> bytes:
    name = path.name or str(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise ScanError(f"找不到文件“{name}”，它可能已被移动、改名或删除。",
                        f"import {path}: no such file") from None
    except PermissionError:
        raise _unreadable(name, path, "permission denied on stat") from None
    except OSError as exc:
        raise _unreadable(name, path, f"stat failed: {exc}") from None
    if stat.S_ISDIR(info.st_mode):
        raise ScanError(f"“{name}”是一个文件夹，不是文件。请打开该文件夹，选择其中的图片或 PDF 文件。",
                        f"import {path}: is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ScanError(f"“{name}”不是普通文件，无法导入。请选择图片或 PDF 文件。",
                        f"import {path}: not a regular file (mode {info.st_mode:o})")
    if info.st_size == 0:
        raise _empty(name, str(path))
    if info.st_size > max_bytes:
        raise _too_large(name, path, info.st_size, max_bytes)
    try:
        with open(path, "rb") as file:
            data = file.read(max_bytes + 1)   # the file may have grown since stat()
    except FileNotFoundError:
        raise ScanError(f"找不到文件“{name}”，它可能已被移动、改名或删除。",
                        f"import {path}: vanished before reading") from None
    except PermissionError:
        raise _unreadable(name, path, "permission denied on open") from None
    except OSError as exc:
        raise _unreadable(name, path, f"read failed: {exc}") from None
    if len(data) > max_bytes:
        raise _too_large(name, path, len(data), max_bytes)
    return data


def _claimed_by_name(name: str) -> str | None:
    suffix = Path(name).suffix.lower()
    if suffix in PDF_SUFFIXES:
        return "pdf"
    if suffix in IMAGE_SUFFIXES:
        return "image"
    return None


# ---------------------------------------------------------------------------------------------
# images (Pillow)


def _import_image(data: bytes, kind: Kind, name: str, origin: str, options: NormalizeOptions,
                  limits: ImportLimits, progress: ProgressFn | None, cancelled: CancelledFn | None) -> list[Page]:
    pages: list[Page] = []
    with _decoding(name, origin, kind):
        image = Image.open(io.BytesIO(data), formats=kind.pillow)
    with image, _decoding(name, origin, kind):
        frames = getattr(image, "n_frames", 1) if kind is TIFF_KIND else 1
        if frames > limits.max_pages:
            raise _too_many_pages(name, origin, frames, limits.max_pages)
        total_pixels = 0
        for frame in range(frames):
            if cancelled is not None and cancelled():
                raise Cancelled()
            if frame:
                image.seek(frame)
            if kind is TIFF_KIND and _is_auxiliary_tiff_frame(image):
                log.info("import %s: skipping reduced-resolution/mask TIFF frame %d", origin, frame)
                continue
            width, height = image.size
            if width < 1 or height < 1:
                raise ValueError(f"frame {frame} has size {width}x{height}")
            if width * height > limits.max_pixels:
                raise _bomb(name, origin, f"{width}×{height} 像素", limits.max_pixels, f"frame {frame} is {width}x{height}")
            total_pixels += width * height
            if total_pixels > limits.max_total_pixels:
                raise _bomb(name, origin, f"共 {frames} 页，合计超过 {_pixels(limits.max_total_pixels)}",
                            limits.max_total_pixels, f"{total_pixels} px in the first {frame + 1} frames")
            pages.append(normalize_image(image, options, source=name, index=len(pages)))
            if progress is not None:
                progress(frame + 1, frames)
    if not pages:
        raise _corrupt(name, origin, kind, "no usable frame")
    return pages


def _is_auxiliary_tiff_frame(image: Image.Image) -> bool:
    """A thumbnail (reduced-resolution) or transparency-mask IFD, not a page (TIFF tag 254)."""
    try:
        subfile_type = int(image.tag_v2.get(254, 0))  # type: ignore[attr-defined]
    except (AttributeError, TypeError, ValueError):
        return False
    return bool(subfile_type & 0b101)


@contextmanager
def _decoding(name: str, origin: str, kind: Kind):
    """Decoder failures and bomb alarms become ``ScanError``; Pillow's bomb warning is an error.

    ``catch_warnings`` is process-wide before Python 3.14, so a concurrent import may briefly
    run without the filter; the per-frame pixel check in ``_import_image`` covers that case.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except ScanError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _bomb(name, origin, "", Image.MAX_IMAGE_PIXELS or 0, str(exc)) from None
        except MemoryError:
            raise _bomb(name, origin, "", 0, "MemoryError while decoding") from None
        except _DECODER_ERRORS as exc:
            log.info("decoder failure on %s", origin, exc_info=True)
            raise _corrupt(name, origin, kind, f"{type(exc).__name__}: {exc}") from None


# ---------------------------------------------------------------------------------------------
# PDF (PDFium)


def _import_pdf(data: bytes, name: str, origin: str, options: NormalizeOptions, limits: ImportLimits,
                progress: ProgressFn | None, cancelled: CancelledFn | None) -> list[Page]:
    if b"%%EOF" not in data[-PDF_EOF_WINDOW:]:
        # PDFium would rebuild what it can and might silently drop the missing pages
        raise _corrupt(name, origin, PDF_KIND, "no %%EOF near the end: truncated")
    pages: list[Page] = []
    with _PDFIUM_LOCK:
        try:
            document = pdfium.PdfDocument(data)
        except pdfium.PdfiumError as exc:
            raise _pdf_open_error(name, origin, exc) from None
        try:
            count = len(document)
            if count > limits.max_pages:
                raise _too_many_pages(name, origin, count, limits.max_pages)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", pdfium.PdfiumWarning)  # XFA forms: render what AcroForm gives
                document.init_forms()  # show the values typed into fillable forms
            total_pixels = 0
            for number in range(count):
                if cancelled is not None and cancelled():
                    raise Cancelled()
                image, dpi = _render_pdf_page(document, number, name, origin, options)
                total_pixels += image.width * image.height
                if total_pixels > limits.max_total_pixels:
                    raise _bomb(name, origin, f"共 {count} 页", limits.max_total_pixels, f"{total_pixels} px in {number + 1} pages")
                with _decoding(name, origin, PDF_KIND):
                    pages.append(normalize_image(image, options, source=name, index=number, dpi=dpi))
                if progress is not None:
                    progress(number + 1, count)
        finally:
            document.close()
    return pages


def _render_pdf_page(document, number: int, name: str, origin: str, options: NormalizeOptions):
    """One page rendered at ``options.pdf_dpi``, or less when that would exceed the max edge:
    a page that declares an absurd size renders small instead of exhausting memory."""
    try:
        page = document[number]
    except pdfium.PdfiumError as exc:
        raise _corrupt(name, origin, PDF_KIND, f"page {number + 1} does not load: {exc}") from None
    try:
        width_pt, height_pt = page.get_size()   # as displayed: /Rotate is taken into account
        if not (width_pt > 0 and height_pt > 0):
            raise _corrupt(name, origin, PDF_KIND, f"page {number + 1} has size {width_pt}x{height_pt}")
        # a hair under the bound, so PDFium's rounding up never overshoots it by a pixel
        scale = min(options.pdf_dpi / PDF_POINTS_PER_INCH,
                    options.max_edge / max(width_pt, height_pt) * (1 - 1e-9))
        try:
            bitmap = page.render(scale=scale, grayscale=options.grayscale, rev_byteorder=True)
            image = bitmap.to_pil().copy()   # own the pixels before PDFium frees the bitmap
            bitmap.close()                   # here, under the lock, not in a finaliser
        except (pdfium.PdfiumError, ValueError) as exc:
            raise _corrupt(name, origin, PDF_KIND, f"page {number + 1} does not render: {exc}") from None
        log.debug("rendered %s page %d at %.1f dpi to %s", origin, number + 1, scale * PDF_POINTS_PER_INCH, image.size)
        return image, scale * PDF_POINTS_PER_INCH
    finally:
        page.close()


def _pdf_open_error(name: str, origin: str, exc: pdfium.PdfiumError) -> ScanError:
    code = getattr(exc, "err_code", None)
    if code == pdfium.raw.FPDF_ERR_PASSWORD:
        return ScanError(
            f"PDF 文件“{name}”设有打开密码，无法导入。请让申请人提供未加密的文件，或将其打印后重新扫描。",
            f"import {origin}: PDF is password-protected")
    if code == pdfium.raw.FPDF_ERR_SECURITY:
        return ScanError(
            f"PDF 文件“{name}”使用了不支持的加密方式，无法导入。请让申请人提供未加密的文件，或将其打印后重新扫描。",
            f"import {origin}: PDF uses an unsupported security handler")
    if code == pdfium.raw.FPDF_ERR_SUCCESS:
        return ScanError(f"PDF 文件“{name}”没有任何页面。", f"import {origin}: PDF has no pages")
    return _corrupt(name, origin, PDF_KIND, f"PDFium: {exc}")


# ---------------------------------------------------------------------------------------------
# the messages


def _wrong_kind(name: str, origin: str, kind: Kind | None) -> ScanError:
    claimed = _claimed_by_name(name)
    if kind is None:
        return ScanError(f"文件“{name}”不是可识别的图片或 PDF（可能已损坏，或是其他格式）。{_ACCEPTED_HINT}",
                         f"import {origin}: content is not a recognised image or PDF")
    if kind.is_image and claimed == "image":
        # an image, just not one we take: "x.heic 是 HEIC 照片", "x.jpg 实际上是 GIF 图片"
        named_right = _SUFFIX_KINDS.get(Path(name).suffix.lower()) is kind
        text = f"文件“{name}”{'是' if named_right else '实际上是'}{_spaced(kind.label)}，无法导入。{kind.hint}"
    elif claimed == "image":
        text = f"文件“{name}”实际上不是图片，而是{_spaced(kind.label)}。{kind.hint}"
    elif claimed == "pdf":
        text = f"文件“{name}”实际上不是 PDF，而是{_spaced(kind.label)}。{kind.hint}"
    else:
        text = f"文件“{name}”是{_spaced(kind.label)}，不是图片或 PDF，无法导入。{kind.hint}"
    return ScanError(text, f"import {origin}: content is {kind.key}, not an accepted type")


def _corrupt(name: str, origin: str, kind: Kind, detail: str) -> ScanError:
    if kind.is_pdf:
        text = f"PDF 文件“{name}”已损坏或不完整，无法打开，可能是复制或下载时中断。请重新获取该文件。"
    else:
        text = f"图片“{name}”已损坏或不完整（{kind.label}无法解码），可能是复制或传输时中断。请重新扫描或重新复制该文件。"
    return ScanError(text, f"import {origin}: corrupt or truncated {kind.key}: {detail}")


def _bomb(name: str, origin: str, what: str, limit: int, detail: str) -> ScanError:
    size = f"（{what}）" if what else ""
    cap = f"，超过上限 {_pixels(limit)}" if limit else ""
    return ScanError(f"文件“{name}”的图像尺寸过大{size}{cap}，可能是异常文件。请降低扫描分辨率后重新扫描。",
                     f"import {origin}: refused as a possible decompression bomb: {detail} (limit {limit} px)")


def _too_many_pages(name: str, origin: str, count: int, limit: int) -> ScanError:
    return ScanError(f"文件“{name}”有 {count} 页，超过单个文件 {limit} 页的上限。请拆分后分别导入。",
                     f"import {origin}: {count} pages, limit {limit}")


def _too_large(name: str, path: Path, size: int, limit: int) -> ScanError:
    return ScanError(
        f"文件“{name}”大小为 {_megabytes(size)}，超过上限 {_megabytes(limit)}。请降低扫描分辨率或拆分文件后再导入。",
        f"import {path}: {size} bytes, limit {limit}")


def _empty(name: str, origin: str) -> ScanError:
    return ScanError(f"文件“{name}”是空文件（0 字节），扫描或复制可能没有完成。请重新扫描或复制。",
                     f"import {origin}: empty file")


def _unreadable(name: str, path: Path, detail: str) -> ScanError:
    return ScanError(f"无法读取文件“{name}”：没有访问权限，或正被其他程序占用。请关闭占用它的程序后重试。",
                     f"import {path}: unreadable: {detail}")


def _megabytes(size: int) -> str:
    return f"{size / MIB:.1f} MB" if size >= MIB else f"{max(1, round(size / 1024))} KB"


def _pixels(count: int) -> str:
    """Pixel counts the way camera specs say them: "1 亿像素", "4800 万像素"."""
    return f"{count / 100_000_000:g} 亿像素" if count >= 100_000_000 else f"{count / 10_000:g} 万像素"


def _spaced(label: str) -> str:
    """A space between Chinese text and a label starting with a Latin letter ("而是 ZIP 压缩包")."""
    return f" {label}" if label[:1].isascii() else label
