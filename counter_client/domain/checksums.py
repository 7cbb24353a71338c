"""ISO/IEC 7064 MOD 11-2, the check character of the resident ID number (GB 11643) and of the
receipt number: one implementation for both."""

from __future__ import annotations

CHECK_ALPHABET = "0123456789X"


def mod11_2(digits: str) -> str:
    """The MOD 11-2 check character (``0``–``9`` or ``X``) of a string of ASCII digits.

    The recursive form is the weighted sum of GB 11643 (weights 2^(n-i) mod 11, i.e.
    7 9 10 5 8 4 2 1 6 3 … for 17 digits) with check ``"10X98765432"[sum % 11]``, for any length.
    """
    p = 0
    for ch in digits:
        p = ((p + ord(ch) - 48) * 2) % 11
    return CHECK_ALPHABET[(12 - p) % 11]
