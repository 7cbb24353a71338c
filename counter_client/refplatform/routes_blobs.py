"""``/blobs``: content-addressed, resumable uploads after the tus 1.0 core protocol.

Differences from tus, on purpose: the blob's URL is its SHA-256 (no creation step and no server-
minted upload URL), so the first ``PATCH`` creates the upload when it carries ``Upload-Length``
and an upload in one go is one request; the whole blob's hash is checked when it is complete
(460 like the tus checksum extension). ``POST /blobs/check`` answers for many blobs at once.

The body is streamed to the partial file in pieces of ``WRITE_BUFFER_BYTES`` (never held whole)
and fsynced before the 204. A client that disconnects mid-chunk keeps what arrived: the next
``HEAD`` tells it the offset.
"""

# no `from __future__ import annotations`: FastAPI must resolve the local `Session` alias

import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from counter_client.refplatform import API_PREFIX, accounts
from counter_client.refplatform.blobs import (
    SHA256_PATTERN,
    HashMismatch,
    LengthMismatch,
    LengthRequired,
    OffsetMismatch,
)
from counter_client.refplatform.deps import AUTH_RESPONSES, INVALID, PlatformContext, doc, session_dependency
from counter_client.refplatform.problems import BodyTooLarge, Problem
from counter_client.refplatform.schemas import MAX_BLOB_CHECK, BlobCheckRequest, BlobCheckResponse

log = logging.getLogger(__name__)

TUS_VERSION = "1.0.0"
UPLOAD_MEDIA_TYPE = "application/offset+octet-stream"
WRITE_BUFFER_BYTES = 1024 * 1024
BUSY_RETRY_AFTER_S = 1

Sha256Path = Annotated[str, PathParam(pattern=SHA256_PATTERN, description="SHA-256 of the blob, lower-case hex")]

_HEADER_DOCS = {
    "Tus-Resumable": {"description": "Always 1.0.0", "schema": {"type": "string"}},
    "Upload-Offset": {"description": "Bytes the platform holds durably", "schema": {"type": "integer"}},
    "Upload-Length": {"description": "The blob's total size", "schema": {"type": "integer"}},
}


def _tus_headers(offset: int, length: int | None) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(offset), "Cache-Control": "no-store"}
    if length is not None:
        headers["Upload-Length"] = str(length)
    return headers


def router(ctx: PlatformContext) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX + "/blobs", tags=["blobs"])
    require_session = session_dependency(ctx)
    Session = Annotated[accounts.Session, Depends(require_session)]

    @api.post(
        "/check",
        response_model=BlobCheckResponse,
        responses={**AUTH_RESPONSES, 413: doc(f"`batch_too_large`: more than {MAX_BLOB_CHECK} hashes (`max_items`)"),
                   **INVALID},
        operation_id="check_blobs",
    )
    def check_blobs(request: BlobCheckRequest, session: Session) -> BlobCheckResponse:
        """Which of these blobs the platform holds whole (`held`: never send them again) and how
        far the others got (`partial`: resume at that offset). Absent from both: send from 0."""
        if len(request.sha256) > MAX_BLOB_CHECK:
            raise Problem("batch_too_large", f"每次最多查询 {MAX_BLOB_CHECK} 个文件，请分批查询。",
                          extra={"max_items": MAX_BLOB_CHECK})
        states = ctx.blobs.states(ctx.pool.get(), request.sha256)
        return BlobCheckResponse(
            held=[s.sha256 for s in states.values() if s.complete],
            partial={s.sha256: s.offset for s in states.values() if not s.complete},
        )

    @api.head(
        "/{sha256}",
        status_code=200,
        response_class=Response,
        responses={
            200: {"description": "The platform holds this blob, whole or in part", "headers": _HEADER_DOCS},
            404: {"description": "Nothing of this blob is held (no body): start at offset 0"},
            **AUTH_RESPONSES,
            **INVALID,
        },
        operation_id="head_blob",
    )
    def head_blob(sha256: Sha256Path, session: Session) -> Response:
        """How many bytes of the blob the platform holds: `Upload-Offset` (= `Upload-Length` when
        complete and verified)."""
        state = ctx.blobs.state(ctx.pool.get(), sha256)
        if state is None:
            return Response(status_code=404, headers={"Tus-Resumable": TUS_VERSION, "Cache-Control": "no-store"})
        return Response(status_code=200, headers=_tus_headers(state.offset, state.length))

    @api.patch(
        "/{sha256}",
        status_code=204,
        response_class=Response,
        responses={
            204: {"description": "The chunk is stored durably; `Upload-Offset` is the new offset "
                                 "(= `Upload-Length` once the blob is complete and verified)",
                  "headers": _HEADER_DOCS},
            400: doc("`upload_length_required`: the first PATCH of a blob must carry `Upload-Length`"),
            **AUTH_RESPONSES,
            409: doc("`offset_mismatch`: `Upload-Offset` is not what the platform holds (`offset`, also in the "
                     "`Upload-Offset` header); `length_mismatch`: `Upload-Length` differs from the first one"),
            412: doc("`tus_version_unsupported`: `Tus-Resumable` missing or not 1.0.0"),
            413: doc("`request_too_large` (`max_bytes`: send smaller chunks), `blob_too_large` (`max_bytes`) or "
                     "`length_exceeded` (the chunk goes past `Upload-Length`)"),
            415: doc("`unsupported_media_type`: the body must be application/offset+octet-stream"),
            423: doc("`upload_busy`: another PATCH of this blob is in progress (`Retry-After`)"),
            460: doc("`hash_mismatch`: the complete blob's bytes do not hash to its name; the upload is discarded, "
                     "start again from 0 (`actual_sha256`)"),
            **INVALID,
        },
        openapi_extra={"requestBody": {
            "required": True,
            "description": "The bytes from `Upload-Offset` on (a chunk, or the whole rest of the blob)",
            "content": {UPLOAD_MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}}},
        }},
        operation_id="patch_blob",
    )
    async def patch_blob(
        sha256: Sha256Path,
        request: Request,
        session: Session,
        upload_offset: Annotated[int, Header(ge=0, description="Where this chunk starts")],
        upload_length: Annotated[int | None, Header(ge=0, description="The blob's total size; "
                                                    "required on the first PATCH")] = None,
        tus_resumable: Annotated[str | None, Header(description="Must be 1.0.0")] = None,
        content_type: Annotated[str | None, Header(description=UPLOAD_MEDIA_TYPE)] = None,
    ) -> Response:
        """Append a chunk at `Upload-Offset`, creating the upload when it is new (with `Upload-Length`).

        When the offset reaches the length the platform hashes the whole blob: equal to its name,
        the blob is complete for good (a later PATCH answers 204 with offset = length and stores
        nothing); different, 460 and the partial data is gone."""
        if tus_resumable != TUS_VERSION:
            raise Problem("tus_version_unsupported", "客户端的断点续传协议版本与平台不一致（须为 tus 1.0.0），请升级客户端。",
                          headers={"Tus-Version": TUS_VERSION, "Tus-Resumable": TUS_VERSION})
        if (content_type or "").split(";")[0].strip().lower() != UPLOAD_MEDIA_TYPE:
            raise Problem("unsupported_media_type", f"上传文件内容时内容类型须为 {UPLOAD_MEDIA_TYPE}。")
        if upload_length is not None and upload_length > ctx.config.max_blob_bytes:
            raise Problem("blob_too_large", f"单个文件不能超过 {ctx.config.max_blob_bytes // (1024 * 1024)} MB。",
                          extra={"max_bytes": ctx.config.max_blob_bytes})
        if not ctx.upload_locks.acquire(sha256):
            raise Problem("upload_busy", "该文件正在上传中，请稍后重试。",
                          headers={"Retry-After": str(BUSY_RETRY_AFTER_S), "Tus-Resumable": TUS_VERSION})
        try:
            return await _append(ctx, request, sha256, upload_offset, upload_length)
        finally:
            ctx.upload_locks.release(sha256)

    return api


async def _drain(request: Request) -> None:
    try:
        async for _ in request.stream():
            pass
    except ClientDisconnect:
        pass


async def _append(ctx: PlatformContext, request: Request, sha256: str, offset: int, length: int | None) -> Response:
    declared = request.headers.get("content-length", "")
    if length is not None and declared.isdigit() and offset + int(declared) > length:
        raise Problem("length_exceeded", f"上传内容超出了文件总大小 {length} 字节。", extra={"length": length})
    try:
        state, fh = await run_in_threadpool(lambda: ctx.blobs.open_for_append(ctx.pool.get(), sha256, offset, length))
    except LengthRequired:
        raise Problem("upload_length_required", "首次上传该文件时须提供文件总大小（Upload-Length）。") from None
    except OffsetMismatch as exc:
        raise Problem("offset_mismatch", f"续传位置不符：平台已保存该文件的前 {exc.offset} 字节，请从该位置继续上传。",
                      headers=_tus_headers(exc.offset, exc.length), extra={"offset": exc.offset}) from None
    except LengthMismatch as exc:
        raise Problem("length_mismatch", f"文件总大小与首次上传时声明的 {exc.length} 字节不一致。",
                      extra={"length": exc.length}) from None
    if fh is None:  # complete already: idempotent success, nothing stored
        await _drain(request)
        return Response(status_code=204, headers=_tus_headers(state.length, state.length))

    def exceeded() -> Problem:
        return Problem("length_exceeded", f"上传内容超出了文件总大小 {state.length} 字节。",
                       headers=_tus_headers(offset, state.length), extra={"length": state.length})

    room = state.length - offset
    if declared.isdigit() and int(declared) > room:
        fh.close()
        raise exceeded()
    buffer = bytearray()
    written = 0
    try:
        try:
            async for chunk in request.stream():
                if written + len(buffer) + len(chunk) > room:
                    raise exceeded()
                buffer += chunk
                if len(buffer) >= WRITE_BUFFER_BYTES:
                    data = bytes(buffer)
                    buffer.clear()
                    await run_in_threadpool(fh.write, data)
                    written += len(data)
        except ClientDisconnect:
            log.info("blob %s: client went away after %d bytes; keeping them", sha256, written + len(buffer))
        if buffer:
            await run_in_threadpool(fh.write, bytes(buffer))
    except (Problem, BodyTooLarge):  # refused: this PATCH stores nothing
        await run_in_threadpool(_abandon, ctx, fh, sha256, offset)
        raise
    except BaseException:  # shutdown or disk error: what reached the file are the client's own bytes
        fh.close()
        raise
    try:
        done = await run_in_threadpool(lambda: ctx.blobs.finish_chunk(ctx.pool.get(), state, fh))
    except HashMismatch as exc:
        raise Problem("hash_mismatch", "上传的文件内容与其校验值（SHA-256）不符，已丢弃，请重新上传该文件。",
                      headers={"Tus-Resumable": TUS_VERSION}, extra={"actual_sha256": exc.actual}) from None
    return Response(status_code=204, headers=_tus_headers(done.offset, done.length))


def _abandon(ctx: PlatformContext, fh: Any, sha256: str, offset: int) -> None:
    """A refused PATCH stores nothing: back to where it started (an upload it created is gone)."""
    try:
        fh.close()
    finally:
        if offset == 0:
            ctx.blobs.discard(ctx.pool.get(), sha256)
        else:
            ctx.blobs.truncate(sha256, offset)
