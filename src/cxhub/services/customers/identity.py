"""Identity resolution use cases: resolve customers, work the review queue, read a profile.

`resolve` reads the source records, trains and scores with Splink on the chosen engine (its own
in-memory DuckDB or Spark, never the warehouse's writer), clusters with the people's decisions,
keeps customer ids stable, and writes everything through the single writer in one transaction.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from cxhub.analytics.identity import clusters, conflicts, linker, prepare, review, store
from cxhub.analytics.identity.engines import make_engine
from cxhub.analytics.identity.settings import IdentitySettings, load_settings
from cxhub.domain.errors import CxhubError, NotFoundError
from cxhub.warehouse import Warehouse

Phase = Callable[[str], None]


@dataclass
class ResolveReport:
    run_id: int
    records: int
    customers: int
    links: int
    linked_records: int  # records that share their customer with another record
    new_customers: int
    merges: int
    splits: int
    reviews: int
    threshold: float
    engine: str
    seconds: dict[str, float] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def resolve(
    wh: Warehouse,
    *,
    settings: IdentitySettings | None = None,
    settings_path: Path | str | None = None,
    threshold: float | None = None,
    engine: str = "duckdb",
    engine_options: dict[str, Any] | None = None,
    on_phase: Phase | None = None,
) -> ResolveReport:
    """Link every source record to a customer; see the module docstring."""
    phase = on_phase or (lambda _: None)
    s = (settings or load_settings(settings_path)).with_threshold(threshold)
    started = datetime.now(UTC).replace(tzinfo=None)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()

    phase("reading source records")
    # A connection of its own: bulk Arrow reads need one with no half-read result on it.
    cur = wh.new_cursor()
    try:
        records = prepare.standardised_records(cur)
        previous = store.previous_state(cur)
        must, cannot = review.decided_pairs(cur)
    finally:
        cur.close()
    if records.num_rows == 0:
        raise CxhubError("there are no source records yet; load some with `cxhub ingest`")
    seconds["read"] = _lap(t0, seconds)

    phase("training and scoring pairs")
    scored = _score(records, s, engine, engine_options or {})
    seconds.update({f"splink_{k}": v for k, v in scored.seconds.items()})
    seconds["engine"] = _lap(t0, seconds)  # starting the engine, loading the records into it

    phase("clustering")
    record_ids = records.column("record_id").to_numpy()
    checks = conflicts.active_checks(s.conflicts, scored.model["conflict_m"], s.conflict_max_m)
    scored.model["conflict_checks"] = list(checks)
    clustering = clusters.cluster(
        record_ids, scored.pairs, s.threshold, must, cannot,
        find_conflicts=lambda labels, edges: conflicts.contradicting(
            records, conflicts.within_cluster_pairs(labels, edges), checks),
    )  # fmt: skip
    scored.model["conflicts_kept_apart"] = clustering.conflicts
    ids = clusters.assign_ids(
        clustering, previous.record_ids, previous.customer_ids, previous.next_customer_id
    )
    links = pa.table(
        {
            "record_id": pa.array(record_ids, pa.int64()),
            "customer_id": pa.array(ids.customer_ids, pa.int64()),
            "match_probability": pa.array(clustering.strength, pa.float64()),
        }
    )
    candidates = review.decisive_pairs(
        scored.pairs, clustering, s.review_low, s.threshold, s.review_high,
        contradicting=lambda idx: conflicts.contradicting(records, idx, checks),
    )  # fmt: skip
    seconds["cluster"] = _lap(t0, seconds)

    phase("writing customers")
    n_customers = len(set(ids.customer_ids.tolist()))
    linked = int(records.num_rows - _singletons(ids.customer_ids))
    summary = {
        "records": records.num_rows,
        "customers": n_customers,
        "merges": ids.count("merge"),
        "splits": ids.count("split"),
        "links": records.num_rows,
        "settings": {
            "threshold": s.threshold, "engine": engine, "review_low": s.review_low,
            "review_high": s.review_high, "model": scored.model,
        },
    }  # fmt: skip
    outcome = store.RunOutcome(
        links=links, changes=ids.changes, reviews=candidates, survivorship=s.survivorship,
        started_at=started, finished_at=datetime.now(UTC).replace(tzinfo=None), summary=summary,
    )  # fmt: skip
    run_id = wh.write(lambda con: store.write_run(con, outcome, previous.last_run_id),
                      groupable=False)
    seconds["write"] = _lap(t0, seconds)
    ((open_reviews,),) = wh.read("SELECT reviews FROM identity_runs WHERE run_id = ?", [run_id])
    return ResolveReport(
        run_id=run_id,
        records=records.num_rows,
        customers=n_customers,
        links=records.num_rows,
        linked_records=linked,
        new_customers=ids.count("new"),
        merges=summary["merges"],
        splits=summary["splits"],
        reviews=int(open_reviews),
        threshold=s.threshold,
        engine=engine,
        seconds=seconds,
        model=scored.model,
    )


def _score(records: pa.Table, s: IdentitySettings, engine: str,
           options: dict[str, Any]) -> linker.ScoredPairs:
    if records.num_rows < 2:  # nothing to compare, and nothing to train on
        empty = pa.table({c: pa.array([], t) for c, t in zip(
            linker.PAIR_COLUMNS, (pa.int64(), pa.int64(), pa.float64(), pa.float64()),
            strict=True)})  # fmt: skip
        return linker.ScoredPairs(pairs=empty, floor=s.review_low, model={"conflict_m": {}})
    plan = linker.plan_model(s, prepare.filled_shares(records))
    link_engine = make_engine(engine, **options)
    try:
        return linker.score_pairs(records, s, plan, link_engine)
    finally:
        link_engine.close()


def _singletons(customer_ids: np.ndarray) -> int:
    _, counts = np.unique(customer_ids, return_counts=True)
    return int((counts == 1).sum())


def _lap(t0: float, seconds: dict[str, float]) -> float:
    return round(time.perf_counter() - t0 - sum(seconds.values()), 3)


# --- the review queue ------------------------------------------------------------------------

_SIDE = ("first_name", "last_name", "date_of_birth", "email", "phone", "address", "city",
         "postcode", "national_id")  # fmt: skip


def list_reviews(wh: Warehouse, *, status: str = "open", limit: int = 50) -> list[dict[str, Any]]:
    """Pairs in the queue, those whose decision changes most first, each with both records
    side by side. `records_moved` is how many records would change customer: for two
    customers a `match` would merge, the smaller one's records; for a record held in its
    customer by one uncertain link, that record. Among equals, the least certain first."""
    side = ", ".join(f"a.{c} AS l_{c}, b.{c} AS r_{c}" for c in _SIDE)
    rows = wh.read_dicts(
        f"""
        WITH sizes AS (SELECT customer_id, count(*) AS n FROM customer_links GROUP BY 1)
        SELECT r.review_id, r.status, r.match_probability, r.decided_by, r.decided_at,
               CASE WHEN la.customer_id = lb.customer_id THEN 1
                    ELSE least(sa.n, sb.n) END AS records_moved,
               r.source_l, r.external_id_l, r.source_r, r.external_id_r, {side}
        FROM identity_reviews r
        LEFT JOIN source_records a ON a.source = r.source_l AND a.external_id = r.external_id_l
        LEFT JOIN source_records b ON b.source = r.source_r AND b.external_id = r.external_id_r
        LEFT JOIN customer_links la
          ON la.source = r.source_l AND la.external_id = r.external_id_l
        LEFT JOIN customer_links lb
          ON lb.source = r.source_r AND lb.external_id = r.external_id_r
        LEFT JOIN sizes sa ON sa.customer_id = la.customer_id
        LEFT JOIN sizes sb ON sb.customer_id = lb.customer_id
        WHERE (? = 'all' OR r.status = ?)
        ORDER BY records_moved DESC NULLS LAST, abs(r.match_probability - 0.5) NULLS LAST,
                 r.review_id
        LIMIT ?
        """,
        [status, status, limit],
    )
    out = []
    for d in rows:
        pair = {k: d[k] for k in ("review_id", "status", "match_probability", "decided_by",
                                  "decided_at", "records_moved")}  # fmt: skip
        pair["left"] = {"source": d["source_l"], "external_id": d["external_id_l"],
                        **{c: d[f"l_{c}"] for c in _SIDE}}  # fmt: skip
        pair["right"] = {"source": d["source_r"], "external_id": d["external_id_r"],
                         **{c: d[f"r_{c}"] for c in _SIDE}}  # fmt: skip
        out.append(pair)
    return out


def decide(wh: Warehouse, review_id: int, decision: str, *, decided_by: str) -> dict[str, Any]:
    """Record a person's decision on a queued pair; the next `resolve` obeys it."""
    if decision not in review.DECISIONS:
        raise CxhubError(f"a decision is one of {', '.join(review.DECISIONS)}, not {decision!r}")
    rows = wh.read(
        "SELECT source_l, external_id_l, source_r, external_id_r FROM identity_reviews "
        "WHERE review_id = ?",
        [review_id],
    )
    if not rows:
        raise NotFoundError(f"no review pair with id {review_id}; see `cxhub review list`")
    sl, el, sr, er = rows[0]
    return decide_pair(wh, (sl, el), (sr, er), decision, decided_by=decided_by)


def decide_pair(
    wh: Warehouse, left: tuple[str, str], right: tuple[str, str], decision: str, *,
    decided_by: str,
) -> dict[str, Any]:
    """Decide any two source records (queued or not): `match` links them in every later run,
    `non_match` keeps them apart."""
    if decision not in review.DECISIONS:
        raise CxhubError(f"a decision is one of {', '.join(review.DECISIONS)}, not {decision!r}")
    for src, ext in (left, right):
        if not wh.read("SELECT 1 FROM source_records WHERE source = ? AND external_id = ?",
                       [src, ext]):  # fmt: skip
            raise NotFoundError(f"no source record {src}:{ext}")
    review_id = wh.write(
        lambda con: review.record_decision(con, left, right, decision, decided_by)
    )
    return {"review_id": review_id, "status": decision, "decided_by": decided_by,
            "left": list(left), "right": list(right)}  # fmt: skip


# --- the golden profile ----------------------------------------------------------------------


def golden_profile(wh: Warehouse, customer_id: int) -> dict[str, Any] | None:
    """A customer's golden record: each field's value with the source record it came from and
    the rule that chose it. An id merged into another customer leads to that customer, with
    `merged_from` naming the id asked for."""
    asked = customer_id
    found = wh.read_dict("SELECT * FROM customers WHERE customer_id = ?", [customer_id])
    hops = 0
    while found is None and hops < 20:  # merged away, and the survivor merged in turn ...
        moved = wh.read(
            "SELECT customer_id FROM identity_changes WHERE change = 'merge' "
            "AND other_customer_id = ? ORDER BY run_id DESC LIMIT 1",
            [customer_id],
        )
        if not moved:
            return None
        customer_id, hops = int(moved[0][0]), hops + 1
        found = wh.read_dict("SELECT * FROM customers WHERE customer_id = ?", [customer_id])
    if found is None:
        return None
    profile = json.loads(found.pop("profile") or "{}")
    found["golden"] = profile.get("fields", {})
    found["record_count"] = profile.get("record_count")
    found["sources"] = profile.get("sources", [])
    if asked != customer_id:
        found["merged_from"] = asked
    return found
