"""JSON shapes of the platform's answers, validated before anything reaches the store.

Unknown fields are ignored in envelopes (a newer platform may add some) but guides themselves are
strict (``domain.catalogue``). Every validation failure becomes ``InvalidCatalogue`` with a
Chinese sentence naming the guide and the field, so the clerk and the log both know what was
refused.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from counter_client.domain.catalogue import Agreement, Department, Guide, Region
from counter_client.domain.errors import InvalidCatalogue


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ManifestEntry(_Envelope):
    code: Annotated[str, Field(min_length=1, max_length=64)]
    version: int
    hash: Annotated[str, Field(min_length=1, max_length=128)]


class Manifest(_Envelope):
    catalogue_id: Annotated[str, Field(max_length=128)] = ""
    catalogue_version: Annotated[int, Field(ge=0)]
    guides: list[ManifestEntry]
    departments_version: int = 0
    agreements_version: int = 0
    regions_version: str = ""
    generated_at: str = ""


class Changes(_Envelope):
    catalogue_id: Annotated[str, Field(max_length=128)] = ""
    since: int
    catalogue_version: Annotated[int, Field(ge=0)]
    changed: list[ManifestEntry]
    removed: list[Annotated[str, Field(min_length=1, max_length=64)]]


class GuideBatch(_Envelope):
    guides: list[Guide]
    missing: list[str] = []


class Departments(_Envelope):
    version: int = 0
    departments: list[Department]


class Agreements(_Envelope):
    version: int = 0
    agreements: list[Agreement]


class Regions(_Envelope):
    version: str
    source: str = ""
    regions: list[Region]


class CalendarYear(_Envelope):
    year: int
    holidays: list[str]
    workdays: list[str]
    source: str = ""
    verified: bool = True


class Problem(_Envelope):
    """RFC 9457 problem details with the platform's machine code."""

    title: str = ""
    status: int | None = None
    detail: str = ""
    code: str = ""


_WHAT = {
    Manifest: "目录清单",
    Changes: "目录变更",
    GuideBatch: "事项指南",
    Departments: "部门信息",
    Agreements: "通办协议",
    Regions: "行政区划",
    CalendarYear: "工作日历",
}
_ADAPTERS: dict[type, TypeAdapter] = {}


def parse(model: type[_Envelope], body: bytes) -> Any:
    """Validate ``body`` as ``model``; on failure raise ``InvalidCatalogue`` naming the place."""
    adapter = _ADAPTERS.setdefault(model, TypeAdapter(model))
    try:
        return adapter.validate_json(body)
    except ValidationError as exc:
        raise _invalid(model, body, exc) from None


def _invalid(model: type, body: bytes, exc: ValidationError) -> InvalidCatalogue:
    what = _WHAT.get(model, "平台数据")
    first = exc.errors(include_url=False)[0]
    loc = [str(p) for p in first.get("loc", ())]
    where = ".".join(loc)
    kind = first.get("type", "")
    if kind == "json_invalid":
        return InvalidCatalogue(f"平台返回的{what}不是有效的 JSON，本次更新已放弃，继续使用原目录。",
                                f"{model.__name__}: invalid JSON ({first.get('msg')})")
    subject = what
    if model is GuideBatch and len(loc) >= 2 and loc[0] == "guides" and loc[1].isdigit():
        code = _code_at(body, int(loc[1]))
        subject = f"事项指南（编码 {code}）" if code else f"事项指南（本批第 {int(loc[1]) + 1} 条）"
        where = ".".join(loc[2:])
    reason = {
        "missing": "缺少必填字段",
        "string_too_long": "内容过长",
        "too_long": "条目过多",
        "extra_forbidden": "含有未定义的字段",
        "literal_error": "取值不在规定范围内",
        "string_pattern_mismatch": "格式不正确",
    }.get(kind, "类型或取值不正确")
    return InvalidCatalogue(
        f"平台返回的{subject}数据有误：字段“{where or '整体'}”{reason}。本次更新已放弃，继续使用原目录。",
        f"{model.__name__} rejected at {'.'.join(loc)}: {kind} ({first.get('msg')}); {exc.error_count()} error(s)",
    )


def _code_at(body: bytes, index: int) -> str:
    try:
        code = json.loads(body)["guides"][index].get("code", "")
        return str(code)[:64]
    except Exception:  # noqa: BLE001 - best effort for the message only
        return ""
