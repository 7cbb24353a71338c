"""An in-memory keyring backend for tests, selected through keyring's own configuration
(``PYTHON_KEYRING_BACKEND=tests.keyring_memory.MemoryKeyring``, set in ``tests/conftest.py``), so
no test ever touches the developer's real keyring."""

from __future__ import annotations

from typing import ClassVar

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(KeyringBackend):
    """Secrets in a class-level dict: shared by every instance, gone when the process ends."""

    priority = 1  # "recommended" in keyring's terms, like a real OS store
    secrets: ClassVar[dict[tuple[str, str], str]] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.secrets[(service, username)]
        except KeyError:
            raise PasswordDeleteError(f"no secret for {service}/{username}") from None

    @classmethod
    def clear(cls) -> None:
        cls.secrets.clear()
