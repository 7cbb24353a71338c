"""``/auth``: log in from a terminal, refresh the token, log out."""

# no `from __future__ import annotations`: FastAPI must resolve the local `Session` alias

import math
import time
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from counter_client.refplatform import API_PREFIX, accounts, utc_iso
from counter_client.refplatform.deps import (
    AUTH_RESPONSES,
    INVALID,
    PlatformContext,
    doc,
    session_dependency,
    token_problem,
)
from counter_client.refplatform.problems import Problem
from counter_client.refplatform.schemas import LoginRequest, LoginResponse


def _iso(epoch: float) -> str:
    return utc_iso(datetime.fromtimestamp(epoch, timezone.utc))


def _answer(issued: accounts.IssuedToken) -> LoginResponse:
    s = issued.session
    return LoginResponse(token=issued.token, expires_at=_iso(s.expires_at), account=s.account, name=s.name,
                         roles=s.roles, hall_code=s.hall_code, region_code=s.region_code)


def router(ctx: PlatformContext) -> APIRouter:
    api = APIRouter(prefix=API_PREFIX + "/auth", tags=["auth"])
    require_session = session_dependency(ctx)
    Session = Annotated[accounts.Session, Depends(require_session)]

    @api.post(
        "/login",
        response_model=LoginResponse,
        responses={
            401: doc("`invalid_credentials`: unknown account or wrong password"),
            403: doc("`wrong_hall`: the account belongs to another hall (`hall_code`)"),
            423: doc("`account_locked`: 5 wrong passwords in a row lock the account for 15 minutes "
                     "(`locked_until`, `Retry-After`); the right password is refused meanwhile"),
            **INVALID,
        },
        operation_id="login",
    )
    def login(request: LoginRequest) -> LoginResponse:
        """Log in from a terminal: a bearer token bound to the account and the terminal.

        No token is needed here. Five wrong passwords in a row lock the account (等保)."""
        try:
            issued = accounts.login(ctx.pool.get(), ctx.config, request.account, request.password,
                                    request.terminal.hall_code, request.terminal.terminal)
        except accounts.LoginRefused as exc:
            raise _refusal(exc) from None
        return _answer(issued)

    @api.post(
        "/refresh",
        response_model=LoginResponse,
        responses=AUTH_RESPONSES,
        operation_id="refresh_token",
    )
    def refresh(session: Session) -> LoginResponse:
        """A new token for the same account and terminal; the old one stays valid for at most
        60 seconds more (so a refresh whose answer was lost can be repeated)."""
        try:
            return _answer(accounts.refresh(ctx.pool.get(), ctx.config, session))
        except accounts.TokenRefused as exc:
            raise token_problem(exc.code) from None

    @api.post(
        "/logout",
        status_code=204,
        response_class=Response,
        responses={204: {"description": "The token is revoked"}, **AUTH_RESPONSES},
        operation_id="logout",
    )
    def logout(session: Session) -> Response:
        """Revoke the token. Repeating it answers 401 `token_invalid`: the client is logged out either way."""
        accounts.logout(ctx.pool.get(), session)
        return Response(status_code=204)

    return api


def _refusal(exc: accounts.LoginRefused) -> Problem:
    if exc.code == "account_locked":
        wait = max(1, math.ceil(exc.locked_until - time.time()))
        minutes = max(1, math.ceil(wait / 60))
        return Problem("account_locked", f"密码连续输错次数过多，账号已锁定，请 {minutes} 分钟后再试或联系管理员解锁。",
                       headers={"Retry-After": str(wait)}, extra={"locked_until": _iso(exc.locked_until)})
    if exc.code == "wrong_hall":
        return Problem("wrong_hall", f"该账号属于收件点 {exc.hall_code}，不能在其他收件点的终端登录。",
                       extra={"hall_code": exc.hall_code})
    return Problem("invalid_credentials", "账号或密码错误，请重新输入。")
