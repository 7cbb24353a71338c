"""Masking of personal data on paper (PIPL: print the minimum).

- Identity document numbers keep the first 6 and the last 4 characters: ``110105********002X``
  (the area code tells the clerk where the card is from, the tail lets the holder recognise it).
  Shorter numbers (permits, passports) keep 2 and 2.
- Phone numbers on labels keep the first 3 and the last 4 (隐私面单): ``138****8000``,
  ``081*****4567``; a country prefix +86 is dropped first.

The same rules as the intake pages (``ui.intake.logic``), which this layer may not import.
"""

from __future__ import annotations

import re

_SPACE = re.compile(r"[\s\u3000]+")
MASK = "*"


def mask_id(number: str) -> str:
    """First 6 and last 4 characters kept, the middle as asterisks."""
    n = _SPACE.sub("", number or "")
    if len(n) > 10:
        return n[:6] + MASK * (len(n) - 10) + n[-4:]
    if len(n) > 4:
        return n[:2] + MASK * (len(n) - 4) + n[-2:]
    return MASK * len(n)


def mask_phone(phone: str) -> str:
    """First 3 and last 4 digits kept (separators dropped), the middle as asterisks."""
    p = _SPACE.sub("", phone or "")
    if p.startswith("+86"):
        p = p[3:]
    p = p.replace("-", "")
    if len(p) > 7:
        return p[:3] + MASK * (len(p) - 7) + p[-4:]
    if len(p) > 4:
        return MASK * (len(p) - 4) + p[-4:]
    return MASK * len(p)
