"""The reference / training platform: the server side of the 跨省通办 platform contract.

It runs on a trainer's laptop or in CI as a real HTTP server so the client can be exercised end to
end. It shares only ``counter_client.domain`` (the payload models) and ``counter_client.paths``
with the client: it is the other side of the wire and must not share the client's bugs.
"""

from __future__ import annotations

from datetime import datetime, timezone

CONTRACT_VERSION = "1.0.0"  # semver of the HTTP contract, sent as X-Platform-Version
PLATFORM_ID = "reference"  # sent as X-Platform-Id
API_PREFIX = "/api/v1"


def utc_iso(moment: datetime | None = None) -> str:
    """UTC time as ISO 8601 with milliseconds and ``Z`` (the contract's timestamp format)."""
    moment = moment or datetime.now(timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
