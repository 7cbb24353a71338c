"""HTTP client of the central platform: one method per endpoint, errors mapped for the clerk.

One ``requests.Session`` per client object (the sync worker makes its own). Every request has a
(connect, read) timeout, bodies are read in chunks with a size cap, and an answer counts only if
it comes from the platform: the probe must be a 204 carrying the platform's version header, and
JSON endpoints must answer with a JSON content type. A hotel Wi-Fi login page (200 text/html), a
proxy error page or a truncated body is "no connection", never data.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from counter_client import __version__
from counter_client.domain.catalogue import Guide
from counter_client.errors import AuthRequired, LimitedNetwork, NetworkUnavailable, PlatformError

from . import wire
from .results import DeltaUnavailable, Fetched, Ping

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0
MAX_BODY_BYTES = 256 * 1024 * 1024  # no answer of the contract comes near this
CHUNK = 256 * 1024
VERSION_HEADER = "X-Platform-Version"
SUPPORTED_MAJOR = "1"


class PlatformClient:
    """The platform at ``base_url`` (``https://host[:port]``, no path: ``/api/v1`` is added)."""

    def __init__(self, base_url: str, *, name: str = "", connect_timeout: float = CONNECT_TIMEOUT,
                 read_timeout: float = READ_TIMEOUT, ca_bundle: str | None = None,
                 session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.name = name or self.base_url
        self.timeout = (connect_timeout, read_timeout)
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"counter-client/{__version__}"
        self.session.headers["Accept"] = "application/json"
        if ca_bundle:
            self.session.verify = ca_bundle  # a private CA; verification is never switched off
        self.bytes_received = 0
        self.requests_made = 0
        self.token: str | None = None  # bearer token of the logged-in clerk (sync endpoints)

    def close(self) -> None:
        self.session.close()

    # -- transport -----------------------------------------------------------------------------
    def _request(self, method: str, path: str, *, json_body: Any = None, etag: str | None = None,
                 params: dict | None = None, data: Any = None,
                 headers: dict[str, str] | None = None) -> tuple[requests.Response, bytes]:
        url = f"{self.base_url}{API_PREFIX}{path}"
        headers = dict(headers or {})
        if etag:
            headers["If-None-Match"] = etag
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.requests_made += 1
        try:
            resp = self.session.request(method, url, json=json_body, data=data, headers=headers, params=params,
                                        timeout=self.timeout, stream=True, allow_redirects=False)
            body = self._read(resp)
        except requests.exceptions.SSLError as exc:
            raise NetworkUnavailable(
                f"与平台（{self.name}）的安全连接校验失败：证书不受信任或已过期。请联系管理员核对平台地址和证书。",
                f"TLS error for {method} {path}: {exc}") from exc
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError) as exc:
            raise NetworkUnavailable(
                f"无法连接到平台（{self.name}）：网络不通、响应超时或平台未启动。可继续离线办理，联网后自动同步。",
                f"{method} {path} failed: {type(exc).__name__}: {exc}") from exc
        self.bytes_received += len(body)
        return resp, body

    def _read(self, resp: requests.Response) -> bytes:
        declared = resp.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
            resp.close()
            raise PlatformError("平台返回的数据过大，已拒收。请联系平台管理员。",
                                f"declared body {declared} bytes exceeds cap", status=resp.status_code)
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_content(CHUNK):
            total += len(chunk)
            if total > MAX_BODY_BYTES:
                resp.close()
                raise PlatformError("平台返回的数据过大，已拒收。请联系平台管理员。",
                                    f"body exceeds cap of {MAX_BODY_BYTES} bytes", status=resp.status_code)
            chunks.append(chunk)
        return b"".join(chunks)

    def _raw(self, method: str, path: str, *, etag: str | None = None, json_body: Any = None,
             params: dict | None = None, data: Any = None, headers: dict[str, str] | None = None,
             ok: tuple[int, ...] = (200,)) -> tuple[requests.Response, bytes]:
        """A JSON answer's bytes, checked to come from the platform (not yet parsed)."""
        resp, body = self._request(method, path, json_body=json_body, etag=etag, params=params, data=data,
                                   headers=headers)
        if resp.status_code == 304 and etag:
            return resp, b""
        if resp.status_code not in ok:
            raise self._error(resp, body, path)
        ctype = resp.headers.get("Content-Type", "")
        if "json" not in ctype:
            raise LimitedNetwork(
                "网络连接受限：收到的不是平台的应答（可能是需要登录的公共网络或代理页面）。可继续离线办理。",
                f"{path}: {resp.status_code} with content type {ctype!r}, not the platform")
        return resp, body

    def _json(self, method: str, path: str, model: type, *, etag: str | None = None,
              json_body: Any = None, params: dict | None = None) -> Fetched:
        resp, body = self._raw(method, path, json_body=json_body, etag=etag, params=params)
        if resp.status_code == 304:
            return Fetched(None, etag, not_modified=True)
        return Fetched(wire.parse(model, body), resp.headers.get("ETag"), nbytes=len(body))

    def _error(self, resp: requests.Response, body: bytes, path: str) -> PlatformError | NetworkUnavailable:
        status = resp.status_code
        ctype = resp.headers.get("Content-Type", "")
        problem, extra = None, {}
        if "json" in ctype:
            try:
                problem = wire.parse(wire.Problem, body)
                extra = wire.problem_extra(body)
            except Exception:  # noqa: BLE001 - an unreadable problem is reported by status below
                problem = None
        retry_after = retry_after_seconds(resp.headers.get("Retry-After", ""))
        if problem is None and (status in (502, 503, 504) or "html" in ctype):
            limited = LimitedNetwork(
                f"平台暂时无法访问（HTTP {status}），可能是网关或代理故障。可继续离线办理，稍后自动重试。",
                f"{path}: HTTP {status} without a platform problem body ({ctype!r})")
            limited.retry_after = retry_after  # a gateway's Retry-After is honoured too
            return limited
        detail = problem.detail if problem and problem.detail else ""
        code = problem.code if problem else ""
        if not detail:
            detail = (f"平台处理请求出错（HTTP {status}），请稍后重试。" if status >= 500
                      else f"平台拒绝了请求（HTTP {status}）。")
        kind = AuthRequired if status == 401 else PlatformError
        return kind(detail, f"{path}: HTTP {status} code={code!r}", status=status, code=code,
                    retry_after=retry_after, extra=extra)

    # -- endpoints -----------------------------------------------------------------------------
    def ping(self) -> Ping:
        """The probe: 204 with the platform's version header, else "not connected"."""
        started = time.monotonic()
        local_before = time.time()
        resp, _ = self._request("GET", "/ping")
        rtt = time.monotonic() - started
        version = resp.headers.get(VERSION_HEADER)
        if resp.status_code != 204 or not version:
            raise LimitedNetwork(
                "网络连接受限：平台地址返回了其他页面（可能是需要登录的公共网络或代理）。可继续离线办理。",
                f"probe answered {resp.status_code} with version header {version!r}")
        if version.split(".")[0] != SUPPORTED_MAJOR:
            raise PlatformError(
                f"平台接口版本（{version}）与本程序不兼容，请升级客户端。",
                f"unsupported platform version {version}", status=resp.status_code, code="version")
        server_time = _parse_time(resp.headers.get("X-Server-Time", ""))
        offset = (server_time.timestamp() - (local_before + rtt / 2)) if server_time else 0.0
        return Ping(version, server_time, offset, rtt)

    def manifest(self, etag: str | None = None) -> Fetched:
        return self._json("GET", "/catalogue/manifest", wire.Manifest, etag=etag)

    def changes(self, since: int) -> wire.Changes:
        try:
            return self._json("GET", "/catalogue/changes", wire.Changes, params={"since": since}).value
        except PlatformError as exc:
            if exc.status == 410:
                raise DeltaUnavailable(exc.message, exc.log, status=410, code=exc.code) from exc
            raise

    def guides(self, codes: list[str]) -> tuple[list[Guide], list[bytes], list[str]]:
        """(validated guides, their JSON as received, codes the platform does not have)."""
        return wire.parse_guide_batch(self.guides_raw(codes))

    def guides_raw(self, codes: list[str]) -> bytes:
        """The batch answer's bytes, not yet validated."""
        return self._raw("POST", "/catalogue/guides/batch", json_body={"codes": codes})[1]

    def departments(self, etag: str | None = None) -> Fetched:
        return self._json("GET", "/catalogue/departments", wire.Departments, etag=etag)

    def agreements(self, etag: str | None = None) -> Fetched:
        return self._json("GET", "/catalogue/agreements", wire.Agreements, etag=etag)

    def regions(self, etag: str | None = None) -> Fetched:
        return self._json("GET", "/regions", wire.Regions, etag=etag)

    def calendar(self, year: int, etag: str | None = None) -> Fetched | None:
        """The platform's working-day calendar of ``year`` (``None`` when it has none)."""
        try:
            return self._json("GET", f"/calendar/{int(year)}", wire.CalendarYear, etag=etag)
        except PlatformError as exc:
            if exc.status == 404:
                return None
            raise


def retry_after_seconds(value: str) -> float | None:
    """``Retry-After`` as seconds (delta-seconds or an HTTP date); ``None`` when absent or unreadable."""
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(min(int(value), 24 * 3600))
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, min(moment.timestamp() - time.time(), 24 * 3600.0))


def _parse_time(text: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
