"""The scan strip of one material: page thumbnails and what can be done with them.

Thumbnails are decoded on the task runner (the page is decrypted and scaled there as a
``QImage``, which is safe off the GUI thread) and cached by SHA-256, so a page that moves or is
shared by two materials is decoded once. Page actions (turn, move, delete, undo) appear when a
page is selected; Delete and Ctrl+Z work on the selected page too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QObject, QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QImage, QKeySequence, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QBoxLayout,
    QFileDialog,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.background.tasks import TaskRunner
from counter_client.ui.widgets import FieldMessage, em

log = logging.getLogger(__name__)

THUMB_EM = (6.0, 8.0)  # width, height in 中-widths: larger in large-font mode
SHA_ROLE = Qt.ItemDataRole.UserRole + 1


class ThumbnailCache(QObject):
    """Decodes page thumbnails on the runner; one request per page however often it is asked for.

    Signals:
        thumbnail_did_load(str sha256, QPixmap)
    """

    thumbnail_did_load = Signal(str, QPixmap)

    def __init__(self, runner: TaskRunner, read: Callable[[str], bytes], size: QSize,
                 parent: QObject | None = None):
        super().__init__(parent)
        self._runner = runner
        self._read = read
        self.size = size
        self._pixmaps: dict[str, QPixmap] = {}
        self._pending: set[str] = set()

    def set_reader(self, read: Callable[[str], bytes]) -> None:
        self._read = read

    def clear(self) -> None:
        self._pixmaps.clear()

    def get(self, sha: str) -> QPixmap | None:
        pixmap = self._pixmaps.get(sha)
        if pixmap is None and sha not in self._pending:
            self._pending.add(sha)
            read, size = self._read, self.size
            (self._runner.op(lambda job: _decode(read(sha), size))
             .on_success(lambda image: self._loaded(sha, image))
             .on_failure(lambda exc: self._failed(sha, exc))
             .run())
        return self._pixmaps.get(sha)  # a synchronous runner has it already

    def _loaded(self, sha: str, image: QImage) -> None:
        self._pending.discard(sha)
        pixmap = QPixmap.fromImage(image) if not image.isNull() else _broken(self.size)
        self._pixmaps[sha] = pixmap
        self.thumbnail_did_load.emit(sha, pixmap)

    def _failed(self, sha: str, exc: BaseException) -> None:
        self._pending.discard(sha)
        log.warning("thumbnail of a page could not be made: %s", type(exc).__name__)
        pixmap = _broken(self.size)
        self._pixmaps[sha] = pixmap
        self.thumbnail_did_load.emit(sha, pixmap)


def _decode(data: bytes, size: QSize) -> QImage:
    """Runner: the page as a small image with a thin edge, so white paper shows as a page
    (QImage and QPainter on a QImage work off the GUI thread)."""
    image = QImage.fromData(data)
    if image.isNull():
        return image
    inner = QSize(size.width() - 2, size.height() - 2)
    image = image.scaled(inner, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation)
    framed = QImage(image.width() + 2, image.height() + 2, QImage.Format.Format_RGB32)
    framed.fill(QColor("#9aa5b1"))
    painter = QPainter(framed)
    painter.drawImage(1, 1, image)
    painter.end()
    return framed


def _broken(size: QSize) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(QColor("#f4f6f8"))
    painter = QPainter(pixmap)
    painter.setPen(QColor("#c62828"))
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "?")
    painter.end()
    return pixmap


class ScanStrip(QWidget):
    """Thumbnails of one material's pages with capture, import and page actions.

    Signals:
        camera_was_requested()
        files_were_chosen(list paths)
        page_action_was_requested(str action, int index): rotate_left, rotate_right, move_left,
            move_right, delete
        undo_was_requested()
    """

    camera_was_requested = Signal()
    files_were_chosen = Signal(list)
    page_action_was_requested = Signal(str, int)
    undo_was_requested = Signal()

    def __init__(self, thumbnails: ThumbnailCache, suffixes: frozenset[str], parent: QWidget | None = None):
        super().__init__(parent)
        self._thumbnails = thumbnails
        self._suffixes = suffixes
        self._scans: list[str] = []
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)

        row = QHBoxLayout()
        row.setSpacing(6)
        self.pages = QListWidget(self)
        self.pages.setObjectName("ScanPages")
        self.pages.setViewMode(QListView.ViewMode.IconMode)
        self.pages.setFlow(QListView.Flow.LeftToRight)
        self.pages.setWrapping(False)
        self.pages.setMovement(QListView.Movement.Static)
        self.pages.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.pages.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.pages.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.pages.setIconSize(thumbnails.size)
        self.pages.setSpacing(4)
        self.pages.setFixedHeight(thumbnails.size.height() + em(self, 2.6))
        self.pages.currentRowChanged.connect(self._selection_changed)
        self.pages.installEventFilter(self)
        self.empty = FieldMessage(self)
        self.empty.set_live(self.tr("尚无扫描页：拍照、导入文件，或把文件拖到这一行"), "hint")
        row.addWidget(self.pages, 1)
        row.addWidget(self.empty, 1)
        self._row = row

        buttons = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        buttons.setSpacing(4)
        self._buttons = buttons
        self.camera_button = QPushButton(self.tr("拍照"), self)
        self.camera_button.setToolTip(self.tr("用高拍仪拍摄这份材料"))
        self.camera_button.clicked.connect(self.camera_was_requested)
        self.import_button = QPushButton(self.tr("导入…"), self)
        self.import_button.setToolTip(self.tr("导入图片或 PDF 文件（可多选）"))
        self.import_button.clicked.connect(self.choose_files)
        buttons.addWidget(self.camera_button)
        buttons.addWidget(self.import_button)
        buttons.addStretch(1)
        row.addLayout(buttons)
        layout.addLayout(row)

        actions = QHBoxLayout()
        actions.setSpacing(4)
        self.action_buttons: dict[str, QPushButton] = {}
        for key, text, tip in (("rotate_left", self.tr("↺ 左转"), self.tr("逆时针转 90°")),
                               ("rotate_right", self.tr("↻ 右转"), self.tr("顺时针转 90°")),
                               ("move_left", self.tr("◀ 前移"), self.tr("把这一页往前移")),
                               ("move_right", self.tr("后移 ▶"), self.tr("把这一页往后移")),
                               ("delete", self.tr("删除此页"), self.tr("删除选中的页（Delete），可撤销"))):
            button = QPushButton(text, self)
            button.setObjectName("SmallButton")
            button.setToolTip(tip)
            button.clicked.connect(lambda _=False, k=key: self._act(k))
            actions.addWidget(button)
            self.action_buttons[key] = button
        self.undo_button = QPushButton(self.tr("撤销删除"), self)
        self.undo_button.setObjectName("SmallButton")
        self.undo_button.setToolTip(self.tr("恢复刚删除的页（Ctrl+Z）"))
        self.undo_button.clicked.connect(self.undo_was_requested)
        self.undo_button.hide()
        actions.addWidget(self.undo_button)
        actions.addStretch(1)
        layout.addLayout(actions)

        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        thumbnails.thumbnail_did_load.connect(self._thumbnail_loaded)
        self._update_actions()
        self._show_empty()

    # -- content ---------------------------------------------------------------------------------
    @property
    def scans(self) -> list[str]:
        return list(self._scans)

    def set_scans(self, scans: list[str], select: int | None = None) -> None:
        if scans == self._scans and select is None:
            return
        current = self.pages.currentRow() if select is None else select
        self._scans = list(scans)
        self.pages.blockSignals(True)
        self.pages.clear()
        for number, sha in enumerate(scans, start=1):
            item = QListWidgetItem(self.tr("第 %1 页").replace("%1", str(number)))
            item.setData(SHA_ROLE, sha)
            item.setTextAlignment(Qt.AlignmentFlag.AlignHCenter)
            pixmap = self._thumbnails.get(sha)
            item.setIcon(_icon(pixmap if pixmap is not None else _placeholder(self._thumbnails.size)))
            self.pages.addItem(item)
        if scans and current is not None and current >= 0:
            self.pages.setCurrentRow(min(current, len(scans) - 1))
        self.pages.blockSignals(False)
        self._show_empty()
        self._update_actions()

    def set_can_undo(self, can: bool) -> None:
        self.undo_button.setVisible(can)

    def set_busy(self, text: str) -> None:
        self.import_button.setEnabled(not text)
        self.camera_button.setEnabled(not text)
        if text:
            self.message.set_live(text, "hint")
        elif self.message.kind == "hint":
            self.message.set_live("")

    def choose_files(self) -> None:
        patterns = " ".join(f"*{s}" for s in sorted(self._suffixes))
        paths, _ = QFileDialog.getOpenFileNames(self, self.tr("导入材料文件"), "",
                                                self.tr("图片或 PDF（%1）").replace("%1", patterns))
        if paths:
            self.files_were_chosen.emit(list(paths))

    # -- internals -------------------------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:  # noqa: N802
        if watched is self.pages and event.type() == event.Type.KeyPress:
            if event.key() == Qt.Key.Key_Delete and self.pages.currentRow() >= 0:
                self._act("delete")
                return True
            if event.matches(QKeySequence.StandardKey.Undo) and self.undo_button.isVisible():
                self.undo_was_requested.emit()
                return True
        return super().eventFilter(watched, event)

    def _act(self, key: str) -> None:
        row = self.pages.currentRow()
        if row >= 0:
            self.page_action_was_requested.emit(key, row)

    def _selection_changed(self, _row: int) -> None:
        self._update_actions()

    def _update_actions(self) -> None:
        row = self.pages.currentRow()
        selected = row >= 0 and bool(self._scans)
        for key, button in self.action_buttons.items():
            button.setVisible(selected)
        if selected:
            self.action_buttons["move_left"].setEnabled(row > 0)
            self.action_buttons["move_right"].setEnabled(row < len(self._scans) - 1)

    def _show_empty(self) -> None:
        """Without pages: one line (hint, then the buttons side by side); with pages the buttons
        stand beside the thumbnails."""
        has = bool(self._scans)
        self.pages.setVisible(has)
        self.empty.setVisible(not has)
        self._buttons.setDirection(QBoxLayout.Direction.TopToBottom if has else QBoxLayout.Direction.LeftToRight)

    def _thumbnail_loaded(self, sha: str, pixmap: QPixmap) -> None:
        for row in range(self.pages.count()):
            item = self.pages.item(row)
            if item.data(SHA_ROLE) == sha:
                item.setIcon(_icon(pixmap))


def _icon(pixmap: QPixmap) -> QIcon:
    """The thumbnail as it is, also when selected (the selection shows as a frame, not a tint)."""
    icon = QIcon()
    for mode in (QIcon.Mode.Normal, QIcon.Mode.Selected, QIcon.Mode.Active):
        icon.addPixmap(pixmap, mode)
    return icon


def _placeholder(size: QSize) -> QPixmap:
    pixmap = QPixmap(size)
    pixmap.fill(QColor("#f4f6f8"))
    return pixmap
