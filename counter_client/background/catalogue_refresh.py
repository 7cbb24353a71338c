"""Runs the catalogue refresh on the task runner, one at a time, with progress and cancel.

The button of the catalogue page, the start-up of training mode and the periodic timer all ask
this one object, so two refreshes never run at once. Searches keep reading the old catalogue
while a refresh downloads and stages (SQLite WAL); the new one shows up when it is committed.
QtCore only.
"""

from __future__ import annotations

import logging
import traceback

from PySide6.QtCore import QObject, Signal

from counter_client.background.tasks import Handle, Job, TaskRunner
from counter_client.errors import UserError
from counter_client.services.catalogue import CatalogueService, RefreshResult
from counter_client.services.connection import Connection

log = logging.getLogger(__name__)


class CatalogueRefresher(QObject):
    """Refresh of the offline catalogue, and the catalogue's summary for the status bar.

    Signals:
        refresh_did_start(): a refresh began (the button shows 取消).
        catalogue_did_refresh(RefreshResult): the refresh succeeded (maybe unchanged).
        refresh_did_fail(str message): it failed; the old catalogue is still in use.
        refresh_did_end(): after any outcome, cancellation included.
        info_did_change(CatalogueInfo): version, size and last refresh of the local catalogue.
    """

    refresh_did_start = Signal()
    catalogue_did_refresh = Signal(object)
    refresh_did_fail = Signal(str)
    refresh_did_end = Signal()
    info_did_change = Signal(object)

    def __init__(self, runner: TaskRunner, catalogue: CatalogueService, connection: Connection,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._catalogue = catalogue
        self._connection = connection
        self._handle: Handle | None = None
        self.last_error = ""
        self.info = None

    @property
    def running(self) -> bool:
        return self._handle is not None

    def refresh(self, quiet: bool = False) -> bool:
        """Start a refresh unless one runs. ``quiet``: failures go to the status bar only
        (automatic refreshes must not pop dialogs at the clerk). Returns whether it started."""
        if self._handle is not None:
            return False
        self.last_error = ""
        self._handle = None
        op = (self._runner.op(self._run)
              .with_progress(self.tr("正在更新目录…"))
              .on_success(self._on_done)
              .on_finished(self._on_finished))
        if quiet:
            op.on_failure(self._on_quiet_failure)
        else:
            op.on_failure(self._on_failure)
        self.refresh_did_start.emit()
        handle = op.run()
        if not handle.done:  # a synchronous runner has already finished it
            self._handle = handle
        return True

    def cancel(self) -> None:
        if self._handle is not None:
            self._handle.cancel()

    def load_info(self) -> None:
        """Read the catalogue's version and size (on the runner) and announce them."""
        self._runner.op(lambda job: self._catalogue.info()).on_success(self._on_info).run()

    # -- internals -------------------------------------------------------------------------------
    def _run(self, job: Job) -> RefreshResult:
        client = self._connection.client()
        try:
            return self._catalogue.refresh(client, job.progress, job.cancelled)
        finally:
            client.close()

    def _on_done(self, result: RefreshResult) -> None:
        log.info("catalogue refresh done: %s", result.as_json())
        self.catalogue_did_refresh.emit(result)
        if result.changed or result.removed:  # fold the update's WAL back into the file, quietly
            self._runner.op(lambda job: self._catalogue.tidy()).on_failure(
                lambda exc: log.info("catalogue tidy skipped: %s", exc)).run()

    def _on_failure(self, exc: BaseException) -> None:
        self._record_failure(exc)
        # then the runner's default presentation (message box / bug dialog)
        if isinstance(exc, UserError):
            self._runner.user_error_did_occur.emit(exc.message)
        else:
            details = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            self._runner.bug_did_occur.emit(self.tr("更新目录时出错，已记录到日志。原目录仍可使用。"), details)

    def _on_quiet_failure(self, exc: BaseException) -> None:
        self._record_failure(exc)

    def _record_failure(self, exc: BaseException) -> None:
        message = getattr(exc, "message", None) or self.tr("更新目录时出错，已记录到日志。")
        self.last_error = message
        self.refresh_did_fail.emit(message)

    def _on_finished(self) -> None:
        self._handle = None
        self.refresh_did_end.emit()
        self.load_info()

    def _on_info(self, info) -> None:
        self.info = info
        self.info_did_change.emit(info)
