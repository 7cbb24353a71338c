"""Errors of the application layers; the shared base lives in ``domain.errors``."""

from __future__ import annotations

from counter_client.domain.errors import Cancelled, InvalidCatalogue, StoreError, UserError

__all__ = [
    "Cancelled",
    "InvalidCatalogue",
    "LimitedNetwork",
    "NetworkUnavailable",
    "AuthRequired",
    "PlatformError",
    "StoreError",
    "UserError",
]


class NetworkUnavailable(UserError):
    """No usable connection to the platform (offline, captive portal, proxy error, timeout)."""


class LimitedNetwork(NetworkUnavailable):
    """Something answered, but not the platform: a captive portal, a proxy or gateway error."""


class PlatformError(UserError):
    """The platform answered, but with an error or a payload we refuse."""

    def __init__(self, message: str, log: str | None = None, status: int | None = None, code: str = "",
                 retry_after: float | None = None, extra: dict | None = None):
        super().__init__(message, log)
        self.status = status
        self.code = code
        self.retry_after = retry_after  # seconds the platform asked us to wait (429, 503, 423)
        self.extra = extra or {}  # the problem's machine-readable members (missing, offset, max_bytes …)


class AuthRequired(PlatformError):
    """No valid token: the clerk must log in (nothing queued is touched meanwhile)."""
