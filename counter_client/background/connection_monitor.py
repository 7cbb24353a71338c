"""Watches whether the platform is reachable: a timer asks ``Connection.probe`` on the task
runner, and a change of the outcome is announced to the status bar and whoever else cares.

Probes never overlap; a probe asked while one runs is merged into it. QtCore only.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QTimer, Signal

from counter_client.background.tasks import TaskRunner
from counter_client.services.connection import Connection, Status

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_S = 30.0


def _key(status: Status) -> tuple:
    return (status.state, status.message, status.url, status.platform_name)


class ConnectionMonitor(QObject):
    """Periodic reachability probe.

    Signals:
        connection_did_change(Status): the state, message, address or name changed (also sent
            once by ``publish()`` so that views can show the initial state).
        probe_did_finish(Status): every probe outcome, changed or not.
    """

    connection_did_change = Signal(object)
    probe_did_finish = Signal(object)

    def __init__(self, runner: TaskRunner, connection: Connection, interval_s: float = DEFAULT_INTERVAL_S,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._connection = connection
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_s * 1000))
        self._timer.timeout.connect(self.probe_now)
        self._probing = False
        self._last: tuple | None = None

    @property
    def status(self) -> Status:
        return self._connection.status

    def start(self) -> None:
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def publish(self) -> None:
        """Announce the connection's current status if it differs from the last announced."""
        status = self._connection.status
        if _key(status) != self._last:
            self._last = _key(status)
            self.connection_did_change.emit(status)

    def probe_now(self) -> None:
        if self._probing:
            return
        self._probing = True
        (self._runner.op(lambda job: self._connection.probe())
         .on_success(self._on_probed)
         .on_failure(lambda exc: log.warning("probe failed: %r", exc))
         .on_finished(self._on_finished)
         .run())

    def _on_probed(self, status: Status) -> None:
        self.publish()
        self.probe_did_finish.emit(status)

    def _on_finished(self) -> None:
        self._probing = False
