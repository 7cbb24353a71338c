"""Document camera: the no-camera path and QImage -> normalised page, without a device.

These need a Q(Gui)Application (pytest-qt's ``qapp``), offscreen; no camera is opened.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import QCameraDevice

from counter_client.scanning import camera
from counter_client.scanning.camera import (
    CameraCapture,
    best_photo_resolution,
    best_video_format,
    cameras,
    page_from_qimage,
    qimage_to_pil,
)
from counter_client.scanning.errors import ScanError
from counter_client.scanning.normalize import NormalizeOptions
from counter_client.scanning.pages import JPEG

# Keep Qt calls that return nothing (fill, setPixelColor, ...) and signal emissions few here:
# PySide6 6.12.0 on CPython 3.11 drops a reference to None (void calls) or True (emit) on each
# one, and some thousands of them end the process with "Fatal Python error: none_dealloc".

# Qt Multimedia's FFmpeg backend probes for VA-API/PipeWire libraries when it starts and warns
# when the machine (a headless CI box) has none: noise about the host, not about our code.
pytestmark = pytest.mark.qt_log_ignore(r"^Couldn't (load|resolve) .*(va|pipewire).*")

@pytest.fixture
def no_camera(qapp):
    if cameras():
        pytest.skip("a camera is connected to this machine")


def test_no_camera_gives_a_clear_message(no_camera):
    capture = CameraCapture()
    with pytest.raises(ScanError) as info:
        capture.open()
    assert info.value.message == camera.NO_CAMERA
    assert "高拍仪" in info.value.message and info.value.log.startswith("camera:")
    assert not capture.is_open and not capture.is_ready


def test_capture_before_open_fails_with_a_message(qapp):
    capture = CameraCapture()
    failures, pages = [], []
    capture.capture_did_fail.connect(failures.append)
    capture.frame_did_capture.connect(pages.append)
    capture.capture()
    assert failures == [camera.NOT_OPEN] and pages == []
    capture.close()  # closing what is not open is harmless


def test_null_device_offers_no_format(qapp):
    device = QCameraDevice()
    assert best_photo_resolution(device) is None
    assert best_video_format(device) is None


def _qimage(width: int, height: int, fmt=QImage.Format.Format_RGB32) -> QImage:
    """Left half red, right half blue, built from bytes (not pixel by pixel: see the module note)."""
    pil = Image.new("RGB", (width, height), (30, 90, 200))
    pil.paste((220, 20, 20), (0, 0, width // 2, height))
    image = QImage(pil.tobytes(), width, height, width * 3, QImage.Format.Format_RGB888)
    return image.convertToFormat(fmt)   # a deep copy in the wanted format, owning its pixels


@pytest.mark.parametrize("fmt", [QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32,
                                 QImage.Format.Format_RGB888, QImage.Format.Format_BGR888])
def test_qimage_pixels_reach_pillow_exactly(qapp, fmt):
    image = _qimage(101, 37, fmt)          # odd width: rows are padded in Qt
    pil = qimage_to_pil(image)
    assert pil.mode == "RGB" and pil.size == (101, 37)
    assert pil.getpixel((10, 18)) == (220, 20, 20)
    assert pil.getpixel((90, 18)) == (30, 90, 200)
    assert pil.getpixel((90, 36)) == (30, 90, 200)


def test_grey_frames_stay_grey(qapp):
    image = QImage(bytes([128]) * 1000, 50, 20, 50, QImage.Format.Format_Grayscale8).copy()
    pil = qimage_to_pil(image)
    assert pil.mode == "L" and pil.getpixel((3, 3)) == 128


def test_null_qimage_is_refused(qapp):
    with pytest.raises(ValueError):
        qimage_to_pil(QImage())


def test_a_large_frame_becomes_a_bounded_jpeg_page(qapp):
    image = _qimage(4000, 3000)
    page = page_from_qimage(image, NormalizeOptions(), source="高拍仪：Test", index=4)
    assert (page.width, page.height) == (3000, 2250)
    assert page.media_type == JPEG and page.index == 4
    decoded = Image.open(io.BytesIO(page.data))
    assert decoded.format == "JPEG" and decoded.size == (3000, 2250) and not decoded.getexif()


def test_captured_frame_is_emitted_and_normalised_off_qt(qapp):
    capture = CameraCapture(NormalizeOptions(grayscale=True))
    frames, failures = [], []
    capture.frame_did_capture.connect(frames.append)
    capture.capture_did_fail.connect(failures.append)
    capture._on_image_captured(1, _qimage(640, 480))    # what QImageCapture delivers
    capture._on_image_captured(2, _qimage(640, 480))
    assert failures == []
    with ThreadPoolExecutor(max_workers=1) as pool:  # the normalising runs on a worker thread
        pages = list(pool.map(lambda frame: camera.normalise_frame(frame, capture.options), frames))
    assert [(p.width, p.height, p.index) for p in pages] == [(640, 480, 0), (640, 480, 1)]
    assert pages[0].source.startswith("高拍仪")
    assert Image.open(io.BytesIO(pages[0].data)).mode == "L"


def test_an_unusable_frame_is_a_capture_failure(qapp):
    capture = CameraCapture()
    failures = []
    capture.capture_did_fail.connect(failures.append)
    capture._on_image_captured(1, QImage())
    assert failures == [camera.BAD_FRAME]


def test_photo_resolution_choice_prefers_the_largest(qapp):
    class FakeDevice:
        def photoResolutions(self):
            return [QSize(640, 480), QSize(3264, 2448), QSize(1920, 1080), QSize()]

    assert best_photo_resolution(FakeDevice()) == QSize(3264, 2448)


def test_video_format_choice_prefers_the_largest_then_the_fastest(qapp):
    class FakeFormat:
        def __init__(self, width, height, fps):
            self.size, self.fps = QSize(width, height), fps

        def isNull(self):
            return False

        def resolution(self):
            return self.size

        def maxFrameRate(self):
            return self.fps

    class FakeDevice:
        formats = (FakeFormat(1920, 1080, 30), FakeFormat(3264, 2448, 2), FakeFormat(3264, 2448, 15),
                   FakeFormat(640, 480, 30))

        def videoFormats(self):
            return list(self.formats)

    assert best_video_format(FakeDevice()) is FakeDevice.formats[2]
