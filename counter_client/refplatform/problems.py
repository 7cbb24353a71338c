"""RFC 9457 problem details: every error the platform answers, and the handlers that make them.

Each problem carries ``type``, ``title``, ``status``, a Chinese ``detail`` a clerk can read, and a
machine-readable ``code`` the client branches on. Validation errors add ``errors`` with one entry
per field.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
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
    # accounts and tokens
    "invalid_credentials": (401, "账号或密码错误"),
    "account_locked": (423, "账号已锁定"),
    "wrong_hall": (403, "账号不属于该收件点"),
    "token_invalid": (401, "未登录或登录已失效"),
    "token_expired": (401, "登录已超时"),
    # blobs (tus 1.0 core)
    "tus_version_unsupported": (412, "不支持的断点续传协议版本"),
    "unsupported_media_type": (415, "不支持的内容类型"),
    "upload_length_required": (400, "缺少文件总大小"),
    "offset_mismatch": (409, "续传位置不符"),
    "length_mismatch": (409, "文件总大小不符"),
    "length_exceeded": (413, "上传内容超过文件总大小"),
    "blob_too_large": (413, "文件过大"),
    "upload_busy": (423, "该文件正在上传"),
    "hash_mismatch": (460, "文件校验值不符"),
    "blob_not_found": (404, "平台没有该文件"),
    # cases, supplements, status
    "wrong_terminal": (403, "收件编号不属于本终端"),
    "blobs_missing": (409, "材料文件尚未上传完整"),
    "conflict": (409, "与平台已收到的内容不一致"),
    "case_not_found": (404, "平台没有该办件"),
    "case_closed": (409, "办件已办结，不再接收补正材料"),
    # mail
    "pool_exhausted": (503, "邮件号段已用完"),
    "waybill_not_allocated": (409, "邮件号未分配给本终端"),
    "waybill_used": (409, "邮件号已被其他包裹使用"),
    "cases_missing": (409, "包裹中的办件平台尚未收到"),
    "leg_not_found": (404, "没有该寄件记录"),
    "parcel_not_found": (404, "平台没有该包裹"),
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
    "string_pattern_mismatch": "格式不对",
    "literal_error": "不是允许的取值",
    "too_short": "至少需要一项",
    "too_long": "项数过多",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字",
    "bool_type": "应为是或否",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "missing_argument": "缺少此项",
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


class BodyTooLarge(HTTPException):
    """Raised while a request body is read, once it passes the limit. An ``HTTPException`` so
    FastAPI's body parsing lets it through instead of turning it into a 400."""

    def __init__(self, max_bytes: int):
        super().__init__(status_code=413)
        self.max_bytes = max_bytes


def too_large_response(max_bytes: int) -> JSONResponse:
    return problem_response(
        "request_too_large",
        f"请求内容超过平台允许的 {_size(max_bytes)}，请分批或分块提交。",
        max_bytes=max_bytes,
    )


def _size(count: int) -> str:
    if count >= 1024 * 1024:
        return f"{count / (1024 * 1024):g} MB"
    return f"{count / 1024:g} KB"


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
    if isinstance(exc, BodyTooLarge):
        return too_large_response(exc.max_bytes)
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
