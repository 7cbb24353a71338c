"""Turn any decoded image into a normalised ``Page``, and rotate pages.

Normalising means: upright (EXIF orientation applied), no metadata at all (EXIF can hold GPS
position, device serials, the applicant's phone's name: personal data that must not travel with
the scan), RGB or greyscale, long edge bounded (never enlarged), compressed as JPEG. Bilevel
(1-bit) sources such as fax-mode scanner output stay 1-bit and become PNG: lossless, crisper and
several times smaller than a JPEG of the same line art.

Pillow only; the caller (``importer``, ``camera``) opens the image and maps decoder failures to
``ScanError``.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

from counter_client.scanning.pages import JPEG, PNG, Page

log = logging.getLogger(__name__)

DEFAULT_MAX_EDGE = 3000          # px, long edge of a stored page: ~250 dpi on A4, plenty to read
MIN_MAX_EDGE = 200
DEFAULT_JPEG_QUALITY = 82        # visually clean text at ~1/10 of the raw size
MIN_JPEG_QUALITY = 30
MAX_JPEG_QUALITY = 95            # above this JPEG only grows
DEFAULT_PDF_DPI = 200            # rendering resolution of PDF pages (before the max-edge bound)
MIN_PDF_DPI = 50
MAX_PDF_DPI = 600
PLAUSIBLE_DPI = (100, 4800)      # below: 72/96 are writers' defaults (cameras, screenshots), not scans
PAPER = 255                      # transparent areas become white paper
BILEVEL_THRESHOLD = 128          # 1-bit pages downsized through greyscale are re-thresholded here
RESIZE_FILTER = Image.Resampling.LANCZOS
RESIZE_REDUCING_GAP = 3.0        # fast two-step downsizing, indistinguishable from one-step LANCZOS

# clockwise quarter turns -> Pillow transposition (Pillow's ROTATE_90 is anticlockwise)
_CLOCKWISE = {
    1: Image.Transpose.ROTATE_270,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_90,
}
_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))


@dataclass(frozen=True)
class NormalizeOptions:
    """How pages are normalised. ``pdf_dpi`` is the resolution PDF pages are rendered at."""

    max_edge: int = DEFAULT_MAX_EDGE
    grayscale: bool = False
    jpeg_quality: int = DEFAULT_JPEG_QUALITY
    pdf_dpi: int = DEFAULT_PDF_DPI

    def __post_init__(self) -> None:
        if not MIN_MAX_EDGE <= self.max_edge:
            raise ValueError(f"max_edge must be at least {MIN_MAX_EDGE}, not {self.max_edge}")
        if not MIN_JPEG_QUALITY <= self.jpeg_quality <= MAX_JPEG_QUALITY:
            raise ValueError(f"jpeg_quality must be {MIN_JPEG_QUALITY}..{MAX_JPEG_QUALITY}, not {self.jpeg_quality}")
        if not MIN_PDF_DPI <= self.pdf_dpi <= MAX_PDF_DPI:
            raise ValueError(f"pdf_dpi must be {MIN_PDF_DPI}..{MAX_PDF_DPI}, not {self.pdf_dpi}")


DEFAULT_OPTIONS = NormalizeOptions()


def bounded_size(width: int, height: int, max_edge: int) -> tuple[int, int]:
    """The size that fits ``max_edge`` on the long side, keeping the aspect; never larger."""
    long_edge = max(width, height)
    if long_edge <= max_edge:
        return width, height
    scale = max_edge / long_edge
    return max(1, round(width * scale)), max(1, round(height * scale))


def source_dpi(image: Image.Image) -> float | None:
    """The horizontal resolution the file declares, if plausible."""
    dpi = image.info.get("dpi")
    try:
        value = float(dpi[0]) if dpi else 0.0
    except (TypeError, ValueError, IndexError):
        return None
    return value if PLAUSIBLE_DPI[0] <= value <= PLAUSIBLE_DPI[1] else None


def normalize_image(image: Image.Image, options: NormalizeOptions = DEFAULT_OPTIONS, *,
                    source: str = "", index: int = 0, dpi: float | None = None) -> Page:
    """Normalise one decoded (or just opened, not yet loaded) image into a ``Page``.

    ``dpi`` overrides what the image declares (a PDF rendering knows its own). Decoder errors
    (truncated data and the like) propagate from Pillow; the importer maps them.
    """
    dpi = dpi if dpi is not None else source_dpi(image)
    original_long_edge = max(image.size)
    if isinstance(image, JpegImagePlugin.JpegImageFile):  # a no-op once the pixels are loaded
        # let libjpeg decode at 1/2, 1/4 or 1/8 scale straight away when the page is to be
        # shrunk that much anyway: a 12-megapixel photo decodes in a fraction of the time
        image.draft("L" if options.grayscale else None, bounded_size(*image.size, options.max_edge))
    image = ImageOps.exif_transpose(image)
    image = _flatten(image, options.grayscale)
    size = bounded_size(*image.size, options.max_edge)
    if size != image.size:
        image = _resize(image, size)
    if options.grayscale and image.mode == "RGB":
        image = image.convert("L")
    if dpi is not None:
        dpi = dpi * max(image.size) / original_long_edge
    return _encode(image, options.jpeg_quality, dpi, source, index)


def rotate(page: Page, degrees: int) -> Page:
    """The page turned clockwise by a multiple of 90 degrees (negative turns anticlockwise).

    Pixels are only transposed, and a JPEG is re-encoded once with its own quantisation tables
    (transposed along with the image), so a rotation costs no more than one re-encode at the
    page's own quality. PNG pages rotate losslessly. Callers that let the clerk turn a page
    several times should add the turns up and rotate once (``PageList`` does).
    """
    if degrees % 90:
        raise ValueError(f"pages rotate by multiples of 90 degrees, not {degrees}")
    turns = (degrees // 90) % 4
    if turns == 0:
        return page
    fmt = "JPEG" if page.media_type == JPEG else "PNG"
    with Image.open(io.BytesIO(page.data), formats=(fmt,)) as source:
        source.load()
        turned = source.transpose(_CLOCKWISE[turns])
        turned.info = {}
        buffer = io.BytesIO()
        dpi_kw = {"dpi": (page.dpi, page.dpi)} if page.dpi else {}
        if fmt == "JPEG":
            tables = dict(source.quantization)
            if turns % 2:
                tables = {k: _transposed_table(t) for k, t in tables.items()}
            turned.save(buffer, "JPEG", qtables=tables, subsampling=JpegImagePlugin.get_sampling(source),
                        optimize=True, progressive=False, **dpi_kw)
        else:
            turned.save(buffer, "PNG", optimize=True, **dpi_kw)
    return Page(buffer.getvalue(), page.media_type, turned.width, turned.height, page.dpi, page.source, page.index)


def _transposed_table(table: list[int]) -> list[int]:
    """An 8x8 quantisation table (natural order) for the image turned by a quarter."""
    return [table[col * 8 + row] for row in range(8) for col in range(8)]


def _flatten(image: Image.Image, grayscale: bool) -> Image.Image:
    """The image as "RGB", "L" or (bilevel) "1": alpha on white paper, colour managed to sRGB."""
    mode = image.mode
    if mode in ("1", "L", "RGB") and not (mode == "RGB" and not grayscale and image.info.get("icc_profile")):
        return image
    if mode in ("RGB", "CMYK") and image.info.get("icc_profile") and not grayscale:
        converted = _to_srgb(image)
        if converted is not None:
            return converted
    if mode == "P" or mode == "PA":
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "RGBa", "LA", "La"):
        rgba = image.convert("RGBA")
        paper = Image.new("RGBA", rgba.size, (PAPER, PAPER, PAPER, 255))
        flat = Image.alpha_composite(paper, rgba).convert("RGB")
        return flat.convert("L") if mode in ("LA", "La") else flat
    if mode.startswith("I") or mode == "F":
        return _deep_to_l(image)
    return image.convert("RGB")


def _to_srgb(image: Image.Image) -> Image.Image | None:
    """Colours converted from the embedded ICC profile (Display P3 phone photos, CMYK prints)."""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(image.info["icc_profile"]))
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError) as exc:
        log.info("ignoring unusable ICC profile (%s): %s", type(exc).__name__, exc)
        return None


def _deep_to_l(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit or float greyscale to 8 bits, scaled by the brightest value present."""
    deep = image.convert("F")
    _, high = deep.getextrema()
    if high <= 1.0 and image.mode == "F":
        scale = 255.0
    elif high > 255:
        scale = 255.0 / high
    else:
        scale = 1.0
    return deep.point(lambda v: v * scale).convert("L")


def _resize(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    if image.mode == "1":
        grey = image.convert("L").resize(size, RESIZE_FILTER, reducing_gap=RESIZE_REDUCING_GAP)
        return grey.point(lambda v: 255 if v >= BILEVEL_THRESHOLD else 0).convert("1", dither=Image.Dither.NONE)
    return image.resize(size, RESIZE_FILTER, reducing_gap=RESIZE_REDUCING_GAP)


def _encode(image: Image.Image, quality: int, dpi: float | None, source: str, index: int) -> Page:
    """Encode with nothing but pixels and resolution: no EXIF, XMP, ICC, comment or text chunk."""
    if image.mode not in ("1", "L", "RGB"):
        raise ValueError(f"cannot encode mode {image.mode}")  # a bug in _flatten
    image.info = {}  # Pillow falls back to info for some chunks (a JPEG comment, a PNG ICC)
    whole_dpi = max(1, round(dpi)) if dpi else None
    dpi_kw = {"dpi": (whole_dpi, whole_dpi)} if whole_dpi else {}
    buffer = io.BytesIO()
    if image.mode == "1":
        image.save(buffer, "PNG", optimize=True, **dpi_kw)
        media_type = PNG
    else:
        image.save(buffer, "JPEG", quality=quality, optimize=True, progressive=False, **dpi_kw)
        media_type = JPEG
    return Page(buffer.getvalue(), media_type, image.width, image.height, whole_dpi, source, index)
