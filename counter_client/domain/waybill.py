"""Waybill (tracking) numbers: UPU S10 numbers with their check digit, and 13-digit domestic
numbers accepted by pattern.

Numbers are allocated by the carrier (the platform hands the terminal a pool in advance); the
client reads, checks and prints them, and never invents one.

S10 (UPU standard S10)::

    EA 12345678 5 CN
    |  |        | +-- ISO 3166-1 alpha-2 country of the issuing operator
    |  |        +---- check digit over the serial
    |  +------------- 8-digit serial
    +---------------- service indicator (E* = EMS, R* = registered, C* = parcel …)

Check digit: weights 8 6 4 2 3 5 9 7 over the serial, ``C = 11 - (sum mod 11)``; 10 becomes
0 and 11 becomes 5. Checked against ``EA123456785CN`` and ``EE471108151FR``. Because 11 is
prime and no weight is a multiple of 11, every single-digit substitution changes the sum mod
11; the only substitutions the printed digit cannot show are those that move the residue
between 0 and 6, both of which print as 5 (the S10 rule maps two residues to one digit).

Domestic numbers: China Post/EMS domestic numbers are usually 13 plain digits with no public
check scheme, so they are accepted by pattern only.

``parse`` takes what a scanner or a clerk produces: spaces, hyphens and other dashes,
full-width characters (NFKC), lower case. Failures raise ``WaybillError`` with the reason in
Chinese.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal

from counter_client.domain.errors import UserError

S10_WEIGHTS = (8, 6, 4, 2, 3, 5, 9, 7)
DOMESTIC_LENGTH = 13
S10_LENGTH = 13

_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015\u2212\u30fc\u00b7]+")
_S10 = re.compile(r"([A-Z]{2})([0-9]{8})([0-9])([A-Z]{2})")
_DOMESTIC = re.compile(r"[0-9]{13}")


class WaybillError(UserError):
    """A tracking number that cannot be used; ``message`` says why, in Chinese."""


@dataclass(frozen=True)
class TrackingNo:
    """A checked tracking number in canonical form (upper case, no separators)."""

    text: str
    kind: Literal["s10", "domestic"]

    def __str__(self) -> str:
        return self.text

    @property
    def service(self) -> str:
        """The S10 service indicator (``EA``), empty for a domestic number."""
        return self.text[:2] if self.kind == "s10" else ""

    @property
    def country(self) -> str:
        return self.text[-2:] if self.kind == "s10" else ""

    @property
    def kind_label(self) -> str:
        return "国际标准（S10）邮件号" if self.kind == "s10" else "国内 13 位邮件号"

    def grouped(self, sep: str = " ") -> str:
        """For reading aloud: ``EA 1234 5678 5 CN`` or ``1100 1234 5678 9``."""
        s = self.text
        if self.kind == "s10":
            return sep.join((s[:2], s[2:6], s[6:10], s[10], s[11:]))
        return sep.join((s[:4], s[4:8], s[8:12], s[12:]))


def s10_check_digit(serial: str) -> str:
    """The S10 check digit of an 8-digit serial."""
    if not (len(serial) == 8 and serial.isascii() and serial.isdigit()):
        raise ValueError(f"S10 serial must be 8 ASCII digits, got {serial!r}")
    c = 11 - sum(int(d) * w for d, w in zip(serial, S10_WEIGHTS, strict=True)) % 11
    return "0" if c == 10 else "5" if c == 11 else str(c)


def normalize(text: str) -> str:
    """What ``parse`` reads: NFKC, separators removed, upper case."""
    text = unicodedata.normalize("NFKC", text or "")
    return _SEPARATORS.sub("", text).upper()


def parse(text: str) -> TrackingNo:
    """Read a typed or scanned tracking number; raise ``WaybillError`` with the reason."""
    s = normalize(text)
    if not s:
        raise WaybillError("请输入邮件号", "empty tracking number")
    if s.isascii() and s.isdigit():
        if len(s) != DOMESTIC_LENGTH:
            raise WaybillError(f"长度不对：国内邮件号应为 {DOMESTIC_LENGTH} 位数字，现为 {len(s)} 位",
                               f"domestic tracking number of length {len(s)}: {text!r}")
        return TrackingNo(s, "domestic")
    bad = sorted({ch for ch in s if not (ch.isascii() and ch.isalnum())})
    if bad:
        shown = "”“".join(bad[:3])
        raise WaybillError(f"含有不允许的字符“{shown}”：邮件号只由字母和数字组成", f"bad characters in {text!r}")
    if len(s) != S10_LENGTH:
        raise WaybillError(f"长度不对：国际标准邮件号应为 {S10_LENGTH} 位（如 EA123456785CN），现为 {len(s)} 位",
                           f"S10 tracking number of length {len(s)}: {text!r}")
    m = _S10.fullmatch(s)
    if m is None:
        raise WaybillError("格式不对：国际标准邮件号为 2 个字母 + 9 位数字 + 2 个字母（如 EA123456785CN）",
                           f"not an S10 shape: {text!r}")
    _service, serial, check, _country = m.groups()
    if s10_check_digit(serial) != check:
        raise WaybillError("校验位不符，请核对邮件号（可能输错或扫错了一位）", f"S10 check digit mismatch: {text!r}")
    return TrackingNo(s, "s10")


def is_valid(text: str) -> bool:
    try:
        parse(text)
    except WaybillError:
        return False
    return True
