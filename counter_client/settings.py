"""Every setting declared once: key, type, default, description; stored as JSON, upgraded by version.

A settings file that cannot be read (broken JSON, wrong types, values out of range) never stops
the window: the bad file is kept beside it for support, the offending keys fall back to their
defaults, and ``problems`` carries a Chinese sentence for the clerk and the log. Writes are
atomic (temporary file, fsync, rename), so a power cut leaves the old file or the new one.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

log = logging.getLogger(__name__)

SETTINGS_VERSION = 1

TRAINING_HALL = {
    "hall.region_code": "511324",
    "hall.township_code": "511324102",
    "hall.name": "仪陇县马鞍镇便民服务中心（培训）",
    "hall.window": "跨省通办窗口 1",
    "hall.terminal": 1,
    "clerk.name": "培训学员",
}


def _url(value: str) -> str | None:
    if value == "":
        return None
    parsed = urlparse(value)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "平台地址应以 http:// 或 https:// 开头，例如 https://zwfw.example.gov.cn"
    if parsed.scheme == "http" and parsed.hostname not in ("127.0.0.1", "localhost", "::1"):
        return "平台地址必须使用 https://（只有本机培训平台可以使用 http://）"
    if parsed.path not in ("", "/"):
        return "平台地址只填写协议、主机和端口，不含路径（/api/v1 会自动加上）"
    return None


def _region(value: str) -> str | None:
    return None if value == "" or re.fullmatch(r"\d{6}", value) else "区划代码应为 6 位数字"


def _township(value: str) -> str | None:
    return None if value == "" or re.fullmatch(r"\d{9}", value) else "乡镇（街道）代码应为 9 位数字"


def _range(lo: float, hi: float) -> Callable[[Any], str | None]:
    return lambda v: None if lo <= v <= hi else f"取值应在 {lo} 到 {hi} 之间"


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    description: str
    check: Callable[[Any], str | None] | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("platform.url", str, "", "中心平台地址；留空则使用内置培训平台（培训模式）", _url),
    Setting("platform.name", str, "", "平台名称（状态栏显示）"),
    Setting("platform.ca_bundle", str, "", "平台证书的 CA 文件路径（使用专用 CA 时填写）"),
    Setting("network.connect_timeout", float, 5.0, "连接超时（秒）", _range(0.5, 60)),
    Setting("network.read_timeout", float, 30.0, "读取超时（秒）", _range(1, 600)),
    Setting("network.probe_interval", float, 30.0, "联网检测间隔（秒）", _range(5, 3600)),
    Setting("catalogue.batch_size", int, 500, "目录更新每批下载的事项数", _range(10, 500)),
    Setting("catalogue.auto_refresh_minutes", int, 60, "自动更新目录的间隔（分钟，0 为不自动更新）",
            _range(0, 24 * 60)),
    Setting("hall.region_code", str, "", "本窗口所在县级区划代码（6 位）", _region),
    Setting("hall.township_code", str, "", "本窗口所在乡镇（街道）代码（9 位）", _township),
    Setting("hall.name", str, "", "大厅（便民服务中心）名称"),
    Setting("hall.window", str, "", "窗口名称"),
    Setting("hall.terminal", int, 0, "本机终端号（01–99，同一大厅内各台电脑不同；0 为尚未设置）", _range(0, 99)),
    Setting("hall.phone", str, "", "大厅咨询电话（印在收件凭证、一次性告知书和邮件面单寄件人处）"),
    Setting("hall.address", str, "", "大厅地址（印在一次性告知书和邮件面单寄件人处）"),
    Setting("hall.postcode", str, "", "大厅邮政编码（印在邮件面单寄件人处）",
            lambda v: None if v == "" or re.fullmatch(r"\d{6}", v) else "邮政编码应为 6 位数字"),
    Setting("clerk.name", str, "", "当前窗口人员姓名（账户功能启用前使用）"),
    Setting("security.cipher", str, "sm4-gcm", "个人信息和扫描件的加密算法",
            lambda v: None if v in ("sm4-gcm", "aes-256-gcm") else "仅支持 sm4-gcm 或 aes-256-gcm"),
    Setting("scans.min_free_mb", int, 512, "磁盘剩余空间低于此值（MB）时拒绝新的扫描件", _range(50, 100_000)),
    Setting("scans.max_file_mb", int, 200, "导入的单个材料文件大小上限（MB）", _range(1, 2000)),
    Setting("scans.watch_folder", str, "", "扫描仪保存文件的文件夹：新文件自动加入选中的材料（留空为不监视）"),
    Setting("sync.interval_s", float, 60.0, "自动同步的间隔（秒）", _range(5, 3600)),
    Setting("sync.chunk_mb", float, 8.0, "上传材料文件时每次请求的首选大小（MB；平台的请求上限另行学习）",
            _range(0.0625, 256)),
    Setting("print.receipt_size", str, "A4", "收件凭证的纸张（A4 或 A5）",
            lambda v: None if v in ("A4", "A5") else "仅支持 A4 或 A5"),
    Setting("print.status_url", str, "", "收件凭证二维码的进度查询地址（留空则用平台地址；可含 {receipt}）"),
    Setting("print.offer_after_intake", bool, True, "确认收件后立即弹出打印收件凭证"),
    Setting("print.printer.receipt", str, "", "打印收件凭证用的打印机（上次所选；留空为系统默认）"),
    Setting("print.printer.notice", str, "", "打印一次性告知书用的打印机（上次所选；留空为系统默认）"),
    Setting("print.label_size", str, "100x150", "邮件面单的尺寸（100x150、76x130 或 100x180 毫米）",
            lambda v: None if v in ("100x150", "76x130", "100x180") else "仅支持 100x150、76x130 或 100x180"),
    Setting("print.printer.waybill", str, "", "打印邮件面单用的打印机（标签打印机；上次所选）"),
    Setting("print.printer.manifest", str, "", "打印材料交接单用的打印机（上次所选；留空为系统默认）"),
    Setting("mail.pool_low_water", int, 20, "邮件号剩余不多于此数时提示并在同步时自动领取", _range(0, 1000)),
    Setting("mail.pool_refill", int, 50, "每次向平台领取的邮件号数量", _range(1, 500)),
    Setting("mail.number_kind", str, "s10", "领取的邮件号类型：s10（国际标准，带校验位）或 domestic（国内 13 位）",
            lambda v: None if v in ("s10", "domestic") else "仅支持 s10 或 domestic"),
    Setting("mail.customer_no", str, "", "本大厅在寄递企业的协议客户号（印在面单寄件人处）"),
    Setting("ui.large_font", bool, False, "大字模式（适老化）"),
    Setting("ui.language", str, "zh_CN", "界面语言", lambda v: None if v in ("zh_CN", "en") else "仅支持 zh_CN 或 en"),
)
_BY_KEY = {s.key: s for s in SETTINGS}


class Settings:
    """The settings of one installation (``config/settings.json``)."""

    def __init__(self, path: Path, values: dict[str, Any] | None = None):
        self.path = Path(path)
        self._values: dict[str, Any] = dict(values or {})
        self.problems: list[str] = []
        self._overrides: set[str] = set()

    # -- loading -------------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path) -> "Settings":
        settings = cls(path)
        if not settings.path.exists():
            return settings
        try:
            raw = json.loads(settings.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("top level is not an object")
        except (OSError, ValueError, UnicodeDecodeError) as exc:
            kept = settings._keep_bad_copy()
            settings.problems.append(f"设置文件无法读取，已恢复默认设置（原文件另存为 {kept.name}）。")
            log.warning("settings file unreadable (%s); defaults used, bad copy kept as %s", exc, kept.name)
            return settings
        raw = _upgrade(raw)
        for key, value in raw.get("values", {}).items():
            spec = _BY_KEY.get(key)
            if spec is None:
                log.info("ignoring unknown setting %s", key)
                continue
            error = _check(spec, value)
            if error:
                settings.problems.append(f"设置“{spec.description}”无效（{error}），已使用默认值。")
                log.warning("setting %s invalid (%s); default used", key, error)
                continue
            settings._values[key] = spec.type(value)
        return settings

    def _keep_bad_copy(self) -> Path:
        kept = self.path.with_name(f"{self.path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
        try:
            os.replace(self.path, kept)
        except OSError:
            pass
        return kept

    # -- access --------------------------------------------------------------------------------
    def get(self, key: str) -> Any:
        return self._values.get(key, _BY_KEY[key].default)

    def set(self, key: str, value: Any) -> None:
        """Set and validate one value; raises ValueError with a Chinese reason."""
        spec = _BY_KEY[key]
        error = _check(spec, value)
        if error:
            raise ValueError(f"{spec.description}：{error}")
        self._values[key] = spec.type(value)

    def override(self, key: str, value: Any) -> None:
        """A value for this run only (command-line options), validated, never saved."""
        self.set(key, value)
        self._overrides.add(key)

    @property
    def training(self) -> bool:
        """Training mode: no platform configured, the bundled reference platform is used."""
        return not self.get("platform.url")

    def hall(self) -> dict[str, str]:
        """The hall identity: the configured one, or the training hall in training mode."""
        keys = ("hall.region_code", "hall.township_code", "hall.name", "hall.window", "hall.terminal", "clerk.name")
        if self.training:
            return {k: self.get(k) or TRAINING_HALL[k] for k in keys}
        return {k: self.get(k) for k in keys}

    def save(self) -> None:
        values = {k: v for k, v in self._values.items() if k not in self._overrides}
        data = json.dumps({"version": SETTINGS_VERSION, "values": values}, ensure_ascii=False, indent=2)
        atomic_write_text(self.path, data)


def _check(spec: Setting, value: Any) -> str | None:
    if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
        return f"应为{ {str: '文本', int: '整数', float: '数字', bool: '是/否'}[spec.type] }"
    return spec.check(value) if spec.check else None


def _upgrade(raw: dict) -> dict:
    """Bring an older settings file to the current version (one step per version)."""
    version = raw.get("version", 0)
    if version == 0:  # unversioned files held the values at the top level
        raw = {"version": 1, "values": {k: v for k, v in raw.items() if k != "version"}}
    return raw


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new one."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a crash leaves either the old file or the new one
    (temporary file beside it, fsync, rename); the temporary file is removed on failure."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
