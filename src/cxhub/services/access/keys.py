"""API keys with scopes. A key is shown once, at creation; only its SHA-256 is stored.

Keys are long random tokens, not passwords, so a fast hash is the right one: it lets every
request be checked without a slow key-derivation function. Keys are revoked with
`cxhub keys revoke` (also while the server runs) or `DELETE /api/v1/keys/{id}`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import duckdb

from cxhub.domain.errors import CxhubError
from cxhub.warehouse import Warehouse

SCOPES = ("ingest", "read", "admin")
log = logging.getLogger("cxhub.keys")


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

    def job(con: duckdb.DuckDBPyConnection) -> int:
        (last,) = con.execute("SELECT coalesce(max(key_id), 0) FROM api_keys").fetchall()[0]
        key_id = int(last) + 1
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
    def job(con: duckdb.DuckDBPyConnection) -> bool:
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


class KeyCache:
    """Checked keys, trusted for `ttl` seconds before they are looked up again.

    Bounded: a client sending random keys must not grow the server's memory, so unknown keys
    live in a small table of their own and the oldest entries go first."""

    def __init__(self, *, ttl: float = 5.0, known: int = 10_000, unknown: int = 1_000) -> None:
        self.ttl = ttl
        self._limits = {True: known, False: unknown}
        self._tables: dict[bool, OrderedDict[str, tuple[float, tuple[str, ...] | None]]] = {
            True: OrderedDict(), False: OrderedDict()}
        self._lock = threading.Lock()

    def get(self, token: str, now: float) -> tuple[bool, tuple[str, ...] | None]:
        """(hit, scopes): hit is False when the key must be looked up again."""
        with self._lock:
            for table in self._tables.values():
                entry = table.get(token)
                if entry is not None and entry[0] >= now:
                    return True, entry[1]
        return False, None

    def put(self, token: str, scopes: tuple[str, ...] | None, now: float) -> None:
        known = scopes is not None
        with self._lock:
            self._tables[not known].pop(token, None)
            table = self._tables[known]
            table[token] = (now + self.ttl, scopes)
            table.move_to_end(token)
            while len(table) > self._limits[known]:
                table.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            for table in self._tables.values():
                table.clear()

    def __len__(self) -> int:
        return sum(len(t) for t in self._tables.values())


# While `cxhub serve` owns the warehouse file, `cxhub keys revoke` cannot open it: it leaves a
# request in the home folder instead, which the server applies within a second and answers.
def _inbox(home: Path) -> Path:
    return home / "requests"


def request_revocation(home: Path, key_id: int) -> Path:
    folder = _inbox(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"revoke-{key_id}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"key_id": key_id}))
    tmp.replace(path)
    return path


def answer_of(request: Path) -> str | None:
    done = request.with_suffix(".done")
    if not done.exists():
        return None
    answer = done.read_text()
    done.unlink(missing_ok=True)
    return answer


def apply_revocation_requests(wh: Warehouse, home: Path) -> list[int]:
    """Revoke the keys asked for by `cxhub keys revoke`; returns the ids revoked."""
    revoked = []
    for path in sorted(_inbox(home).glob("revoke-*.json")):
        try:
            key_id = int(json.loads(path.read_text())["key_id"])
        except (ValueError, KeyError, TypeError):
            path.with_suffix(".done").write_text("error: unreadable request")
            path.unlink(missing_ok=True)
            continue
        done = revoke_key(wh, key_id)
        if done:
            revoked.append(key_id)
        path.with_suffix(".done").write_text("revoked" if done else "no active key")
        path.unlink(missing_ok=True)
    return revoked


class RevocationInbox:
    """The server's thread that applies revocation requests and empties the key cache."""

    def __init__(self, wh: Warehouse, home: Path, cache: KeyCache, *, every: float = 1.0) -> None:
        self._wh, self._home, self._cache, self._every = wh, home, cache, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="cxhub-key-inbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            try:
                with self._wh.gate.reading():  # not while the warehouse is renewed
                    revoked = apply_revocation_requests(self._wh, self._home)
                if revoked:
                    self._cache.clear()
            except Exception:  # the next round retries; the server keeps serving
                log.exception("key revocation requests failed")
