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


class ProcessSharedKeyring(KeyringBackend):
    """For tests whose child processes must share one secure store (a case written by one
    ``counter-client`` process, read by the next): secrets in the JSON file named by
    ``COUNTER_CLIENT_TEST_KEYRING``, which each test puts in its own temporary directory. It stands
    in for the OS keyring in tests only; the application never writes a key to a file."""

    priority = 1

    @staticmethod
    def _path():
        import os
        from pathlib import Path

        return Path(os.environ["COUNTER_CLIENT_TEST_KEYRING"])

    def _all(self) -> dict:
        import json

        path = self._path()
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        import json

        data = self._all()
        data[f"{service}\0{username}"] = password
        self._path().write_text(json.dumps(data), encoding="utf-8")

    def delete_password(self, service: str, username: str) -> None:
        import json

        data = self._all()
        if data.pop(f"{service}\0{username}", None) is None:
            raise PasswordDeleteError(f"no secret for {service}/{username}")
        self._path().write_text(json.dumps(data), encoding="utf-8")
