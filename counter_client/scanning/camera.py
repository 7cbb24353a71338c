"""Document camera (高拍仪) capture through Qt Multimedia: the one Qt module of ``scanning``.

Any UVC camera works: the device is opened with the largest picture it offers (the largest still
resolution, else the largest video format, at the best frame rate for that size), a preview can be
attached, and each capture is normalised straight from the ``QImage`` pixels into a ``Page`` (one
JPEG encode, no intermediate file: a scan never touches the disk unencrypted).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image
from PySide6.QtCore import QObject, QSize, Signal, Slot
from PySide6.QtGui import QImage
from PySide6.QtMultimedia import (
    QCamera,
    QCameraDevice,
    QCameraFormat,
    QImageCapture,
    QMediaCaptureSession,
    QMediaDevices,
    QVideoSink,
)

from counter_client.scanning.errors import ScanError
from counter_client.scanning.normalize import (
    DEFAULT_OPTIONS,
    NormalizeOptions,
    normalize_image,
)
from counter_client.scanning.pages import CAMERA_SOURCE_PREFIX, Page

log = logging.getLogger(__name__)

NO_CAMERA = "没有找到高拍仪或摄像头。请确认设备的 USB 线已插好、电源已打开，然后重试。"
CAMERA_GONE = "找不到所选的高拍仪，它可能已被拔出。请重新连接，然后在列表中重新选择。"
OPEN_FAILED = ("高拍仪“{name}”无法使用（{detail}）。请关闭可能占用它的其他程序（如高拍仪自带的软件），"
               "拔插 USB 线后重试。")
NOT_OPEN = "请先打开高拍仪，再拍摄。"
NOT_READY = "高拍仪还没有准备好，请稍候再拍。"
CAPTURE_FAILED = "拍摄失败（{detail}）。请重试；如仍失败，请拔插高拍仪后重新打开。"
BAD_FRAME = "高拍仪送来的图像无法使用，请重新拍摄。"

# runs a job somewhere else (the app's task runner); normalising an 8-megapixel frame takes a
# few hundred milliseconds, too long for the GUI thread


def cameras() -> list[tuple[bytes, str]]:
    """The connected cameras as ``(id, description)``, the system's default first."""
    devices = QMediaDevices.videoInputs()
    devices.sort(key=lambda d: not d.isDefault())
    return [(bytes(d.id().data()), d.description()) for d in devices]


def _area(size: QSize) -> int:
    return size.width() * size.height()


def best_photo_resolution(device: QCameraDevice) -> QSize | None:
    """The largest still-image resolution the device reports (many UVC drivers report none)."""
    sizes = [s for s in device.photoResolutions() if s.isValid() and not s.isEmpty()]
    return max(sizes, key=_area) if sizes else None


def best_video_format(device: QCameraDevice) -> QCameraFormat | None:
    """The largest video format, the fastest one of that size (MJPEG over raw YUYV, usually):
    where stills are grabbed from the stream, this is the picture the clerk gets."""
    formats = [f for f in device.videoFormats() if not f.isNull()]
    return max(formats, key=lambda f: (_area(f.resolution()), f.maxFrameRate())) if formats else None


def qimage_to_pil(image: QImage) -> Image.Image:
    """The QImage's pixels as a Pillow image ("L" for greyscale frames, else "RGB"), copied."""
    if image.isNull():
        raise ValueError("null QImage")
    grey = image.format() in (QImage.Format.Format_Grayscale8, QImage.Format.Format_Grayscale16)
    target = QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888
    converted = image.convertToFormat(target)
    mode = "L" if grey else "RGB"
    data = bytes(converted.constBits())
    size = (converted.width(), converted.height())
    return Image.frombuffer(mode, size, data, "raw", mode, converted.bytesPerLine(), 1).copy()


def page_from_qimage(image: QImage, options: NormalizeOptions = DEFAULT_OPTIONS, *, source: str = CAMERA_SOURCE_PREFIX,
                     index: int = 0) -> Page:
    """A captured frame normalised into a page (bounded, JPEG, no metadata)."""
    return normalize_image(qimage_to_pil(image), options, source=source, index=index)


@dataclass(frozen=True)
class CapturedFrame:
    """A still frame copied out of Qt, not yet normalised."""

    image: Any  # PIL.Image.Image
    source: str
    index: int


def normalise_frame(frame: CapturedFrame, options: NormalizeOptions = DEFAULT_OPTIONS) -> Page:
    """The page of a captured frame (bounded, JPEG, no metadata); Pillow only, any thread."""
    return normalize_image(frame.image, options, source=frame.source, index=frame.index)


class CameraCapture(QObject):
    """One open document camera with still capture and an optional live preview.

    ``open()`` raises ``ScanError`` when there is no camera or the chosen one is gone; failures
    that come later (the device is busy, unplugged, or fails to start) arrive as signals.
    A captured frame arrives as ``frame_did_capture(CapturedFrame)``, already copied out of Qt;
    ``normalise_frame`` (Pillow only, any thread) turns it into a page on the task runner.

    Signals:
        camera_did_start(): the camera is streaming; ``capture()`` can be used.
        camera_did_fail(str): a message for the clerk; the camera is closed.
        frame_did_capture(object): a ``CapturedFrame`` to normalise with ``normalise_frame``.
        capture_did_fail(str): a message for the clerk; the camera stays open.
        ready_did_change(bool): whether a capture can be taken now (enable the button on it).
        cameras_did_change(): a camera was plugged in or out (refresh the device list).
    """

    camera_did_start = Signal()
    camera_did_fail = Signal(str)
    frame_did_capture = Signal(object)
    capture_did_fail = Signal(str)
    ready_did_change = Signal(bool)
    cameras_did_change = Signal()

    def __init__(self, options: NormalizeOptions = DEFAULT_OPTIONS, parent: QObject | None = None):
        super().__init__(parent)
        self.options = options
        self._devices = QMediaDevices(self)
        self._devices.videoInputsChanged.connect(self.cameras_did_change)
        self._session = QMediaCaptureSession(self)
        self._camera: QCamera | None = None
        self._image_capture: QImageCapture | None = None
        self._preview: QObject | None = None
        self._description = ""
        self._captured = 0
        self._error_reported = False

    # state

    @property
    def is_open(self) -> bool:
        return self._camera is not None

    @property
    def is_ready(self) -> bool:
        return self._image_capture is not None and self._image_capture.isReadyForCapture()

    @property
    def description(self) -> str:
        return self._description

    @property
    def source(self) -> str:
        return f"{CAMERA_SOURCE_PREFIX}：{self._description}" if self._description else CAMERA_SOURCE_PREFIX

    # commands

    def open(self, device_id: bytes | None = None) -> None:
        """Open the camera with this id (from ``cameras()``), or the default one, and start it."""
        self.close()
        device = self._find_device(device_id)
        self._description = device.description()
        camera = QCamera(device, self)
        video_format = best_video_format(device)
        if video_format is not None:
            camera.setCameraFormat(video_format)
        image_capture = QImageCapture(self)
        image_capture.setQuality(QImageCapture.Quality.VeryHighQuality)
        photo = best_photo_resolution(device)
        if photo is not None:
            image_capture.setResolution(photo)
        elif video_format is not None:
            image_capture.setResolution(video_format.resolution())
        camera.errorOccurred.connect(self._on_camera_error)
        camera.activeChanged.connect(self._on_active_changed)
        image_capture.imageCaptured.connect(self._on_image_captured)
        image_capture.errorOccurred.connect(self._on_capture_error)
        image_capture.readyForCaptureChanged.connect(self.ready_did_change)
        self._session.setCamera(camera)
        self._session.setImageCapture(image_capture)
        self._camera, self._image_capture = camera, image_capture
        self._captured = 0
        log.info("opening camera %r (format %s, still %s)", self._description,
                 _describe_format(video_format), _describe_size(photo))
        camera.start()

    def set_preview(self, output: QObject | None) -> None:
        """Show the live picture in a ``QVideoWidget``, ``QGraphicsVideoItem`` or ``QVideoSink``."""
        self._preview = output
        if isinstance(output, QVideoSink):
            self._session.setVideoSink(output)
        else:
            self._session.setVideoOutput(output)

    def capture(self) -> None:
        """Take a still; the result comes as ``page_did_capture`` or ``capture_did_fail``."""
        if self._image_capture is None:
            self.capture_did_fail.emit(NOT_OPEN)
            return
        if not self._image_capture.isReadyForCapture():
            self.capture_did_fail.emit(NOT_READY)
            return
        self._error_reported = False
        if self._image_capture.capture() == -1 and not self._error_reported:
            self._report_capture_failure(self._image_capture.errorString() or "not ready")

    def close(self) -> None:
        """Stop the camera and let the device go (another program may then use it)."""
        camera, image_capture = self._camera, self._image_capture
        self._camera = self._image_capture = None
        if camera is None:
            return
        camera.errorOccurred.disconnect(self._on_camera_error)
        camera.activeChanged.disconnect(self._on_active_changed)
        camera.stop()
        self._session.setCamera(None)
        self._session.setImageCapture(None)
        camera.deleteLater()
        if image_capture is not None:
            image_capture.deleteLater()
        log.info("closed camera %r", self._description)

    # Qt slots

    @Slot(bool)
    def _on_active_changed(self, active: bool) -> None:
        if active:
            log.info("camera %r started", self._description)
            self.camera_did_start.emit()

    @Slot(QCamera.Error, str)
    def _on_camera_error(self, error: QCamera.Error, text: str) -> None:
        if error == QCamera.Error.NoError:
            return
        log.warning("camera %r failed: %s (%s)", self._description, text, error)
        message = OPEN_FAILED.format(name=self._description, detail=text or "设备错误")
        self.close()
        self.camera_did_fail.emit(message)

    @Slot(int, QImage)
    def _on_image_captured(self, request_id: int, image: QImage) -> None:
        """Copy the frame out of Qt (fast) and hand it on; normalising it (Pillow, a quarter of a
        second for 16 MP) is for the task runner: ``normalise_frame``."""
        index, self._captured = self._captured, self._captured + 1
        try:
            frame = CapturedFrame(qimage_to_pil(image), self.source, index)
        except (ValueError, OSError) as exc:
            log.warning("camera %r: capture %d unusable: %s", self._description, request_id, exc)
            self.capture_did_fail.emit(BAD_FRAME)
            return
        self.frame_did_capture.emit(frame)

    @Slot(int, QImageCapture.Error, str)
    def _on_capture_error(self, request_id: int, error: QImageCapture.Error, text: str) -> None:
        self._error_reported = True
        if error == QImageCapture.Error.NotReadyError:
            self.capture_did_fail.emit(NOT_READY)
            return
        self._report_capture_failure(f"{text} ({error})")

    # helpers

    def _report_capture_failure(self, detail: str) -> None:
        log.warning("camera %r: capture failed: %s", self._description, detail)
        self.capture_did_fail.emit(CAPTURE_FAILED.format(detail=detail))

    def _find_device(self, device_id: bytes | None) -> QCameraDevice:
        devices = QMediaDevices.videoInputs()
        if not devices:
            raise ScanError(NO_CAMERA, "camera: no video input device")
        if device_id is None:
            default = QMediaDevices.defaultVideoInput()
            return default if not default.isNull() else devices[0]
        for device in devices:
            if bytes(device.id().data()) == device_id:
                return device
        raise ScanError(CAMERA_GONE,
                        f"camera: device {device_id!r} not among {len(devices)} inputs")


def _describe_format(video_format: QCameraFormat | None) -> str:
    if video_format is None:
        return "default"
    size = video_format.resolution()
    return f"{size.width()}x{size.height()}@{video_format.maxFrameRate():g}fps {video_format.pixelFormat().name}"


def _describe_size(size: QSize | None) -> str:
    return "from video" if size is None else f"{size.width()}x{size.height()}"
