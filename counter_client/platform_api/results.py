"""What the platform client returns, importable without the HTTP stack (``requests`` is loaded
only when a client is made, which keeps the window's start-up fast)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from counter_client.errors import PlatformError


@dataclass(frozen=True)
class Ping:
    platform_version: str
    server_time: datetime | None
    clock_offset_s: float  # server minus local clock, from the round trip's midpoint
    round_trip_s: float


@dataclass(frozen=True)
class Fetched:
    """A validated answer with its ETag, or ``not_modified`` for a 304."""

    value: Any
    etag: str | None
    not_modified: bool = False
    nbytes: int = 0


class DeltaUnavailable(PlatformError):
    """The platform cannot give a delta from this version (too old, or from another platform)."""
