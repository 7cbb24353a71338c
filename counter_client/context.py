"""The Qt-free half of the composition root: builds, in order, what both the CLI and the GUI
use (directories, settings, logging, stores, connection, services, the training platform) and
owns its shutdown. ``app.py`` adds the Qt objects on top of one of these.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from counter_client import logs
from counter_client.errors import UserError
from counter_client.paths import UserDirs, user_dirs
from counter_client.services.catalogue import CatalogueService
from counter_client.services.connection import Connection
from counter_client.services.training import TrainingPlatform
from counter_client.settings import Settings
from offline_cache.catalogue import CatalogueStore, open_catalogue

log = logging.getLogger(__name__)


@dataclass
class Context:
    dirs: UserDirs
    settings: Settings
    catalogue_store: CatalogueStore
    catalogue: CatalogueService
    connection: Connection
    training_platform: TrainingPlatform | None = None
    _closed: bool = field(default=False, repr=False)

    @property
    def training(self) -> bool:
        return self.settings.training

    def start_training_platform(self) -> str | None:
        """Start the bundled platform when in training mode (blocking; off the GUI thread)."""
        if self.training_platform is None:
            return None
        if self.training_platform.running():
            return self.training_platform.url
        try:
            url = self.training_platform.start()
        except UserError as exc:
            self.connection.set_unavailable(exc.message)
            raise
        self.connection.set_url(url)
        return url

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.training_platform is not None:
            self.training_platform.stop()
        self.catalogue_store.close()
        log.info("context closed")


def build_context(data_dir: str | Path | None = None, platform_url: str | None = None,
                  log_to_stderr: int | None = None) -> Context:
    dirs = user_dirs(data_dir).ensure()
    logs.configure(dirs.logs, stderr_level=log_to_stderr)
    settings = Settings.load(dirs.settings_file)
    for problem in settings.problems:
        log.warning("settings: %s", problem)
    if platform_url:
        try:
            settings.override("platform.url", platform_url)
        except ValueError as exc:
            raise UserError(f"平台地址无效：{exc}", f"invalid --platform {platform_url!r}") from None
    store = open_catalogue(dirs.catalogue_db)
    hall = settings.hall()
    catalogue = CatalogueService(store, hall_region=hall["hall.region_code"] or None,
                                 batch_size=settings.get("catalogue.batch_size"))
    training = settings.training
    connection = Connection(
        settings.get("platform.url") or None, name=settings.get("platform.name"), training=training,
        connect_timeout=settings.get("network.connect_timeout"),
        read_timeout=settings.get("network.read_timeout"),
        ca_bundle=settings.get("platform.ca_bundle") or None)
    platform = (TrainingPlatform(dirs.training_platform, log_file=dirs.logs / "training-platform.log")
                if training else None)
    log.info("context ready: data=%s training=%s", dirs.data, training)
    return Context(dirs, settings, store, catalogue, connection, platform)
