"""Test-wide set-up: Qt draws offscreen (set before anything imports Qt), so the GUI tests run
on machines without a display and never pop windows on a developer's desktop."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "tests.keyring_memory.MemoryKeyring")


# Qt messages that say something about the offscreen platform plugin, not about our code
OFFSCREEN_NOISE = ("This plugin does not support propagateSizeHints()",)


def pytest_configure(config):
    for message in OFFSCREEN_NOISE:
        config.addinivalue_line("qt_log_ignore", message)
