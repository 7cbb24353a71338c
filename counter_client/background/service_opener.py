"""Opens a service that needs the disk or the OS keyring (the intake service) on the task
runner, once, and tells every page that waits for it.

``open_fn`` comes from ``app.py`` (``Context.intake`` after ``Context.terminal``); it may raise
``UserError``/``StoreError`` (no secure store outside training, terminal not set up): the
pages then show that message in place of their form.

QtCore only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from counter_client.background.tasks import TaskRunner
from counter_client.errors import UserError

log = logging.getLogger(__name__)


class ServiceOpener(QObject):
    """Signals:
        service_did_open(object service)
        service_did_fail(str message): what the clerk is told, in Chinese.
    """

    service_did_open = Signal(object)
    service_did_fail = Signal(str)

    def __init__(self, runner: TaskRunner, open_fn: Callable[[], Any], parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._open_fn = open_fn
        self.service: Any = None
        self.error = ""
        self.opening = False

    def open(self) -> None:
        """Open (again, after a failure); a no-op while opening or once open."""
        if self.service is not None:
            self.service_did_open.emit(self.service)
            return
        if self.opening:
            return
        self.opening = True
        fn = self._open_fn
        (self._runner.op(lambda job: fn())
         .on_success(self._opened)
         .on_failure(self._failed)
         .on_finished(self._finished)
         .run())

    def _finished(self) -> None:
        self.opening = False

    def _opened(self, service: Any) -> None:
        self.service, self.error = service, ""
        self.service_did_open.emit(service)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserError):
            self.error = exc.message
        else:
            log.error("opening the service failed: %s", type(exc).__name__)
            self.error = self.tr("办件数据无法打开，已记录到日志。请重新启动本程序；如仍出错，请联系技术支持。")
        self.service_did_fail.emit(self.error)
