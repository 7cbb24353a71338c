"""The HTTP API of the reference platform (``/api/v1``): probe, catalogue, regions, calendar here;
accounts (``routes_auth``), blobs (``routes_blobs``), cases, status, reconciliation and training
(``routes_cases``), waybill pools and parcels (``routes_mail``) in their own routers.

``create_app(data_dir)`` builds the FastAPI application over a data directory. Routes are plain
functions run in the thread pool, each thread with its own SQLite connection. Every catalogue,
regions and calendar GET carries a strong ETag derived from versions (or content) and answers
``If-None-Match`` with 304; bodies are gzip-compressed when the client accepts it.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Response
from fastapi import Path as PathParam
from fastapi.openapi.utils import get_openapi
from starlette.middleware.gzip import GZipMiddleware

from counter_client.refplatform import API_PREFIX, CONTRACT_VERSION, utc_iso
from counter_client.refplatform import problems, routes_auth, routes_blobs, routes_cases, routes_mail
from counter_client.refplatform.bootstrap import ensure_loaded
from counter_client.refplatform.config import PlatformConfig
from counter_client.refplatform.deps import PlatformContext
from counter_client.refplatform.simulation import Simulator
from counter_client.refplatform.middleware import PlatformMiddleware
from counter_client.refplatform.payloads import BodyCache, batch_body, changes_body, list_body, manifest_body
from counter_client.refplatform.problems import PROBLEM_MEDIA_TYPE, Problem
from counter_client.refplatform.schemas import (
    domain_schemas,
    AgreementList,
    BatchRequest,
    BatchResponse,
    Changes,
    DepartmentList,
    Manifest,
    ProblemDocument,
    RegionList,
)
from counter_client.refplatform.store import PlatformStore, StorePool
from counter_client.refplatform.workcalendar import CalendarFileInvalid, CalendarYear, calendar_year

log = logging.getLogger(__name__)

MAX_BATCH_CODES = 500
GZIP_MIN_BYTES = 1024
GZIP_LEVEL = 5  # a 3 MB batch: 16:1 in ~12 ms; level 9 saves another ~10 % for ~1.6x the CPU
JSON = "application/json"
REVALIDATE = "no-cache"  # may be stored, but must be revalidated (If-None-Match) before use
TITLE = "跨省通办 platform (reference implementation)"
DESCRIPTION = (
    "The contract between the 跨省通办 counter client and the central platform, served by the "
    "reference/training platform. Errors are RFC 9457 problem documents "
    "(application/problem+json) with a machine-readable `code` and a Chinese `detail`.\n\n"
    "Probe, catalogue, regions and calendar are open; every other endpoint needs "
    "`Authorization: Bearer <token>` from `POST /api/v1/auth/login` (401 `token_invalid` / "
    "`token_expired` otherwise). Sync rules: blobs first (resumable, content-addressed, tus 1.0 "
    "core), record last; the receipt number is the case's idempotency key and `payload_hash` is the "
    "SHA-256 of the canonical JSON of the request body (see `PUT /api/v1/cases/{receipt_no}`); "
    "statuses are pulled from a cursor feed and never move backwards. Request bodies are limited "
    "(413 `request_too_large` with `max_bytes`, 8 MiB unless the operator set another limit)."
)

IfNoneMatch = Annotated[str | None, Header(description="ETag(s) of the copy the client holds")]

_ETAG_HEADER = {"ETag": {"description": "Strong validator of this representation", "schema": {"type": "string"}}}
_NOT_MODIFIED = {304: {"description": "Not modified: the `If-None-Match` ETag is current; no body"}}


def _problem(description: str) -> dict[str, Any]:
    return {"model": ProblemDocument, "description": description}


_INVALID = {422: _problem("Invalid request (`validation_failed`, with `errors`)")}


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in if_none_match.split(","))


def _cached(if_none_match: str | None, etag: str, build) -> Response:
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(build(), media_type=JSON, headers=headers)


def _router(pool: StorePool, data_dir: Path, cache: BodyCache) -> APIRouter:
    router = APIRouter(prefix=API_PREFIX)

    def probe_headers() -> dict[str, str]:
        return {"X-Server-Time": utc_iso(), "Cache-Control": "no-store"}

    ping_responses = {
        204: {
            "description": "The platform is reachable (anything else means not connected)",
            "headers": {
                "X-Platform-Version": {"description": "Semver of the contract", "schema": {"type": "string"}},
                "X-Platform-Id": {"description": "Which platform answered", "schema": {"type": "string"}},
                "X-Server-Time": {
                    "description": "Server time, UTC ISO 8601 with milliseconds and Z",
                    "schema": {"type": "string"},
                },
            },
        }
    }

    @router.get("/ping", status_code=204, response_class=Response, responses=ping_responses, operation_id="ping")
    def ping() -> Response:
        """Connectivity probe; the client also learns its clock offset from `X-Server-Time`."""
        return Response(status_code=204, headers=probe_headers())

    @router.head("/ping", status_code=204, response_class=Response, responses=ping_responses, operation_id="ping_head")
    def ping_head() -> Response:
        """Connectivity probe without a body (same headers as GET)."""
        return Response(status_code=204, headers=probe_headers())

    @router.get(
        "/catalogue/manifest",
        response_model=Manifest,
        responses={200: {"headers": _ETAG_HEADER}, **_NOT_MODIFIED},
        operation_id="get_manifest",
        response_description="The manifest",
    )
    def manifest(if_none_match: IfNoneMatch = None) -> Response:
        """Catalogue version and every live guide's code, version and hash."""
        store = pool.get()
        with store.read():
            state = store.state()
            etag = (
                f'"{state.instance_id}.m{state.catalogue_version}.d{state.departments_version}'
                f'.a{state.agreements_version}.r{state.regions_version}"'
            )
            return _cached(if_none_match, etag, lambda: cache.get(etag, lambda: manifest_body(store, state)))

    @router.get(
        "/catalogue/changes",
        response_model=Changes,
        responses={
            200: {"headers": _ETAG_HEADER},
            **_NOT_MODIFIED,
            410: _problem("`delta_unavailable`: `since` is older than the kept change log or newer than the "
                          "catalogue; do a full sync from the manifest"),
            **_INVALID,
        },
        operation_id="get_changes",
        response_description="The delta since `since`",
    )
    def changes(
        since: Annotated[int, Query(ge=0, description="The catalogue version the client holds")],
        if_none_match: IfNoneMatch = None,
    ) -> Response:
        """Guides changed and removed after catalogue version `since`."""
        store = pool.get()
        with store.read():
            state = store.state()
            if since < state.log_floor or since > state.catalogue_version:
                raise Problem(
                    "delta_unavailable",
                    f"无法提供自目录版本 {since} 以来的变更（当前版本 {state.catalogue_version}，"
                    f"可提供自版本 {state.log_floor} 起的变更），请进行一次完整同步。",
                    extra={"catalogue_version": state.catalogue_version, "oldest_since": state.log_floor},
                )
            etag = f'"{state.instance_id}.c{since}-{state.catalogue_version}"'
            return _cached(if_none_match, etag, lambda: cache.get(etag, lambda: changes_body(store, state, since)))

    @router.post(
        "/catalogue/guides/batch",
        response_model=BatchResponse,
        responses={
            413: _problem(f"`batch_too_large` (more than {MAX_BATCH_CODES} codes) or `request_too_large`"),
            **_INVALID,
        },
        operation_id="get_guides_batch",
        response_description="The guides found, and the codes not found",
    )
    def guides_batch(request: BatchRequest) -> Response:
        """Full guides for up to 500 codes; unknown or removed codes are listed in `missing`."""
        if len(request.codes) > MAX_BATCH_CODES:
            raise Problem(
                "batch_too_large",
                f"每次最多获取 {MAX_BATCH_CODES} 份办事指南，本次请求了 {len(request.codes)} 份，请分批获取。",
                extra={"max_codes": MAX_BATCH_CODES},
            )
        codes = list(dict.fromkeys(request.codes))
        found = pool.get().guide_bodies(codes)
        body = batch_body([found[c] for c in codes if c in found], [c for c in codes if c not in found])
        return Response(body, media_type=JSON, headers={"Cache-Control": "no-store"})

    @router.get(
        "/catalogue/departments",
        response_model=DepartmentList,
        responses={200: {"headers": _ETAG_HEADER}, **_NOT_MODIFIED},
        operation_id="get_departments",
        response_description="All departments and their list version",
    )
    def departments(if_none_match: IfNoneMatch = None) -> Response:
        """Departments (业务属地部门) with their contacts."""
        return _table_answer("departments", if_none_match)

    @router.get(
        "/catalogue/agreements",
        response_model=AgreementList,
        responses={200: {"headers": _ETAG_HEADER}, **_NOT_MODIFIED},
        operation_id="get_agreements",
        response_description="All agreements and their list version",
    )
    def agreements(if_none_match: IfNoneMatch = None) -> Response:
        """通办 agreements beyond the national list."""
        return _table_answer("agreements", if_none_match)

    def _table_answer(table: str, if_none_match: str | None) -> Response:
        store = pool.get()
        with store.read():
            state = store.state()
            version = getattr(state, f"{table}_version")
            etag = f'"{state.instance_id}.{table[0]}{version}"'
            return _cached(
                if_none_match, etag, lambda: cache.get(etag, lambda: list_body(store, table, {"version": version}))
            )

    @router.get(
        "/regions",
        response_model=RegionList,
        responses={200: {"headers": _ETAG_HEADER}, **_NOT_MODIFIED},
        operation_id="get_regions",
        response_description="All regions, with the snapshot date and source",
    )
    def regions(if_none_match: IfNoneMatch = None) -> Response:
        """Division codes: provinces, prefectures, counties (6 digits) and townships (9 digits)."""
        store = pool.get()
        with store.read():
            state = store.state()
            etag = f'"r{state.regions_version}.{state.regions_hash[:16]}"'
            head = {"version": state.regions_version, "source": state.regions_source}
            return _cached(if_none_match, etag, lambda: cache.get(etag, lambda: list_body(store, "regions", head)))

    @router.get(
        "/calendar/{year}",
        response_model=CalendarYear,
        responses={
            200: {"headers": _ETAG_HEADER},
            **_NOT_MODIFIED,
            404: _problem("`calendar_year_unknown`: no calendar for that year; count Monday to Friday, unverified"),
            **_INVALID,
        },
        operation_id="get_calendar_year",
        response_description="The year's rest days and adjusted working days",
    )
    def calendar(
        year: Annotated[int, PathParam(ge=1949, le=2100)], if_none_match: IfNoneMatch = None
    ) -> Response:
        """Statutory rest days and adjusted working days of a year."""
        try:
            found = calendar_year(data_dir, year)
        except CalendarFileInvalid as exc:
            log.error("operator calendar file rejected: %s", exc)
            raise Problem("calendar_file_invalid", f"平台的 {year} 年工作日历文件有误，请联系平台运维。") from None
        if found is None:
            raise Problem(
                "calendar_year_unknown",
                f"平台尚未收录 {year} 年的节假日安排，期限请暂按周一至周五计算并人工核对。",
            )
        body = found.model_dump_json().encode("utf-8")
        etag = f'"cal{year}.{hashlib.sha256(body).hexdigest()[:16]}"'
        return _cached(if_none_match, etag, lambda: body)

    return router


def _problem_media_types(schema: dict[str, Any]) -> dict[str, Any]:
    """Error answers are application/problem+json ``ProblemDocument``s, including the 422s
    FastAPI documents as its own ``HTTPValidationError``."""
    problem_ref = {"$ref": "#/components/schemas/ProblemDocument"}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content")
                if status[:1] not in "45" or not content or JSON not in content:
                    continue
                media = content.pop(JSON)
                if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                    media = {"schema": problem_ref}
                    response["description"] = _INVALID[422]["description"]
                content[PROBLEM_MEDIA_TYPE] = media
    components = schema.get("components", {}).get("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    return schema


def _mode(data_dir: Path) -> str:
    store = PlatformStore(data_dir, create=False)
    try:
        return store.mode()
    finally:
        store.close()


def create_app(data_dir: Path, *, training: Path | None = None, config: PlatformConfig | None = None) -> FastAPI:
    """The platform over ``data_dir``; a fresh directory is loaded at startup (lifespan).

    Building the app touches no file, so ``counter-platform openapi`` needs no data directory.
    """
    data_dir = Path(data_dir)
    config = config or PlatformConfig()
    pool = StorePool(data_dir)
    cache = BodyCache()
    ctx = PlatformContext(data_dir=data_dir, pool=pool, config=config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        ensure_loaded(data_dir, training=training)
        mode = _mode(data_dir)
        interval = config.simulate_interval(mode)
        simulator = Simulator(data_dir, interval) if interval > 0 else None
        if simulator:
            simulator.start()
        log.info("platform ready over %s (%s mode)", data_dir, mode)
        try:
            yield
        finally:
            if simulator:
                simulator.stop()
            pool.close_all()

    app = FastAPI(
        title=TITLE,
        version=CONTRACT_VERSION,
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.include_router(_router(pool, data_dir, cache))
    app.include_router(routes_auth.router(ctx))
    app.include_router(routes_blobs.router(ctx))
    app.include_router(routes_cases.router(ctx))
    app.include_router(routes_mail.router(ctx))
    problems.install(app)
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=GZIP_LEVEL)
    app.add_middleware(PlatformMiddleware, max_request_bytes=config.max_request_bytes)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=TITLE, version=CONTRACT_VERSION, description=DESCRIPTION, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(domain_schemas())
            app.openapi_schema = _problem_media_types(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
