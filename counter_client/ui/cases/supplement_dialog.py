"""收取补正材料: the materials the 办理地 asked for, one row each, with its page count and its
pages photographed (高拍仪) or imported — the same scan strip as the intake page.

Pages stay in memory until the clerk confirms (a cancelled dialog leaves nothing behind); the
page then stores them through the intake service (``IntakeService.add_supplement``: blobs,
the supplement record and its queue entry in one go) and closes the dialog, or shows why not
(``show_failure``). Imports, camera frames and turns run on the task runner.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.errors import UserError
from counter_client.ui.intake.scan_strip import THUMB_EM, ScanStrip, ThumbnailCache
from counter_client.ui.intake.tools import ScanTools
from counter_client.ui.widgets import (
    FieldMessage,
    FileDropFrame,
    em,
    plain_label,
)

log = logging.getLogger(__name__)

MAX_VISIBLE_ROWS = 3


@dataclass
class _Material:
    name: str
    scans: list[str] = field(default_factory=list)  # sha256 of the pages held in memory, in order
    pages_touched: bool = False
    deleted: tuple[int, str] | None = None  # the last page deleted (undo)


class SupplementRow(FileDropFrame):
    """One material asked for: its name, how many paper pages, and the scan strip (files may be
    dropped on the row).

    Signals:
        files_were_dropped(list paths)
    """

    files_were_dropped = Signal(list)

    def __init__(self, name: str, thumbnails: ThumbnailCache, suffixes: frozenset[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("MaterialRow")
        self.setAcceptDrops(True)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 8)
        layout.setSpacing(4)
        head = QHBoxLayout()
        head.setSpacing(10)
        self.name = plain_label(name, "MaterialName", self, wrap=True)
        head.addWidget(self.name, 1)
        head.addWidget(plain_label(self.tr("页数"), "FormLabel", self))
        self.pages = QSpinBox(self)
        self.pages.setRange(0, 9999)
        self.pages.setSuffix(self.tr(" 页"))
        self.pages.setFixedWidth(em(self, 6))
        self.pages.setToolTip(self.tr("纸质页数（扫描时自动计数）"))
        head.addWidget(self.pages)
        layout.addLayout(head)
        self.strip = ScanStrip(thumbnails, suffixes, self)
        layout.addWidget(self.strip)

    def files_dropped(self, paths: list[str]) -> None:
        self.files_were_dropped.emit(paths)


class SupplementDialog(QDialog):
    """Signals:
        supplement_was_confirmed(list materials): (name, pages, [page bytes]) per material.
    """

    supplement_was_confirmed = Signal(list)

    def __init__(self, runner: TaskRunner, tools: ScanTools, receipt_text: str, applicant: str, reason: str,
                 needed: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("收取补正材料 — %1").replace("%1", receipt_text))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._runner = runner
        self._tools = tools
        self._data: dict[str, bytes] = {}
        self.materials: dict[str, _Material] = {name: _Material(name) for name in needed}
        thumb = QSize(em(self, THUMB_EM[0]), em(self, THUMB_EM[1]))
        self.thumbnails = ThumbnailCache(runner, self._data.__getitem__, thumb, self)

        layout = QVBoxLayout(self)
        layout.setSpacing(10)
        intro = self.tr("收件编号 %1，申请人 %2。办理地要求补正下列材料：请逐项拍照或导入，核对页数后确认，"
                        "材料将报送办理地。").replace("%1", receipt_text).replace("%2", applicant or self.tr("（未填）"))
        layout.addWidget(plain_label(intro, "DialogText", self, wrap=True))
        if reason:
            layout.addWidget(plain_label(self.tr("办理地意见：%1").replace("%1", reason), "Hint", self, wrap=True))

        content = QWidget(self)
        rows = QVBoxLayout(content)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(8)
        self.rows: dict[str, SupplementRow] = {}
        for name in needed:
            row = SupplementRow(name, self.thumbnails, tools.suffixes, content)
            row.pages.valueChanged.connect(lambda _v, n=name: self._pages_edited(n))
            row.strip.files_were_chosen.connect(lambda paths, n=name: self.import_files(n, paths))
            row.files_were_dropped.connect(lambda paths, n=name: self.import_files(n, paths))
            row.strip.camera_was_requested.connect(lambda n=name: self.open_camera(n))
            row.strip.page_action_was_requested.connect(lambda action, index, n=name: self.page_action(n, action, index))
            row.strip.undo_was_requested.connect(lambda n=name: self.undo_delete(n))
            if tools.rotate_page is None:
                for key in ("rotate_left", "rotate_right"):
                    row.strip.action_buttons.pop(key).deleteLater()
            rows.addWidget(row)
            self.rows[name] = row
        rows.addStretch(1)
        scroll = QScrollArea(self)
        scroll.setObjectName("SupplementScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(content)
        row_height = thumb.height() + em(self, 7.5)
        scroll.setMinimumHeight(min(len(needed), MAX_VISIBLE_ROWS) * row_height)
        layout.addWidget(scroll, 1)

        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton(self.tr("取消"), self)
        self.cancel_button.clicked.connect(self.reject)
        buttons.addWidget(self.cancel_button)
        self.confirm_button = QPushButton(self.tr("确认收取并报送（Ctrl+Enter）"), self)
        self.confirm_button.setObjectName("Primary")
        self.confirm_button.clicked.connect(self.confirm)
        buttons.addWidget(self.confirm_button)
        layout.addLayout(buttons)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            QShortcut(QKeySequence(keys), self, activated=self.confirm)
        self.setMinimumWidth(em(self, 46))
        if needed:
            self.rows[needed[0]].strip.camera_button.setFocus()
        self._update()

    # -- pages ------------------------------------------------------------------------------------
    def add_pages(self, name: str, pages: list[tuple[str, bytes]]) -> None:
        """Pages (sha256, data) for material ``name`` (GUI thread)."""
        m = self.materials.get(name)
        if m is None or not pages:
            return
        for sha, data in pages:
            self._data[sha] = data
            m.scans.append(sha)
        self._show(name, select=len(m.scans) - 1)

    def import_files(self, name: str, paths: list) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        row.strip.set_busy(self.tr("正在导入 %1 个文件…").replace("%1", str(len(paths))))
        import_many = self._tools.import_many

        def work(job):
            report = import_many(paths, progress=lambda d, t: job.progress(d, t), cancelled=job.cancelled)
            return report, [(hashlib.sha256(p.data).hexdigest(), p.data) for p in report.pages]

        (self._runner.op(work)
         .with_progress(self.tr("正在导入补正材料…"))
         .on_success(lambda result: self._imported(name, *result))
         .on_failure(lambda exc: self._failed(name, exc))
         .run())

    def _imported(self, name: str, report, pages: list[tuple[str, bytes]]) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        row.strip.set_busy("")
        if report.failures:
            row.strip.message.set_live("\n".join(
                self.tr("未导入“%1”：%2").replace("%1", f.path.name).replace("%2", f.message) for f in report.failures),
                "error")
        else:
            row.strip.message.set_live("")
        self.add_pages(name, pages)

    def _failed(self, name: str, exc: BaseException) -> None:
        row = self.rows.get(name)
        if row is not None:
            row.strip.set_busy("")
            row.strip.message.set_live(exc.message if isinstance(exc, UserError)
                                       else self.tr("扫描件处理出错，已记录到日志。"), "error")

    def open_camera(self, name: str) -> None:
        row = self.rows.get(name)
        if row is None:
            return
        if not self._tools.cameras():
            row.strip.message.set_live(self._tools.no_camera_message, "error")
            return
        from counter_client.ui.intake.camera_dialog import CameraDialog

        dialog = CameraDialog(self._tools, name, self)
        dialog.frame_was_captured.connect(lambda frame: self._frame_captured(name, frame))
        self.camera_dialog = dialog
        dialog.open()

    def _frame_captured(self, name: str, frame) -> None:
        normalise = self._tools.normalise_frame

        def work(job):
            data = normalise(frame).data
            return [(hashlib.sha256(data).hexdigest(), data)]

        (self._runner.op(work)
         .on_success(lambda pages: self.add_pages(name, pages))
         .on_failure(lambda exc: self._failed(name, exc))
         .run())

    def page_action(self, name: str, action: str, index: int) -> None:
        m = self.materials.get(name)
        if m is None or not 0 <= index < len(m.scans):
            return
        if action in ("rotate_left", "rotate_right"):
            self._rotate(name, index, -90 if action == "rotate_left" else 90)
            return
        if action in ("move_left", "move_right"):
            target = index - 1 if action == "move_left" else index + 1
            if 0 <= target < len(m.scans):
                m.scans[index], m.scans[target] = m.scans[target], m.scans[index]
                self._show(name, select=target)
        elif action == "delete":
            m.deleted = (index, m.scans.pop(index))
            self.rows[name].strip.set_can_undo(True)
            self._show(name, select=min(index, len(m.scans) - 1))

    def undo_delete(self, name: str) -> None:
        m = self.materials.get(name)
        if m is None or m.deleted is None:
            return
        index, sha = m.deleted
        m.deleted = None
        index = min(index, len(m.scans))
        m.scans.insert(index, sha)
        self.rows[name].strip.set_can_undo(False)
        self._show(name, select=index)

    def _rotate(self, name: str, index: int, degrees: int) -> None:
        rotate = self._tools.rotate_page
        m = self.materials[name]
        old = m.scans[index]
        data = self._data[old]

        def work(job):
            turned = rotate(data, degrees)
            return hashlib.sha256(turned).hexdigest(), turned

        def done(result) -> None:
            sha, turned = result
            if index < len(m.scans) and m.scans[index] == old:
                self._data[sha] = turned
                m.scans[index] = sha
                self._show(name, select=index)

        (self._runner.op(work).on_success(done).on_failure(lambda exc: self._failed(name, exc)).run())

    def _pages_edited(self, name: str) -> None:
        m = self.materials.get(name)
        row = self.rows.get(name)
        if m is not None and row is not None and not row.pages.signalsBlocked():
            m.pages_touched = True
            self._update()

    def _show(self, name: str, select: int | None = None) -> None:
        m, row = self.materials[name], self.rows[name]
        row.strip.set_scans(m.scans, select=select if select is not None and select >= 0 else None)
        if not m.pages_touched or row.pages.value() < len(m.scans):
            row.pages.blockSignals(True)
            row.pages.setValue(len(m.scans))
            row.pages.blockSignals(False)
        self._update()

    # -- confirm ----------------------------------------------------------------------------------
    def missing(self) -> list[str]:
        return [name for name, m in self.materials.items() if not m.scans]

    def collected(self) -> list[tuple[str, int, list[bytes]]]:
        return [(name, max(self.rows[name].pages.value(), len(m.scans)), [self._data[sha] for sha in m.scans])
                for name, m in self.materials.items()]

    def _update(self) -> None:
        missing = self.missing()
        if missing:
            self.message.set_live(self.tr("还缺：%1（每项至少一页扫描件）").replace("%1", "、".join(missing)), "hint")
        else:
            pages = sum(len(m.scans) for m in self.materials.values())
            self.message.set_live(self.tr("%1 项材料共 %2 页，可以确认。").replace("%1", str(len(self.materials)))
                                  .replace("%2", str(pages)), "ok")

    def confirm(self) -> None:
        missing = self.missing()
        if missing:
            self.message.set_live(self.tr("还缺：%1。每项须拍照或导入至少一页，补正材料才能报送办理地。")
                                  .replace("%1", "、".join(missing)), "error")
            return
        self.set_busy(True)
        self.message.set_live(self.tr("正在保存补正材料…"), "hint")
        self.supplement_was_confirmed.emit(self.collected())

    def set_busy(self, busy: bool) -> None:
        self.confirm_button.setEnabled(not busy)
        self.cancel_button.setEnabled(not busy)
        for row in self.rows.values():
            row.setEnabled(not busy)

    def show_failure(self, message: str) -> None:
        self.set_busy(False)
        self.message.set_live(message, "error")
