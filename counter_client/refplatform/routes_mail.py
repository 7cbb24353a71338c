"""``/mail/pool`` (waybill numbers allocated to a terminal in advance) and ``/parcels`` (parcel
manifests: which cases and materials travel under which number). The logic is in ``mail``.
"""

# no `from __future__ import annotations`: FastAPI must resolve the local `Session` alias

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from counter_client.domain.waybill import WaybillError, parse as parse_tracking
from counter_client.refplatform import API_PREFIX, accounts, cases, mail
from counter_client.refplatform.deps import AUTH_RESPONSES, INVALID, PlatformContext, doc, invalid, session_dependency
from counter_client.refplatform.problems import Problem
from counter_client.refplatform.routes_cases import _conflict, _raw_document
from counter_client.refplatform.schemas import (
    LegAccepted,
    LegSubmission,
    ParcelAccepted,
    ParcelRecord,
    ParcelSubmission,
    PoolBlock,
    PoolRequest,
)

TrackingPath = Annotated[str, PathParam(pattern=r"^([A-Z]{2}[0-9]{9}[A-Z]{2}|[0-9]{13})$",
                                         description="A waybill number of this terminal's pool")]
ParcelIdPath = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9._-]{1,64}$",
                                        description="Client-minted parcel id: the idempotency key (per terminal)")]


def _terminal(session: accounts.Session) -> mail.Terminal:
    return mail.Terminal(session.hall_code, session.terminal, session.account)


def router(ctx: PlatformContext) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX)
    Session = Annotated[accounts.Session, Depends(session_dependency(ctx))]

    @api.post(
        "/mail/pool",
        status_code=201,
        response_model=PoolBlock,
        responses={
            200: {"model": PoolBlock, "description": "The same request id again: the block of the first time"},
            **AUTH_RESPONSES,
            409: doc("`conflict`: this request id was used for another count or kind"),
            503: doc("`pool_exhausted`: the platform's own number range is used up"),
            **INVALID,
        },
        tags=["mail"],
        operation_id="allocate_waybill_numbers",
        description="Allocate a block of waybill numbers to the token's terminal, so labels print offline. "
                    "S10 numbers carry their check digit (weights 8 6 4 2 3 5 9 7); domestic numbers are 13 digits. "
                    "A number is given to one terminal only. Idempotent by `request_id` (per terminal): the "
                    "client writes the id down before it asks, and asks again with it after a lost answer.",
    )
    def allocate(request: PoolRequest, session: Session) -> JSONResponse:
        try:
            created, block = mail.allocate(ctx.pool.get(), _terminal(session), request.request_id, request.count,
                                           request.kind)
        except mail.AllocationConflict:
            raise Problem("conflict", "该申请编号已用于另一次数量或类型不同的号段申请，请换用新的申请编号。") from None
        except mail.PoolExhausted:
            raise Problem("pool_exhausted", "平台的邮件号段已用完，请联系平台运维。") from None
        return JSONResponse(block, status_code=201 if created else 200)

    @api.put(
        "/parcels/{parcel_id}",
        status_code=201,
        response_model=ParcelAccepted,
        responses={
            200: {"model": ParcelAccepted, "description": "Identical replay: the answer of the first time"},
            **AUTH_RESPONSES,
            409: doc("`waybill_not_allocated` (the number is not of this terminal's pool), `waybill_used` (another "
                     "parcel has it: `parcel_id`), `cases_missing` (deliver the cases first: `receipts`) or "
                     "`conflict` (another body under this parcel id)"),
            **INVALID,
        },
        tags=["mail"],
        operation_id="put_parcel",
        description="Submit a parcel manifest (材料交接单): its waybill number, the 办理地 department, and per "
                    "case the items routed there and the materials sent. Idempotent by parcel id per terminal; "
                    "`payload_hash` is the SHA-256 of the canonical JSON of the request body, written as for "
                    "cases (keys sorted, separators `,` `:`, ensure_ascii off, UTF-8).",
    )
    async def put_parcel(parcel_id: ParcelIdPath, submission: ParcelSubmission, request: Request,
                         session: Session) -> JSONResponse:
        errors = []
        if submission.parcel_id != parcel_id:
            errors.append(("parcel_id", "与地址中的包裹编号不一致"))
        try:
            if parse_tracking(submission.waybill_no).text != submission.waybill_no:
                errors.append(("waybill_no", "请使用规范的邮件号"))
        except WaybillError as exc:
            errors.append(("waybill_no", exc.message))
        receipts = [c.receipt_no for c in submission.cases]
        errors += [(f"cases.{i}.receipt_no", "办件重复") for i, r in enumerate(receipts) if r in receipts[:i]]
        if errors:
            raise invalid(errors)
        document = _raw_document(await request.body())
        parcel = mail.NewParcel(
            parcel_id=parcel_id, waybill_no=submission.waybill_no, department_code=submission.department_code,
            payload_hash=cases.payload_hash(document), body=cases.canonical_json(document).decode("utf-8"),
            receipts=[(c.receipt_no, len(c.materials)) for c in submission.cases])
        try:
            created, answer = await run_in_threadpool(
                lambda: mail.put_parcel(ctx.pool.get(), _terminal(session), parcel))
        except cases.CaseConflict as exc:
            raise _conflict(exc, "包裹编号的包裹") from None
        except (mail.WaybillNotAllocated, mail.WaybillUsed, mail.CasesMissing) as exc:
            raise _number_problem(exc, submission.waybill_no) from None
        return JSONResponse(answer, status_code=201 if created else 200,
                            headers={"Location": f"{API_PREFIX}/parcels/{parcel_id}"})

    @api.get(
        "/parcels/{parcel_id}",
        response_model=ParcelRecord,
        responses={**AUTH_RESPONSES, 404: doc("`parcel_not_found`: not held for this terminal"), **INVALID},
        tags=["mail"],
        operation_id="get_parcel",
    )
    def get_parcel(parcel_id: ParcelIdPath, session: Session) -> ParcelRecord:
        """What the platform holds under a parcel id of this terminal (asked before resending a
        parcel whose send is in doubt)."""
        record = mail.get_parcel(ctx.pool.get(), _terminal(session), parcel_id)
        if record is None:
            raise Problem("parcel_not_found", f"平台没有编号为 {parcel_id} 的包裹。")
        return ParcelRecord(**record)

    @api.put(
        "/mail/legs/{tracking_no}",
        status_code=201,
        response_model=LegAccepted,
        responses={
            200: {"model": LegAccepted, "description": "Identical replay: the answer of the first time"},
            **AUTH_RESPONSES,
            409: doc("`waybill_not_allocated`, `waybill_used`, `cases_missing` (deliver the case first) or "
                     "`conflict` (another body under this number)"),
            **INVALID,
        },
        tags=["mail"],
        operation_id="put_mail_leg",
        description="Report a mail leg this hall sends under a number of its pool: the 办理结果 of one item "
                    "mailed on to the applicant. Idempotent by tracking number; `payload_hash` as for cases.",
    )
    async def put_leg(tracking_no: TrackingPath, submission: LegSubmission, request: Request,
                      session: Session) -> JSONResponse:
        errors = []
        if submission.tracking_no != tracking_no:
            errors.append(("tracking_no", "与地址中的邮件号不一致"))
        try:
            if parse_tracking(tracking_no).text != tracking_no:
                errors.append(("tracking_no", "请使用规范的邮件号"))
        except WaybillError as exc:
            errors.append(("tracking_no", exc.message))
        if errors:
            raise invalid(errors)
        document = _raw_document(await request.body())
        leg = mail.NewLeg(tracking_no=tracking_no, receipt_no=submission.receipt_no, item_code=submission.item_code,
                          kind=submission.kind, payload_hash=cases.payload_hash(document),
                          body=cases.canonical_json(document).decode("utf-8"))
        try:
            created, answer = await run_in_threadpool(lambda: mail.put_leg(ctx.pool.get(), _terminal(session), leg))
        except cases.CaseConflict as exc:
            raise _conflict(exc, "邮件号的寄件记录") from None
        except (mail.WaybillNotAllocated, mail.WaybillUsed, mail.CasesMissing) as exc:
            raise _number_problem(exc, tracking_no) from None
        return JSONResponse(answer, status_code=201 if created else 200,
                            headers={"Location": f"{API_PREFIX}/mail/legs/{tracking_no}"})

    @api.get(
        "/mail/legs/{tracking_no}",
        response_model=LegAccepted,
        responses={**AUTH_RESPONSES, 404: doc("`leg_not_found`: not held for this terminal"), **INVALID},
        tags=["mail"],
        operation_id="get_mail_leg",
    )
    def get_leg(tracking_no: TrackingPath, session: Session) -> LegAccepted:
        """What the platform holds under a tracking number of this terminal (asked before resending)."""
        record = mail.get_leg(ctx.pool.get(), _terminal(session), tracking_no)
        if record is None:
            raise Problem("leg_not_found", f"平台没有邮件号 {tracking_no} 的寄件记录。")
        return LegAccepted(**record)

    return api


def _number_problem(exc: Exception, waybill_no: str) -> Problem:
    if isinstance(exc, mail.WaybillNotAllocated):
        return Problem("waybill_not_allocated", f"邮件号 {waybill_no} 不是平台分配给本终端的，不能使用。")
    if isinstance(exc, mail.WaybillUsed):
        return Problem("waybill_used", f"邮件号 {waybill_no} 已被 {exc.parcel_id} 使用。", extra={"parcel_id": exc.parcel_id})
    assert isinstance(exc, mail.CasesMissing)
    return Problem("cases_missing", f"有 {len(exc.missing)} 个办件平台尚未收到，请先同步办件。",
                   extra={"receipts": exc.missing})
