"""Line icons of the window, drawn from the SVGs in ``resources/styles/icons`` in the colours of
the style sheet (one pixmap per state, so a selected navigation entry shows a white icon)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QByteArray, QRectF, Qt
from PySide6.QtGui import QIcon, QPainter, QPixmap
from PySide6.QtSvg import QSvgRenderer

from counter_client.paths import resource

log = logging.getLogger(__name__)

NORMAL_COLOUR = "#34495e"
SELECTED_COLOUR = "#ffffff"
ICON_PIXELS = (24, 32, 48)


def _render(svg: str, colour: str, size: int, ratio: float) -> QPixmap:
    renderer = QSvgRenderer(QByteArray(svg.replace("currentColor", colour).encode("utf-8")))
    pixels = max(1, round(size * ratio))
    pixmap = QPixmap(pixels, pixels)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    renderer.render(painter, QRectF(0, 0, pixels, pixels))
    painter.end()
    pixmap.setDevicePixelRatio(ratio)
    return pixmap


def icon(name: str, colour: str = NORMAL_COLOUR, selected_colour: str | None = SELECTED_COLOUR,
         ratio: float = 1.0) -> QIcon:
    """The icon ``name`` (file stem); an empty icon when the file is missing (logged)."""
    try:
        svg = resource("styles", "icons", f"{name}.svg").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        log.warning("icon %s unavailable: %s", name, exc)
        return QIcon()
    result = QIcon()
    for size in ICON_PIXELS:
        result.addPixmap(_render(svg, colour, size, ratio), QIcon.Mode.Normal, QIcon.State.Off)
        if selected_colour:
            selected = _render(svg, selected_colour, size, ratio)
            result.addPixmap(selected, QIcon.Mode.Normal, QIcon.State.On)
            result.addPixmap(selected, QIcon.Mode.Selected, QIcon.State.Off)
    return result
