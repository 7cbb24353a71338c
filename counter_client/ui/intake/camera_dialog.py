"""The document-camera (高拍仪) dialog: choose the device, see the live picture, capture pages.

Each capture arrives as a frame copied out of Qt; the page normalises it on the task runner
(never here) and stores it. The dialog opens window-modal without a nested event loop.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtMultimediaWidgets import QVideoWidget
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from counter_client.errors import UserError
from counter_client.ui.intake.tools import ScanTools
from counter_client.ui.widgets import FieldMessage, em, plain_label

log = logging.getLogger(__name__)


class CameraDialog(QDialog):
    """Signals:
        frame_was_captured(object frame): a ``CapturedFrame`` to normalise on the runner.
    """

    frame_was_captured = Signal(object)

    def __init__(self, tools: ScanTools, material_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(self.tr("高拍仪拍照 — %1").replace("%1", material_name))
        self.setWindowModality(Qt.WindowModality.WindowModal)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self._tools = tools
        self._count = 0
        self.capture = tools.make_capture(self)
        layout = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(plain_label(self.tr("设备"), "FormLabel", self))
        self.devices = QComboBox(self)
        for device_id, description in tools.cameras():
            self.devices.addItem(description, device_id)
        self.devices.currentIndexChanged.connect(self._open_selected)
        row.addWidget(self.devices, 1)
        layout.addLayout(row)
        self.preview = QVideoWidget(self)
        self.preview.setMinimumSize(em(self, 36), em(self, 26))
        layout.addWidget(self.preview, 1)
        self.message = FieldMessage(self)
        layout.addWidget(self.message)
        buttons = QHBoxLayout()
        self.count_label = plain_label("", "Hint", self)
        buttons.addWidget(self.count_label, 1)
        self.shoot = QPushButton(self.tr("拍摄（空格）"), self)
        self.shoot.setObjectName("Primary")
        self.shoot.setEnabled(False)
        self.shoot.clicked.connect(self._shoot)
        buttons.addWidget(self.shoot)
        done = QPushButton(self.tr("完成"), self)
        done.clicked.connect(self.accept)
        buttons.addWidget(done)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Space), self, activated=self._shoot)

        self.capture.set_preview(self.preview)
        self.capture.ready_did_change.connect(self.shoot.setEnabled)
        self.capture.camera_did_fail.connect(lambda text: self.message.set_live(text, "error"))
        self.capture.capture_did_fail.connect(lambda text: self.message.set_live(text, "error"))
        self.capture.frame_did_capture.connect(self._captured)
        self.capture.cameras_did_change.connect(self._devices_changed)
        self.finished.connect(lambda _r: self.capture.close())
        self._open_selected()

    def _open_selected(self) -> None:
        device_id = self.devices.currentData()
        try:
            self.capture.open(device_id)
            self.message.set_live(self.tr("正在打开高拍仪…"), "hint")
            self.capture.camera_did_start.connect(lambda: self.message.set_live(""))
        except UserError as exc:
            self.message.set_live(exc.message, "error")

    def _devices_changed(self) -> None:
        current = self.devices.currentData()
        self.devices.blockSignals(True)
        self.devices.clear()
        for device_id, description in self._tools.cameras():
            self.devices.addItem(description, device_id)
        index = self.devices.findData(current)
        self.devices.setCurrentIndex(max(0, index))
        self.devices.blockSignals(False)
        if not self.devices.count():
            self.message.set_live(self._tools.no_camera_message, "error")

    def _shoot(self) -> None:
        if self.shoot.isEnabled():
            self.capture.capture()

    def _captured(self, frame) -> None:
        self._count += 1
        self.count_label.setText(self.tr("已拍摄 %1 页").replace("%1", str(self._count)))
        self.frame_was_captured.emit(frame)
