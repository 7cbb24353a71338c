"""Logging in to the platform from this terminal, and keeping the token.

The token lives in the OS keyring only (``offline_cache.keys.save_secret``), under a name bound to
the platform's address and this terminal; the profile the platform returned (account, name, roles,
hall, expiry) is not secret and is kept in the cases file beside the outbox. A token close to its
expiry is refreshed; a token the platform refuses is forgotten, and sync stops with a clear message
to log in (nothing queued is touched). In training mode the client logs in by itself with the
training account; without a secure store the training token stays in memory for this run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from counter_client.errors import AuthRequired, StoreError, UserError
from counter_client.platform_api.delivery import DeliveryClient, LoginAnswer
from counter_client.services.intake import Terminal
from offline_cache import keys
from offline_cache.cases import CaseStore

log = logging.getLogger(__name__)

# the reference platform's training account (counter_client.refplatform.accounts): published
# practice credentials, valid only against a platform in training mode
TRAINING_ACCOUNT = "training-clerk"
TRAINING_PASSWORD = "peixun2026"
REFRESH_BEFORE_S = 3600.0  # refresh a token that expires within the hour
PROFILE_KEY = "login_profile"

LOGIN_FIRST = "尚未登录平台或登录已过期：请先登录（窗口右上角“登录”，或命令 counter-client login 账号）。待上传的办件保持不变。"


@dataclass(frozen=True)
class Profile:
    account: str
    name: str
    roles: tuple[str, ...]
    hall_code: str
    region_code: str
    expires_at: float  # epoch seconds
    platform: str  # the platform's address the token is for

    @property
    def supervisor(self) -> bool:
        return "supervisor" in self.roles


class LoginService:
    """The clerk's session with the platform at ``platform_url`` from this terminal."""

    _memory: dict[str, str] = {}  # training without a secure store: tokens for this run only

    def __init__(self, cases: CaseStore, terminal: Terminal, platform_url: str, training: bool = False,
                 clock=time.time):
        self.cases = cases
        self.terminal = terminal
        self.platform_url = platform_url.rstrip("/")
        self.training = training
        self._clock = clock

    @property
    def _secret_name(self) -> str:
        where = hashlib.sha256(self.platform_url.encode("utf-8")).hexdigest()[:16]
        return f"platform-token/{where}/{self.terminal.hall_code}-{self.terminal.terminal:02d}"

    # -- logging in and out ----------------------------------------------------------------------
    def login(self, client: DeliveryClient, account: str, password: str) -> Profile:
        """Log in (the platform checks the account belongs to this terminal's hall)."""
        answer = client.login(account, password, self.terminal.hall_code, self.terminal.terminal)
        return self._keep(answer)

    def logout(self, client: DeliveryClient | None = None) -> None:
        token = self._load_token()
        if client is not None and token:
            client.token = token
            try:
                client.logout()
            except UserError as exc:  # offline: the token is forgotten here anyway
                log.info("logout at the platform failed: %s", exc.log)
        self._forget()

    def profile(self) -> Profile | None:
        raw = self.cases.setting(PROFILE_KEY)
        if not raw:
            return None
        data = json.loads(raw)
        if data.get("platform") != self.platform_url:
            return None
        return Profile(data["account"], data["name"], tuple(data["roles"]), data["hall_code"],
                       data["region_code"], float(data["expires_at"]), data["platform"])

    def logged_in(self) -> bool:
        profile = self.profile()
        return bool(profile and profile.expires_at > self._clock() and self._load_token())

    # -- for the sync engine -------------------------------------------------------------------------
    def authorise(self, client: DeliveryClient) -> Profile:
        """Give ``client`` a valid token: the kept one (refreshed when close to expiry), or in
        training a fresh login; else ``AuthRequired``."""
        profile, token = self.profile(), self._load_token()
        now = self._clock()
        if profile and token and profile.expires_at > now + 60:
            client.token = token
            if profile.expires_at - now < REFRESH_BEFORE_S:
                try:
                    return self._keep(client.refresh())
                except AuthRequired:
                    self._forget()
                    client.token = None
                    return self.authorise(client)
            return profile
        if self.training:
            log.info("training: logging in with the training account")
            return self.login(client, TRAINING_ACCOUNT, TRAINING_PASSWORD)
        raise AuthRequired(LOGIN_FIRST, "no valid platform token", status=401, code="login_required")

    def refused(self) -> None:
        """The platform refused the token (401): forget it."""
        log.warning("the platform refused the token; logged out")
        self._forget()

    # -- keeping ------------------------------------------------------------------------------------
    def _keep(self, answer: LoginAnswer) -> Profile:
        try:
            expires = datetime.fromisoformat(answer.expires_at.replace("Z", "+00:00")).timestamp()
        except ValueError:
            expires = self._clock() + 3600.0
        profile = Profile(answer.account, answer.name, tuple(answer.roles), answer.hall_code, answer.region_code,
                          expires, self.platform_url)
        self._save_token(answer.token)
        self.cases.set_setting(PROFILE_KEY, json.dumps(
            {"account": profile.account, "name": profile.name, "roles": list(profile.roles),
             "hall_code": profile.hall_code, "region_code": profile.region_code, "expires_at": profile.expires_at,
             "platform": profile.platform}, ensure_ascii=False))
        log.info("logged in as %s (roles %s) until %s", profile.account, ",".join(profile.roles),
                 answer.expires_at)
        return profile

    def _save_token(self, token: str) -> None:
        try:
            keys.save_secret(self._secret_name, token)
        except StoreError:
            if not self.training:
                raise
            self._memory[self._secret_name] = token

    def _load_token(self) -> str | None:
        try:
            return keys.load_secret(self._secret_name)
        except StoreError:
            if not self.training:
                raise
            return self._memory.get(self._secret_name)

    def _forget(self) -> None:
        self._memory.pop(self._secret_name, None)
        try:
            keys.delete_secret(self._secret_name)
        except StoreError as exc:
            log.info("no secure store to forget the token in: %s", exc.log)
        self.cases.set_setting(PROFILE_KEY, "")
