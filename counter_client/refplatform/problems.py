"""RFC 9457 problem details: every error the platform answers, and the handlers that make them.

Each problem carries ``type``, ``title``, ``status``, a Chinese ``detail`` a clerk can read, and a
machine-readable ``code`` the client branches on. Validation errors add ``errors`` with one entry
per field.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:kstb-platform:problem:"

# code -> (status, title)
PROBLEMS: dict[str, tuple[int, str]] = {
    "not_found": (404, "资源不存在"),
    "method_not_allowed": (405, "不支持的请求方法"),
    "validation_failed": (422, "请求内容不符合要求"),
    "delta_unavailable": (410, "目录增量不可用"),
    "batch_too_large": (413, "单次请求的指南数量过多"),
    "request_too_large": (413, "请求内容过大"),
    "calendar_year_unknown": (404, "该年度工作日历未发布"),
    "calendar_file_invalid": (500, "工作日历文件有误"),
    "http_error": (400, "请求有误"),
    "internal_error": (500, "平台内部错误"),
}

# pydantic error type -> a message for the clerk
_FIELD_MESSAGES = {
    "missing": "缺少此项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "dict_type": "应为对象",
    "model_attributes_type": "应为对象",
    "string_too_long": "内容过长",
    "string_too_short": "内容过短",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "extra_forbidden": "不允许此项",
    "json_invalid": "不是有效的JSON",
}
_LOCATIONS = {"body", "query", "path", "header", "cookie"}


class Problem(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(
        self,
        code: str,
        detail: str,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, object] | None = None,
    ):
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.status = status or PROBLEMS[code][0]
        self.headers = headers or {}
        self.extra = extra or {}


def problem_response(
    code: str, detail: str, *, status: int | None = None, headers: dict[str, str] | None = None, **extra: object
) -> JSONResponse:
    status = status or PROBLEMS.get(code, (500, ""))[0]
    title = PROBLEMS.get(code, (status, "请求失败"))[1]
    body = {"type": TYPE_PREFIX + code, "title": title, "status": status, "detail": detail, "code": code, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def field_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    out = []
    for err in exc.errors():
        loc = [str(p) for p in err.get("loc", ())]
        if loc and loc[0] in _LOCATIONS:
            loc = loc[1:]
        out.append({"field": ".".join(loc), "message": _FIELD_MESSAGES.get(err.get("type", ""), err.get("msg", ""))})
    return out


async def _on_problem(request: Request, exc: Problem) -> JSONResponse:
    return problem_response(exc.code, exc.detail, status=exc.status, headers=exc.headers, **exc.extra)


async def _on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = field_errors(exc)
    fields = "、".join(e["field"] for e in errors if e["field"]) or "请求内容"
    return problem_response("validation_failed", f"请求中以下内容不符合要求：{fields}。", errors=errors)


async def _on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 404:
        return problem_response("not_found", f"请求的地址不存在：{request.url.path}", headers=headers)
    if exc.status_code == 405:
        return problem_response("method_not_allowed", f"该地址不支持 {request.method} 请求。", headers=headers)
    return problem_response("http_error", "请求未能处理，请稍后重试或联系平台运维。", status=exc.status_code, headers=headers)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response("internal_error", "平台处理请求时出错，请稍后重试；如持续出现请联系平台运维。")


def install(app: FastAPI) -> None:
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
