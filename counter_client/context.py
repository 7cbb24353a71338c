"""The Qt-free half of the composition root: builds, in order, what both the CLI and the GUI
use (directories, settings, logging, stores, connection, services, the training platform) and
owns its shutdown. ``app.py`` adds the Qt objects on top of one of these.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from counter_client import logs
from counter_client.errors import StoreError, UserError
from counter_client.paths import UserDirs, user_dirs
from counter_client.services.catalogue import CatalogueService
from counter_client.services.connection import Connection
from counter_client.services.intake import IntakeService, Terminal
from counter_client.services.training import TrainingPlatform
from counter_client.settings import Settings
from offline_cache.blobs import BlobStore
from offline_cache.cases import CaseStore, installation_id
from offline_cache.cases import open_store as open_cases_store
from offline_cache.catalogue import CatalogueStore, open_catalogue
from offline_cache.crypto import Cipher
from offline_cache.keys import DataKeys, load_data_keys, new_installation_id

if TYPE_CHECKING:  # both load requests: only when the platform is used, not at start-up
    from counter_client.services.login import LoginService
    from counter_client.services.printing import PrintService
    from counter_client.services.mail import MailPolicy, MailService
    from counter_client.services.sync import SyncEngine

log = logging.getLogger(__name__)

EPHEMERAL_TRAINING = ("本机没有可用的安全密钥存储。培训模式下本次练习的办件只保存在本次运行中，关闭程序后自动清除；"
                      "正式使用前须启用系统密钥服务（Linux 桌面的 Secret Service / KWallet，Windows 的凭据管理器）。")


@dataclass
class Context:
    dirs: UserDirs
    settings: Settings
    catalogue_store: CatalogueStore
    catalogue: CatalogueService
    connection: Connection
    training_platform: TrainingPlatform | None = None
    _closed: bool = field(default=False, repr=False)
    _intake: IntakeService | None = field(default=None, repr=False)
    _cases: CaseStore | None = field(default=None, repr=False)
    _scratch: Path | None = field(default=None, repr=False)
    _login: LoginService | None = field(default=None, repr=False)
    notices: list[str] = field(default_factory=list)  # things the clerk should be told once

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

    def intake(self) -> IntakeService:
        """The intake service, opened on first use: it needs the data key from the OS keyring,
        which the catalogue does not, so a machine without a secure store can still search."""
        if self._intake is None:
            cases_db, scans = self.dirs.cases_db, self.dirs.scans
            store = open_cases_store(cases_db)
            try:
                keys = load_data_keys(installation_id(store, new_installation_id))
            except StoreError as exc:
                if not self.training:
                    store.close()
                    raise
                # Training on a computer without a secure store: practise with a key that lives
                # only in memory, on a scratch copy removed at exit; nothing real is at stake and
                # no key is ever written to a file.
                store.close()
                log.warning("no secure store (%s); training cases kept for this run only", exc.log)
                self.notices.append(EPHEMERAL_TRAINING)
                self._scratch = Path(tempfile.mkdtemp(prefix="training-", dir=self.dirs.data))
                cases_db, scans = self._scratch / "cases.sqlite3", self._scratch / "scans"
                store = open_cases_store(cases_db)
                keys = DataKeys.generate()
            cipher = Cipher(keys, self.settings.get("security.cipher"))
            self._cases = CaseStore(store, cipher)
            blobs = BlobStore(scans, cipher, min_free_bytes=self.settings.get("scans.min_free_mb") * 2**20)
            self._intake = IntakeService(self._cases, blobs, self.catalogue, self.terminal(),
                                         known_area=self._known_area)
        return self._intake

    def printing(self) -> PrintService:
        """The print service over the cases file's print log (opens the case store if needed)."""
        from counter_client.services.printing import PrintService
        from offline_cache.printlog import PrintLog

        cases = self.intake().cases
        return PrintService(PrintLog(cases.store, cases.cipher), self.settings, self.catalogue)

    def login_service(self) -> LoginService:
        """The clerk's platform session (the platform's address must be known: in training the
        bundled platform must be started first)."""
        from counter_client.services.login import LoginService

        url = self.connection.status.url
        if not url:
            raise UserError("尚未配置平台地址，无法登录。请设置 platform.url。", "login without a platform url")
        intake = self.intake()
        if self._login is None or self._login.platform_url != url.rstrip("/"):
            self._login = LoginService(intake.cases, self.terminal(), url, training=self.training)
        return self._login

    def sync_engine(self) -> SyncEngine:
        """A sync engine for the calling thread (each thread that syncs makes its own)."""
        from counter_client.services.sync import SyncEngine, SyncPolicy

        intake = self.intake()
        policy = SyncPolicy(chunk_bytes=int(self.settings.get("sync.chunk_mb") * 2**20))
        return SyncEngine(intake.cases, intake.blobs, self.login_service(), self.connection.delivery_client,
                          clock_offset=lambda: self.connection.status.clock_offset_s, policy=policy,
                          mail_policy=self.mail_policy())

    def mail_policy(self) -> MailPolicy:
        from counter_client.services.mail import MailPolicy

        get = self.settings.get
        return MailPolicy(get("mail.pool_low_water"), get("mail.pool_refill"), get("mail.number_kind"))

    def mail(self) -> MailService:
        """Pool, parcels and mail legs (for the calling thread)."""
        from counter_client.services.mail import MailService

        intake = self.intake()
        return MailService(intake.cases, self.catalogue, self.terminal().clerk, self.mail_policy())

    def terminal(self) -> Terminal:
        hall = self.settings.hall()
        code, number = hall["hall.township_code"], hall["hall.terminal"]
        if not code or not number:
            raise UserError(
                "本机尚未完成首次设置：请填写大厅编码和终端号，例如\n"
                "counter-client settings set hall.township_code 511324102\n"
                "counter-client settings set hall.terminal 1",
                "terminal identity not set")
        return Terminal(hall_code=code, terminal=int(number), clerk=hall["clerk.name"] or "窗口人员",
                        hall_region=hall["hall.region_code"] or code[:6])

    def _known_area(self, code: str) -> bool:
        store = self.catalogue_store
        return store.region_count() == 0 or store.region(code) is not None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.training_platform is not None:
            self.training_platform.stop()
        if self._cases is not None:
            self._cases.close()
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
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
