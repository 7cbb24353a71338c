"""The Qt binding itself: PySide6 6.12.0 on CPython 3.11 dropped a reference to ``None`` on every
call returning nothing and to ``True`` on every signal emit, killing the window after a few
thousand calls (``Fatal Python error: none_dealloc``). pyproject excludes that release; this
test catches any release that brings the bug back."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

CALLS = 200


class _Emitter(QObject):
    happened = Signal(int)


def test_void_calls_and_emits_keep_none_and_true_alive(qapp):
    obj = _Emitter()
    received = []
    obj.happened.connect(received.append)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for i in range(CALLS):
        obj.setObjectName(f"o{i}")
        obj.happened.emit(i)
    assert len(received) == CALLS
    assert sys.getrefcount(None) - none_before > -CALLS // 2, "the Qt binding leaks references to None"
    assert sys.getrefcount(True) - true_before > -CALLS // 2, "the Qt binding leaks references to True"
