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
    try:
        _, raw = client._raw("GET", f"/parcels/{parcel_id}")
    except PlatformError as exc:
        if exc.status == 404 and exc.code == "parcel_not_found":
            return None
        raise
    return _parse(ParcelRecord, raw, "包裹信息")
