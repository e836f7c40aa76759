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


def save(wh: Warehouse, catalogue: Catalogue) -> int:
    """Replace the catalogue in the warehouse (in one transaction); returns the entries."""
    def write(con: duckdb.DuckDBPyConnection) -> int:
        con.execute("DELETE FROM offers")
        for o in catalogue.offers:
            con.execute(
                "INSERT INTO offers (offer_code, title, description, eligibility, value, active, "
                "kind, product, valid_from, valid_to, control_share, min_uplift, prior_uplift, "
                "max_per_customer_30d, rules, updated_at) VALUES "
                "(?, ?, ?, ?, ?, ?, 'offer', ?, ?, ?, ?, ?, ?, ?, ?, now()::TIMESTAMP)",
                [o.code, o.title, o.description, None, o.value, o.active, o.product,
                 o.valid_from, o.valid_to, o.control_share, o.min_uplift, o.prior_uplift,
                 o.max_per_customer_30d, _rules_json(o.rules)])
        for a in catalogue.actions:
            con.execute(
                "INSERT INTO offers (offer_code, title, description, active, kind, rules, "
                "max_per_customer_30d, updated_at) VALUES "
                "(?, ?, ?, true, 'service_action', ?, ?, now()::TIMESTAMP)",
                [a.code, a.title, a.description, _rules_json(a.rules), int(a.first)])
        return len(catalogue.offers) + len(catalogue.actions)
    return wh.write(write)


def load(wh: Warehouse) -> Catalogue:
    """The stored catalogue; the demo's when none was ever saved (a new warehouse)."""
    from cxhub.analytics.offers.catalogue import parse_action, parse_offer

    rows = wh.read(
        "SELECT offer_code, title, description, value, active, kind, product, valid_from, "
        "valid_to, control_share, min_uplift, prior_uplift, max_per_customer_30d, rules "
        "FROM offers ORDER BY offer_code")
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
