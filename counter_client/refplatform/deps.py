"""What the sync-side routes share: the platform context, the bearer-token dependency, helpers
for problem answers and their OpenAPI entries.

``require_session`` is a FastAPI dependency: it reads ``Authorization: Bearer <token>`` (the
``HTTPBearer`` scheme, so the OpenAPI document shows it) and returns the caller's ``Session`` or
answers 401 ``token_invalid`` / ``token_expired`` with ``WWW-Authenticate`` (RFC 6750).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from counter_client.refplatform import accounts
from counter_client.refplatform.blobs import BlobStore, UploadLocks
from counter_client.refplatform.config import PlatformConfig
from counter_client.refplatform.problems import Problem
from counter_client.refplatform.schemas import ProblemDocument
from counter_client.refplatform.store import StorePool

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerToken",
    description="The token from `POST /api/v1/auth/login` (12 hours; bound to the account and terminal).",
)

_TOKEN_DETAILS = {
    "token_invalid": "尚未登录或登录已失效，请重新登录。",
    "token_expired": "登录已超时，请重新登录。",
}


@dataclass
class PlatformContext:
    data_dir: Path
    pool: StorePool
    config: PlatformConfig
    blobs: BlobStore = field(init=False)
    upload_locks: UploadLocks = field(default_factory=UploadLocks)

    def __post_init__(self) -> None:
        self.blobs = BlobStore(self.data_dir)


def doc(description: str) -> dict[str, Any]:
    """An error answer in ``responses=``: a problem document."""
    return {"model": ProblemDocument, "description": description}


AUTH_RESPONSES = {401: doc("`token_invalid` (no token, an unknown or revoked one) or `token_expired`: log in again")}
INVALID = {422: doc("Invalid request (`validation_failed`, with `errors`)")}


REALM = "kstb-platform"


def token_problem(code: str, *, presented: bool = True) -> Problem:
    """401 with the RFC 6750 challenge (``error`` only when a token was presented)."""
    challenge = f'Bearer realm="{REALM}"' + (', error="invalid_token"' if presented else "")
    return Problem(code, _TOKEN_DETAILS[code], status=401, headers={"WWW-Authenticate": challenge})


def invalid(errors: list[tuple[str, str]]) -> Problem:
    """A 422 ``validation_failed`` found by the route itself (same shape as FastAPI's)."""
    fields = "、".join(f for f, _ in errors)
    return Problem("validation_failed", f"请求中以下内容不符合要求：{fields}。",
                   extra={"errors": [{"field": f, "message": m} for f, m in errors]})


def session_dependency(ctx: PlatformContext):
    def require_session(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> accounts.Session:
        if credentials is None or not credentials.credentials:
            raise token_problem("token_invalid", presented=False)
        try:
            return accounts.authenticate(ctx.pool.get(), credentials.credentials)
        except accounts.TokenRefused as exc:
            raise token_problem(exc.code) from None

    return require_session
