"""Accounts, passwords, lockout and bearer tokens (等保: unique accounts, password rules, lockout).

Passwords are stored as ``scrypt$N$r$p$salt$hash`` (base64, a random 16-byte salt per account)
and compared in constant time. N=2^15, r=8, p=1 costs ~70 ms and 32 MiB per check: the scrypt
paper's interactive-login setting doubled (OWASP's current minimum is 2^17; the cost travels with
each hash, so it can be raised later without invalidating old ones). Hashing is throttled to a
few at a time, so a login flood cannot exhaust the machine's memory.

Tokens are ``secrets.token_urlsafe(32)``; only their SHA-256 is stored (a random 256-bit token
needs no slow hash), bound to the account and the terminal that logged in. Refresh issues a new
token and lets the old one live on for ``REFRESH_GRACE_S`` at most, so a refresh whose answer was
lost can be repeated with the old token.

Lockout: ``lockout_failures`` wrong passwords in a row lock the account for ``lockout_s``; while
locked even the right password is refused (423) and not counted. A success resets the count.
An unknown account costs the same hash as a known one, so timing tells nothing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass

from counter_client.domain.receipt import PROVINCE_CODES
from counter_client.refplatform import utc_iso
from counter_client.refplatform.config import PlatformConfig
from counter_client.refplatform.store import PlatformStore

ROLES = ("clerk", "helper", "supervisor")
ROLE_LABELS = {"clerk": "收件员", "helper": "帮办员", "supervisor": "审核员"}
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 128
ACCOUNT_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{1,63}$")
HALL_PATTERN = re.compile(r"^\d{9}$")

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
TRAINING_SCRYPT_N = 2**14  # the training password is published: cost buys nothing there
SCRYPT_MAXMEM = 512 * 1024 * 1024  # room for stored hashes with a higher cost
SALT_BYTES = 16
HASH_BYTES = 32
CONCURRENT_HASHES = 2
TOKEN_BYTES = 32
REFRESH_GRACE_S = 60.0
TOKEN_PRUNE_AFTER_S = 24 * 3600  # expired tokens are kept a day (to answer token_expired), then dropped

TRAINING_HALL = "511324102"  # 四川省南充市仪陇县马鞍镇
TRAINING_PASSWORD = "peixun2026"
TRAINING_ACCOUNTS = (
    ("training-clerk", "clerk", "培训收件员"),
    ("training-helper", "helper", "培训帮办员"),
    ("training-supervisor", "supervisor", "培训审核员"),
)

_hash_slots = threading.BoundedSemaphore(CONCURRENT_HASHES)


class AccountError(ValueError):
    """An account that cannot be created as asked (the CLI prints it, exit status 2)."""


class LoginRefused(Exception):
    """``code`` is the problem code: invalid_credentials, account_locked or wrong_hall."""

    def __init__(self, code: str, locked_until: float = 0.0, hall_code: str = ""):
        super().__init__(code)
        self.code = code
        self.locked_until = locked_until
        self.hall_code = hall_code


class TokenRefused(Exception):
    """``code`` is token_invalid or token_expired."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Account:
    account: str
    name: str
    roles: list[str]
    hall_code: str
    region_code: str
    failures: int = 0
    locked_until: float = 0.0


@dataclass(frozen=True)
class Session:
    """Who is calling: the account behind a valid token and the terminal it logged in from."""

    account: str
    name: str
    roles: list[str]
    hall_code: str
    region_code: str
    terminal: int
    token_hash: str
    expires_at: float


@dataclass(frozen=True)
class IssuedToken:
    token: str
    session: Session


# ---- passwords ----


def password_problem(password: str) -> str | None:
    """Why ``password`` breaks the rules (Chinese), or None."""
    if len(password) < MIN_PASSWORD_CHARS:
        return f"密码至少 {MIN_PASSWORD_CHARS} 位"
    if len(password) > MAX_PASSWORD_CHARS:
        return f"密码最多 {MAX_PASSWORD_CHARS} 位"
    if not any(c.isascii() and c.isalpha() for c in password) or not any("0" <= c <= "9" for c in password):
        return "密码须同时包含字母和数字"
    return None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str, *, n: int = SCRYPT_N) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    with _hash_slots:
        digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=SCRYPT_R, p=SCRYPT_P,
                                maxmem=SCRYPT_MAXMEM, dklen=HASH_BYTES)
    return f"scrypt${n}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, expected = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(expected)
        with _hash_slots:
            got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n), r=int(r),
                                 p=int(p), maxmem=SCRYPT_MAXMEM, dklen=len(want))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASH = f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(bytes(SALT_BYTES))}${_b64(bytes(HASH_BYTES))}"


# ---- accounts ----


def region_of(hall_code: str) -> str:
    """The 6-digit county code of a hall (a township code, or a county code + 000)."""
    return hall_code[:6]


def add_account(store: PlatformStore, account: str, *, role: str, hall_code: str, name: str, password: str,
                scrypt_n: int = SCRYPT_N) -> Account:
    if not ACCOUNT_PATTERN.match(account):
        raise AccountError("account names are 2-64 characters: letters, digits, . _ @ - (not first)")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if not HALL_PATTERN.match(hall_code) or hall_code[:2] not in PROVINCE_CODES:
        raise AccountError(f"hall code {hall_code!r} is not 9 digits starting with a province code")
    if not name.strip():
        raise AccountError("the account needs a name")
    problem = password_problem(password)
    if problem:
        raise AccountError(f"password refused: {problem}")
    region = region_of(hall_code)
    if not store.conn.execute("SELECT 1 FROM regions WHERE code = ?", (region,)).fetchone():
        raise AccountError(f"hall code {hall_code}: county {region} is not in the platform's regions")
    hashed = hash_password(password, n=scrypt_n)
    with store.write():
        if store.conn.execute("SELECT 1 FROM accounts WHERE account = ?", (account,)).fetchone():
            raise AccountError(f"account {account!r} exists already")
        store.conn.execute(
            "INSERT INTO accounts (account, name, roles, hall_code, region_code, password, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (account, name.strip(), json.dumps([role]), hall_code, region, hashed, utc_iso()),
        )
    return Account(account, name.strip(), [role], hall_code, region)


def ensure_training_accounts(store: PlatformStore) -> list[str]:
    """The training accounts (hall ``TRAINING_HALL``, password ``TRAINING_PASSWORD``); returns
    the ones created now."""
    made = []
    for account, role, name in TRAINING_ACCOUNTS:
        if get_account(store, account) is None:
            add_account(store, account, role=role, hall_code=TRAINING_HALL, name=name,
                        password=TRAINING_PASSWORD, scrypt_n=TRAINING_SCRYPT_N)
            made.append(account)
    return made


def _account(row) -> Account:
    account, name, roles, hall, region, failures, locked_until = row
    return Account(account, name, json.loads(roles), hall, region, failures, locked_until)


_ACCOUNT_COLUMNS = "account, name, roles, hall_code, region_code, failures, locked_until"


def get_account(store: PlatformStore, account: str) -> Account | None:
    row = store.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts WHERE account = ?", (account,)).fetchone()
    return _account(row) if row else None


def list_accounts(store: PlatformStore) -> list[Account]:
    return [_account(r) for r in store.conn.execute(f"SELECT {_ACCOUNT_COLUMNS} FROM accounts ORDER BY account")]


def unlock(store: PlatformStore, account: str) -> bool:
    with store.write():
        done = store.conn.execute(
            "UPDATE accounts SET failures = 0, locked_until = 0 WHERE account = ?", (account,)
        ).rowcount
    return bool(done)


# ---- login and tokens ----


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def login(store: PlatformStore, config: PlatformConfig, account: str, password: str, hall_code: str,
          terminal: int, *, now: float | None = None) -> IssuedToken:
    now = time.time() if now is None else now
    row = store.conn.execute("SELECT password, locked_until FROM accounts WHERE account = ?", (account,)).fetchone()
    if row is None:
        verify_password(password, _DUMMY_HASH)  # same time as a known account
        raise LoginRefused("invalid_credentials")
    stored, locked_until = row
    if locked_until > now:
        raise LoginRefused("account_locked", locked_until=locked_until)
    good = verify_password(password, stored)
    with store.write():
        found = get_account(store, account)
        if found is None:  # removed while we hashed
            raise LoginRefused("invalid_credentials")
        if found.locked_until > now:
            raise LoginRefused("account_locked", locked_until=found.locked_until)
        if not good:
            failures = (0 if found.locked_until else found.failures) + 1
            lock = now + config.lockout_s if failures >= config.lockout_failures else 0.0
            store.conn.execute("UPDATE accounts SET failures = ?, locked_until = ? WHERE account = ?",
                               (0 if lock else failures, lock, account))
        else:
            store.conn.execute("UPDATE accounts SET failures = 0, locked_until = 0 WHERE account = ?", (account,))
    if not good:
        if lock:
            raise LoginRefused("account_locked", locked_until=lock)
        raise LoginRefused("invalid_credentials")
    if hall_code != found.hall_code:
        raise LoginRefused("wrong_hall", hall_code=found.hall_code)
    return _issue(store, config, found, terminal, now)


def _issue(store: PlatformStore, config: PlatformConfig, account: Account, terminal: int, now: float) -> IssuedToken:
    token = secrets.token_urlsafe(TOKEN_BYTES)
    digest = _token_hash(token)
    expires = now + config.token_ttl_s
    with store.write():
        store.conn.execute(
            "INSERT INTO tokens (token_hash, account, hall_code, terminal, issued_at, expires_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (digest, account.account, account.hall_code, terminal, now, expires),
        )
        store.conn.execute("DELETE FROM tokens WHERE expires_at < ?", (now - TOKEN_PRUNE_AFTER_S,))
    session = Session(account.account, account.name, account.roles, account.hall_code, account.region_code,
                      terminal, digest, expires)
    return IssuedToken(token, session)


def authenticate(store: PlatformStore, token: str, *, now: float | None = None) -> Session:
    now = time.time() if now is None else now
    account_columns = ", ".join("a." + c for c in _ACCOUNT_COLUMNS.split(", "))
    row = store.conn.execute(
        f"SELECT t.token_hash, t.terminal, t.expires_at, t.revoked, {account_columns}"
        " FROM tokens t JOIN accounts a ON a.account = t.account WHERE t.token_hash = ?",
        (_token_hash(token),),
    ).fetchone()
    if row is None or row[3]:
        raise TokenRefused("token_invalid")
    digest, terminal, expires_at, _, *account_row = row
    if expires_at <= now:
        raise TokenRefused("token_expired")
    account = _account(account_row)
    return Session(account.account, account.name, account.roles, account.hall_code, account.region_code,
                   terminal, digest, expires_at)


def refresh(store: PlatformStore, config: PlatformConfig, session: Session, *, now: float | None = None) -> IssuedToken:
    now = time.time() if now is None else now
    account = get_account(store, session.account)
    if account is None:
        raise TokenRefused("token_invalid")
    with store.write():
        store.conn.execute("UPDATE tokens SET expires_at = MIN(expires_at, ?) WHERE token_hash = ?",
                           (now + REFRESH_GRACE_S, session.token_hash))
    return _issue(store, config, account, session.terminal, now)


def logout(store: PlatformStore, session: Session) -> None:
    with store.write():
        store.conn.execute("UPDATE tokens SET revoked = 1 WHERE token_hash = ?", (session.token_hash,))
