"""Fault tests run against the same real reference platform as the integration tests."""

from tests.integration.conftest import (  # noqa: F401
    platform_cli,
    platform_server,
    platform_server_module,
    small_catalogue,
)
