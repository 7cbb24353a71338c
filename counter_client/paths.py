"""Where things are: the shipped resources (source checkout or PyInstaller bundle) and the
user's data, config and log directories.

The database and scans live in the user's data directory, never in the source tree or beside
the executable. ``--data-dir`` or ``COUNTER_CLIENT_DATA_DIR`` move everything (data, config,
logs) under one directory, which is what tests and portable installs use.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "counter-client"
APP_AUTHOR = "CounterClient"
DATA_DIR_ENV = "COUNTER_CLIENT_DATA_DIR"


def frozen() -> bool:
    """True inside a PyInstaller bundle."""
    return bool(getattr(sys, "frozen", False))


def resources_dir() -> Path:
    if frozen():
        return Path(getattr(sys, "_MEIPASS")) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    path = resources_dir().joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(f"missing resource: {path}")
    return path


def font_path() -> Path:
    return resource("fonts", "wqy-microhei.ttc")


@dataclass(frozen=True)
class UserDirs:
    data: Path
    config: Path
    logs: Path

    @property
    def catalogue_db(self) -> Path:
        return self.data / "catalogue.sqlite3"

    @property
    def cases_db(self) -> Path:
        return self.data / "cases.sqlite3"

    @property
    def scans(self) -> Path:
        return self.data / "scans"

    @property
    def training_platform(self) -> Path:
        return self.data / "training-platform"

    @property
    def settings_file(self) -> Path:
        return self.config / "settings.json"

    def ensure(self) -> "UserDirs":
        for d in (self.data, self.config, self.logs):
            d.mkdir(parents=True, exist_ok=True)
        return self


def user_dirs(data_dir: str | os.PathLike[str] | None = None) -> UserDirs:
    root = data_dir or os.environ.get(DATA_DIR_ENV)
    if root:
        base = Path(root).expanduser().resolve()
        return UserDirs(data=base, config=base / "config", logs=base / "logs")
    return UserDirs(
        data=Path(platformdirs.user_data_dir(APP_NAME, APP_AUTHOR)),
        config=Path(platformdirs.user_config_dir(APP_NAME, APP_AUTHOR)),
        logs=Path(platformdirs.user_log_dir(APP_NAME, APP_AUTHOR)),
    )
