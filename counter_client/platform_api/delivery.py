"""The platform's delivery endpoints: log in, resumable blob upload, cases, supplements, the
status feed and reconciliation (one method per endpoint, like ``client.PlatformClient``).

Only a real answer of the platform counts (sync rule 4): a JSON answer must have a JSON content
type and validate against its shape here; a blob answer must carry ``Tus-Resumable``; a case
acknowledgement must name the payload hash we computed over the body we sent. Anything else is
``BadAnswer``, which the sync engine treats like no answer at all (never as delivered).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import msgspec
from msgspec import Struct

from counter_client.errors import LimitedNetwork, PlatformError

from .client import PlatformClient

TUS_VERSION = "1.0.0"
UPLOAD_MEDIA_TYPE = "application/offset+octet-stream"
JSON_TYPE = "application/json"


class BadAnswer(PlatformError):
    """A 2xx whose body or headers are not what the platform sends: not an acknowledgement."""


class _Answer(Struct, frozen=True, kw_only=True):
    """Unknown fields are ignored (a newer platform may add some)."""


class LoginAnswer(_Answer, kw_only=True):
    token: str
    expires_at: str
    account: str
    name: str = ""
    roles: list[str] = []
    hall_code: str
    region_code: str = ""


class BlobCheck(_Answer, kw_only=True):
    held: list[str]
    partial: dict[str, int]


class CaseAck(_Answer, kw_only=True):
    receipt_no: str
    payload_hash: str
    accepted_at: str
    status: str = ""


class SupplementAck(_Answer, kw_only=True):
    receipt_no: str
    supplement_id: str
    payload_hash: str
    accepted_at: str


class StatusEvent(_Answer, kw_only=True):
    seq: int | None = None
    receipt_no: str
    item_code: str
    status: str
    at: str
    reason: str | None = None
    needed: list[str] = []
    tracking_no: str | None = None


class StatusFeed(_Answer, kw_only=True):
    events: list[StatusEvent]
    next_cursor: int


class _Advance(_Answer, kw_only=True):
    events: list[StatusEvent]


class HeldAttachment(_Answer, kw_only=True):
    sha256: str
    size: int
    material: str = ""
    page: int = 0
    verified_sha256: str = ""
    verified_size: int = 0


class HeldSupplement(_Answer, kw_only=True):
    supplement_id: str
    payload_hash: str
    accepted_at: str


class CaseRecord(_Answer, kw_only=True):
    receipt_no: str
    payload_hash: str
    accepted_at: str
    status: str = ""
    attachments: list[HeldAttachment] = []
    supplements: list[HeldSupplement] = []
    timeline: list[StatusEvent] = []


class ReconciliationCase(_Answer, kw_only=True):
    receipt_no: str
    payload_hash: str
    accepted_at: str
    attachments: int = 0


class Reconciliation(_Answer, kw_only=True):
    date: str
    hall_code: str
    terminal: int
    cases: list[ReconciliationCase]


_DECODERS: dict[type, msgspec.json.Decoder] = {}


def _parse(model: type, body: bytes, what: str) -> Any:
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    try:
        return decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise BadAnswer(f"平台返回的{what}格式不正确，本次不作数，稍后自动重试。",
                        f"{model.__name__} rejected: {str(exc)[:300]}", code="bad_answer") from None


@dataclass(frozen=True)
class Put:
    """The answer to a PUT of a case or supplement: ``created`` is False for an identical replay."""

    created: bool
    ack: dict[str, Any]


class DeliveryClient(PlatformClient):
    """``PlatformClient`` plus the endpoints of delivery; ``token`` must be set (``login`` sets it)."""

    # -- auth ---------------------------------------------------------------------------------------
    def login(self, account: str, password: str, hall_code: str, terminal: int) -> LoginAnswer:
        body = {"account": account, "password": password, "terminal": {"hall_code": hall_code, "terminal": terminal}}
        self.token = None
        _, raw = self._raw("POST", "/auth/login", json_body=body)
        answer = _parse(LoginAnswer, raw, "登录结果")
        self.token = answer.token
        return answer

    def refresh(self) -> LoginAnswer:
        _, raw = self._raw("POST", "/auth/refresh")
        answer = _parse(LoginAnswer, raw, "登录结果")
        self.token = answer.token
        return answer

    def logout(self) -> None:
        resp, body = self._request("POST", "/auth/logout")
        if resp.status_code not in (204, 401):
            raise self._error(resp, body, "/auth/logout")
        self.token = None

    # -- blobs -------------------------------------------------------------------------------------
    def check_blobs(self, hashes: list[str]) -> BlobCheck:
        _, raw = self._raw("POST", "/blobs/check", json_body={"sha256": hashes})
        return _parse(BlobCheck, raw, "文件核对结果")

    def blob_offset(self, sha256: str) -> int | None:
        """Bytes of the blob the platform holds (``None``: nothing, start at 0)."""
        resp, body = self._request("HEAD", f"/blobs/{sha256}", headers={"Tus-Resumable": TUS_VERSION})
        if resp.status_code == 404 and resp.headers.get("Tus-Resumable"):
            return None
        if resp.status_code != 200:
            raise self._error(resp, body, f"/blobs/{sha256[:12]}")
        return self._offset(resp, f"HEAD /blobs/{sha256[:12]}")

    def patch_blob(self, sha256: str, offset: int, length: int, body: Any, size: int) -> int:
        """Append ``size`` bytes (``body``: bytes or a readable file object with ``len``) at
        ``offset``; returns the offset the platform now holds (= ``length`` once verified)."""
        headers = {"Tus-Resumable": TUS_VERSION, "Content-Type": UPLOAD_MEDIA_TYPE, "Upload-Offset": str(offset),
                   "Upload-Length": str(length), "Content-Length": str(size)}
        resp, raw = self._request("PATCH", f"/blobs/{sha256}", data=body, headers=headers)
        if resp.status_code != 204:
            raise self._error(resp, raw, f"/blobs/{sha256[:12]}")
        return self._offset(resp, f"PATCH /blobs/{sha256[:12]}")

    @staticmethod
    def _offset(resp, what: str) -> int:
        offset = resp.headers.get("Upload-Offset", "")
        if not resp.headers.get("Tus-Resumable") or not offset.isdigit():
            raise LimitedNetwork("网络连接受限：收到的不是平台的应答（可能是需要登录的公共网络或代理页面）。可继续离线办理。",
                                 f"{what}: {resp.status_code} without tus headers, not the platform")
        return int(offset)

    # -- cases and supplements ---------------------------------------------------------------------
    def put_case(self, receipt_no: str, body: bytes) -> Put:
        return self._put(f"/cases/{receipt_no}", body, CaseAck, "收件回执")

    def put_supplement(self, receipt_no: str, supplement_id: str, body: bytes) -> Put:
        return self._put(f"/cases/{receipt_no}/supplements/{supplement_id}", body, SupplementAck, "补正回执")

    def _put(self, path: str, body: bytes, model: type, what: str) -> Put:
        resp, raw = self._raw("PUT", path, data=body, headers={"Content-Type": JSON_TYPE}, ok=(200, 201))
        ack = _parse(model, raw, what)
        expected = hashlib.sha256(body).hexdigest()
        if ack.payload_hash != expected:
            raise BadAnswer("平台回执中的校验值与本机提交的内容不符，本次不作数，稍后向平台核实。",
                            f"PUT {path}: ack hash {ack.payload_hash[:16]} != sent {expected[:16]}", code="bad_answer")
        return Put(resp.status_code == 201, msgspec.to_builtins(ack))

    def get_case(self, receipt_no: str) -> CaseRecord | None:
        """What the platform holds under the receipt number (``None``: nothing)."""
        try:
            _, raw = self._raw("GET", f"/cases/{receipt_no}")
        except PlatformError as exc:
            if exc.status == 404 and exc.code == "case_not_found":
                return None
            raise
        return _parse(CaseRecord, raw, "办件信息")

    # -- status and reconciliation -----------------------------------------------------------------
    def status_feed(self, cursor: int, limit: int = 200) -> StatusFeed:
        _, raw = self._raw("GET", "/status", params={"cursor": cursor, "limit": limit})
        feed = _parse(StatusFeed, raw, "办理状态")
        if feed.next_cursor < cursor:
            raise BadAnswer("平台返回的办理状态位置倒退，本次不作数。",
                            f"status feed cursor went back from {cursor} to {feed.next_cursor}", code="bad_answer")
        # the cursor may only move over events this answer carries: a jump past them (an empty
        # page that moves it, or a position beyond the last event) would skip statuses for good
        seqs = [e.seq for e in feed.events if e.seq is not None]
        expected = max(seqs) if seqs else cursor
        if feed.next_cursor != expected or any(seq <= cursor for seq in seqs):
            raise BadAnswer("平台返回的办理状态位置不连贯，本次不作数。",
                            f"status feed from {cursor}: next_cursor {feed.next_cursor}, events up to {expected}",
                            code="bad_answer")
        return feed

    def reconciliation(self, day: str) -> Reconciliation:
        _, raw = self._raw("GET", "/reconciliation", params={"date": day})
        return _parse(Reconciliation, raw, "对账清单")

    def training_advance(self, steps: int = 1) -> list[StatusEvent]:
        _, raw = self._raw("POST", "/training/advance", json_body={"steps": steps})
        return list(_parse(_Advance, raw, "办理状态").events)


def hashes_in_batches(hashes: Iterable[str], size: int) -> list[list[str]]:
    items = list(hashes)
    return [items[i:i + size] for i in range(0, len(items), size)]
