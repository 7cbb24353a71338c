"""The embedded CJK font of every printout, and what to do with characters it lacks.

WenQuanYi Micro Hei (``resources/fonts/wqy-microhei.ttc``, found through ``counter_client.paths``)
is registered once per process with reportlab: face 0 as ``REGULAR`` and face 1, the same
glyphs with monospaced Latin, as ``MONO`` for numbers that must line up. reportlab embeds a
TrueType font as a subset (only the glyphs used, as ``FontFile2``), so a PDF prints the same on
any machine whatever fonts it has.

The font covers GBK, not every character a name can hold: 生僻字 such as 𠈌 (U+2020C, CJK
Extension B) or 䶮 (U+4DAE, Extension A) have no glyph, and reportlab would drop them without
a trace. ``runs`` splits a text into what the font can draw and what it cannot, so the text
layer (``documents.text``) draws the missing ones as a boxed code point (``U+2020C``) with the
real character as the PDF's ActualText: visible on paper, searchable and copyable on screen.
"""

from __future__ import annotations

import threading
import unicodedata
from functools import lru_cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont, TTFontFace

from counter_client.paths import font_path

REGULAR = "WQYMicroHei"
MONO = "WQYMicroHeiMono"
FACES = {REGULAR: 0, MONO: 1}  # font name -> subfont index in the collection

_lock = threading.Lock()
_registered = False


def register() -> None:
    """Register the bundled faces with reportlab (idempotent, thread-safe)."""
    global _registered
    if _registered:
        return
    with _lock:
        if _registered:
            return
        path = str(font_path())
        for name, index in FACES.items():
            # subsetting is reportlab's default for TTF: only used glyphs are embedded
            pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
        _registered = True


def face(font: str = REGULAR) -> TTFontFace:
    register()
    return pdfmetrics.getFont(font).face


@lru_cache(maxsize=4096)
def has_glyph(ch: str, font: str = REGULAR) -> bool:
    """True when ``font`` has a glyph for the single character ``ch``."""
    return ord(ch) in face(font).charToGlyph


def ignorable(ch: str) -> bool:
    """Controls, format characters (ZWJ …) and variation selectors (the ideographic variation
    sequences of some names): nothing of their own to draw."""
    code = ord(ch)
    return (unicodedata.category(ch) in ("Cc", "Cf") or 0xFE00 <= code <= 0xFE0F or 0xE0100 <= code <= 0xE01EF
            or 0x180B <= code <= 0x180D)


def missing_chars(text: str, font: str = REGULAR) -> list[str]:
    """The distinct visible characters of ``text`` the font cannot draw, in order."""
    seen: dict[str, None] = {}
    for ch in text:
        if not ignorable(ch) and not has_glyph(ch, font):
            seen.setdefault(ch, None)
    return list(seen)


def runs(text: str, font: str = REGULAR) -> list[tuple[str, bool]]:
    """``text`` as ``(chunk, missing)`` pieces: runs the font draws, and single characters it
    lacks (``missing`` True). Ignorable characters are dropped."""
    out: list[tuple[str, bool]] = []
    current: list[str] = []
    for ch in text:
        if ignorable(ch):
            continue
        if has_glyph(ch, font):
            current.append(ch)
        else:
            if current:
                out.append(("".join(current), False))
                current = []
            out.append((ch, True))
    if current:
        out.append(("".join(current), False))
    return out


def code_label(ch: str) -> str:
    """How a character without a glyph is shown: ``U+2020C``."""
    return f"U+{ord(ch):04X}"
