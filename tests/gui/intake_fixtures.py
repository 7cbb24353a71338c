"""Fixtures of the intake and case-list widget tests (``pytest_plugins`` in those modules): the
real window (``Gui``) on a real catalogue file, a real case store and encrypted scan store
(training mode, the in-memory test keyring) and the synchronous task runner."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication

from counter_client.app import Gui, apply_look
from offline_cache import keys
from tests.keyring_memory import MemoryKeyring


@pytest.fixture
def fresh_keys():
    """No data key left over from another test (not autouse: ``pytest_plugins`` makes this
    module a plugin of the whole session)."""
    MemoryKeyring.clear()
    keys.forget_cached_keys()
    yield
    MemoryKeyring.clear()
    keys.forget_cached_keys()


@pytest.fixture
def make_gui(qtbot, sync_runner, fresh_keys):
    made = []

    def make(context, open_cases: bool = True) -> Gui:
        gui = Gui(context, QApplication.instance(), runner=sync_runner)
        qtbot.addWidget(gui.window)
        made.append(gui)
        if open_cases:
            gui.open_cases()
        return gui

    yield make
    for gui in made:
        gui.shutdown()
    apply_look(QApplication.instance(), large_font=False)


@pytest.fixture
def gui(make_gui, context):
    return make_gui(context)
