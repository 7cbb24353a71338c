"""Widgets only: the window frame (``main_window``), the status bar, dialogs, icons, the
self-test driver, and one sub-package per page. Reaches the world through ``background``
operations and the services ``app.py`` hands in; never SQL, HTTP or PDF code."""
