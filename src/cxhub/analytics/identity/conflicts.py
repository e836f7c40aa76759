"""Records that contradict each other on who the person is never share a customer.

The linkage model treats its comparisons as independent, which members of one household are
not: they share a surname, an address, a landline and often an email, and that agreement can
outweigh their different first names and birth dates. So after clustering, every pair of
records inside a cluster is checked for a contradiction:
- `first_name`: both given, and neither the same name with a typo (Jaro-Winkler >= 0.7), nor a
  short form of it (nicknames.py), nor its initial (billing writes `W Ward`), nor first and
  last names swapped;
- `date_of_birth`: both given, more than one keying slip apart and more than a month apart.
Such a pair becomes a cannot-link, like a person's non_match, and its cluster is rebuilt.
A person's `match` decision overrides a contradiction. A check is used only where the model,
trained on the data at hand, finds that true matches rarely show that contradiction.
"""

from __future__ import annotations

import logging

import duckdb
import numpy as np
import pyarrow as pa

log = logging.getLogger(__name__)

CHECKS = ("first_name", "date_of_birth")
# Clusters bigger than this are checked on their scored edges only: all pairs of a cluster
# of n records is n(n-1)/2 comparisons.
MAX_CLUSTER_FOR_ALL_PAIRS = 200

# Each condition is the disagreement levels of the linker's comparison (linker.py), so the
# rate the model learnt for those levels is the rate of this contradiction among matches.
_CONDITIONS = {
    "first_name": """(
        l_first_name IS NOT NULL AND r_first_name IS NOT NULL AND l_first_name <> r_first_name
        AND jaro_winkler_similarity(l_first_name, r_first_name) < 0.7
        AND NOT (l_first_name = r_last_name AND l_last_name = r_first_name)
        AND NOT (length(l_first_name) = 1 AND starts_with(r_first_name, l_first_name))
        AND NOT (length(r_first_name) = 1 AND starts_with(l_first_name, r_first_name))
        AND coalesce(len(list_intersect(l_first_name_nicknames, r_first_name_nicknames)), 0) = 0
    )""",
    "date_of_birth": """(
        l_date_of_birth IS NOT NULL AND r_date_of_birth IS NOT NULL
        AND levenshtein(CAST(l_date_of_birth AS VARCHAR), CAST(r_date_of_birth AS VARCHAR)) > 1
        AND abs(date_diff('day', l_date_of_birth, r_date_of_birth)) > 31
    )""",
}


def active_checks(
    wanted: tuple[str, ...], rates: dict[str, float], max_m: float
) -> tuple[str, ...]:
    """The checks the data supports: where true matches contradict each other at most
    `max_m` of the time. In data where a value is often replaced outright (FEBRL), a
    contradiction is no evidence and the check stays off."""
    return tuple(c for c in wanted if c in rates and rates[c] <= max_m)


def within_cluster_pairs(labels: np.ndarray, edges: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Index pairs (i < j) to check: every pair in small clusters, the edges in big ones."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    starts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
    sizes = np.diff(np.r_[starts, len(labels)])
    chunks = []
    # All clusters of one size at once: a (clusters x size) matrix of members.
    for size in np.unique(sizes[(sizes > 1) & (sizes <= MAX_CLUSTER_FOR_ALL_PAIRS)]):
        first = starts[sizes == size]
        members = np.sort(order[first[:, None] + np.arange(size)], axis=1)
        i, j = np.triu_indices(size, k=1)
        chunks.append(np.stack([members[:, i].ravel(), members[:, j].ravel()], axis=1))
    big = sorted_labels[starts[sizes > MAX_CLUSTER_FOR_ALL_PAIRS]]
    if len(big):
        left, right = edges
        on_big = np.isin(labels[left], big)
        log.warning("%d clusters of more than %d records: checked on their links only",
                    len(big), MAX_CLUSTER_FOR_ALL_PAIRS)
        chunks.append(np.stack([left[on_big], right[on_big]], axis=1))
    if not chunks:
        return np.empty((0, 2), dtype=np.int64)
    return np.concatenate(chunks).astype(np.int64)


def contradicting(records: pa.Table, candidates: np.ndarray, checks: tuple[str, ...]) -> np.ndarray:
    """The rows of `candidates` (index pairs into `records`) that contradict each other."""
    if not checks or not len(candidates):
        return np.empty((0, 2), dtype=np.int64)
    unknown = set(checks) - set(CHECKS)
    if unknown:
        raise ValueError(f"unknown conflict checks {sorted(unknown)}; known: {CHECKS}")
    cols = ["first_name", "last_name", "date_of_birth", "first_name_nicknames"]
    people = records.select(cols)
    # The two sides are laid side by side first: joining the records to the pairs in SQL
    # lets the optimiser join the records to each other on the inequalities, a cross product.
    left = people.take(pa.array(candidates[:, 0]))
    right = people.take(pa.array(candidates[:, 1]))
    flat = {"a": candidates[:, 0], "b": candidates[:, 1]}
    for c in cols:
        flat[f"l_{c}"], flat[f"r_{c}"] = left.column(c), right.column(c)
    con = duckdb.connect(":memory:")
    try:
        con.register("_pairs", pa.table(flat))
        where = " OR ".join(_CONDITIONS[c] for c in checks)
        found = con.sql(f"SELECT a, b FROM _pairs WHERE {where}").fetchnumpy()
    finally:
        con.close()
    return np.stack([found["a"], found["b"]], axis=1).astype(np.int64)
