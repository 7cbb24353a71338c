"""JSON shapes of the platform's answers, validated before anything reaches the store.

Unknown fields are ignored in envelopes (a newer platform may add some) but guides themselves are
strict (``domain.catalogue``). Decoding and validation are one pass through msgspec. Every
failure becomes ``InvalidCatalogue`` with a Chinese sentence naming the guide and the field, so
the clerk and the log both know what was refused.
"""

from __future__ import annotations

import json
import re
from typing import Annotated, Any

import msgspec
from msgspec import Meta, Struct

from counter_client.domain.catalogue import Agreement, Department, Guide, Region
from counter_client.domain.errors import InvalidCatalogue

Code = Annotated[str, Meta(min_length=1, max_length=64)]


class _Envelope(Struct, frozen=True, kw_only=True):
    """Unknown fields are ignored: a newer platform may add some to an envelope."""


class ManifestEntry(_Envelope, kw_only=True):
    code: Code
    version: int
    hash: Annotated[str, Meta(min_length=1, max_length=128)]


class Manifest(_Envelope, kw_only=True):
    catalogue_id: Annotated[str, Meta(max_length=128)] = ""
    catalogue_version: Annotated[int, Meta(ge=0)]
    guides: list[ManifestEntry]
    departments_version: int = 0
    agreements_version: int = 0
    regions_version: str = ""
    generated_at: str = ""


class Changes(_Envelope, kw_only=True):
    catalogue_id: Annotated[str, Meta(max_length=128)] = ""
    since: int
    catalogue_version: Annotated[int, Meta(ge=0)]
    changed: list[ManifestEntry]
    removed: list[Code]


class GuideBatch(_Envelope, kw_only=True):
    guides: list[Guide]
    missing: list[str] = []


class _RawGuideBatch(_Envelope, kw_only=True):
    guides: list[msgspec.Raw]
    missing: list[str] = []


class Departments(_Envelope, kw_only=True):
    version: int = 0
    departments: list[Department]


class Agreements(_Envelope, kw_only=True):
    version: int = 0
    agreements: list[Agreement]


class Regions(_Envelope, kw_only=True):
    version: str
    source: str = ""
    regions: list[Region]


class CalendarYear(_Envelope, kw_only=True):
    year: int
    holidays: list[str]
    workdays: list[str]
    source: str = ""
    verified: bool = True


class Problem(_Envelope, kw_only=True):
    """RFC 9457 problem details with the platform's machine code."""

    title: str = ""
    status: int | None = None
    detail: str = ""
    code: str = ""


_PROBLEM_MEMBERS = frozenset({"type", "title", "status", "detail", "code", "instance"})


def problem_extra(body: bytes) -> dict[str, Any]:
    """The problem's members beyond RFC 9457's (``missing``, ``offset``, ``max_bytes`` …)."""
    value = json.loads(body)
    return {k: v for k, v in value.items() if k not in _PROBLEM_MEMBERS} if isinstance(value, dict) else {}


_WHAT = {
    Manifest: "目录清单",
    Changes: "目录变更",
    GuideBatch: "事项指南",
    Departments: "部门信息",
    Agreements: "通办协议",
    Regions: "行政区划",
    CalendarYear: "工作日历",
}
_DECODERS: dict[type, msgspec.json.Decoder] = {}
_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_FIELD = re.compile(r"field `(?P<field>[^`]+)`")
_INDEX = re.compile(r"\[(\d+)\]")
REASONS = (  # (start of msgspec's message, the reason in Chinese)
    ("Object missing required field", "缺少必填字段"),
    ("Object contains unknown field", "含有未定义的字段"),
    ("Invalid enum value", "取值不在规定范围内"),
    ("Expected `str` of length", "内容过长或为空"),
    ("Expected `array` of length", "条目数量超出范围"),
    ("Expected `str` matching regex", "格式不正确"),
)


def parse(model: type, body: bytes) -> Any:
    """Decode and validate ``body`` as ``model``; on failure raise ``InvalidCatalogue``."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _invalid(model, body, str(exc)) from None
    except msgspec.DecodeError as exc:
        what = _WHAT.get(model, "平台数据")
        raise InvalidCatalogue(f"平台返回的{what}不是有效的 JSON，本次更新已放弃，继续使用原目录。",
                               f"{model.__name__}: invalid JSON ({exc})") from None


_GUIDE = msgspec.json.Decoder(Guide)


def parse_guide_batch(body: bytes) -> tuple[list[Guide], list[bytes], list[str]]:
    """(validated guides, each guide's JSON exactly as received, missing codes).

    The batch is split into its guides' raw JSON first, so that what is stored is what was
    validated, without encoding each guide again."""
    envelope = parse(_RawGuideBatch, body)
    try:
        guides = [_GUIDE.decode(raw) for raw in envelope.guides]
    except msgspec.ValidationError:
        parse(GuideBatch, body)  # raises the error that names the guide and the field
        raise
    return guides, [bytes(raw) for raw in envelope.guides], envelope.missing


def _invalid(model: type, body: bytes, message: str) -> InvalidCatalogue:
    """Turn msgspec's message (``Expected `int`, got `str` - at `$.guides[3].version```) into a
    sentence naming the guide (by code) and the field."""
    what = _WHAT.get(model, "平台数据")
    match = _PATH.search(message)
    path = match.group("path") if match else ""
    field_match = _FIELD.search(message)
    steps = [p for p in re.split(r"\.|(?=\[)", path.lstrip(".")) if p]
    if field_match:  # missing / unknown field: msgspec names it in the message, not the path
        steps.append(field_match.group("field"))
    subject = what
    if model is GuideBatch and len(steps) >= 2 and steps[0] == "guides" and _INDEX.fullmatch(steps[1]):
        index = int(_INDEX.fullmatch(steps[1]).group(1))
        code = _code_at(body, index)
        subject = f"事项指南（编码 {code}）" if code else f"事项指南（本批第 {index + 1} 条）"
        steps = steps[2:]
    where = ".".join(s.strip("[]") if _INDEX.fullmatch(s) else s for s in steps) or "整体"
    reason = next((zh for start, zh in REASONS if message.startswith(start)), None)
    if reason is None:
        reason = message.split(" - at ")[0] if not message.startswith("Expected") else "类型或取值不正确"
    problem = f"字段“{where}”{reason}" if where != "整体" else reason
    return InvalidCatalogue(
        f"平台返回的{subject}数据有误：{problem}。本次更新已放弃，继续使用原目录。",
        f"{model.__name__} rejected: {message}",
    )


def _code_at(body: bytes, index: int) -> str:
    try:
        code = json.loads(body)["guides"][index].get("code", "")
        return str(code)[:64]
    except Exception:  # noqa: BLE001 - best effort for the message only
        return ""
