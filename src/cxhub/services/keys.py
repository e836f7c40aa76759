"""API keys with scopes. A key is shown once, at creation; only its SHA-256 is stored.

Keys are long random tokens, not passwords, so a fast hash is the right one: it lets every
request be checked without a slow key-derivation function.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from cxhub.domain.errors import CxhubError
from cxhub.warehouse import Warehouse

SCOPES = ("ingest", "read", "admin")


@dataclass(frozen=True)
class ApiKey:
    key_id: int
    name: str
    prefix: str
    scopes: tuple[str, ...]
    revoked: bool


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_key(wh: Warehouse, *, scopes: list[str], name: str = "") -> tuple[ApiKey, str]:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise CxhubError(f"scopes must be among {', '.join(SCOPES)}; got {scopes or 'none'}")
    prefix = secrets.token_hex(4)
    token = f"cxh_{prefix}_{secrets.token_urlsafe(24)}"
    scopes = sorted(set(scopes))

    def job(con):  # type: ignore[no-untyped-def]
        row = con.execute("SELECT coalesce(max(key_id), 0) + 1 FROM api_keys").fetchone()
        key_id = int(row[0])
        con.execute(
            "INSERT INTO api_keys (key_id, name, prefix, key_hash, scopes) VALUES (?, ?, ?, ?, ?)",
            [key_id, name, prefix, hash_token(token), scopes],
        )
        return key_id

    key_id = wh.write(job)
    return ApiKey(key_id, name, prefix, tuple(scopes), False), token


def list_keys(wh: Warehouse) -> list[ApiKey]:
    rows = wh.read(
        "SELECT key_id, name, prefix, scopes, revoked_at IS NOT NULL FROM api_keys ORDER BY key_id"
    )
    return [ApiKey(r[0], r[1] or "", r[2], tuple(r[3]), bool(r[4])) for r in rows]


def revoke_key(wh: Warehouse, key_id: int) -> bool:
    def job(con):  # type: ignore[no-untyped-def]
        row = con.execute(
            "UPDATE api_keys SET revoked_at = current_timestamp::TIMESTAMP "
            "WHERE key_id = ? AND revoked_at IS NULL",
            [key_id],
        ).fetchone()
        return bool(row and row[0])

    return wh.write(job)


def scopes_for_token(wh: Warehouse, token: str) -> tuple[str, ...] | None:
    """The scopes of a valid, unrevoked key; None for an unknown or revoked one."""
    row = wh.read_one(
        "SELECT scopes FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL", [hash_token(token)]
    )
    if row is None:
        return None
    scopes = tuple(row[0])
    return SCOPES if "admin" in scopes else scopes
