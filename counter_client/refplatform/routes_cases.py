"""``/cases``, ``/status``, ``/reconciliation`` and (training only) ``/training/advance``.

Case and supplement bodies are hashed as received: the JSON is parsed once more from the raw bytes
(not from the validated model, which would add defaults) and written in the canonical form of
``cases.canonical_json``. The client computes the same hash over the body it sends, keeps that
body, and resends exactly it when a send was in doubt.
"""

# no `from __future__ import annotations`: FastAPI must resolve the local `Session` alias

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from counter_client.domain.receipt import ReceiptError, ReceiptNo, parse
from counter_client.refplatform import API_PREFIX, accounts, cases, simulation
from counter_client.refplatform.deps import AUTH_RESPONSES, INVALID, PlatformContext, doc, invalid, session_dependency
from counter_client.refplatform.problems import Problem
from counter_client.refplatform.schemas import (
    AdvanceRequest,
    AdvanceResponse,
    AttachmentIn,
    CaseAccepted,
    CaseRecord,
    CaseSubmission,
    Reconciliation,
    StatusFeed,
    SupplementAccepted,
    SupplementSubmission,
)

DEFAULT_FEED_LIMIT = 100
MAX_FEED_LIMIT = 1000

CANONICAL_JSON = (
    "`payload_hash` is the SHA-256 (lower-case hex) of the **canonical JSON of the whole request body** "
    "(every member: `receipt_no`, `payload`, `attachments`, `device_time`, `clock_offset_s`): the body "
    "as parsed, written back with object keys sorted (by code point, at every level), separators "
    '`","` and `":"` with no whitespace, non-ASCII characters as themselves (not `\\u` escapes), '
    "encoded as UTF-8 — in Python `json.dumps(body, sort_keys=True, separators=(\",\", \":\"), "
    "ensure_ascii=False).encode(\"utf-8\")`. Numbers are written as Python's `json` writes them "
    "(integers without a fraction, floats in shortest round-trip form, e.g. `0.25`, `1e-07`); "
    "NaN and Infinity are refused. The client computes the same hash, keeps the body it sent and "
    "resends exactly that body when a send was in doubt: `device_time` and `clock_offset_s` are part "
    "of the hash, so a body rebuilt later with a new clock offset is a *different* body (409 `conflict`)."
)

ReceiptPath = Annotated[str, PathParam(pattern=r"^[0-9]{21}[0-9X]$",
                                       description="The receipt number, canonical 22-character form")]
SupplementIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                            description="Client-minted id (e.g. a UUID): the idempotency key")]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _raw_document(raw: bytes) -> Any:
    """The body as the hash sees it; a body FastAPI accepted but the canonical form cannot
    write (NaN, lone surrogates) is refused as invalid."""
    try:
        document = json.loads(raw, parse_constant=_reject_constant)
        cases.canonical_json(document)
    except (ValueError, UnicodeError):
        raise invalid([("body", "含有无法规范化的数值或字符（NaN、Infinity 或不成对的代理字符）")]) from None
    return document


def _receipt(text: str) -> ReceiptNo:
    try:
        receipt = parse(text)
    except ReceiptError as exc:
        raise invalid([("receipt_no", exc.message)]) from None
    if receipt.text != text:
        raise invalid([("receipt_no", "请使用规范的 22 位收件编号")])
    return receipt


def _material_errors(attachments: list[AttachmentIn], names: set[str], prefix: str) -> list[tuple[str, str]]:
    return [(f"{prefix}attachments.{i}.material", f"“{a.material}”不在材料清单中")
            for i, a in enumerate(attachments) if a.material not in names]


def _attachments(items: list[AttachmentIn]) -> list[cases.Attachment]:
    return [cases.Attachment(a.sha256, a.size, a.material, a.page) for a in items]


def _blob_problems(exc: Exception, prefix: str = "") -> Problem:
    if isinstance(exc, cases.BlobsMissing):
        return Problem("blobs_missing", f"有 {len(exc.missing)} 个材料文件尚未完整上传到平台，请先上传文件再提交。",
                       extra={"missing": exc.missing})
    assert isinstance(exc, cases.SizeMismatch)
    return invalid([(f"{prefix}attachments.{i}.size", f"与平台收到的文件大小 {size} 字节不一致")
                    for i, size in exc.wrong])


def _conflict(exc: cases.CaseConflict, what: str) -> Problem:
    return Problem("conflict", f"平台已收到该{what}，但内容与本次提交的不一致，请联系平台运维核对。",
                   extra={"payload_hash": exc.stored_hash, "received_hash": exc.received_hash})


def router(ctx: PlatformContext) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    require_session = session_dependency(ctx)
    Session = Annotated[accounts.Session, Depends(require_session)]

    def own_case(receipt: str, session: accounts.Session) -> None:
        hall = cases.case_hall(ctx.pool.get(), receipt)
        if hall is None or hall != session.hall_code:
            raise Problem("case_not_found", f"平台没有收件编号为 {receipt} 的办件。")

    @api.put(
        "/cases/{receipt_no}",
        status_code=201,
        response_model=CaseAccepted,
        responses={
            200: {"model": CaseAccepted, "description": "Identical replay: the answer of the first time"},
            201: {"description": "Stored (已接收)", "headers": {"Location": {"schema": {"type": "string"}}}},
            **AUTH_RESPONSES,
            403: doc("`wrong_terminal`: the receipt number is not of this token's hall and terminal"),
            409: doc("`blobs_missing` (`missing`: upload them first) or `conflict` (another body was stored "
                     "under this receipt number: `payload_hash` stored, `received_hash` sent)"),
            **INVALID,
        },
        tags=["cases"],
        operation_id="put_case",
        description="Submit a collected case (idempotent by receipt number).\n\n"
                    "Rules: the receipt number must be valid (check character), equal `receipt_no` in the body "
                    "and belong to the token's hall and terminal; every attachment's blob must be complete and "
                    "verified, with the same size; the payload must hold `mode`, `applicant` (`name`, "
                    "`id_number`), `items` (each `code`, `version`, `handling_region`) and `materials`, and "
                    "each attachment's `material` must name one of them. First time: 201; the same body "
                    "again: 200 with the same answer; another body: 409 `conflict`.\n\n" + CANONICAL_JSON,
    )
    async def put_case(receipt_no: ReceiptPath, submission: CaseSubmission, request: Request,
                       session: Session) -> JSONResponse:
        receipt = _receipt(receipt_no)
        errors = []
        if submission.receipt_no != receipt_no:
            errors.append(("receipt_no", "与地址中的收件编号不一致"))
        if submission.payload.receipt_no not in (None, "", receipt_no):
            errors.append(("payload.receipt_no", "与收件编号不一致"))
        names = {m.name for m in submission.payload.materials}
        names |= {getattr(m, "key", None) for m in submission.payload.materials} - {None}
        errors += _material_errors(submission.attachments, names, "")
        codes = [item.code for item in submission.payload.items]
        errors += [(f"payload.items.{i}.code", "事项重复") for i, c in enumerate(codes) if c in codes[:i]]
        if errors:
            raise invalid(errors)
        if receipt.hall != session.hall_code or receipt.terminal != session.terminal:
            raise Problem("wrong_terminal", f"收件编号 {receipt_no} 不是本终端（收件点 {session.hall_code}，"
                                            f"终端 {session.terminal:02d}）编出的，不能由本终端提交。")
        document = _raw_document(await request.body())
        new = cases.NewCase(
            receipt_no=receipt_no, hall_code=receipt.hall, terminal=receipt.terminal,
            receipt_day=receipt.day.isoformat(), payload_hash=cases.payload_hash(document),
            body=cases.canonical_json(document).decode("utf-8"), account=session.account,
            mode=submission.payload.mode, delivery_method=submission.payload.delivery.method,
            device_time=submission.device_time, clock_offset_s=submission.clock_offset_s,
            items=[(i.code, i.handling_region) for i in submission.payload.items],
            attachments=_attachments(submission.attachments),
        )
        try:
            created, answer = await run_in_threadpool(lambda: cases.put_case(ctx.pool.get(), new))
        except cases.CaseConflict as exc:
            raise _conflict(exc, "收件编号的办件") from None
        except (cases.BlobsMissing, cases.SizeMismatch) as exc:
            raise _blob_problems(exc) from None
        return JSONResponse(answer, status_code=201 if created else 200,
                            headers={"Location": f"{API_PREFIX}/cases/{receipt_no}"})

    @api.get(
        "/cases/{receipt_no}",
        response_model=CaseRecord,
        responses={**AUTH_RESPONSES, 404: doc("`case_not_found`: not held (or not of this hall)"), **INVALID},
        tags=["cases"],
        operation_id="get_case",
    )
    def get_case(receipt_no: ReceiptPath, session: Session) -> CaseRecord:
        """What the platform holds under a receipt number: hash, time, verified attachments,
        supplements and the status timeline. The client asks this before resending a case whose
        send is in doubt."""
        _receipt(receipt_no)
        record = cases.get_case(ctx.pool.get(), receipt_no)
        if record is None or record["hall_code"] != session.hall_code:
            raise Problem("case_not_found", f"平台没有收件编号为 {receipt_no} 的办件。")
        return CaseRecord(**record)

    @api.put(
        "/cases/{receipt_no}/supplements/{supplement_id}",
        status_code=201,
        response_model=SupplementAccepted,
        responses={
            200: {"model": SupplementAccepted, "description": "Identical replay: the answer of the first time"},
            **AUTH_RESPONSES,
            404: doc("`case_not_found`"),
            409: doc("`blobs_missing`, `conflict` (another body under this id) or `case_closed` (every item is "
                     "办结 or final)"),
            **INVALID,
        },
        tags=["cases"],
        operation_id="put_supplement",
        description="Submit supplementary materials (补正材料) for a case of this hall, idempotent by the "
                    "client-minted `supplement_id`. Items waiting in 补正 move to 受理 (an event in the "
                    "feed). Each attachment's `material` must name one of `materials`. `payload_hash` is "
                    "the SHA-256 of the canonical JSON of the request body, written as for cases (keys sorted, "
                    "separators `,` `:`, ensure_ascii off, UTF-8).",
    )
    async def put_supplement(receipt_no: ReceiptPath, supplement_id: SupplementIdPath,
                             submission: SupplementSubmission, request: Request, session: Session) -> JSONResponse:
        _receipt(receipt_no)
        names = {m.name for m in submission.materials}
        errors = _material_errors(submission.attachments, names, "")
        if errors:
            raise invalid(errors)
        await run_in_threadpool(own_case, receipt_no, session)
        document = _raw_document(await request.body())
        hash_ = cases.payload_hash(document)
        body = cases.canonical_json(document).decode("utf-8")
        try:
            created, answer = await run_in_threadpool(lambda: cases.put_supplement(
                ctx.pool.get(), receipt_no, supplement_id, hash_, body, session.account,
                _attachments(submission.attachments)))
        except cases.CaseConflict as exc:
            raise _conflict(exc, "补正材料编号的补正材料") from None
        except (cases.BlobsMissing, cases.SizeMismatch) as exc:
            raise _blob_problems(exc) from None
        except cases.CaseClosed:
            raise Problem("case_closed", f"办件 {receipt_no} 已办结或已终结，不再接收补正材料。") from None
        return JSONResponse(answer, status_code=201 if created else 200)

    @api.get(
        "/status",
        response_model=StatusFeed,
        responses={**AUTH_RESPONSES, **INVALID},
        tags=["status"],
        operation_id="get_status_feed",
    )
    def status_feed(
        session: Session,
        cursor: Annotated[int, Query(ge=0, description="The `next_cursor` of the last answer; 0 at first")] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_FEED_LIMIT)] = DEFAULT_FEED_LIMIT,
    ) -> StatusFeed:
        """Status changes of this hall's cases after `cursor`, oldest first. Asking again with the
        same cursor gives the same events (idempotent); an item never moves backwards:
        已接收 → 受理 | 补正 | 不予受理; 补正 → 受理 (after a supplement) | 不予受理; 受理 → 办结;
        办结 → 结果已寄出."""
        events, next_cursor = cases.status_feed(ctx.pool.get(), session.hall_code, cursor, limit)
        return StatusFeed(events=events, next_cursor=next_cursor)

    @api.get(
        "/reconciliation",
        response_model=Reconciliation,
        responses={**AUTH_RESPONSES, **INVALID},
        tags=["status"],
        operation_id="get_reconciliation",
    )
    def reconciliation(
        session: Session,
        date_: Annotated[date, Query(alias="date", description="The day in the receipt numbers, YYYY-MM-DD")],
    ) -> Reconciliation:
        """Every case the platform holds for this token's terminal whose receipt number is of that
        day, with its payload hash: the client compares it with what it believes was acknowledged."""
        found = cases.reconciliation(ctx.pool.get(), session.hall_code, session.terminal, date_.isoformat())
        return Reconciliation(date=date_.isoformat(), hall_code=session.hall_code, terminal=session.terminal,
                              cases=found)

    @api.post(
        "/training/advance",
        response_model=AdvanceResponse,
        responses={**AUTH_RESPONSES, 404: doc("`not_found`: the platform is not in training mode"), **INVALID},
        tags=["training"],
        operation_id="training_advance",
    )
    def training_advance(session: Session, request: Annotated[AdvanceRequest | None, Body()] = None) -> AdvanceResponse:
        """Training mode only: the simulated 办理地 moves every case one step per `steps`
        (受理 → 办结 → 结果已寄出, some to 补正 or 不予受理). Returns this hall's new events."""
        store = ctx.pool.get()
        if store.mode() != "training":
            raise Problem("not_found", "该功能仅在培训模式下可用。")
        events = simulation.advance(store, (request or AdvanceRequest()).steps)
        mine = [e for e in events if cases.case_hall(store, e["receipt_no"]) == session.hall_code]
        return AdvanceResponse(events=mine)

    return api
