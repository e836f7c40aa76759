"""Changing the catalogue one entry at a time (the API and the dashboard): create, update and
retire offers and triggers, each change checked field by field before anything is written and
kept in `offer_events` (who, when, what: the entry as it became).

An entry is never deleted: decisions and audiences on record name it, and its reports must
still find it. Retiring sets it inactive (an offer is then refused by the policy, a trigger no
longer runs). A warehouse whose catalogue was never saved shows the demo's; the first change
saves that catalogue first, so what was shown is what is changed.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from typing import Any

import duckdb

from cxhub.analytics.offers.catalogue import OFFER_FIELDS, CatalogueError, Offer, parse_offer
from cxhub.analytics.offers.triggers import FIELDS as TRIGGER_FIELDS
from cxhub.analytics.offers.triggers import Trigger, parse_trigger
from cxhub.domain.errors import CxhubError
from cxhub.services.offers import catalogue as store
from cxhub.warehouse import Warehouse

KINDS = ("offer", "trigger")


class NotFound(CxhubError):
    pass


class Conflict(CxhubError):
    pass


def _check(kind: str, raw: Any) -> Offer | Trigger:
    return parse_offer(raw) if kind == "offer" else parse_trigger(raw)


def _seed(con: duckdb.DuckDBPyConnection) -> None:
    """Save the catalogue shown (the demo's) when none was ever saved."""
    row = con.execute("SELECT count(*) FROM offers").fetchone()
    if row and row[0]:
        return
    text = store.demo_yaml()
    cat = store.parse_yaml(text, "demo_offers.yaml")
    store.write_rows(con, cat, store.triggers_of_yaml(text))


def _as_raw(entry: Offer | Trigger) -> dict[str, Any]:
    if isinstance(entry, Trigger):
        return store.trigger_raw(entry)
    return store.offer_raw(entry)


def _event(con: duckdb.DuckDBPyConnection, code: str, kind: str, what: str, actor: str,
           now: datetime, detail: dict[str, Any]) -> None:
    row = con.execute("SELECT coalesce(max(event_id), 0) + 1 FROM offer_events").fetchone()
    con.execute("INSERT INTO offer_events VALUES (?, ?, ?, ?, ?, ?, ?)",
                [row[0] if row else 1, code, kind, what, actor, now,
                 json.dumps(detail, default=_plain)])


def _plain(x: Any) -> Any:
    return x.isoformat() if isinstance(x, date) else str(x)


def save(wh: Warehouse, kind: str, raw: Any, *, actor: str, code: str | None = None,
         now: datetime | None = None) -> dict[str, Any]:
    """Create (`code` None) or replace (`code` given: the entry must exist, its code is kept)
    an offer or a trigger. Raises CatalogueError naming the field, NotFound, Conflict."""
    if kind not in KINDS:
        raise CxhubError(f"kind must be one of {', '.join(KINDS)}")
    if code is not None:
        if not isinstance(raw, dict):
            raise CatalogueError(code, "", "must be a mapping of fields")
        if raw.get("code", code) != code:
            raise CatalogueError(code, "code", "cannot be changed (retire it and create "
                                 "another)")
        raw = {**raw, "code": code}
    entry = _check(kind, raw)
    now = now or datetime.now()

    def write(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        _seed(con)
        found = con.execute("SELECT kind FROM offers WHERE offer_code = ?",
                            [entry.code]).fetchone()
        stored_kind = None if found is None else ("trigger" if found[0] == "trigger"
                                                  else "offer")
        if code is None and found is not None:
            raise Conflict(f"{entry.code}: code: already in the catalogue (update it instead)")
        if code is not None and (found is None or stored_kind != kind
                                 or found[0] == "service_action"):
            raise NotFound(f"no {kind} {code!r} in the catalogue")
        con.execute("DELETE FROM offers WHERE offer_code = ?", [entry.code])
        if isinstance(entry, Trigger):
            store.insert_trigger(con, entry)
        else:
            store.insert_offer(con, entry)
        con.execute("UPDATE offers SET updated_by = ? WHERE offer_code = ?",
                    [actor, entry.code])
        what = "created" if code is None else "updated"
        _event(con, entry.code, kind, what, actor, now, _as_raw(entry))
        return {"code": entry.code, "kind": kind, "change": what, "by": actor,
                "at": now.isoformat(timespec="seconds"), "entry": _as_raw(entry)}

    return wh.write(write)


def retire(wh: Warehouse, kind: str, code: str, *, actor: str,
           now: datetime | None = None) -> dict[str, Any]:
    """Make an offer or trigger inactive (kept for its history); retiring twice is a no-op."""
    now = now or datetime.now()

    def write(con: duckdb.DuckDBPyConnection) -> dict[str, Any]:
        _seed(con)
        row = con.execute("SELECT kind, active, rules FROM offers WHERE offer_code = ?",
                          [code]).fetchone()
        if row is None or (row[0] == "trigger") != (kind == "trigger") \
                or row[0] == "service_action":
            raise NotFound(f"no {kind} {code!r} in the catalogue")
        if row[1] is False:
            return {"code": code, "kind": kind, "change": None, "note": "already retired"}
        con.execute("UPDATE offers SET active = false, updated_at = ?, updated_by = ? "
                    "WHERE offer_code = ?", [now, actor, code])
        _event(con, code, kind, "retired", actor, now, {"active": False})
        return {"code": code, "kind": kind, "change": "retired", "by": actor,
                "at": now.isoformat(timespec="seconds")}

    return wh.write(write)


def history(wh: Warehouse, code: str) -> list[dict[str, Any]]:
    rows = wh.read("SELECT event_id, kind, change, actor, happened_at, detail FROM offer_events "
                   "WHERE offer_code = ? ORDER BY event_id", [code])
    return [{"event_id": e, "kind": k, "change": c, "by": a,
             "at": t.isoformat(timespec="seconds"), "entry": json.loads(d) if d else None}
            for e, k, c, a, t, d in rows]


def entry(wh: Warehouse, kind: str, code: str) -> dict[str, Any] | None:
    """One entry's fields as the API and the form take them (None: not in the catalogue)."""
    if kind == "trigger":
        t = next((t for t in store.load_triggers(wh, active_only=False) if t.code == code),
                 None)
        return None if t is None else store.trigger_raw(t)
    o = store.load(wh).offer(code)
    return None if o is None else store.offer_raw(o)


FIELDS = {"offer": OFFER_FIELDS, "trigger": TRIGGER_FIELDS}


def key_actor(wh: Warehouse, token: str | None) -> str:
    """Who an API key is, for the audit trail: its name, or its prefix when unnamed."""
    from cxhub.services.access.keys import hash_token

    row = wh.read_one("SELECT name, prefix FROM api_keys WHERE key_hash = ?",
                      [hash_token(token or "")])
    if row is None:
        return "api key (unknown)"
    return f"api key {row[0] or row[1]}"
