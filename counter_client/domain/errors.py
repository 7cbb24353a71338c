"""The error taxonomy shared by every layer (``offline_cache`` included, which may import only
``domain``).

``UserError`` carries a message a clerk can act on (Chinese) and a log text (English); the UI
shows the first and logs the second. ``Cancelled`` is the quiet end of a job the user stopped.
Anything else is a bug: logged with its traceback and shown as an error dialog.
"""

from __future__ import annotations


class UserError(Exception):
    """A failure the clerk must see, with what is wrong and what to do."""

    def __init__(self, message: str, log: str | None = None):
        super().__init__(message)
        self.message = message
        self.log = log or message

    def __str__(self) -> str:
        return self.message


class StoreError(UserError):
    """The local store cannot be used as asked (newer schema, corrupt file, disk full)."""


class InvalidCatalogue(UserError):
    """A catalogue payload that breaks the contract; nothing of it was stored."""


class Cancelled(Exception):
    """The user cancelled a job; nothing to show."""
