"""What the pages call to print: a case's 收件凭证 or 一次性告知书, or any ``DocumentRequest``
(the mail desk's waybills and manifests go through ``open_request``: the same dialog, the same
worker, the same log).

The print dialog and the Qt print worker (QtPdf, QtPrintSupport) load on the first print, not at
start-up. Until the case store is open (``set_service``) nothing can be printed and
``available`` is false.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from counter_client.background.tasks import TaskRunner
from counter_client.domain.case import Case
from counter_client.errors import UserError
from counter_client.services.printing import NOTICE, RECEIPT, DocumentRequest


class PrintLauncher(QObject):
    """Opens print dialogs and tells the pages what was printed.

    Signals:
        print_did_record(object entry): a document was printed or saved (``PrintEntry``).
        print_did_fail(str message): an attempt failed (it is in the log).
    """

    print_did_record = Signal(object)
    print_did_fail = Signal(str)

    def __init__(self, runner: TaskRunner, engine: Any = None, printers: Callable[[], list[str]] | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._engine = engine
        self._printers = printers
        self.service: Any = None
        self._load_case: Callable[[str], Case | None] | None = None
        self.dialog = None

    def set_service(self, service: Any, load_case: Callable[[str], Case | None]) -> None:
        """The print service (``services.printing.PrintService``) and how to read a case."""
        self.service = service
        self._load_case = load_case

    @property
    def available(self) -> bool:
        return self.service is not None

    def engine(self) -> Any:
        if self._engine is None:
            from counter_client.background import printing

            self._engine = printing
        return self._engine

    def print_case(self, kind: str, case: Case | str, parent: QWidget | None = None):
        """收件凭证 (``RECEIPT``) or 一次性告知书 (``NOTICE``) of a case (the case itself, or its id
        to read it on the runner)."""
        service, load = self.service, self._load_case

        def make() -> DocumentRequest:
            current = case
            if isinstance(current, str):
                current = load(current) if load is not None else None
                if current is None:
                    raise UserError("找不到这件办件。", "print: case not found")
            return service.receipt_request(current) if kind == RECEIPT else service.notice_request(current)

        if kind not in (RECEIPT, NOTICE):
            raise ValueError(f"not a case document: {kind!r}")
        return self.open_request(make, parent)

    def open_request(self, make_request: Callable[[], DocumentRequest], parent: QWidget | None = None):
        """The print dialog for any request (``make_request`` runs on the runner)."""
        if self.service is None:
            return None
        from counter_client.ui.printing.dialog import PrintDialog

        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.reject()
        dialog = PrintDialog(self._runner, self.service, self.engine(), make_request, parent, printers=self._printers)
        dialog.print_did_finish.connect(self.print_did_record)
        dialog.print_did_fail.connect(self.print_did_fail)
        dialog.finished.connect(lambda _result, d=dialog: self._closed(d))
        self.dialog = dialog
        dialog.open()
        return dialog

    def _closed(self, dialog) -> None:
        if self.dialog is dialog:
            self.dialog = None
        dialog.deleteLater()
