"""The catalogue's storage: a YAML file checked and written to the `offers` table, and read
back from it. The demo company's catalogue ships with cxhub (`demo_offers.yaml`)."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import yaml

from cxhub.analytics.offers.catalogue import (
    Catalogue,
    CatalogueError,
    Offer,
    Rules,
    ServiceAction,
    parse_catalogue,
)
from cxhub.analytics.offers.triggers import Trigger, parse_trigger
from cxhub.warehouse import Warehouse


def demo_yaml() -> str:
    return resources.files("cxhub.services.offers").joinpath("demo_offers.yaml").read_text()


def parse_yaml(text: str, name: str = "catalogue") -> Catalogue:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark else "?"
        raise CatalogueError(name, where, f"not valid YAML: {exc}") from None
    return parse_catalogue(raw)


def read_file(path: Path) -> Catalogue:
    try:
        text = path.read_text()
    except OSError as exc:
        raise CatalogueError(str(path), "", f"cannot read: {exc.strerror}") from None
    try:
        return parse_yaml(text, str(path))
    except CatalogueError as exc:
        raise CatalogueError(f"{path}: {exc.entry}", exc.field, exc.reason) from None


def _rules_json(rules: Rules) -> str:
    return json.dumps({**{k: sorted(v) for k, v in rules.lists.items()},
                       **{f"{b}_{k}": v for k, (lo, hi) in rules.ranges.items()
                          for b, v in (("min", lo), ("max", hi)) if v is not None}})


def offer_raw(o: Offer) -> dict[str, Any]:
    """An offer as the YAML, the API and the audit trail write it."""
    return {"code": o.code, "title": o.title, "description": o.description,
            "product": o.product, "value": o.value, "valid_from": o.valid_from,
            "valid_to": o.valid_to, "control_share": o.control_share,
            "min_uplift": o.min_uplift, "prior_uplift": o.prior_uplift,
            "max_per_customer_30d": o.max_per_customer_30d,
            "rules": json.loads(_rules_json(o.rules)), "active": o.active}


def trigger_raw(t: Trigger) -> dict[str, Any]:
    raw: dict[str, Any] = {"code": t.code, "title": t.title, "event": t.event,
                           "within_days": t.within_days, "control_share": t.control_share,
                           "action": t.action, "active": t.active}
    if t.event == "contract_ending":
        raw |= {"recent_days": t.recent_days, "sentiment": t.sentiment}
    if t.terms:
        raw["terms"] = list(t.terms)
    if t.value_bands:
        raw["value_bands"] = list(t.value_bands)
    if t.min_clv is not None:
        raw["min_clv"] = t.min_clv
    if t.offer_code:
        raw["offer_code"] = t.offer_code
    if t.webhook:
        raw["webhook"] = t.webhook
    return raw


def insert_offer(con: duckdb.DuckDBPyConnection, o: Offer) -> None:
    con.execute(
        "INSERT INTO offers (offer_code, title, description, eligibility, value, active, "
        "kind, product, valid_from, valid_to, control_share, min_uplift, prior_uplift, "
        "max_per_customer_30d, rules, updated_at) VALUES "
        "(?, ?, ?, ?, ?, ?, 'offer', ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
        [o.code, o.title, o.description, None, o.value, o.active, o.product,
         o.valid_from, o.valid_to, o.control_share, o.min_uplift, o.prior_uplift,
         o.max_per_customer_30d, _rules_json(o.rules)])


def insert_trigger(con: duckdb.DuckDBPyConnection, t: Trigger) -> None:
    # A trigger's own fields live in `rules` (kind 'trigger'): one table for every entry
    # keeps codes unique across offers and triggers, as their decisions share a column.
    raw = trigger_raw(t)
    con.execute(
        "INSERT INTO offers (offer_code, title, description, active, kind, control_share, "
        "rules, updated_at) VALUES (?, ?, ?, ?, 'trigger', ?, ?, now()::TIMESTAMP)",
        [t.code, t.title, t.action, t.active, t.control_share,
         json.dumps({k: v for k, v in raw.items()
                     if k not in ("code", "title", "control_share", "active")})])


def write_rows(con: duckdb.DuckDBPyConnection, catalogue: Catalogue,
               triggers: list[Trigger] | None) -> int:
    con.execute("DELETE FROM offers" if triggers is not None
                else "DELETE FROM offers WHERE kind IS DISTINCT FROM 'trigger'")
    for o in catalogue.offers:
        insert_offer(con, o)
    for a in catalogue.actions:
        con.execute(
            "INSERT INTO offers (offer_code, title, description, active, kind, rules, "
            "max_per_customer_30d, updated_at) VALUES "
            "(?, ?, ?, true, 'service_action', ?, ?, now()::TIMESTAMP)",
            [a.code, a.title, a.description, _rules_json(a.rules), int(a.first)])
    for t in triggers or ():
        insert_trigger(con, t)
    return len(catalogue.offers) + len(catalogue.actions) + len(triggers or ())


def triggers_of_yaml(text: str) -> list[Trigger]:
    from cxhub.services.offers.triggers import from_yaml

    return from_yaml(yaml.safe_load(text))


def save(wh: Warehouse, catalogue: Catalogue, triggers: list[Trigger] | None = None) -> int:
    """Replace the catalogue in the warehouse (in one transaction); returns the entries.
    Triggers are replaced too when given (a file's `triggers`), kept otherwise."""
    return wh.write(lambda con: write_rows(con, catalogue, triggers))


def load_triggers(wh: Warehouse, *, active_only: bool = True) -> list[Trigger]:
    """The stored triggers; the demo's when no catalogue was ever saved (as `load`)."""
    rows = wh.read("SELECT offer_code, title, control_share, active, rules FROM offers "
                   "WHERE kind = 'trigger' ORDER BY offer_code")
    saved = rows or wh.read_one("SELECT count(*) FROM offers") != (0,)
    if not saved:
        out = triggers_of_yaml(demo_yaml())
    else:
        out = [parse_trigger({**json.loads(rules or "{}"), "code": code, "title": title,
                              "control_share": share, "active": bool(active)})
               for code, title, share, active, rules in rows]
    return [t for t in out if t.active or not active_only]


def load(wh: Warehouse) -> Catalogue:
    """The stored catalogue; the demo's when none was ever saved (a new warehouse)."""
    from cxhub.analytics.offers.catalogue import parse_action, parse_offer

    rows = wh.read(
        "SELECT offer_code, title, description, value, active, kind, product, valid_from, "
        "valid_to, control_share, min_uplift, prior_uplift, max_per_customer_30d, rules "
        "FROM offers WHERE kind IS DISTINCT FROM 'trigger' ORDER BY offer_code")
    if not rows:
        return parse_yaml(demo_yaml(), "demo_offers.yaml")
    offers: list[Offer] = []
    actions: list[ServiceAction] = []
    for (code, title, desc, value, active, kind, product, vf, vt, share, min_u, prior, cap,
         rules) in rows:
        raw: dict[str, Any] = {"code": code, "title": title or code,
                               "description": desc or "", "rules": json.loads(rules or "{}")}
        if kind == "service_action":
            actions.append(parse_action({**raw, "first": bool(cap if cap is not None else 1)}))
            continue
        raw |= {k: v for k, v in (("product", product), ("value", value), ("active", active),
                                  ("valid_from", vf), ("valid_to", vt), ("control_share", share),
                                  ("min_uplift", min_u), ("prior_uplift", prior),
                                  ("max_per_customer_30d", cap)) if v is not None}
        offers.append(parse_offer(raw))
    return Catalogue(tuple(offers), tuple(actions))
