"""The installation's data key, kept in the operating system's secure store, and its sub-keys.

One random 256-bit data key per installation lives in the OS keyring (Windows Credential
Manager, Secret Service / KWallet on Linux desktops, macOS Keychain) under service
``counter-client``, user ``data-key/<installation id>``, as base64. It is created on first use,
never written to a file and never logged. Without a usable secure store we refuse to run rather
than fall back to a file: personal data (PIPL, 等保2.0) must not be protected by a key lying next
to it. A stored key that is malformed is an error, never silently replaced: a new key would
orphan everything encrypted under the old one.

Sub-keys come from HKDF-SHA256 with distinct labels: one per encryption algorithm (field and
blob encryption), one for the keyed look-up index (HMAC), and a short public key id written into
every ciphertext so keys can rotate.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging
import re
import secrets
import threading

import keyring
import keyring.backend
import keyring.errors
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from counter_client.domain.errors import StoreError

log = logging.getLogger(__name__)

KEYRING_SERVICE = "counter-client"
KEYRING_USER_PREFIX = "data-key/"
DATA_KEY_BYTES = 32
INSTALLATION_ID_BYTES = 16
INSTALLATION_ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# keyring's own rule: a priority below 1 is "not recommended" (fail/null, plaintext-file backends)
MIN_BACKEND_PRIORITY = 1
# keyring backends that exist but protect nothing, or that keep secrets in an ordinary file
REFUSED_BACKEND_MODULES = ("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")

HKDF_LABEL = b"counter-client/data-key/v1/"
LABEL_ENCRYPTION = b"encrypt/"
LABEL_LOOKUP = b"lookup-index"
LABEL_KEY_ID = b"key-id"
LOOKUP_KEY_BYTES = 32
KEY_ID_BYTES = 4

NO_SECURE_STORE_MESSAGE = (
    "本机没有可用的安全密钥存储，无法保护个人信息，程序不能保存或读取办件数据。"
    "请处理后重新启动本程序：Linux 桌面请启动并解锁系统密钥服务（Secret Service，"
    "如 GNOME 密钥环或 KWallet）；Windows 使用“凭据管理器”，请以本人的 Windows 账户登录并确认"
    "“Credential Manager”服务已启用。仍无法解决请联系技术支持。"
)
LOCKED_MESSAGE = (
    "系统密钥存储已锁定，无法读取保护个人信息所需的密钥。请在弹出的窗口中解锁"
    "（Linux 桌面一般为登录密码），然后重试；仍无法解决请联系技术支持。"
)
MALFORMED_KEY_MESSAGE = (
    "系统密钥存储中的数据密钥已损坏，无法解密本机保存的个人信息。"
    "为避免已加密的数据丢失，程序不会自动生成新密钥。请联系技术支持。"
)

_cache: dict[str, DataKeys] = {}
_cache_lock = threading.Lock()


def new_installation_id() -> str:
    """A random installation id (the caller stores it with its settings; it is not secret)."""
    return secrets.token_hex(INSTALLATION_ID_BYTES)


def _hkdf(master: bytes, label: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=None,
                info=HKDF_LABEL + label).derive(master)


class DataKeys:
    """The data key of one installation and the sub-keys derived from it (never printed)."""

    __slots__ = ("_derived", "_master", "key_id", "lookup")

    def __init__(self, master: bytes):
        if len(master) != DATA_KEY_BYTES:
            raise ValueError(f"data key must be {DATA_KEY_BYTES} bytes")
        self._master = bytes(master)
        self._derived: dict[tuple[str, int], bytes] = {}
        #: public identifier written into every envelope, so decryption finds the right key
        self.key_id: int = int.from_bytes(_hkdf(self._master, LABEL_KEY_ID, KEY_ID_BYTES), "big")
        #: the HMAC key of the look-up index
        self.lookup: bytes = _hkdf(self._master, LABEL_LOOKUP, LOOKUP_KEY_BYTES)

    @classmethod
    def generate(cls) -> DataKeys:
        return cls(secrets.token_bytes(DATA_KEY_BYTES))

    def encryption(self, algorithm: str, length: int) -> bytes:
        """The encryption sub-key for one algorithm (separate keys: no key shared across ciphers)."""
        key = self._derived.get((algorithm, length))
        if key is None:
            key = _hkdf(self._master, LABEL_ENCRYPTION + algorithm.encode("ascii"), length)
            self._derived[(algorithm, length)] = key
        return key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataKeys) and hmac.compare_digest(self._master, other._master)

    def __hash__(self) -> int:
        return self.key_id

    def __repr__(self) -> str:
        return f"DataKeys(key_id={self.key_id:08x})"


# -- the OS keyring ------------------------------------------------------------------------------
def _no_store(reason: str, exc: BaseException | None = None) -> StoreError:
    message = LOCKED_MESSAGE if isinstance(exc, keyring.errors.KeyringLocked) else NO_SECURE_STORE_MESSAGE
    detail = f"{reason}: {type(exc).__name__}: {exc}" if exc is not None else reason
    return StoreError(message, f"no usable OS secure store for the data key ({detail})")


def _usable_backend() -> keyring.backend.KeyringBackend:
    """The configured keyring backend, if it really stores secrets somewhere safe."""
    try:
        backend = keyring.get_keyring()
    except (keyring.errors.KeyringError, ImportError, RuntimeError) as exc:  # configured, cannot start
        raise _no_store("keyring initialisation failed", exc) from exc
    name = f"{type(backend).__module__}.{type(backend).__name__}"
    if type(backend).__module__.startswith(REFUSED_BACKEND_MODULES):
        raise _no_store(f"backend {name} does not protect secrets")
    try:
        priority = type(backend).priority
    except Exception as exc:  # keyring's convention: priority raises when not viable
        raise _no_store(f"backend {name} is not viable", exc) from exc
    if priority < MIN_BACKEND_PRIORITY:
        raise _no_store(f"backend {name} has priority {priority} (not recommended)")
    return backend


def _decode(value: str, user: str) -> bytes:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise StoreError(MALFORMED_KEY_MESSAGE,
                         f"data key {user!r} in the keyring is not base64 ({len(value)} chars)") from exc
    if len(raw) != DATA_KEY_BYTES:
        raise StoreError(MALFORMED_KEY_MESSAGE,
                         f"data key {user!r} in the keyring has {len(raw)} bytes, expected {DATA_KEY_BYTES}")
    return raw


def _load_or_create(installation_id: str) -> DataKeys:
    backend = _usable_backend()
    user = KEYRING_USER_PREFIX + installation_id
    try:
        stored = backend.get_password(KEYRING_SERVICE, user)
        if stored is not None:
            return DataKeys(_decode(stored, user))
        fresh = secrets.token_bytes(DATA_KEY_BYTES)
        backend.set_password(KEYRING_SERVICE, user, base64.b64encode(fresh).decode("ascii"))
        # read it back: a backend that silently drops secrets would leave data nobody can decrypt
        stored = backend.get_password(KEYRING_SERVICE, user)
    except keyring.errors.KeyringError as exc:
        raise _no_store(f"keyring {type(backend).__name__} failed", exc) from exc
    if stored is None:
        raise _no_store(f"keyring {type(backend).__name__} did not keep the data key")
    raw = _decode(stored, user)  # normally ours; another process may have won a creation race
    log.info("created the data key for installation %s in %s", installation_id, type(backend).__name__)
    return DataKeys(raw)


def load_data_keys(installation_id: str) -> DataKeys:
    """The data keys of this installation: from the OS keyring, created there on first use.

    Cached for the life of the process. Raises ``StoreError`` when no secure store is usable or
    the stored key is malformed.
    """
    if not INSTALLATION_ID_PATTERN.match(installation_id):
        raise ValueError(f"invalid installation id {installation_id!r}")
    with _cache_lock:
        keys = _cache.get(installation_id)
        if keys is None:
            keys = _load_or_create(installation_id)
            _cache[installation_id] = keys
        return keys


def forget_cached_keys() -> None:
    """Drop the in-memory copies (tests; a future key rotation)."""
    with _cache_lock:
        _cache.clear()


# -- other secrets: the platform token ------------------------------------------------------------
SECRET_USER_PREFIX = "secret/"


def save_secret(name: str, value: str) -> None:
    """Keep ``value`` (a login token) in the OS keyring under ``secret/<name>``; never in a file."""
    backend = _usable_backend()
    try:
        backend.set_password(KEYRING_SERVICE, SECRET_USER_PREFIX + name, value)
    except keyring.errors.KeyringError as exc:
        raise _no_store(f"keyring {type(backend).__name__} failed to store a secret", exc) from exc


def load_secret(name: str) -> str | None:
    backend = _usable_backend()
    try:
        return backend.get_password(KEYRING_SERVICE, SECRET_USER_PREFIX + name)
    except keyring.errors.KeyringError as exc:
        raise _no_store(f"keyring {type(backend).__name__} failed to read a secret", exc) from exc


def delete_secret(name: str) -> None:
    backend = _usable_backend()
    try:
        backend.delete_password(KEYRING_SERVICE, SECRET_USER_PREFIX + name)
    except keyring.errors.PasswordDeleteError:
        pass  # not there: deleted either way
    except keyring.errors.KeyringError as exc:
        raise _no_store(f"keyring {type(backend).__name__} failed to delete a secret", exc) from exc
