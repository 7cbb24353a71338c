"""The platform's mail endpoints: waybill-number pool allocation and parcel manifests.

Functions over a logged-in ``DeliveryClient`` (the same session the sync pass uses), kept in
their own module so the delivery client stays about cases. Answers are validated like every
other (``delivery._parse``); a parcel acknowledgement must carry the hash of the body we sent.
"""

from __future__ import annotations

from counter_client.errors import PlatformError

from .delivery import BadAnswer, DeliveryClient, Put, _Answer, _parse


class PoolBlock(_Answer, kw_only=True):
    request_id: str
    kind: str
    allocated_at: str
    numbers: list[str]
    hall_code: str = ""
    terminal: int = 0


class ParcelAck(_Answer, kw_only=True):
    parcel_id: str
    waybill_no: str
    payload_hash: str
    accepted_at: str


class ParcelRecord(_Answer, kw_only=True):
    parcel_id: str
    waybill_no: str
    payload_hash: str
    accepted_at: str
    department_code: str = ""


class LegAck(_Answer, kw_only=True):
    tracking_no: str
    receipt_no: str
    payload_hash: str
    accepted_at: str


def allocate(client: DeliveryClient, request_id: str, count: int, kind: str = "s10") -> PoolBlock:
    """Numbers for this terminal; the same ``request_id`` again returns the same block."""
    _, raw = client._raw("POST", "/mail/pool", json_body={"request_id": request_id, "count": count, "kind": kind},
                         ok=(200, 201))
    block = _parse(PoolBlock, raw, "邮件号段")
    if block.request_id != request_id:
        raise BadAnswer("平台返回的邮件号段与申请不符，本次不作数。",
                        f"pool answer for request {block.request_id[:12]}, asked {request_id[:12]}", code="bad_answer")
    return block


def put_parcel(client: DeliveryClient, parcel_id: str, body: bytes) -> Put:
    return client._put(f"/parcels/{parcel_id}", body, ParcelAck, "包裹回执")


def get_parcel(client: DeliveryClient, parcel_id: str) -> ParcelRecord | None:
    """What the platform holds under the parcel id (``None``: nothing)."""
    return _held(client, f"/parcels/{parcel_id}", "parcel_not_found", ParcelRecord, "包裹信息")


def put_leg(client: DeliveryClient, tracking_no: str, body: bytes) -> Put:
    return client._put(f"/mail/legs/{tracking_no}", body, LegAck, "寄件回执")


def get_leg(client: DeliveryClient, tracking_no: str) -> LegAck | None:
    """What the platform holds under the tracking number (``None``: nothing)."""
    return _held(client, f"/mail/legs/{tracking_no}", "leg_not_found", LegAck, "寄件信息")


def _held(client: DeliveryClient, path: str, not_found: str, model, what: str):
    """A GET that answers 404 ``not_found`` when the platform holds nothing there."""
    try:
        _, raw = client._raw("GET", path)
    except PlatformError as exc:
        if exc.status == 404 and exc.code == not_found:
            return None
        raise
    return _parse(model, raw, what)
