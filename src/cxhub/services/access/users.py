"""Dashboard users, roles, password hashes and login sessions.

Passwords are hashed with scrypt (stdlib), a salt per user, and the cost parameters written into
the hash string, so the cost can be raised later without breaking stored hashes. Sessions are
random tokens held by the browser; the warehouse keeps only their SHA-256, like API keys: a
stolen copy of the file opens no session.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from cxhub.domain.errors import CxhubError
from cxhub.warehouse import Warehouse

ROLES = ("admin", "analyst", "agent", "viewer")

# What each role may do. Viewers see aggregates only; agents see contacts (with their text) and
# their own queue but no metrics; analysts see everything and label contacts; admins also
# manage users.
PERMISSIONS: dict[str, frozenset[str]] = {
    "admin": frozenset({"metrics", "contacts", "label", "queue", "users"}),
    "analyst": frozenset({"metrics", "contacts", "label", "queue"}),
    "agent": frozenset({"contacts", "queue"}),
    "viewer": frozenset({"metrics"}),
}

MIN_PASSWORD_LENGTH = 8
MIN_ADMIN_PASSWORD_LENGTH = 12
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

# scrypt cost: n = 2**14, r = 8 takes about 16 MB and 40-80 ms here; slow for guessing, fast
# enough for a login.
_LOG2_N, _R, _P, _DKLEN = 14, 8, 1, 32


class UserError(CxhubError):
    """A user cannot be created or changed as asked (bad name, role or password)."""


@dataclass(frozen=True)
class User:
    user_id: int
    username: str
    role: str
    created_at: datetime | None = None
    disabled_at: datetime | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    def can(self, permission: str) -> bool:
        return not self.disabled and permission in PERMISSIONS.get(self.role, frozenset())


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_password(password: str, *, log2_n: int = _LOG2_N, r: int = _R, p: int = _P) -> str:
    """`scrypt$log2n$r$p$salt$hash`, salt and hash in base64."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, log2_n, r, p, _DKLEN)
    return f"scrypt${log2_n}${r}${p}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str | None) -> bool:
    """True when `password` matches `stored`; False for a wrong password or an unusable hash."""
    if not stored:
        return False
    try:
        scheme, log2_n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = _unb64(digest)
        actual = _scrypt(password, _unb64(salt), int(log2_n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def needs_rehash(stored: str) -> bool:
    """The hash was made with other cost parameters than today's."""
    parts = stored.split("$")
    return len(parts) != 6 or parts[0] != "scrypt" or parts[1:4] != [str(_LOG2_N), str(_R), str(_P)]


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, dklen: int) -> bytes:
    if not 1 <= log2_n <= 20 or not 1 <= r <= 32 or not 1 <= p <= 16:
        raise ValueError("scrypt parameters out of range")
    n = 1 << log2_n
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, dklen=dklen,
                          maxmem=256 * n * r * p + 1024 * 1024)


@functools.cache
def _dummy_hash() -> str:
    """Checked when the username is unknown, so that a login for a missing user takes as long
    as one for a real user (no user enumeration by timing)."""
    return hash_password(secrets.token_urlsafe(16))


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _check(username: str, role: str | None = None, password: str | None = None) -> None:
    if not _USERNAME.match(username):
        raise UserError(f"invalid username {username!r}: use 2-64 lowercase letters, digits "
                        "and . _ @ -, starting with a letter or digit")
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    if password is not None and len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    if password is not None and role == "admin":
        _check_admin_password(username, password)


def _check_admin_password(username: str, password: str) -> None:
    """An admin manages every user: their password must resist more than a quick guess."""
    if len(password) < MIN_ADMIN_PASSWORD_LENGTH:
        raise UserError(f"an admin's password must have at least {MIN_ADMIN_PASSWORD_LENGTH} "
                        "characters (a passphrase of three or four words is easy to remember)")
    if username and username.split("@")[0] in password.lower():
        raise UserError("an admin's password must not contain the username")
    if len(set(password.lower())) < 6:
        raise UserError("an admin's password needs at least 6 different characters")


_USER_COLUMNS = "user_id, username, role, created_at, disabled_at"


def create_user(wh: Warehouse, *, username: str, password: str, role: str) -> User:
    username = username.strip().lower()
    _check(username, role, password)
    password_hash = hash_password(password)

    def job(con: duckdb.DuckDBPyConnection) -> int:
        if con.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
            raise UserError(f"user {username!r} already exists")
        (last,) = con.execute("SELECT coalesce(max(user_id), 0) FROM users").fetchall()[0]
        user_id = int(last) + 1
        con.execute("INSERT INTO users (user_id, username, password_hash, role) "
                    "VALUES (?, ?, ?, ?)", [user_id, username, password_hash, role])
        return user_id

    wh.write(job)
    found = get_user(wh, username)
    assert found is not None
    return found


def get_user(wh: Warehouse, username: str) -> User | None:
    row = wh.read_one(f"SELECT {_USER_COLUMNS} FROM users WHERE username = ?",
                      [username.strip().lower()])
    return User(*row) if row else None


def list_users(wh: Warehouse) -> list[User]:
    return [User(*r) for r in wh.read(f"SELECT {_USER_COLUMNS} FROM users ORDER BY username")]


def _update_user(wh: Warehouse, username: str, sql: str, params: list[object],
                 *, end_sessions: bool) -> bool:
    """Run `UPDATE users SET ... WHERE username = ?`; True when the user exists."""
    username = username.strip().lower()

    def job(con: duckdb.DuckDBPyConnection) -> bool:
        row = con.execute("SELECT user_id FROM users WHERE username = ?", [username]).fetchone()
        if row is None:
            return False
        con.execute(f"UPDATE users SET {sql} WHERE user_id = ?", [*params, row[0]])
        if end_sessions:
            con.execute("DELETE FROM user_sessions WHERE user_id = ?", [row[0]])
        return True

    return wh.write(job)


def disable_user(wh: Warehouse, username: str) -> bool:
    """Disable a user and end their sessions at once; False when there is no such user."""
    return _update_user(wh, username, "disabled_at = coalesce(disabled_at, ?)", [_now()],
                        end_sessions=True)


def enable_user(wh: Warehouse, username: str) -> bool:
    return _update_user(wh, username, "disabled_at = NULL", [], end_sessions=False)


def set_role(wh: Warehouse, username: str, role: str) -> bool:
    _check(username.strip().lower(), role)
    return _update_user(wh, username, "role = ?", [role], end_sessions=False)


def set_password(wh: Warehouse, username: str, password: str) -> bool:
    """A new password ends every session of the user (a reset after a leak must lock out)."""
    username = username.strip().lower()
    row = wh.read_one("SELECT role FROM users WHERE username = ?", [username])
    _check(username, row[0] if row else None, password=password)
    return _update_user(wh, username, "password_hash = ?", [hash_password(password)],
                        end_sessions=True)


def authenticate(wh: Warehouse, username: str, password: str) -> User | None:
    """The user when the password is right and the user is enabled; else None."""
    row = wh.read_one(f"SELECT {_USER_COLUMNS}, password_hash FROM users WHERE username = ?",
                      [username.strip().lower()])
    if row is None:
        verify_password(password, _dummy_hash())
        return None
    user, stored = User(*row[:5]), row[5]
    if not verify_password(password, stored) or user.disabled:
        return None
    if needs_rehash(stored):
        fresh = hash_password(password)
        wh.write(lambda con: con.execute("UPDATE users SET password_hash = ? WHERE user_id = ?",
                                         [fresh, user.user_id]))
    return user


# --- sessions -----------------------------------------------------------------------------

def _session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(wh: Warehouse, user: User, *, ttl: timedelta) -> str:
    """A new session token for `user`; only its hash is stored. Expired sessions are purged."""
    token = secrets.token_urlsafe(32)
    now = _now()

    def job(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("DELETE FROM user_sessions WHERE expires_at < ?", [now])
        con.execute("INSERT INTO user_sessions VALUES (?, ?, ?, ?)",
                    [_session_hash(token), user.user_id, now, now + ttl])

    wh.write(job)
    return token


@dataclass(frozen=True)
class Session:
    user: User
    expires_at: datetime


def session_user(wh: Warehouse, token: str, *, now: datetime | None = None) -> Session | None:
    """The session's user, if the session exists, has not expired and the user is enabled."""
    row = wh.read_one(
        f"SELECT s.expires_at, {', '.join('u.' + c for c in _USER_COLUMNS.split(', '))} "
        "FROM user_sessions s JOIN users u USING (user_id) "
        "WHERE s.session_hash = ? AND s.expires_at > ? AND u.disabled_at IS NULL",
        [_session_hash(token), now or _now()],
    )
    return Session(User(*row[1:]), row[0]) if row else None


def extend_session(wh: Warehouse, token: str, *, ttl: timedelta) -> datetime:
    expires_at = _now() + ttl
    wh.write(lambda con: con.execute(
        "UPDATE user_sessions SET expires_at = ? WHERE session_hash = ? AND expires_at < ?",
        [expires_at, _session_hash(token), expires_at]))
    return expires_at


def end_session(wh: Warehouse, token: str) -> None:
    wh.write(lambda con: con.execute("DELETE FROM user_sessions WHERE session_hash = ?",
                                     [_session_hash(token)]))
