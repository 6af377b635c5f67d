"""Console accounts: users, roles, argon2id hashes, TOTP, training records, sessions, throttling.

Its own SQLite file (``<data_dir>/accounts.db``), separate from the read store, with small named
migrations. There is no default password: the first admin is created by provisioning or by
``alpr console bootstrap-admin`` with a one-time password that must be changed at first login.
TOTP secrets are sealed with AES-256-GCM under a key derived from the unit's KEK.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyotp
import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from storage.accounts_schema import MIGRATIONS, migrate

logger = logging.getLogger(__name__)

ROLES = ("admin", "technician", "investigator", "auditor")
ACCOUNTS_FILE = "accounts.db"
MIN_PASSWORD_LEN = 12
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")


class AccountError(ValueError):
    """A request on the account store is invalid (unknown user, weak password, bad role...)."""


@dataclass(frozen=True)
class User:
    username: str
    role: str
    organisation: str
    full_name: str
    must_change_password: bool
    totp_enabled: bool
    disabled: bool
    policy_ack_sha256: str | None
    created: float


@dataclass(frozen=True)
class Training:
    course: str
    completed_on: dt.date
    expires_on: dt.date
    recorded_by: str

    def current(self, today: dt.date) -> bool:
        return self.completed_on <= today <= self.expires_on


@dataclass(frozen=True)
class Session:
    """A console session; `token` is only known to the browser (the file holds its hash)."""

    session_id: str  # sha256 of the token
    username: str
    address: str
    csrf: str
    created: float
    last_seen: float
    purpose: str | None
    purpose_kind: str | None
    case_number: str | None


@dataclass(frozen=True)
class LoginResult:
    ok: bool
    reason: str  # ok | bad-credentials | totp-required | locked | disabled
    user: User | None = None
    retry_after_s: float = 0.0


def accounts_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / ACCOUNTS_FILE


def derive_seal_key(kek: bytes) -> bytes:
    """The TOTP sealing key, derived from the unit's KEK (never the KEK itself)."""
    return HKDF(hashes.SHA256(), 32, salt=None, info=b"alpr accounts totp seal v1").derive(kek)


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_username(username: str) -> str:
    name = username.strip().lower()
    if not 2 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise AccountError("username must be 2-64 characters of a-z, 0-9, '.', '_' or '-'")
    return name


def check_password(username: str, password: str) -> None:
    if len(password) < MIN_PASSWORD_LEN:
        raise AccountError(f"password must be at least {MIN_PASSWORD_LEN} characters")
    if len(password) > 1024:
        raise AccountError("password is too long")
    if username.lower() in password.lower():
        raise AccountError("password must not contain the username")


class AccountStore:
    """Thread-safe; the console calls the slow (argon2) methods from an executor."""

    def __init__(self, conn: sqlite3.Connection, *, seal_key: bytes | None = None,
                 hasher: PasswordHasher | None = None, clock: Callable[[], float] = time.time,
                 max_failures: int = 5, lockout_s: float = 900.0):
        self._db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._seal = AESGCM(seal_key) if seal_key else None
        self._hasher = hasher or PasswordHasher()  # argon2id, RFC 9106 low-memory profile
        self._clock = clock
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        # A dummy hash so unknown users cost the same time as known ones.
        self._dummy = self._hasher.hash(secrets.token_hex(16))
        with self._lock:
            migrate(self._db, MIGRATIONS)

    @classmethod
    def open(cls, path: str | Path, **kwargs) -> AccountStore:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        path.chmod(0o600)
        return cls(conn, **kwargs)

    def close(self) -> None:
        with self._lock:
            self._db.conn.close()

    # -- users -----------------------------------------------------------------------------
    def create_user(self, username: str, role: str, organisation: str, *, full_name: str = "",
                    one_time_password: bool = True, password: str | None = None) -> str:
        """Create a user; returns the password (a generated one-time one unless given)."""
        name = check_username(username)
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        if not organisation.strip():
            raise AccountError("organisation is required")
        if password is None:
            password = secrets.token_urlsafe(15)
        else:
            check_password(name, password)
        row = {"username": name, "role": role, "organisation": organisation.strip(),
               "full_name": full_name.strip(), "pw_hash": self._hasher.hash(password),
               "must_change": int(one_time_password), "totp_sealed": None, "disabled": 0,
               "policy_ack": None, "created": self._clock()}
        with self._lock, self._db.conn:
            if self._db["users"].count_where("username = ?", [name]):
                raise AccountError(f"user {name!r} already exists")
            self._db["users"].insert(row)
        logger.info("account %s created (role %s, one-time password %s)", name, role,
                    one_time_password)
        return password

    def has_users(self, role: str | None = None) -> bool:
        with self._lock:
            if role:
                return bool(self._db["users"].count_where("role = ?", [role]))
            return bool(self._db["users"].count)

    def get_user(self, username: str) -> User | None:
        with self._lock:
            rows = list(self._db["users"].rows_where("username = ?", [username.strip().lower()]))
        return self._user(rows[0]) if rows else None

    def list_users(self) -> list[User]:
        with self._lock:
            return [self._user(r) for r in self._db["users"].rows_where(order_by="username")]

    @staticmethod
    def _user(row: dict) -> User:
        return User(row["username"], row["role"], row["organisation"], row["full_name"],
                    bool(row["must_change"]), row["totp_sealed"] is not None,
                    bool(row["disabled"]), row["policy_ack"], row["created"])

    def _require(self, username: str) -> User:
        user = self.get_user(username)
        if user is None:
            raise AccountError(f"no such user {username!r}")
        return user

    def _update(self, username: str, **values) -> None:
        with self._lock, self._db.conn:
            self._db["users"].update(self._require(username).username, values)

    def set_password(self, username: str, new_password: str) -> None:
        """Set a chosen password (clears the must-change flag) and end the user's sessions."""
        user = self._require(username)
        check_password(user.username, new_password)
        if self._verify_hash(user.username, new_password):
            raise AccountError("the new password must differ from the current one")
        self._update(user.username, pw_hash=self._hasher.hash(new_password), must_change=0)
        self.end_user_sessions(user.username)

    def reset_password(self, username: str) -> str:
        """An admin reset: a new one-time password, sessions ended, lockout cleared."""
        user = self._require(username)
        password = secrets.token_urlsafe(15)
        self._update(user.username, pw_hash=self._hasher.hash(password), must_change=1)
        self.end_user_sessions(user.username)
        with self._lock, self._db.conn:
            self._db.execute("DELETE FROM login_failures WHERE key = ?", [f"u:{user.username}"])
        return password

    def set_role(self, username: str, role: str) -> None:
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}")
        self._update(username, role=role)
        self.end_user_sessions(username)

    def set_disabled(self, username: str, disabled: bool) -> None:
        self._update(username, disabled=int(disabled))
        if disabled:
            self.end_user_sessions(username)

    def acknowledge_policy(self, username: str, policy_sha256: str) -> None:
        self._update(username, policy_ack=policy_sha256)

    # -- passwords, TOTP and throttling ------------------------------------------------------
    def _verify_hash(self, username: str, password: str) -> bool:
        with self._lock:
            rows = list(self._db["users"].rows_where("username = ?", [username]))
        stored = rows[0]["pw_hash"] if rows else self._dummy
        try:
            ok = self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        return bool(rows) and ok

    def login(self, username: str, password: str, address: str,
              totp_code: str | None = None) -> LoginResult:
        """Check credentials, throttled per account and per address (both can lock)."""
        name = username.strip().lower()[:64]
        retry = max(self._locked_for(f"u:{name}"), self._locked_for(f"a:{address}"))
        if retry > 0:
            return LoginResult(False, "locked", retry_after_s=retry)
        user = self.get_user(name)
        if not self._verify_hash(name, password) or user is None:
            self._fail(name, address)
            return LoginResult(False, "bad-credentials")
        if user.totp_enabled:
            if not totp_code:
                return LoginResult(False, "totp-required")
            if not self._check_totp(user.username, totp_code):
                self._fail(name, address)
                return LoginResult(False, "bad-credentials")
        if user.disabled:
            return LoginResult(False, "disabled")
        with self._lock, self._db.conn:
            self._db.execute("DELETE FROM login_failures WHERE key = ?", [f"u:{name}"])
        return LoginResult(True, "ok", user)

    def _locked_for(self, key: str) -> float:
        now = self._clock()
        with self._lock:
            rows = self._db.execute(
                "SELECT COUNT(*), MAX(at) FROM login_failures WHERE key = ? AND at > ?",
                [key, now - self.lockout_s]).fetchone()
        count, last = rows
        if count >= self.max_failures:
            return max(0.0, last + self.lockout_s - now)
        return 0.0

    def _fail(self, name: str, address: str) -> None:
        now = self._clock()
        with self._lock, self._db.conn:
            for key in (f"u:{name}", f"a:{address}"):
                self._db["login_failures"].insert({"key": key, "at": now})
            self._db.execute("DELETE FROM login_failures WHERE at < ?", [now - 2 * self.lockout_s])
        logger.warning("failed console login for %r from %s", name, address)

    def locked(self, username: str = "", address: str = "") -> float:
        """Seconds until the account or address may try again (0 = not locked)."""
        keys = [f"u:{username.lower()}"] if username else []
        keys += [f"a:{address}"] if address else []
        return max([self._locked_for(k) for k in keys] or [0.0])

    def begin_totp(self, username: str) -> str:
        """A new TOTP secret for the user to scan; active after confirm_totp()."""
        self._require(username)
        if self._seal is None:
            raise AccountError("TOTP needs the unit's sealing key (no KEK available)")
        return pyotp.random_base32()

    def confirm_totp(self, username: str, secret: str, code: str) -> None:
        if self._seal is None:
            raise AccountError("TOTP needs the unit's sealing key (no KEK available)")
        if not pyotp.TOTP(secret).verify(code.strip(), valid_window=1):
            raise AccountError("the code does not match; check the authenticator's clock")
        nonce = secrets.token_bytes(12)
        user = self._require(username)
        sealed = nonce + self._seal.encrypt(nonce, secret.encode(), user.username.encode())
        self._update(user.username, totp_sealed=sealed)

    def disable_totp(self, username: str) -> None:
        self._update(username, totp_sealed=None)

    def _check_totp(self, username: str, code: str) -> bool:
        with self._lock:
            sealed = self._db["users"].get(username)["totp_sealed"]
        if sealed is None or self._seal is None:
            return False
        secret = self._seal.decrypt(sealed[:12], sealed[12:], username.encode()).decode()
        return pyotp.TOTP(secret).verify(code.strip(), for_time=self._clock(), valid_window=1)

    # -- training ----------------------------------------------------------------------------
    def add_training(self, username: str, course: str, completed_on: dt.date,
                     expires_on: dt.date, recorded_by: str) -> None:
        user = self._require(username)
        if not course.strip():
            raise AccountError("course is required")
        if expires_on <= completed_on:
            raise AccountError("expiry must be after the completion date")
        with self._lock, self._db.conn:
            self._db["training"].insert({
                "username": user.username, "course": course.strip(),
                "completed_on": completed_on.isoformat(), "expires_on": expires_on.isoformat(),
                "recorded_by": recorded_by, "recorded_at": self._clock()})

    def training(self, username: str) -> list[Training]:
        with self._lock:
            rows = self._db["training"].rows_where("username = ?", [username.lower()],
                                                   order_by="expires_on desc")
            return [Training(r["course"], dt.date.fromisoformat(r["completed_on"]),
                             dt.date.fromisoformat(r["expires_on"]), r["recorded_by"])
                    for r in rows]

    def is_trained(self, username: str) -> bool:
        today = dt.datetime.fromtimestamp(self._clock(), dt.UTC).date()
        return any(t.current(today) for t in self.training(username))

    # -- sessions ----------------------------------------------------------------------------
    def create_session(self, username: str, address: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        now = self._clock()
        row = {"session_id": _hash_token(token), "username": username, "address": address,
               "csrf": secrets.token_urlsafe(32), "created": now, "last_seen": now,
               "purpose": None, "purpose_kind": None, "case_number": None}
        with self._lock, self._db.conn:
            self._db["sessions"].insert(row)
        return token, Session(**row)

    def get_session(self, token: str, idle_s: float, absolute_s: float) -> Session | None:
        """The live session for a token (touching it), or None if unknown or timed out."""
        sid = _hash_token(token)
        now = self._clock()
        with self._lock, self._db.conn:
            rows = list(self._db["sessions"].rows_where("session_id = ?", [sid]))
            if not rows:
                return None
            row = rows[0]
            if now - row["last_seen"] > idle_s or now - row["created"] > absolute_s:
                self._db["sessions"].delete(sid)
                return None
            self._db["sessions"].update(sid, {"last_seen": now})
            row["last_seen"] = now
        return Session(**row)

    def set_purpose(self, session_id: str, kind: str | None, purpose: str | None,
                    case_number: str | None) -> None:
        with self._lock, self._db.conn:
            self._db["sessions"].update(session_id, {
                "purpose_kind": kind, "purpose": purpose, "case_number": case_number})

    def end_session(self, session_id: str) -> None:
        with self._lock, self._db.conn:
            self._db.execute("DELETE FROM sessions WHERE session_id = ?", [session_id])

    def end_user_sessions(self, username: str) -> None:
        with self._lock, self._db.conn:
            self._db.execute("DELETE FROM sessions WHERE username = ?", [username.lower()])
