"""Identity-document numbers: what a clerk types at the window, checked before intake.

``check_id`` normalises the input (spaces out, full-width to half-width, upper case), detects the
document type from its shape unless told, and validates it: the ISO 7064 MOD 11-2 check of the
citizen-number family (居民身份证, 港澳台居民居住证, 外国人永久居留身份证 2023), the GB 32100-2015
check of 统一社会信用代码, and patterns only for travel permits and passports. The result says
why a number fails in Chinese, for the clerk. python-stdnum is deliberately not used: it rejects
valid 810000/820000/830000 permits and letter-first credit codes.

Pure: no I/O. The region table is reached through an optional ``known_area`` callable, and
"today" can be passed in for tests.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date

from counter_client.domain.checksums import mod11_2

# -- ISO 7064 MOD 11-2 (GB 11643-1999) -----------------------------------------------------------

# -- GB 32100-2015 统一社会信用代码 ----------------------------------------------------------------
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I O Z S V
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CREDIT_CODE_EXCLUDED = "IOZSV"
CREDIT_CODE_CENTRAL_AREA = "10"  # 100000: central-level registrations
# all-digit registration authority + organisation category pairs (GB 32100-2015 annex); used only
# to judge whether an all-digit 18-character string is more likely a credit code, never to reject
CREDIT_CODE_DIGIT_CATEGORIES = frozenset([
    "11", "12", "13", "19", "21", "29", "31", "32", "33", "34", "35", "39", "41", "49", "51", "52", "53",
    "59", "61", "62", "69", "71", "72", "79", "81", "89", "91", "92", "93"])

# -- area codes (GB/T 2260 province prefixes) ------------------------------------------------------
MAINLAND_PROVINCES = frozenset(
    [str(n) for n in range(11, 16)] + [str(n) for n in range(21, 24)] + [str(n) for n in range(31, 38)]
    + [str(n) for n in range(41, 47)] + [str(n) for n in range(50, 55)] + [str(n) for n in range(61, 66)])
HMT_PREFIXES = {"71": "台湾", "81": "香港", "82": "澳门", "83": "台湾"}
HMT_PERMIT_AREAS = {"810000": "香港", "820000": "澳门", "830000": "台湾"}

EARLIEST_BIRTH_YEAR = 1900
ID_LENGTH = 18
OLD_ID_LENGTH = 15
FOREIGN_2023_LEAD = "9"

# -- patterns ---------------------------------------------------------------------------------------
FOREIGN_2017_PATTERN = re.compile(r"^[A-Z]{3}\d{12}$", re.ASCII)
HK_MACAO_PERMIT_PATTERN = re.compile(r"^[HM](\d{8}|\d{10})$", re.ASCII)
TAIWAN_PERMIT_PATTERN = re.compile(r"^\d{8}(\d{2})?$", re.ASCII)
CHINESE_PASSPORT_PATTERN = re.compile(r"^(E\d{8}|E[A-Z]\d{7}|G\d{8})$", re.ASCII)
FOREIGN_PASSPORT_PATTERN = re.compile(r"^[A-Z0-9]{5,17}$", re.ASCII)
_CHINESE_PASSPORT_LIKE = re.compile(r"^[EG][A-Z]?\d+$", re.ASCII)
_DIGITS_X = re.compile(r"^\d+X?$", re.ASCII)
_ALNUM = re.compile(r"^[A-Z0-9]+$", re.ASCII)
_BAD_CHAR = re.compile(r"[^A-Z0-9]", re.ASCII)

# -- type codes and labels -------------------------------------------------------------------------
RESIDENT_ID = "resident_id"
RESIDENT_ID_15 = "resident_id_15"
HMT_RESIDENCE_PERMIT = "hmt_residence_permit"
FOREIGN_PERMANENT_2023 = "foreign_permanent_2023"
FOREIGN_PERMANENT_2017 = "foreign_permanent_2017"
HK_MACAO_PERMIT = "hk_macao_permit"
TAIWAN_PERMIT = "taiwan_permit"
PASSPORT = "passport"
CREDIT_CODE = "credit_code"
UNKNOWN = "unknown"

TYPE_LABELS = {
    RESIDENT_ID: "居民身份证",
    RESIDENT_ID_15: "居民身份证（15 位旧号码）",
    HMT_RESIDENCE_PERMIT: "港澳台居民居住证",
    FOREIGN_PERMANENT_2023: "外国人永久居留身份证（2023 版）",
    FOREIGN_PERMANENT_2017: "外国人永久居留身份证（2017 版）",
    HK_MACAO_PERMIT: "港澳居民来往内地通行证",
    TAIWAN_PERMIT: "台湾居民来往大陆通行证",
    PASSPORT: "护照",
    CREDIT_CODE: "统一社会信用代码",
    UNKNOWN: "无法识别的证件",
}
ID_TYPES = tuple(code for code in TYPE_LABELS if code != UNKNOWN)
"""The type codes ``check_id`` accepts as ``type``."""


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one number. ``reason`` is empty when valid; ``warnings`` never invalidate."""

    valid: bool
    type: str
    type_label: str
    reason: str
    warnings: tuple[str, ...]
    normalized: str
    birth_date: date | None = None
    sex: str | None = None
    upgraded: str | None = None

    def as_json(self) -> dict:
        return {"valid": self.valid, "type": self.type, "type_label": self.type_label,
                "reason": self.reason, "warnings": list(self.warnings), "normalized": self.normalized,
                "birth_date": self.birth_date.isoformat() if self.birth_date else None,
                "sex": self.sex, "upgraded": self.upgraded}


# -- algorithms -------------------------------------------------------------------------------------
def mod11_2_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character (``0``–``9`` or ``X``) of 17 digits."""
    if len(first17) != 17 or not first17.isascii() or not first17.isdigit():
        raise ValueError(f"expected 17 digits, got {first17!r}")
    return mod11_2(first17)


def credit_code_check_char(first17: str) -> str:
    """The GB 32100-2015 check character of the first 17 characters of a credit code."""
    if len(first17) != 17 or any(c not in CREDIT_CODE_ALPHABET for c in first17):
        raise ValueError(f"expected 17 characters over {CREDIT_CODE_ALPHABET}, got {first17!r}")
    total = sum(CREDIT_CODE_ALPHABET.index(c) * w for c, w in zip(first17, CREDIT_CODE_WEIGHTS))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def upgrade_15(number: str) -> str:
    """The 18-digit form of an old 15-digit number: ``19`` after the area code, then the check."""
    if len(number) != OLD_ID_LENGTH or not number.isascii() or not number.isdigit():
        raise ValueError(f"expected 15 digits, got {number!r}")
    body = number[:6] + "19" + number[6:]
    return body + mod11_2_check_char(body)


def normalize_id(number: str) -> str:
    """NFKC (full-width to half-width), all whitespace removed, upper case."""
    return "".join(unicodedata.normalize("NFKC", number).split()).upper()


# -- the entry point --------------------------------------------------------------------------------
def check_id(number: str, type: str | None = None, known_area: Callable[[str], bool] | None = None,
             today: date | None = None) -> IdCheck:
    """Validate ``number`` as ``type`` (one of ``ID_TYPES``), or as the type its shape suggests.

    ``known_area(code6)`` says whether a 6-digit area code is in the current region table; a code
    it does not know only warns. Without it, county codes are not looked up.
    """
    if type is not None and type not in ID_TYPES:
        raise ValueError(f"unknown id type {type!r}; expected one of {', '.join(ID_TYPES)}")
    s = normalize_id(number)
    today = today or date.today()
    if type is not None:
        result = _VALIDATORS[type](s, known_area, today)
        if not result.valid and s and result.upgraded is None:
            hint = _detect(s, known_area, today)
            if hint.valid and hint.type != type:
                result = _with_warning(result, f"该号码看起来是有效的{hint.type_label}号码，请核对证件类型")
        return result
    return _detect(s, known_area, today)


def detect_type(number: str) -> str:
    """The type code ``check_id`` would validate ``number`` as (``unknown`` when none fits)."""
    return check_id(number).type


def _digits(s: str) -> bool:
    return s.isascii() and s.isdigit()


def _detect(s: str, known_area, today: date) -> IdCheck:
    candidates = _candidates(s)
    if not candidates:
        return _invalid(UNKNOWN, s, "号码为空" if not s else _unknown_reason(s))
    results = []
    for kind in candidates:
        result = _VALIDATORS[kind](s, known_area, today)
        if result.valid:
            return result
        results.append(result)
    return results[0]


def _candidates(s: str) -> list[str]:
    """Plausible types for the shape of ``s``, most plausible first; fallbacks must validate."""
    n = len(s)
    if not s or not _ALNUM.match(s):
        return []
    if _DIGITS_X.match(s):
        if n == ID_LENGTH:
            if s[0] == FOREIGN_2023_LEAD:
                family = FOREIGN_PERMANENT_2023
            elif s[:2] in HMT_PREFIXES and s[:2] != "71":
                family = HMT_RESIDENCE_PERMIT
            else:
                family = RESIDENT_ID
            credit_plausible = s[:2] in CREDIT_CODE_DIGIT_CATEGORIES and (
                s[2:4] in MAINLAND_PROVINCES or s[2:4] == CREDIT_CODE_CENTRAL_AREA)
            if s[6:8] in ("18", "19", "20"):  # a birth year where a citizen number has one
                return [family, CREDIT_CODE] if credit_plausible else [family]
            return [CREDIT_CODE, family]
        if n == OLD_ID_LENGTH and _digits(s):
            return [RESIDENT_ID_15]
        if _digits(s) and TAIWAN_PERMIT_PATTERN.match(s):
            return [TAIWAN_PERMIT]
        if 16 <= n <= 20:
            return [RESIDENT_ID]
    if n == ID_LENGTH:
        return [CREDIT_CODE]
    if n in (17, 19) and all(c in CREDIT_CODE_ALPHABET for c in s) and re.search(r"[A-WY]", s):
        return [CREDIT_CODE]
    if s[0] in "HM" and _digits(s[1:]):
        return [HK_MACAO_PERMIT]
    if FOREIGN_2017_PATTERN.match(s):
        return [FOREIGN_PERMANENT_2017]
    if CHINESE_PASSPORT_PATTERN.match(s) or FOREIGN_PASSPORT_PATTERN.match(s):
        return [PASSPORT]
    return []


def _unknown_reason(s: str) -> str:
    bad = _BAD_CHAR.search(s)
    if bad:
        return f"号码含有字母和数字以外的字符“{bad.group()}”"
    return f"无法识别的证件号码格式（{len(s)} 位）"


# -- validators -------------------------------------------------------------------------------------
def _check_resident_id(s: str, known_area, today: date) -> IdCheck:
    kind = RESIDENT_ID
    if len(s) == OLD_ID_LENGTH and _digits(s):
        old = _check_resident_id_15(s, known_area, today)
        result = _invalid(kind, s, _length_reason(ID_LENGTH, len(s)))
        if old.valid:
            result = _with_warning(result, f"这是 15 位旧身份证号码，对应的 18 位号码为 {old.upgraded}")
            return replace(result, upgraded=old.upgraded)
        return result
    problem = _citizen_number_shape(s)
    if problem:
        return _invalid(kind, s, problem)
    prefix = s[:2]
    if prefix not in MAINLAND_PROVINCES:
        if prefix in HMT_PREFIXES and s[:6] in HMT_PERMIT_AREAS:
            return _invalid(kind, s, f"地区码 {s[:6]} 属于港澳台居民居住证，不是居民身份证号码")
        return _invalid(kind, s, _province_reason(prefix))
    return _finish_citizen_number(kind, s, s[6:14], today, sex_digit=s[16],
                                  warnings=_county_warning(s[:6], known_area))


def _check_resident_id_15(s: str, known_area, today: date) -> IdCheck:
    kind = RESIDENT_ID_15
    if len(s) != OLD_ID_LENGTH:
        return _invalid(kind, s, _length_reason(OLD_ID_LENGTH, len(s)))
    if not _digits(s):
        return _invalid(kind, s, "15 位旧号码应全为数字")
    if s[:2] not in MAINLAND_PROVINCES:
        return _invalid(kind, s, _province_reason(s[:2]))
    problem, born = _birth_date("19" + s[6:12], today)
    if problem:
        return _invalid(kind, s, problem)
    upgraded = upgrade_15(s)
    warnings = _county_warning(s[:6], known_area) + (
        f"15 位旧号码（第一代居民身份证已于 2013 年 1 月 1 日停止使用），请使用 18 位号码 {upgraded}",)
    return IdCheck(True, kind, TYPE_LABELS[kind], "", warnings, s, born, _sex(s[14]), upgraded)


def _check_hmt_permit(s: str, known_area, today: date) -> IdCheck:
    kind = HMT_RESIDENCE_PERMIT
    problem = _citizen_number_shape(s)
    if problem:
        return _invalid(kind, s, problem)
    if s[:6] not in HMT_PERMIT_AREAS:
        return _invalid(kind, s, f"港澳台居民居住证的地区码应为 810000、820000 或 830000，实际为 {s[:6]}")
    return _finish_citizen_number(kind, s, s[6:14], today, sex_digit=s[16], warnings=())


def _check_foreign_2023(s: str, known_area, today: date) -> IdCheck:
    kind = FOREIGN_PERMANENT_2023
    problem = _citizen_number_shape(s)
    if problem:
        return _invalid(kind, s, problem)
    if s[0] != FOREIGN_2023_LEAD:
        return _invalid(kind, s, f"2023 版外国人永久居留身份证号码应以 9 开头，实际为 {s[0]}")
    warnings: tuple[str, ...] = ()
    if s[1:3] not in MAINLAND_PROVINCES:
        warnings = (f"受理地省级代码 {s[1:3]} 不是内地省级代码，请与证件原件核对",)
    # sex: the parity rule of GB 11643 is not confirmed for this card, so none is reported
    return _finish_citizen_number(kind, s, s[6:14], today, sex_digit=None, warnings=warnings)


def _check_foreign_2017(s: str, known_area, today: date) -> IdCheck:
    kind = FOREIGN_PERMANENT_2017
    if len(s) != OLD_ID_LENGTH:
        return _invalid(kind, s, _length_reason(OLD_ID_LENGTH, len(s)))
    if not FOREIGN_2017_PATTERN.match(s):
        return _invalid(kind, s, "2017 版外国人永久居留身份证号码应为 3 位大写字母加 12 位数字")
    return IdCheck(True, kind, TYPE_LABELS[kind], "",
                   ("2017 版外国人永久居留身份证的校验位算法未公开，只核对了格式，请与证件原件核对",), s)


def _check_hk_macao_permit(s: str, known_area, today: date) -> IdCheck:
    kind = HK_MACAO_PERMIT
    if not HK_MACAO_PERMIT_PATTERN.match(s):
        return _invalid(kind, s, "港澳居民来往内地通行证号码应为 H 或 M 加 8 位数字（可另加 2 位换证次数）")
    return IdCheck(True, kind, TYPE_LABELS[kind], "", (), s)


def _check_taiwan_permit(s: str, known_area, today: date) -> IdCheck:
    kind = TAIWAN_PERMIT
    if not TAIWAN_PERMIT_PATTERN.match(s):
        return _invalid(kind, s, "台湾居民来往大陆通行证号码应为 8 位数字（可另加 2 位换证次数）")
    return IdCheck(True, kind, TYPE_LABELS[kind], "", (), s)


def _check_passport(s: str, known_area, today: date) -> IdCheck:
    kind = PASSPORT
    if CHINESE_PASSPORT_PATTERN.match(s):
        return IdCheck(True, kind, TYPE_LABELS[kind], "", (), s)
    if not FOREIGN_PASSPORT_PATTERN.match(s):
        if not s:
            return _invalid(kind, s, "号码为空")
        if _BAD_CHAR.search(s):
            return _invalid(kind, s, f"护照号码只能含字母和数字，不能含“{_BAD_CHAR.search(s).group()}”")
        return _invalid(kind, s, f"护照号码应为 5–17 位字母或数字，实际 {len(s)} 位")
    if _CHINESE_PASSPORT_LIKE.match(s):
        warning = ("不符合中国普通护照格式（E 加 8 位数字、E 加 1 个字母和 7 位数字、G 加 8 位数字），"
                   "按外国护照只核对了格式，请与证件原件核对")
    else:
        warning = "外国护照只核对格式（5–17 位字母或数字），请与证件原件核对"
    return IdCheck(True, kind, TYPE_LABELS[kind], "", (warning,), s)


def _check_credit_code(s: str, known_area, today: date) -> IdCheck:
    kind = CREDIT_CODE
    if len(s) != ID_LENGTH:
        return _invalid(kind, s, _length_reason(ID_LENGTH, len(s)))
    for position, c in enumerate(s, start=1):
        if c not in CREDIT_CODE_ALPHABET:
            if c in CREDIT_CODE_EXCLUDED:
                return _invalid(kind, s, f"第 {position} 位“{c}”不是统一社会信用代码使用的字符"
                                         f"（不使用 I、O、Z、S、V）")
            return _invalid(kind, s, f"第 {position} 位“{c}”不是统一社会信用代码使用的字符")
    expected = credit_code_check_char(s[:17])
    if s[17] != expected:
        return _invalid(kind, s, _check_reason(expected, s[17]))
    return IdCheck(True, kind, TYPE_LABELS[kind], "", (), s)


_VALIDATORS: dict[str, Callable[[str, Callable[[str], bool] | None, date], IdCheck]] = {
    RESIDENT_ID: _check_resident_id,
    RESIDENT_ID_15: _check_resident_id_15,
    HMT_RESIDENCE_PERMIT: _check_hmt_permit,
    FOREIGN_PERMANENT_2023: _check_foreign_2023,
    FOREIGN_PERMANENT_2017: _check_foreign_2017,
    HK_MACAO_PERMIT: _check_hk_macao_permit,
    TAIWAN_PERMIT: _check_taiwan_permit,
    PASSPORT: _check_passport,
    CREDIT_CODE: _check_credit_code,
}


# -- shared pieces ----------------------------------------------------------------------------------
def _citizen_number_shape(s: str) -> str:
    """Why ``s`` is not 17 digits plus a digit or X ('' when it is)."""
    if not s:
        return "号码为空"
    if len(s) != ID_LENGTH:
        return _length_reason(ID_LENGTH, len(s))
    for position, c in enumerate(s[:17], start=1):
        if not ("0" <= c <= "9"):
            return f"第 {position} 位应为数字，实际为“{c}”"
    if not ("0" <= s[17] <= "9" or s[17] == "X"):
        return f"第 18 位（校验位）应为数字或 X，实际为“{s[17]}”"
    return ""


def _finish_citizen_number(kind: str, s: str, yyyymmdd: str, today: date, *, sex_digit: str | None,
                           warnings: tuple[str, ...]) -> IdCheck:
    problem, born = _birth_date(yyyymmdd, today)
    if problem:
        return _invalid(kind, s, problem)
    expected = mod11_2_check_char(s[:17])
    if s[17] != expected:
        return _invalid(kind, s, _check_reason(expected, s[17]))
    return IdCheck(True, kind, TYPE_LABELS[kind], "", warnings, s, born,
                   _sex(sex_digit) if sex_digit else None)


def _birth_date(yyyymmdd: str, today: date) -> tuple[str, date | None]:
    shown = f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:8]}"
    try:
        born = date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return f"出生日期 {shown} 不是有效日期", None
    if born.year < EARLIEST_BIRTH_YEAR:
        return f"出生日期 {shown} 早于 {EARLIEST_BIRTH_YEAR} 年", None
    if born > today:
        return f"出生日期 {shown} 晚于今天（{today.isoformat()}）", None
    return "", born


def _county_warning(area: str, known_area) -> tuple[str, ...]:
    if known_area is None or known_area(area):
        return ()
    return (f"地区码 {area} 不在当前区划表中（可能是已撤并或更名的县级区划的旧代码），请与证件原件核对",)


def _province_reason(prefix: str) -> str:
    if prefix in HMT_PREFIXES:
        return f"地区码前两位 {prefix}（{HMT_PREFIXES[prefix]}）不用于居民身份证号码"
    return f"地区码前两位 {prefix} 不是有效的省级代码"


def _length_reason(expected: int, actual: int) -> str:
    return f"长度应为 {expected} 位，实际 {actual} 位"


def _check_reason(expected: str, actual: str) -> str:
    return f"校验位应为 {expected}，实际为 {actual}"


def _sex(digit: str) -> str:
    return "男" if int(digit) % 2 else "女"


def _invalid(kind: str, s: str, reason: str) -> IdCheck:
    return IdCheck(False, kind, TYPE_LABELS[kind], reason, (), s)


def _with_warning(result: IdCheck, warning: str) -> IdCheck:
    return replace(result, warnings=result.warnings + (warning,))


