"""One normalised page of a material: the encoded image and what is known about it.

A ``Page`` is immutable and already normalised (see ``normalize``): no metadata, bounded size,
RGB or greyscale JPEG, or a 1-bit PNG for bilevel line art. It is what the blob store hashes and
keeps, so two equal pages are byte-for-byte equal.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

JPEG = "image/jpeg"
PNG = "image/png"
MEDIA_TYPES = (JPEG, PNG)

# where a page came from, as a prefix of ``Page.source`` when it is not a file
CAMERA_SOURCE_PREFIX = "高拍仪"


@dataclass(frozen=True)
class Page:
    """A normalised page.

    ``source`` names the origin for the clerk and the log: the file name, ``高拍仪：<device>``,
    or a watched folder's file; ``index`` is the page's position in that source (0-based: the
    frame of a TIFF, the page of a PDF). ``dpi`` is the resolution of *these* pixels when known
    (a scanner's or a PDF rendering's, scaled along with any downsizing), else None.
    """

    data: bytes
    media_type: str
    width: int
    height: int
    dpi: int | None = None
    source: str = ""
    index: int = 0

    def __post_init__(self) -> None:
        if self.media_type not in MEDIA_TYPES:
            raise ValueError(f"unsupported page media type {self.media_type!r}")
        if not self.data:
            raise ValueError("a page needs image data")
        if self.width < 1 or self.height < 1:
            raise ValueError(f"bad page size {self.width}x{self.height}")
        if self.dpi is not None and self.dpi < 1:
            raise ValueError(f"bad dpi {self.dpi}")
        if self.index < 0:
            raise ValueError(f"bad page index {self.index}")

    def __repr__(self) -> str:  # the bytes would flood logs and test output
        return (f"Page({self.media_type}, {self.width}x{self.height}, dpi={self.dpi}, "
                f"{len(self.data)} bytes, source={self.source!r}, index={self.index})")

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the encoded bytes: the page's identity in the blob store."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def suffix(self) -> str:
        """File name suffix matching the encoding (for export and for the platform upload)."""
        return ".png" if self.media_type == PNG else ".jpg"

    @property
    def label(self) -> str:
        """Short description for the clerk, e.g. ``户口本.pdf 第2页``."""
        return f"{self.source} 第{self.index + 1}页" if self.source else f"第{self.index + 1}页"
