"""Which platform we talk to, and whether it is reachable right now.

``Connection`` is shared by every job: it knows the platform's address (which, in training mode,
is known only once the bundled platform has started), makes a fresh ``PlatformClient`` per job
(a ``requests.Session`` is not shared across threads), and keeps the last probe result for the
status bar: 在线 / 离线 / 受限网络. Qt-free; thread-safe.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING

from counter_client.errors import LimitedNetwork, NetworkUnavailable, PlatformError

if TYPE_CHECKING:
    from counter_client.platform_api.client import PlatformClient
    from counter_client.platform_api.delivery import DeliveryClient

log = logging.getLogger(__name__)


class State(str, Enum):
    UNKNOWN = "unknown"
    STARTING = "starting"  # training platform still starting
    ONLINE = "online"
    OFFLINE = "offline"
    LIMITED = "limited"  # something answered, but not the platform (captive portal, proxy)

    @property
    def label(self) -> str:
        return {"unknown": "检测中", "starting": "培训平台启动中", "online": "在线",
                "offline": "离线", "limited": "受限网络"}[self.value]


@dataclass(frozen=True)
class Status:
    state: State
    platform_name: str
    url: str | None
    message: str = ""  # for the clerk, Chinese
    checked_at: float = 0.0
    clock_offset_s: float = 0.0
    platform_version: str = ""


class Connection:
    """The platform address and its last known reachability."""

    def __init__(self, url: str | None, *, name: str = "", training: bool = False,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0, ca_bundle: str | None = None):
        self.training = training
        self._timeouts = (connect_timeout, read_timeout)
        self._ca_bundle = ca_bundle or None
        self._lock = threading.Lock()
        default_name = "培训平台（本机）" if training else (name or url or "")
        self._status = Status(State.STARTING if training and not url else State.UNKNOWN,
                              name or default_name, url)

    @property
    def status(self) -> Status:
        with self._lock:
            return self._status

    def set_url(self, url: str) -> None:
        with self._lock:
            self._status = replace(self._status, url=url, state=State.UNKNOWN)

    def set_unavailable(self, message: str) -> None:
        with self._lock:
            self._status = replace(self._status, state=State.OFFLINE, message=message, checked_at=time.time())

    def client(self) -> PlatformClient:
        from counter_client.platform_api.client import PlatformClient  # requests loads on first use

        return self._make(PlatformClient)

    def delivery_client(self) -> DeliveryClient:
        """A client of the delivery endpoints (its own session: one per sync pass)."""
        from counter_client.platform_api.delivery import DeliveryClient

        return self._make(DeliveryClient)

    def _make(self, kind):
        status = self.status
        if not status.url:
            if status.state == State.STARTING:
                raise NetworkUnavailable("培训平台正在启动，请稍候几秒再试。", "training platform not started yet")
            raise NetworkUnavailable(status.message or "尚未配置平台地址。", "no platform url")
        return kind(status.url, name=status.platform_name, connect_timeout=self._timeouts[0],
                              read_timeout=self._timeouts[1], ca_bundle=self._ca_bundle)

    def probe(self) -> Status:
        """Ping the platform and record the outcome (never raises for network trouble)."""
        try:
            client = self.client()
        except NetworkUnavailable as exc:
            return self.status if self.status.state == State.STARTING else self._record(State.OFFLINE, exc.message)
        try:
            ping = client.ping()
        except NetworkUnavailable as exc:
            log.info("probe: %s", exc.log)
            return self._record(State.LIMITED if isinstance(exc, LimitedNetwork) else State.OFFLINE,
                                exc.message)
        except PlatformError as exc:
            log.warning("probe: %s", exc.log)
            return self._record(State.LIMITED, exc.message)
        finally:
            client.close()
        return self._record(State.ONLINE, "", ping.clock_offset_s, ping.platform_version)

    def _record(self, state: State, message: str, offset: float | None = None, version: str = "") -> Status:
        with self._lock:
            changes = {"state": state, "message": message, "checked_at": time.time()}
            if offset is not None:
                changes.update(clock_offset_s=offset, platform_version=version)
            self._status = replace(self._status, **changes)
            return self._status
