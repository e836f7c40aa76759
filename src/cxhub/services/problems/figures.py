"""A problem's figures, cost and priority (`cxhub problems list`), each with how it was computed.

- contacts, first and last seen, weekly volume, channels: its linked contacts;
- mentions: customers' public posts linked to it (by the same rule), by platform;
- customers affected: distinct resolved customers (else the source's customer id);
- repeat contacts: contacts beyond each customer's first about the problem;
- handling cost: contacts x cost per contact of their channel (costs.yaml in $CXHUB_HOME, else
  the defaults below);
- revenue at risk: the affected customers' lifetime value (customer_segments.clv) x the churn
  difference, the share of affected customers who left (every holding ended) after the problem
  began minus the same share among the other customers active then (never below zero);
- priority score: handling cost + revenue at risk; its band by thresholds in costs.yaml.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

from cxhub.services.problems import store
from cxhub.services.problems.errors import ProblemInputError
from cxhub.warehouse import Warehouse

# What a contact costs to handle, by channel (GBP): industry rules of thumb, to be replaced by
# the company's own figures in costs.yaml.
DEFAULT_COSTS: dict[str, Any] = {
    "currency": "GBP",
    "per_contact": {"phone": 6.0, "email": 4.0, "chat": 3.5, "web": 4.0, "social": 4.5,
                    "community": 1.0, "letter": 8.0, "referral": 5.0, "other": 5.0},
    "priority": {"critical": 50_000, "high": 10_000, "medium": 2_000},  # score from ... up
}
COSTS_FILE = "costs.yaml"


def costs(home: Path | None) -> dict[str, Any]:
    """The defaults, overridden by $CXHUB_HOME/costs.yaml where it exists."""
    merged: dict[str, Any] = json.loads(json.dumps(DEFAULT_COSTS))
    path = home / COSTS_FILE if home else None
    if path is None or not path.exists():
        return merged
    try:
        given = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ProblemInputError(str(path), f"not valid YAML: {exc}") from None
    if not isinstance(given, dict):
        raise ProblemInputError(str(path), "expected a mapping (currency, per_contact, priority)")
    for key in ("per_contact", "priority"):
        part = given.get(key) or {}
        if not isinstance(part, dict):
            raise ProblemInputError(f"{path}: {key}", "expected a mapping")
        for name, value in part.items():
            if not isinstance(value, int | float) or value < 0:
                raise ProblemInputError(f"{path}: {key}.{name}",
                                        f"{value!r} is not a non-negative number")
            merged[key][name] = float(value)
    if "currency" in given:
        merged["currency"] = str(given["currency"])
    return merged


def band(score: float, cfg: dict[str, Any]) -> str:
    for name, floor in sorted(cfg["priority"].items(), key=lambda kv: -kv[1]):
        if score >= floor:
            return str(name)
    return "low"


def compute(wh: Warehouse, problem_id: int, cfg: dict[str, Any]) -> dict[str, Any]:
    """Every figure of one problem, with the sentence saying how it was computed."""
    p = store.problem(wh, problem_id)
    cur = wh.cursor()
    cur.execute("""
        CREATE OR REPLACE TEMP TABLE pc AS
        SELECT c.contact_id, c.created_at, c.channel,
               coalesce(CAST(l.customer_id AS VARCHAR),
                        c.customer_source || ':' || c.customer_external_id) AS customer_key,
               l.customer_id
        FROM problem_contacts p JOIN contacts c USING (contact_id)
        LEFT JOIN customer_links l
          ON l.source = coalesce(c.customer_source, c.source)
         AND l.external_id = c.customer_external_id
        WHERE p.problem_id = ?""", [problem_id])
    n, customers, first, last = cur.execute(
        "SELECT count(*), count(DISTINCT customer_key), min(created_at), max(created_at) "
        "FROM pc").fetchall()[0]
    with_customer = cur.execute(
        "SELECT count(*) FROM pc WHERE customer_key IS NOT NULL").fetchall()[0][0]
    repeats = int(with_customer - customers)
    channels = dict(cur.execute(
        "SELECT channel, count(*) FROM pc GROUP BY 1 ORDER BY 2 DESC").fetchall())
    weekly = [(w.date().isoformat(), k) for w, k in cur.execute(
        "SELECT date_trunc('week', created_at) w, count(*) FROM pc GROUP BY 1 ORDER BY 1")
        .fetchall()]
    per = cfg["per_contact"]
    handling = sum(k * per.get(ch or "other", per.get("other", 0.0)) for ch, k in
                   channels.items())
    risk = _revenue_at_risk(cur, first)
    platforms = dict(cur.execute(
        "SELECT coalesce(m.platform, 'other'), count(*) FROM problem_mentions p "
        "JOIN mentions m USING (mention_id) WHERE p.problem_id = ? GROUP BY 1 ORDER BY 2 DESC",
        [problem_id]).fetchall())
    score = handling + risk["revenue_at_risk"]
    cur.execute("DROP TABLE IF EXISTS pc")
    money = cfg["currency"]
    return {
        "problem_id": problem_id, "title": p["title"], "contacts": int(n),
        "first_seen": first, "last_seen": last, "customers_affected": int(customers),
        "repeat_contacts": repeats, "channels": channels, "weekly": weekly,
        "mentions": int(sum(platforms.values())), "mention_platforms": platforms,
        "handling_cost": round(handling, 2), **risk, "priority_score": round(score, 2),
        "priority": band(score, cfg), "currency": money,
        "how": {
            "customers_affected": "distinct customers among the linked contacts (the resolved "
                                  "customer, else the source's customer id)",
            "repeat_contacts": "linked contacts of known customers beyond each one's first",
            "mentions": "customers' public posts whose classified cause, category and words "
                        "match the problem's rule in its window (not counted in the cost)",
            "handling_cost": "contacts x cost per contact of their channel: " + ", ".join(
                f"{ch} {k} x {per.get(ch or 'other', 0):g}" for ch, k in channels.items()),
            "revenue_at_risk": f"affected customers' lifetime value {risk['clv_affected']:,.0f} "
                               f"x churn difference {risk['churn_difference']:.3f} (affected "
                               f"{risk['churn_affected']:.3f} - others "
                               f"{risk['churn_others']:.3f}, customers who left after "
                               f"{first:%Y-%m-%d})" if first else "no contacts",
            "priority_score": "handling cost + revenue at risk; bands from costs.yaml "
                              + ", ".join(f"{k} >= {v:g}" for k, v in cfg["priority"].items()),
        },
    }


def _revenue_at_risk(cur: Any, since: dt.datetime | None) -> dict[str, float]:
    none = {"clv_affected": 0.0, "churn_affected": 0.0, "churn_others": 0.0,
            "churn_difference": 0.0, "revenue_at_risk": 0.0}
    if since is None:
        return none
    row = cur.execute("""
        WITH h AS (
            SELECT l.customer_id, min(h.started_at) started,
                   bool_and(h.ended_at IS NOT NULL) all_ended, max(h.ended_at) ended
            FROM holdings h JOIN customer_links l
              ON l.source = coalesce(h.customer_source, h.source)
             AND l.external_id = h.customer_external_id
            GROUP BY 1),
        active AS (
            SELECT customer_id, all_ended AND ended >= ? AS left_after,
                   customer_id IN (SELECT customer_id FROM pc WHERE customer_id IS NOT NULL)
                     AS affected
            FROM h WHERE started <= ? AND (NOT all_ended OR ended >= ?))
        SELECT avg(CASE WHEN affected THEN left_after::INT END),
               avg(CASE WHEN NOT affected THEN left_after::INT END),
               (SELECT coalesce(sum(s.clv), 0) FROM customer_segments s
                WHERE s.customer_id IN (SELECT customer_id FROM active WHERE affected))
        FROM active""", [since, since, since]).fetchone()
    aff, oth, clv = (float(x) if x is not None else 0.0 for x in row)
    diff = max(0.0, aff - oth)
    return {"clv_affected": round(clv, 2), "churn_affected": aff, "churn_others": oth,
            "churn_difference": diff, "revenue_at_risk": round(clv * diff, 2)}


def refresh(wh: Warehouse, home: Path | None, problem_ids: list[int] | None = None
            ) -> list[dict[str, Any]]:
    """Compute and store the figures and priority of the given problems (default: all)."""
    cfg = costs(home)
    ids = problem_ids if problem_ids is not None else [
        r[0] for r in wh.read("SELECT problem_id FROM problems ORDER BY 1")]
    found = [compute(wh, pid, cfg) for pid in ids]

    def write(c: Any) -> None:
        for f in found:
            c.execute("UPDATE problems SET figures = ?, priority = ?, priority_score = ?, "
                      "first_seen = coalesce(?, first_seen), last_seen = coalesce(?, last_seen)"
                      " WHERE problem_id = ?",
                      [json.dumps(f, default=str), f["priority"], f["priority_score"],
                       f["first_seen"], f["last_seen"], f["problem_id"]])
    if found:
        wh.write(write)
    return sorted(found, key=lambda f: -f["priority_score"])
