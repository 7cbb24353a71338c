"""The error every scanning failure becomes: a ``UserError`` the clerk can act on."""

from __future__ import annotations

from counter_client.errors import UserError


class ScanError(UserError):
    """A file, folder or camera that cannot give pages; ``message`` says what is wrong and what to do."""
