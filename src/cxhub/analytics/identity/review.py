"""The review queue: pairs the model is unsure of, and the decisions people make on them.

A pair scored in [review_low, review_high) is put in `identity_reviews` as `open`. A person
decides `match` or `non_match`; decided rows are never replaced by a later run, and every run
obeys them: a match links the two records whatever their score, a non_match keeps them apart
even when other records would join them (see clusters.py). Open rows keep their review id while
the pair stays uncertain, so a queue being worked through does not renumber under a person.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from cxhub.analytics.identity.clusters import Clustering, Pair

DECISIONS = ("match", "non_match")

# Pairs keyed by (source, external_id) on each side, the smaller key on the left, so one pair
# is one row whichever way round it was scored or decided.
_ORDERED_PAIRS = """
    SELECT CASE WHEN swap THEN sr ELSE sl END AS source_l,
           CASE WHEN swap THEN er ELSE el END AS external_id_l,
           CASE WHEN swap THEN sl ELSE sr END AS source_r,
           CASE WHEN swap THEN el ELSE er END AS external_id_r,
           match_probability
    FROM (SELECT a.source AS sl, a.external_id AS el, b.source AS sr, b.external_id AS er,
                 (a.source, a.external_id) > (b.source, b.external_id) AS swap,
                 c.match_probability
          FROM {candidates} c
          JOIN source_records a ON a.record_id = c.record_id_l
          JOIN source_records b ON b.record_id = c.record_id_r)
"""
_SAME_PAIR = (
    "r.source_l = c.source_l AND r.external_id_l = c.external_id_l "
    "AND r.source_r = c.source_r AND r.external_id_r = c.external_id_r"
)


def decided_pairs(cur: duckdb.DuckDBPyConnection) -> tuple[list[Pair], list[Pair]]:
    """Record-id pairs people said are the same customer, and those they said are not."""
    rows = cur.execute(
        """
        SELECT a.record_id, b.record_id, r.status FROM identity_reviews r
        JOIN source_records a ON a.source = r.source_l AND a.external_id = r.external_id_l
        JOIN source_records b ON b.source = r.source_r AND b.external_id = r.external_id_r
        WHERE r.status IN ('match', 'non_match')
        """
    ).fetchall()
    must = [(int(a), int(b)) for a, b, s in rows if s == "match"]
    cannot = [(int(a), int(b)) for a, b, s in rows if s == "non_match"]
    return must, cannot


def uncertain_pairs(pairs: pa.Table, low: float, high: float) -> pa.Table:
    """The scored pairs in [low, high)."""
    p = pairs.column("match_probability")
    mask = pc.and_(pc.greater_equal(p, low), pc.less(p, high))
    return pairs.filter(mask).select(["record_id_l", "record_id_r", "match_probability"])


def decisive_pairs(
    pairs: pa.Table, clustering: Clustering, low: float, threshold: float, high: float,
    contradicting: Callable[[np.ndarray], np.ndarray] | None = None,
) -> pa.Table:
    """The uncertain pairs whose decision would change a customer, one per question.

    - Two customers joined by a pair scored in [low, threshold): a `match` would merge them.
      One pair per two customers (the strongest), since deciding it answers for the rest.
    - A record held in its customer only by a link in [threshold, high): a `non_match` would
      take it out. One pair per record (that link).
    A pair inside one customer that other, surer links already hold changes nothing whatever
    a person says, and a pair scored above the threshold but kept apart by a contradiction
    (conflicts.py: two first names, two birth dates) was settled by the records themselves;
    neither is asked, nor is a merge of two records that contradict each other
    (`contradicting(index_pairs)` names those; a household's two people, mostly).
    How many records each question moves orders the queue (list_reviews).
    """
    u = uncertain_pairs(pairs, low, high)
    ids = clustering.record_ids
    a = np.searchsorted(ids, u.column("record_id_l").to_numpy())
    b = np.searchsorted(ids, u.column("record_id_r").to_numpy())
    p = u.column("match_probability").to_numpy(zero_copy_only=False).astype(float)
    la, lb = clustering.labels[a], clustering.labels[b]
    across = (la != lb) & (p < threshold)
    # Best pair per pair of customers: sort by probability, keep the first of each.
    ca, cb = np.minimum(la, lb), np.maximum(la, lb)
    order = np.lexsort((-p, cb, ca))
    order = order[across[order]]
    sa, sb = ca[order], cb[order]
    first = np.r_[True, (sa[1:] != sa[:-1]) | (sb[1:] != sb[:-1])][: len(order)]
    asked = order[first]
    if contradicting is not None and len(asked):
        found = contradicting(np.stack([a[asked], b[asked]], axis=1))
        settled = {(int(x), int(y)) for x, y in found}
        asked = asked[[(int(a[i]), int(b[i])) not in settled for i in asked]]
    keep = np.zeros(len(p), dtype=bool)
    keep[asked] = True
    # A within-customer link in [threshold, high) that is a record's strongest link.
    within = (la == lb) & (p >= threshold)
    s = clustering.strength
    holds = within & (
        (np.isclose(s[a], p) & (s[a] < high)) | (np.isclose(s[b], p) & (s[b] < high))
    )
    # One per record: the record's strongest link is one edge, but ties could list several.
    holds_idx = np.flatnonzero(holds)
    held = np.where(np.isclose(s[a], p), a, b)[holds_idx]
    _, first_of = np.unique(held, return_index=True)
    keep[holds_idx[first_of]] = True
    return u.filter(pa.array(keep))


def store_open_reviews(
    con: duckdb.DuckDBPyConnection, candidates: pa.Table, run_id: int
) -> int:
    """Make the open queue the given candidates; decided pairs stay as they are. Runs in the
    writer's transaction. Returns the number of open reviews."""
    con.register("_review_candidates", candidates)
    try:
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _reviews_now AS "
            + _ORDERED_PAIRS.format(candidates="_review_candidates")
        )
    finally:
        con.unregister("_review_candidates")
    con.execute(
        f"""
        UPDATE identity_reviews AS r SET match_probability = c.match_probability, run_id = ?
        FROM _reviews_now c WHERE r.status = 'open' AND {_SAME_PAIR}
        """,
        [run_id],
    )
    con.execute(
        f"""
        DELETE FROM identity_reviews r WHERE r.status = 'open'
          AND NOT EXISTS (SELECT 1 FROM _reviews_now c WHERE {_SAME_PAIR})
        """
    )
    con.execute(
        f"""
        INSERT INTO identity_reviews (review_id, source_l, external_id_l, source_r, external_id_r,
                                      match_probability, status, run_id, created_at)
        SELECT (SELECT coalesce(max(review_id), 0) FROM identity_reviews)
                 + row_number() OVER (ORDER BY c.match_probability DESC, c.source_l,
                                      c.external_id_l, c.source_r, c.external_id_r),
               c.source_l, c.external_id_l, c.source_r, c.external_id_r, c.match_probability,
               'open', ?, current_timestamp::TIMESTAMP
        FROM _reviews_now c
        WHERE NOT EXISTS (SELECT 1 FROM identity_reviews r WHERE {_SAME_PAIR})
        """,
        [run_id],
    )
    con.execute("DROP TABLE _reviews_now")
    (count,) = con.execute(
        "SELECT count(*) FROM identity_reviews WHERE status = 'open'"
    ).fetchall()[0]
    return int(count)


def record_decision(
    con: duckdb.DuckDBPyConnection,
    left: tuple[str, str],
    right: tuple[str, str],
    decision: str,
    decided_by: str,
) -> int:
    """Decide any pair, queued or not (a person may split a customer from its page).
    Returns the pair's review id."""
    if decision not in DECISIONS:
        raise ValueError(f"decision must be one of {DECISIONS}, not {decision!r}")
    (sl, el), (sr, er) = sorted([left, right])
    rows = con.execute(
        "SELECT review_id FROM identity_reviews WHERE source_l = ? AND external_id_l = ? "
        "AND source_r = ? AND external_id_r = ?",
        [sl, el, sr, er],
    ).fetchall()
    if rows:
        found = rows[0]
        con.execute(
            "UPDATE identity_reviews SET status = ?, decided_by = ?, "
            "decided_at = current_timestamp::TIMESTAMP WHERE review_id = ?",
            [decision, decided_by, found[0]],
        )
        return int(found[0])
    (review_id,) = con.execute(
        "SELECT coalesce(max(review_id), 0) + 1 FROM identity_reviews"
    ).fetchall()[0]
    con.execute(
        "INSERT INTO identity_reviews (review_id, source_l, external_id_l, source_r, "
        "external_id_r, status, decided_by, decided_at, created_at) VALUES "
        "(?, ?, ?, ?, ?, ?, ?, current_timestamp::TIMESTAMP, current_timestamp::TIMESTAMP)",
        [review_id, sl, el, sr, er, decision, decided_by],
    )
    return int(review_id)
