"""Scans on the intake page: import with per-file errors, drop files on a row, page actions
(turn, move, delete and undo), the document camera (no device; a capture normalised on the
runner) and the watched folder feeding the selected material."""

from __future__ import annotations

import dataclasses
import io

import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QObject, QPointF, Qt, QUrl, Signal
from PySide6.QtGui import QDropEvent

from counter_client.scanning.camera import CapturedFrame, normalise_frame
from tests.gui.intake_helpers import (
    NATIONAL,
    pdf_file,
    png_file,
    show,
)

pytest_plugins = ("tests.gui.intake_fixtures",)  # make_gui, gui, fresh_keys

pytestmark = [pytest.mark.gui, pytest.mark.qt_log_ignore(r"^Couldn't (load|resolve) .*(va|pipewire).*")]


@pytest.fixture
def page(qtbot, gui):
    show(qtbot, gui)
    page = gui.intake_page
    page.add_item(NATIONAL)
    return page


def first_key(page) -> str:
    return page.case.materials[0].key


def test_import_keeps_good_files_and_says_why_others_failed(page, tmp_path):
    bad = tmp_path / "说明.txt"
    bad.write_text("这不是图片", encoding="utf-8")
    key = first_key(page)
    page.import_files(key, [str(png_file(tmp_path / "a.png")), str(bad), str(tmp_path / "missing.jpg")])
    assert len(page.case.materials[0].scans) == 1
    message = page.materials.rows[key].strip.message.text()
    assert "未导入“说明.txt”" in message and "未导入“missing.jpg”" in message
    assert page.materials.rows[key].strip.import_button.isEnabled()


def test_files_dropped_on_a_row_become_its_pages(page, tmp_path):
    key = page.case.materials[1].key
    row = page.materials.rows[key]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(pdf_file(tmp_path / "户口簿.pdf", pages=2)))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    row.dropEvent(event)
    assert len(page.case.materials[1].scans) == 2
    assert page.materials.selected == key


def test_page_actions_turn_move_delete_and_undo(qtbot, page, tmp_path):
    key = first_key(page)
    files = [str(png_file(tmp_path / f"p{i}.png", text=f"page {i}", size=(600 + i * 10, 800))) for i in range(3)]
    page.import_files(key, files)
    scans = list(page.case.materials[0].scans)
    assert len(scans) == 3
    strip = page.materials.rows[key].strip

    strip.pages.setCurrentRow(0)
    assert strip.action_buttons["rotate_right"].isVisibleTo(strip)
    qtbot.mouseClick(strip.action_buttons["rotate_right"], Qt.MouseButton.LeftButton)
    turned = page.case.materials[0].scans
    assert turned[0] != scans[0] and turned[1:] == scans[1:]
    with Image.open(io.BytesIO(page.service.scan(turned[0]))) as image:
        assert image.size[0] > image.size[1]  # portrait page now lies on its side
    page.service.blobs.verify(turned[0])

    strip.pages.setCurrentRow(0)
    qtbot.mouseClick(strip.action_buttons["move_right"], Qt.MouseButton.LeftButton)
    assert page.case.materials[0].scans == [scans[1], turned[0], scans[2]]
    assert strip.pages.currentRow() == 1

    strip.pages.setFocus()
    qtbot.keyClick(strip.pages, Qt.Key.Key_Delete)
    assert page.case.materials[0].scans == [scans[1], scans[2]] and page.case.materials[0].pages == 2
    assert strip.undo_button.isVisibleTo(strip)
    qtbot.keyClick(strip.pages, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.case.materials[0].scans == [scans[1], turned[0], scans[2]]
    assert not strip.undo_button.isVisibleTo(strip)
    page.autosaver.flush()
    assert page.service.load(page.case.id).materials[0].scans == [scans[1], turned[0], scans[2]]


def test_no_camera_says_so_in_place(page):
    page._tools = dataclasses.replace(page._tools, cameras=list)
    key = first_key(page)
    page.open_camera(key)
    message = page.materials.rows[key].strip.message
    assert "没有找到高拍仪" in message.text() and message.kind == "error"


class FakeCapture(QObject):
    """Stands in for the Qt Multimedia camera (no device in CI); same signals as CameraCapture."""

    camera_did_start = Signal()
    camera_did_fail = Signal(str)
    frame_did_capture = Signal(object)
    capture_did_fail = Signal(str)
    ready_did_change = Signal(bool)
    cameras_did_change = Signal()
    opened = []

    def open(self, device_id=None):
        self.opened.append(device_id)
        self.ready_did_change.emit(True)
        self.camera_did_start.emit()

    def set_preview(self, output):
        pass

    def capture(self):
        frame = CapturedFrame(Image.new("RGB", (1600, 1200), "white"), "高拍仪：测试", 0)
        self.frame_did_capture.emit(frame)

    def close(self):
        pass


def test_camera_capture_is_normalised_on_the_runner_and_stored(qtbot, page):
    threads = []

    def normalise(frame):
        import threading

        threads.append(threading.current_thread().name)
        return normalise_frame(frame)

    page._tools = dataclasses.replace(page._tools, cameras=lambda: [(b"cam-1", "测试高拍仪")],
                                      make_capture=lambda parent: FakeCapture(parent), normalise_frame=normalise)
    key = first_key(page)
    page.open_camera(key)
    dialog = page.camera_dialog
    assert dialog.devices.currentText() == "测试高拍仪" and dialog.shoot.isEnabled()
    qtbot.mouseClick(dialog.shoot, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.shoot, Qt.MouseButton.LeftButton)
    assert "已拍摄 2 页" in dialog.count_label.text()
    assert len(page.case.materials[0].scans) == 2
    assert threads  # went through the task runner's op (inline with the synchronous runner)
    with Image.open(io.BytesIO(page.service.scan(page.case.materials[0].scans[0]))) as image:
        assert image.format == "JPEG"
    dialog.accept()


def test_watched_folder_feeds_the_selected_material(qtbot, page, tmp_path):
    folder = tmp_path / "scanner"
    folder.mkdir()
    (folder / "old.png").write_bytes(png_file(tmp_path / "old.png").read_bytes())  # the last applicant's
    page.set_watch_folder(str(folder))
    assert page.poller.active
    key = page.case.materials[2].key
    page.materials.select(key)
    assert "新文件将加入：近期免冠照片" in page.materials.watch_status.text()
    png_file(folder / "scan-0001.png")
    page.poller.poll_now()  # seen once
    page.poller.poll_now()  # unchanged: complete
    assert len(page.case.materials[2].scans) == 1
    assert not page.case.materials[0].scans
