"""Receipt numbers (收件编号), minted offline at the window.

Format: 22 characters, fixed width, no separators in the canonical form::

    511324102 01 261125 0007 3
    |         |  |      |    +-- check character: ISO/IEC 7064 MOD 11-2 over the 21 digits: 0-9 or X
    |         |  |      +------- daily sequence of this terminal, 0001-9999
    |         |  +-------------- date the case was received, YYMMDD (years 2000-2099)
    |         +----------------- terminal number within the hall, 01-99
    +--------------------------- hall code, 9 digits

- Hall code: the 9-digit township code (乡镇/街道, statistical division code, e.g. 511324102) of a
  township 便民服务中心; any other hall (a county or city 政务服务中心) gets a 9-digit id from the
  platform, which must not coincide with a township code (the convention: the 6-digit county
  code + ``000``, a township number the statistical codes never use). Either way the first two
  digits are a GB/T 2260 province code. The platform is what keeps hall codes unique.
- Unique because every field has a fixed width: distinct (hall, terminal, day, sequence) give
  distinct numbers, so terminals of a hall and halls never collide, provided each terminal never
  hands out a sequence number twice on one day (the local store's job). Sequence 10000 is an
  explicit ``SequenceExhausted`` error, never a wrap to 0001.

Why MOD 11-2: it is the ISO 7064 pure system for numeric data with one check character, and the
one in GB 11643's 18-digit identity number, so clerks already read, type and check a trailing X
every day. As a pure system with a prime modulus (11) and weights 2^i mod 11 it detects every
single substitution (the error changes the weighted sum by (a-b)*w, never 0 mod 11) and every
adjacent transposition (change (a-b)*w*(2-1), never 0 mod 11), the check character included;
it also catches every jump transposition and twin error. The hybrid MOD 11,10 would always give
a digit, but it misses some adjacent transpositions (checked exhaustively in the tests), so it
fails the requirement; MOD 97-10 costs a 23rd character; MOD 37-2 and MOD 37,36 bring letters
such as I, O, S, Z. The alphabet is therefore the ten digits plus X at the end only: readable
aloud, and a Code 128 barcode encodes 22 digits in code set C as 11 symbols (when the check is X,
20 digits in set C then two characters in set B: 13 symbols).

``parse`` takes what a scanner or a clerk produces: spaces, hyphens and other dashes, full-width
characters (NFKC), lower-case x, and the letters O/I/L typed for 0/1 (Crockford's rule; the check
character guards against a wrong guess). Failures raise ``ReceiptError`` with a reason in
Chinese for the clerk.
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

from counter_client.domain.checksums import CHECK_ALPHABET, mod11_2  # noqa: F401 - re-exported
from counter_client.domain.errors import UserError

LENGTH = 22
HALL_DIGITS = 9
MAX_TERMINAL = 99
MAX_SEQUENCE = 9999
FIRST_YEAR, LAST_YEAR = 2000, 2099
PROVINCE_CODES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)

_SEPARATORS = re.compile(r"[\s\-_\u2010-\u2015\u2212\u30fc\u00b7]+")  # spaces, hyphens, dashes, ー, ·
_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_HALL = re.compile(r"[0-9]{9}")


class ReceiptError(UserError):
    """A receipt number that cannot be minted or read; ``message`` says why, in Chinese."""


class SequenceExhausted(ReceiptError):
    """The terminal has used all 9999 numbers of the day."""


@dataclass(frozen=True, order=True)
class ReceiptNo:
    hall: str
    terminal: int
    day: _dt.date
    sequence: int

    def __post_init__(self) -> None:
        if isinstance(self.day, _dt.datetime):
            object.__setattr__(self, "day", self.day.date())
        mint(self.hall, self.terminal, self.day, self.sequence)  # the same checks as minting

    @property
    def text(self) -> str:
        """The canonical 22-character form: the barcode content and the idempotency key."""
        return mint(self.hall, self.terminal, self.day, self.sequence)

    def __str__(self) -> str:
        return self.text


def mint(hall: str, terminal: int, day: _dt.date, sequence: int) -> str:
    """The receipt number of the ``sequence``-th case of ``day`` at ``terminal`` of ``hall``."""
    _check_hall(hall)
    if isinstance(terminal, bool) or not isinstance(terminal, int) or not 1 <= terminal <= MAX_TERMINAL:
        raise ReceiptError(f"终端号应为 01 至 {MAX_TERMINAL} 之间的数字，现为“{terminal}”", f"bad terminal {terminal!r}")
    if isinstance(day, _dt.datetime):
        day = day.date()
    if not isinstance(day, _dt.date):
        raise ReceiptError("收件日期无效", f"bad day {day!r}")
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise ReceiptError(f"收件日期不在 {FIRST_YEAR}-{LAST_YEAR} 年之间，请检查本机日期", f"bad day {day!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ReceiptError(f"流水号应从 0001 开始，现为“{sequence}”", f"bad sequence {sequence!r}")
    if sequence > MAX_SEQUENCE:
        raise SequenceExhausted(
            f"本终端今日的收件编号已用完（每日最多 {MAX_SEQUENCE} 件），请换一台终端收件",
            f"sequence {sequence} exceeds {MAX_SEQUENCE} for {hall}-{terminal:02d} on {day}",
        )
    body = f"{hall}{terminal:02d}{day:%y%m%d}{sequence:04d}"
    return body + mod11_2(body)


def normalize(text: str) -> str:
    """What ``parse`` reads: NFKC, separators removed, upper case, O/I/L read as 0/1."""
    text = unicodedata.normalize("NFKC", text or "")
    return _SEPARATORS.sub("", text).upper().translate(_LOOKALIKES)


def parse(text: str) -> ReceiptNo:
    """Read a typed or scanned receipt number; raise ``ReceiptError`` with the reason."""
    s = normalize(text)
    if not s:
        raise ReceiptError("请输入收件编号", "empty receipt number")
    bad = sorted({ch for ch in s if ch not in CHECK_ALPHABET})
    if bad:
        shown = "”“".join(bad[:3])
        raise ReceiptError(f"含有不允许的字符“{shown}”：收件编号只由数字组成，末位可以是X", f"bad characters in {text!r}")
    if len(s) != LENGTH:
        raise ReceiptError(f"长度不对：收件编号应为 {LENGTH} 位，现为 {len(s)} 位", f"length {len(s)}: {text!r}")
    if "X" in s[:-1]:
        raise ReceiptError("X 只能出现在最后一位（校验位），请核对编号", f"X before the end: {text!r}")
    body, check = s[:-1], s[-1]
    if mod11_2(body) != check:
        raise ReceiptError("校验位不符，请核对编号", f"check character mismatch: {text!r}")
    hall, terminal, yymmdd, sequence = body[:9], int(body[9:11]), body[11:17], int(body[17:21])
    if hall[:2] not in PROVINCE_CODES:
        raise ReceiptError("收件点代码不对：前两位不是省级区划代码，这可能不是本系统的收件编号", f"bad hall {hall}")
    try:
        day = _dt.date(2000 + int(yymmdd[:2]), int(yymmdd[2:4]), int(yymmdd[4:]))
    except ValueError:
        raise ReceiptError("编号中的日期不存在，请核对编号", f"bad date {yymmdd}") from None
    if terminal == 0:
        raise ReceiptError("编号中的终端号为 00，请核对编号", f"terminal 00: {text!r}")
    if sequence == 0:
        raise ReceiptError("编号中的流水号为 0000，请核对编号", f"sequence 0000: {text!r}")
    return ReceiptNo(hall, terminal, day, sequence)


def format_grouped(no: ReceiptNo | str, sep: str = "-") -> str:
    """The number in groups for print and for reading aloud: 511324102-01-261125-0007-3."""
    r = no if isinstance(no, ReceiptNo) else parse(no)
    s = r.text
    return sep.join((s[:9], s[9:11], s[11:17], s[17:21], s[21]))


def _check_hall(hall: str) -> None:
    if not isinstance(hall, str) or not _HALL.fullmatch(hall):
        raise ReceiptError(f"收件点代码应为 {HALL_DIGITS} 位数字（乡镇/街道代码或平台分配的编号），现为“{hall}”", f"bad hall {hall!r}")
    if hall[:2] not in PROVINCE_CODES:
        raise ReceiptError(f"收件点代码“{hall}”的前两位不是省级区划代码", f"bad hall province {hall!r}")
