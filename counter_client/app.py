"""The composition root of the window: builds every Qt object in order on top of the Qt-free
``Context``, wires them, and owns shutdown. Nothing here is global: ``run_gui`` makes one
``Gui`` and hands each object what it needs.

Order: Context (settings, stores, services, connection, training platform) -> QApplication ->
look (font, Fusion, palette, style sheet) -> task runner -> connection monitor, catalogue
refresher and sync worker -> status bar and pages -> main window -> notifier. ``Gui.start`` then
starts the clock, the training platform (training mode, on the runner), the probe, the sync
worker's thread and the automatic refreshes. The sync worker runs passes once the case store is
open and, in training, the training platform has started. Shutdown stops the timers, stops the
sync worker's thread (cancelling its pass), cancels and waits for the pool, and closes the
context (which stops the training platform).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QTimer
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontInfo, QPalette
from PySide6.QtWidgets import QApplication

from counter_client import __version__
from counter_client.background.catalogue_refresh import CatalogueRefresher
from counter_client.background.connection_monitor import ConnectionMonitor
from counter_client.background.service_opener import ServiceOpener
from counter_client.background.sync_worker import SyncWorker
from counter_client.background.tasks import TaskRunner
from counter_client.context import Context, build_context
from counter_client.errors import UserError
from counter_client.paths import font_path, resource
from counter_client.services.connection import State, Status
from counter_client.services.mail_desk import MailDesk
from counter_client.services.sync_desk import SyncDesk
from counter_client.settings import Settings
from counter_client.ui.cases.page import CasesPage
from counter_client.ui.catalogue.page import CataloguePage
from counter_client.ui.dialogs import ErrorPresenter
from counter_client.ui.intake.page import IntakePage
from counter_client.ui.intake.tools import ScanTools
from counter_client.ui.mail.page import MailPage
from counter_client.ui.main_window import MainWindow
from counter_client.ui.printing.launcher import PrintLauncher
from counter_client.ui.receipt_field import ScannerBurst
from counter_client.ui.setup_dialog import FirstRunDialog
from counter_client.ui.status_bar import StatusBar
from counter_client.ui.sync.notifier import StatusNotifier
from counter_client.ui.sync.page import SyncPage

log = logging.getLogger(__name__)

FONT_FAMILY = "WenQuanYi Micro Hei"
BODY_PX = 14
LARGE_BODY_PX = 18
STYLE_SHEET = ("styles", "app.qss")
DEFAULT_WINDOW_SIZE = (1366, 768)
SELF_TEST_TIMEOUT_S = 120.0
STATUS_MESSAGE_MS = 8000
SIGNAL_POLL_MS = 500

ACCENT = "#1f4e8c"
TEXT = "#1f2933"


# -- look ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Look:
    """What ``apply_look`` achieved (the self-test checks it)."""

    font_loaded: bool  # the shipped font file was registered
    font_family: str  # the family the app font resolved to
    body_px: int
    style: str  # the Qt style under the style sheet
    style_sheet_loaded: bool


def load_font() -> bool:
    """Register the shipped WenQuanYi Micro Hei so Chinese renders the same on every machine."""
    try:
        path = font_path()
    except FileNotFoundError as exc:
        log.error("shipped font missing: %s", exc)
        return False
    font_id = QFontDatabase.addApplicationFont(str(path))
    if font_id < 0:
        log.error("could not load font %s", path)
        return False
    families = QFontDatabase.applicationFontFamilies(font_id)
    if FONT_FAMILY not in families:
        log.error("font %s has families %s, not %s", path, families, FONT_FAMILY)
        return False
    return True


def style_sheet(body_px: int) -> str:
    """The style sheet with its pixel-size tokens filled in ('' when the file is missing)."""
    try:
        text = resource(*STYLE_SHEET).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        log.error("style sheet unavailable: %s", exc)
        return ""
    sizes = {"@BODY@": body_px, "@SMALL@": body_px - 2, "@LARGE@": body_px + 2, "@TITLE@": body_px + 4,
             "@RECEIPT@": body_px * 2 + 4}
    for token, value in sizes.items():
        text = text.replace(token, str(value))
    return text


def _palette() -> QPalette:
    palette = QPalette()
    white, text = QColor("#ffffff"), QColor(TEXT)
    for role, colour in ((QPalette.ColorRole.Window, white), (QPalette.ColorRole.Base, white),
                         (QPalette.ColorRole.AlternateBase, QColor("#f7f9fc")),
                         (QPalette.ColorRole.Button, QColor("#f7f9fc")),
                         (QPalette.ColorRole.WindowText, text), (QPalette.ColorRole.Text, text),
                         (QPalette.ColorRole.ButtonText, text),
                         (QPalette.ColorRole.PlaceholderText, QColor("#8a96a3")),
                         (QPalette.ColorRole.Highlight, QColor(ACCENT)),
                         (QPalette.ColorRole.HighlightedText, white),
                         (QPalette.ColorRole.ToolTipBase, QColor("#fffef5")),
                         (QPalette.ColorRole.ToolTipText, text),
                         (QPalette.ColorRole.Link, QColor(ACCENT))):
        palette.setColor(role, colour)
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, QColor("#9aa5b1"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, QColor("#9aa5b1"))
    palette.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, QColor("#9aa5b1"))
    return palette


def apply_look(qapp: QApplication, large_font: bool = False) -> Look:
    """Font (shipped WenQuanYi, 14 px or 18 px), Fusion, a light palette and the style sheet."""
    loaded = load_font()
    body_px = LARGE_BODY_PX if large_font else BODY_PX
    qapp.setStyleSheet("")  # so that style() is the style itself, not the style-sheet wrapper
    qapp.setStyle("Fusion")
    style = qapp.style().name()
    qapp.setPalette(_palette())
    font = QFont(FONT_FAMILY)
    font.setPixelSize(body_px)
    qapp.setFont(font)
    sheet = style_sheet(body_px)
    qapp.setStyleSheet(sheet)
    family = QFontInfo(qapp.font()).family()
    log.info("look: font %s (%s px, shipped file %s), style sheet %s", family, body_px,
             "loaded" if loaded else "NOT loaded", "loaded" if sheet else "MISSING")
    return Look(loaded, family, body_px, style, bool(sheet))


# -- scanning, handed to the intake page ------------------------------------------------------------
def make_scan_tools(settings: Settings) -> ScanTools:
    """The importer, the folder watch and the document camera for the intake page (the page
    itself never imports ``scanning``). The camera module (Qt Multimedia) loads on first use."""
    from counter_client.scanning import importer
    from counter_client.scanning.watch import FolderWatch

    max_bytes = settings.get("scans.max_file_mb") * 2**20

    def import_many(paths, progress=None, cancelled=None):
        return importer.import_many(paths, max_bytes=max_bytes, progress=progress, cancelled=cancelled)

    def cameras():
        from counter_client.scanning import camera

        return camera.cameras()

    def make_capture(parent):
        from counter_client.scanning import camera

        return camera.CameraCapture(parent=parent)

    def normalise_frame(frame):
        from counter_client.scanning import camera

        return camera.normalise_frame(frame)

    def rotate_page(data, degrees):
        from counter_client.services.intake import rotate_page_data

        return rotate_page_data(data, degrees)

    return ScanTools(import_many=import_many, suffixes=frozenset(importer.SUPPORTED_SUFFIXES), cameras=cameras,
                     make_capture=make_capture, normalise_frame=normalise_frame,
                     make_watch=lambda folder: FolderWatch(folder), rotate_page=rotate_page,
                     # the words of scanning.camera.NO_CAMERA, not imported here: Qt Multimedia loads on first use
                     no_camera_message="没有找到高拍仪或摄像头。请确认设备的 USB 线已插好、电源已打开，然后重试。")


def terminal_missing(settings: Settings) -> bool:
    """Outside training, the hall code and terminal number must be set before intake."""
    hall = settings.hall()
    return not settings.training and not (hall["hall.township_code"] and hall["hall.terminal"])


# -- the catalogue as the GUI reads it --------------------------------------------------------------
class Gui:
    """Every Qt object of one run, built in order and wired; ``shutdown`` undoes ``start``."""

    def __init__(self, context: Context, qapp: QApplication, runner: TaskRunner | None = None):
        self.context = context
        self.qapp = qapp
        settings = context.settings
        hall = settings.hall()
        self.look = apply_look(qapp, bool(settings.get("ui.large_font")))
        self.runner = runner or TaskRunner()
        self.monitor = ConnectionMonitor(self.runner, context.connection,
                                         settings.get("network.probe_interval"))
        self.refresher = CatalogueRefresher(self.runner, context.catalogue, context.connection)
        self.sync_worker = SyncWorker(context.sync_engine, settings.get("sync.interval_s"))
        self.sync_desk: SyncDesk | None = None
        self.mail_desk: MailDesk | None = None
        self._printing_for = None
        self.errors = ErrorPresenter()
        self.runner.user_error_did_occur.connect(self.errors.show_user_error)
        self.runner.bug_did_occur.connect(self.errors.show_bug)

        self.status_bar = StatusBar(self.runner)
        self.catalogue_page = CataloguePage(
            self.runner, context.catalogue, self.refresher,
            hall_region=hall["hall.region_code"] or None)
        scan_tools = make_scan_tools(settings)
        self.intake_page = IntakePage(self.runner, context.catalogue, scan_tools, hall,
                                      watch_folder=settings.get("scans.watch_folder"))
        self.cases_page = CasesPage(self.runner, context.catalogue, scan_tools)
        self.printing = PrintLauncher(self.runner)  # the print dialog and worker load on the first print
        self.intake_page.set_printing(self.printing, bool(settings.get("print.offer_after_intake")))
        self.cases_page.set_printing(self.printing)
        self.sync_page = SyncPage(self.runner, context.training)
        self.mail_page = MailPage(self.runner)
        self.mail_page.set_printing(self.printing)
        self.window = MainWindow({"catalogue": self.catalogue_page, "intake": self.intake_page,
                                  "cases": self.cases_page, "parcels": self.mail_page, "sync": self.sync_page},
                                 hall, context.training, self.status_bar)
        self.window.resize(*DEFAULT_WINDOW_SIZE)
        self.errors.set_window(self.window)
        self.notifier = StatusNotifier(self.window.add_banner, self.window)
        self.opener = ServiceOpener(self.runner, self._open_intake)
        self._wire_cases()
        self._platform_ready = not context.training  # training: once the bundled platform runs
        self._login_asked = False
        self._wire_sync()
        self._wire_mail()

        self.monitor.connection_did_change.connect(self.status_bar.show_connection)
        self.monitor.connection_did_change.connect(self._connection_changed)
        self.refresher.info_did_change.connect(self._catalogue_info_changed)
        self.refresher.refresh_did_fail.connect(
            lambda message: self.status_bar.show_catalogue(self.refresher.info, message))
        self.refresher.catalogue_did_refresh.connect(self._catalogue_refreshed)
        self.status_bar.catalogue_item.was_clicked.connect(lambda: self.window.show_page("catalogue"))
        self.status_bar.connection_item.was_clicked.connect(self._connection_clicked)

        self._auto_refresh = QTimer()
        minutes = settings.get("catalogue.auto_refresh_minutes")
        self._auto_refresh.setInterval(max(1, minutes) * 60_000)
        self._auto_refresh.timeout.connect(self._periodic_refresh)
        self._auto_refresh_enabled = minutes > 0
        self._empty_refresh_tried = False
        self._started = False
        self._closed = False

        self.monitor.publish()
        self.refresher.load_info()

    # -- cases: intake, the case list, the receipt field, first-run set-up -------------------------
    def _wire_cases(self) -> None:
        intake, cases, window = self.intake_page, self.cases_page, self.window
        self.opener.service_did_open.connect(self._intake_opened)
        self.opener.service_did_fail.connect(self._intake_failed)
        self.catalogue_page.intake_was_requested.connect(self.start_intake)
        intake.case_did_collect.connect(lambda _case: cases.refresh())
        intake.case_view_was_requested.connect(self.show_case)
        intake.drafts_view_was_requested.connect(lambda: (window.show_page("cases"), cases.show_drafts()))
        intake.setup_was_requested.connect(self.ask_setup)
        intake.retry_was_requested.connect(self.opener.open)
        cases.draft_open_was_requested.connect(self.continue_draft)
        cases.draft_did_discard.connect(intake.draft_was_discarded)
        window.receipt_field.receipt_was_entered.connect(self.find_receipt)
        self.scanner_burst = ScannerBurst(window.receipt_field)
        self.qapp.installEventFilter(self.scanner_burst)

    # -- delivery: the sync worker, the 同步 page, the status bar, 补正 notices ---------------------
    def _wire_sync(self) -> None:
        worker, page, bar, cases = self.sync_worker, self.sync_page, self.status_bar, self.cases_page
        self.monitor.connection_did_change.connect(worker.connection_changed)
        self.monitor.connection_did_change.connect(lambda s: page.set_platform(s.platform_name or s.url or ""))
        self.intake_page.case_did_collect.connect(worker.wake_soon)
        self.intake_page.case_did_collect.connect(lambda _case: page.reload())
        cases.supplement_did_queue.connect(lambda _s: (worker.wake_soon(), page.reload()))
        cases.case_did_void.connect(lambda _case: page.reload())
        cases.case_was_seen.connect(self.notifier.seen)
        page.sync_now_was_requested.connect(self.sync_now)
        page.queue_did_load.connect(lambda view: bar.show_queue(view.summary))
        page.login_did_change.connect(self._login_changed)
        page.case_view_was_requested.connect(self.show_case)
        worker.sync_did_start.connect(self._sync_started)
        worker.sync_did_progress.connect(self._sync_progressed)
        worker.sync_did_finish.connect(self._sync_finished)
        worker.sync_did_fail.connect(self._sync_failed)
        worker.statuses_did_change.connect(self.notifier.notify)
        self.notifier.case_was_requested.connect(self.find_receipt)
        bar.sync_item.was_clicked.connect(lambda: self.window.show_page("sync"))

    # -- mail: the 寄递 page, the pool in the status bar, a case's legs -----------------------------
    def _wire_mail(self) -> None:
        page, bar, worker, cases = self.mail_page, self.status_bar, self.sync_worker, self.cases_page
        page.pool_did_change.connect(bar.show_pool)
        page.parcel_did_create.connect(lambda _made: (worker.wake_soon(), self.sync_page.reload(),
                                                      cases.statuses_changed()))
        page.sync_was_requested.connect(lambda: (self.window.show_page("sync"), self.sync_now()))
        page.case_view_was_requested.connect(self.show_case)
        cases.mail_did_change.connect(lambda: (page.reload(), worker.wake_soon()))
        self.intake_page.case_did_collect.connect(lambda _case: page.refresh_pool())
        worker.sync_did_finish.connect(page.sync_finished)
        bar.pool_item.was_clicked.connect(lambda: self.window.show_page("parcels"))

    def sync_now(self) -> None:
        """立即同步 (or right after the running pass)."""
        self.sync_worker.sync_now()
        if not self.sync_worker.ready:
            self.sync_page.note(self.tr("正在准备（打开办件数据、启动培训平台），就绪后自动同步。"))

    def _maybe_ready(self) -> None:
        if self._started and self._platform_ready and self.sync_desk is not None and not self._closed:
            self.sync_worker.set_ready(True)

    def _sync_started(self) -> None:
        self.status_bar.show_sync_running()
        self.sync_page.sync_started()

    def _sync_progressed(self, done: int, total: int, text: str) -> None:
        self.status_bar.show_sync_running(done, total)
        self.sync_page.sync_progressed(done, total, text)

    def _sync_finished(self, report) -> None:
        login = bool(report.login_required) and not self.context.training
        self.status_bar.show_sync_idle(login, "" if report.busy else report.stopped)
        self.sync_page.sync_finished(report)
        if report.delivered or report.statuses or report.rejected or report.held or report.in_doubt:
            self.cases_page.statuses_changed()
        if login and not self._login_asked and self.monitor.status.state == State.ONLINE:
            self._login_asked = True  # once; later the page, the banner and the status bar offer it
            self.sync_page.ask_login(report.stopped)

    def _sync_failed(self, message: str) -> None:
        self.status_bar.show_sync_idle(False, message)
        self.sync_page.sync_failed(message)

    def _login_changed(self, profile) -> None:
        self.status_bar.set_login_required(profile is None and not self.context.training)
        if profile is not None:
            self._login_asked = False
            self.sync_worker.sync_now()

    def open_cases(self) -> None:
        """Open the case store (on the runner); outside training a missing terminal set-up is asked first."""
        if terminal_missing(self.context.settings):
            message = self.tr("本机尚未设置大厅编码和终端号，暂不能收件。请点击下方按钮填写（每台电脑的终端号须不同）。")
            self.intake_page.set_unavailable(message, can_set_up=True)
            self.cases_page.set_unavailable(message)
            self.ask_setup()
            return
        self.opener.open()

    def _open_intake(self):
        """Runner: the terminal identity first (so a missing set-up opens nothing), then the store."""
        self.context.terminal()
        return self.context.intake()

    def _intake_opened(self, service) -> None:
        if self.printing.service is None or self._printing_for is not service:
            self.printing.set_service(self.context.printing(), service.load)  # the store is open: no I/O here
            self._printing_for = service
        self.intake_page.set_service(service)
        self.cases_page.set_service(service)
        if self.sync_desk is None or self.sync_desk.intake is not service:
            context = self.context
            self.sync_desk = SyncDesk(service, context.login_service, context.connection.delivery_client,
                                      training=context.training)
            self.cases_page.set_delivery(self.sync_desk)
            self.sync_page.set_desk(self.sync_desk)
        if self.mail_desk is None or self.mail_desk.mail.cases is not service.cases:
            self.mail_desk = self._make_mail_desk()
            self.cases_page.set_mail(self.mail_desk)
            self.mail_page.set_desk(self.mail_desk)
        self._maybe_ready()
        for notice in self.context.notices:
            self.window.show_notice(notice)

    def _make_mail_desk(self) -> MailDesk:
        """The mail desk over the open case store (no I/O: the store is open; the documents, and
        with them reportlab, are made on the runner at the first print)."""
        context = self.context
        mail = context.mail()

        def documents():
            from counter_client.services.printouts import MailDocuments

            return MailDocuments(mail, context.catalogue, context.settings)

        return MailDesk(mail, documents, context.connection.delivery_client, context.login_service)

    def _intake_failed(self, message: str) -> None:
        setup = terminal_missing(self.context.settings)
        self.intake_page.set_unavailable(message, can_set_up=setup)
        self.cases_page.set_unavailable(message)
        self.mail_page.set_unavailable(message)

    def start_intake(self, code: str) -> None:
        self.intake_page.start_with_item(code)
        self.window.show_page("intake")

    def continue_draft(self, case_id: str) -> None:
        self.intake_page.open_draft(case_id)
        self.window.show_page("intake")

    def show_case(self, case_id: str) -> None:
        self.window.show_page("cases")
        self.cases_page.show_case(case_id)

    def find_receipt(self, text: str) -> None:
        """A scanned or typed receipt number: open its case in the case list, or say why not."""
        field = self.window.receipt_field
        service = self.opener.service
        if service is None:
            field.show_message(self.opener.error or self.tr("办件数据尚未打开，请稍候再试。"))
            return

        def found(case) -> None:
            if case is None:
                field.show_message(self.tr("本机没有这个收件编号的办件"))
                return
            field.found()
            self.show_case(case.id)

        def failed(exc: BaseException) -> None:
            field.show_message(exc.message if isinstance(exc, UserError) else self.tr("查找出错，已记录到日志。"))

        (self.runner.op(lambda job: service.find_receipt(text))
         .on_success(found).on_failure(failed).run())

    def ask_setup(self) -> None:
        """First-run set-up (a decision): hall code and terminal number."""
        if getattr(self, "setup_dialog", None) is not None and self.setup_dialog.isVisible():
            return
        settings = self.context.settings
        current = {k: settings.get(k) for k in ("hall.township_code", "hall.terminal", "hall.name", "hall.window",
                                                "clerk.name")}
        dialog = FirstRunDialog(current, self.window)
        dialog.setup_was_chosen.connect(self.save_setup)
        self.setup_dialog = dialog
        dialog.open()

    def save_setup(self, values: dict) -> None:
        settings = self.context.settings
        try:
            for key, value in values.items():
                settings.set(key, value)
            if not settings.get("hall.region_code"):
                settings.set("hall.region_code", values["hall.township_code"][:6])
        except ValueError as exc:
            self.errors.show_user_error(str(exc))
            return

        def saved(_result) -> None:
            hall = settings.hall()
            self.window.top_bar.set_hall(hall)
            self.intake_page.set_hall(hall)
            self.context.catalogue.hall_region = hall["hall.region_code"] or None
            self.opener.open()

        (self.runner.op(lambda job: settings.save())
         .on_success(saved).run())

    # -- start and stop ----------------------------------------------------------------------
    def start(self) -> None:
        """Start the clock, the training platform (training mode), probing and auto-refresh;
        open the case store (or ask for the first-run set-up)."""
        if self._started:
            return
        self._started = True
        self.status_bar.start_clock()
        self.sync_worker.start()
        self.open_cases()
        if self.context.settings.problems:  # a broken settings file: the clerk learns what was reset
            self.errors.show_user_error("\n".join(self.context.settings.problems))
        if self.context.training:
            (self.runner.op(lambda job: self.context.start_training_platform())
             .with_progress(self.tr("正在启动培训平台…"), cancellable=False)
             .on_success(self._platform_started)
             .on_failure(self._platform_failed)
             .run())
        else:
            self.monitor.probe_now()
        self.monitor.start()
        if self._auto_refresh_enabled:
            self._auto_refresh.start()

    def shutdown(self) -> None:
        """Stop timers, cancel and wait for running jobs, close the context. Idempotent."""
        if self._closed:
            return
        self._closed = True
        log.info("shutting down the window")
        self._auto_refresh.stop()
        self.monitor.stop()
        self.sync_worker.shutdown()  # cancels the running pass; waits for its thread
        self.notifier.close()
        self.qapp.removeEventFilter(self.scanner_burst)
        self.intake_page.poller.stop()
        self.status_bar.stop_clock()
        self.errors.close_all()
        self.runner.shutdown()
        self.intake_page.final_save()  # what the last autosave did not write (the runner has stopped)
        self.context.close()

    @staticmethod
    def tr(text: str) -> str:
        return QCoreApplication.translate("Gui", text)

    # -- reactions ---------------------------------------------------------------------------
    def _platform_started(self, url: str | None) -> None:
        log.info("training platform ready at %s", url)
        self.monitor.publish()
        self.monitor.probe_now()
        self._platform_ready = True
        self._maybe_ready()
        self.sync_page.reload()

    def _platform_failed(self, exc: BaseException) -> None:
        self.monitor.publish()
        if isinstance(exc, UserError):
            self.errors.show_user_error(exc.message)
        else:
            self.errors.show_bug(self.tr("培训平台启动时出错，已记录到日志。"),
                                 "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))

    def _connection_changed(self, status: Status) -> None:
        self._maybe_fill_empty_catalogue()

    def _catalogue_info_changed(self, info) -> None:
        self.status_bar.show_catalogue(info, self.refresher.last_error)
        self._maybe_fill_empty_catalogue()

    def _maybe_fill_empty_catalogue(self) -> None:
        """An empty catalogue is refreshed once, as soon as the platform answers."""
        info = self.refresher.info
        if (self._started and not self._empty_refresh_tried and info is not None and info.guide_count == 0
                and self.monitor.status.state == State.ONLINE and not self.refresher.running):
            self._empty_refresh_tried = True
            log.info("catalogue empty and platform online: refreshing")
            self.refresher.refresh(quiet=True)

    def _periodic_refresh(self) -> None:
        if self.monitor.status.state == State.ONLINE and not self.refresher.running:
            self.refresher.refresh(quiet=True)

    def _catalogue_refreshed(self, result) -> None:
        if result.mode == "unchanged":
            text = self.tr("目录已是最新（版本 %1，共 %2 项）").replace("%1", str(result.version))
        else:
            text = self.tr("目录已更新到版本 %1：更新 %3 项，删除 %4 项，共 %2 项").replace(
                "%1", str(result.version)).replace("%3", str(result.changed)).replace("%4", str(result.removed))
        self.status_bar.showMessage(text.replace("%2", str(result.guide_count)), STATUS_MESSAGE_MS)

    def _connection_clicked(self) -> None:
        if not self.window.show_page("settings"):
            self.monitor.probe_now()


# -- entry point -----------------------------------------------------------------------------------
def _prefer_offscreen() -> None:
    """The self-test draws offscreen unless a platform plugin was chosen explicitly."""
    if not os.environ.get("QT_QPA_PLATFORM"):
        os.environ["QT_QPA_PLATFORM"] = "offscreen"


def _install_excepthook(gui: Gui) -> None:
    """An exception escaping a Qt slot is a bug: log it and tell the clerk, keep running."""

    def hook(kind, value, tb):
        details = "".join(traceback.format_exception(kind, value, tb))
        log.error("uncaught exception:\n%s", details)
        if issubclass(kind, UserError):
            gui.errors.show_user_error(value.message)
        elif not issubclass(kind, KeyboardInterrupt):
            gui.errors.show_bug(Gui.tr("界面出错，已记录到日志。"), details)

    sys.excepthook = hook


def _quit_on_signals(qapp: QApplication) -> QTimer:
    """SIGINT/SIGTERM end the window through the normal shutdown (the training platform is
    stopped, jobs are cancelled). Python handles signals only when it runs, hence the timer."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            signal.signal(signum, lambda *_: qapp.quit())
        except (ValueError, OSError):  # not the main thread, or not supported here
            pass
    wake = QTimer()
    wake.setInterval(SIGNAL_POLL_MS)
    wake.timeout.connect(lambda: None)
    wake.start()
    return wake


def run_gui(data_dir: str | Path | None = None, platform_url: str | None = None, self_test: bool = False,
            screenshots: str | Path | None = None, exit_when_shown: bool = False) -> int:
    """Run the window until it is closed (or, with ``self_test``, until the self-test ends).

    ``exit_when_shown`` (the start-up benchmark) prints ``first-window-shown`` once the main
    window has been shown and the event loop runs, then quits."""
    if self_test:
        _prefer_offscreen()
    try:
        context = build_context(data_dir, platform_url)
    except UserError as exc:
        print(exc.message, file=sys.stderr)
        return 1
    gui: Gui | None = None
    try:
        qapp = QApplication.instance() or QApplication(sys.argv[:1])
        qapp.setApplicationName("counter-client")
        qapp.setApplicationDisplayName(QCoreApplication.translate("Gui", "跨省通办窗口"))
        qapp.setApplicationVersion(__version__)
        gui = Gui(context, qapp)
        qapp.aboutToQuit.connect(gui.shutdown)
        signal_wake = _quit_on_signals(qapp)  # noqa: F841 - kept alive for the run
        previous_hook = sys.excepthook
        _install_excepthook(gui)
        try:
            if self_test:
                from counter_client.ui.self_test import SelfTest

                test = SelfTest(gui.window, gui.catalogue_page, gui.refresher, gui.monitor, gui.errors,
                                training=context.training, look=gui.look, expected_family=FONT_FAMILY,
                                screenshots=Path(screenshots) if screenshots else None,
                                timeout_s=SELF_TEST_TIMEOUT_S, intake_page=gui.intake_page,
                                cases_page=gui.cases_page)
                gui.window.show()
                gui.start()
                test.start()
                qapp.exec()
                return test.exit_code
            gui.window.show()
            gui.start()
            if exit_when_shown:
                QTimer.singleShot(0, lambda: (print("first-window-shown", flush=True), qapp.quit()))
            return qapp.exec()
        finally:
            sys.excepthook = previous_hook
    finally:
        if gui is not None:
            gui.shutdown()
        else:
            context.close()
