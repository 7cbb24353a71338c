"""The server's tunable settings (``serve`` options), in one frozen value handed to ``create_app``.

The defaults are the contract's: tokens live 12 hours, five wrong passwords in a row lock an
account for 15 minutes (等保 lockout), a request body may be at most 8 MiB. Tests shorten the
times with ``--token-ttl`` and ``--lockout-seconds``.
"""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_TOKEN_TTL_S = 12 * 3600
DEFAULT_LOCKOUT_S = 15 * 60
LOCKOUT_FAILURES = 5
DEFAULT_MAX_REQUEST_BYTES = 8 * MIB
MAX_BLOB_BYTES = 2 * 1024 * MIB  # one scan file or PDF; more is certainly a mistake
TRAINING_SIMULATE_EVERY_S = 20.0


@dataclass(frozen=True)
class PlatformConfig:
    token_ttl_s: float = DEFAULT_TOKEN_TTL_S
    lockout_s: float = DEFAULT_LOCKOUT_S
    lockout_failures: int = LOCKOUT_FAILURES
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_blob_bytes: int = MAX_BLOB_BYTES
    # None: every TRAINING_SIMULATE_EVERY_S seconds in training mode, off otherwise; 0: off
    simulate_every_s: float | None = None

    def simulate_interval(self, mode: str) -> float:
        if self.simulate_every_s is not None:
            return max(0.0, self.simulate_every_s)
        return TRAINING_SIMULATE_EVERY_S if mode == "training" else 0.0
