"""What the intake page uses to turn files and camera frames into pages.

The page never imports ``scanning`` itself (``ui`` reaches the world through what ``app.py``
hands it): ``app.make_scan_tools`` fills this in with ``scanning.importer.import_many``,
``scanning.watch.FolderWatch`` and the Qt Multimedia camera of ``scanning.camera``. Tests build
the same tools, so the page runs the real importer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ScanTools:
    """``import_many(paths, progress=…, cancelled=…)`` returns a report with ``imported``
    ((path, pages) pairs) and ``failures`` (each with ``path`` and ``message``), runs on the task
    runner. ``cameras()`` lists (id, description); ``make_capture(parent)`` makes a camera
    object with the signals of ``scanning.camera.CameraCapture``; ``normalise_frame(frame)``
    runs on the task runner and returns a page (``.data``). ``make_watch(folder)`` makes a
    folder watch (``poll()``). ``rotate_page(data, degrees)`` turns a normalised page clockwise
    (runs on the task runner; the 补正 dialog uses it, the intake page turns pages through its
    service)."""

    import_many: Callable[..., Any]
    suffixes: frozenset[str]
    cameras: Callable[[], list[tuple[bytes, str]]]
    make_capture: Callable[[Any], Any]
    normalise_frame: Callable[[Any], Any]
    make_watch: Callable[[str], Any]
    no_camera_message: str
    rotate_page: Callable[[bytes, int], bytes] | None = None
