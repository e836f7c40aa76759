"""From scored pairs to customers: clusters that respect human decisions, and stable ids.

Clustering links two records when their pair scores at or above the threshold, or when a person
said "match"; a person's "non_match" forbids the pair. Connected components do the bulk of the
work; only a component that would hold a forbidden pair is rebuilt, greedily from its strongest
edges, refusing any join that would put a forbidden pair together.

Ids: a customer keeps its id from run to run. Each previous id goes to the new cluster holding
most of its records (ties to the lower id), one id per cluster; clusters left without one get
new ids, never reused. What changed is recorded: `new` customers, `merge` (a customer took
records of another id), `split` (an id's records went to several customers), `new_records`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

Pair = tuple[int, int]
FindConflicts = Callable[[np.ndarray, tuple[np.ndarray, np.ndarray]], np.ndarray]


@dataclass
class Clustering:
    """`labels[i]` is the cluster of `record_ids[i]`; `strength[i]` the probability of the
    strongest link that holds the record in its cluster (1.0 alone or by a person's match)."""

    record_ids: np.ndarray
    labels: np.ndarray
    strength: np.ndarray
    conflicts: int = 0  # contradicting pairs found inside clusters and kept apart


@dataclass
class Change:
    change: str
    customer_id: int
    other_customer_id: int | None = None
    detail: str = ""


@dataclass
class IdAssignment:
    customer_ids: np.ndarray  # aligned with Clustering.record_ids
    changes: list[Change] = field(default_factory=list)

    def count(self, change: str) -> int:
        return sum(1 for c in self.changes if c.change == change)


def cluster(
    record_ids: np.ndarray,
    pairs: pa.Table,
    threshold: float,
    must_link: list[Pair] = (),  # type: ignore[assignment]
    cannot_link: list[Pair] = (),  # type: ignore[assignment]
    find_conflicts: FindConflicts | None = None,
) -> Clustering:
    """Cluster `record_ids` (sorted ascending) using the pairs scored at or above `threshold`.

    `find_conflicts(labels, (left, right))` may name index pairs inside the first clusters
    that must not share a customer (conflicts.py); they are kept apart like a person's
    non_match, unless a person said they match."""
    n = len(record_ids)
    left = _index(record_ids, pairs.column("record_id_l").to_numpy())
    right = _index(record_ids, pairs.column("record_id_r").to_numpy())
    prob = pairs.column("match_probability").to_numpy(zero_copy_only=False).astype(float)
    keep = prob >= threshold
    left, right, prob = left[keep], right[keep], prob[keep]

    forbidden: set[Pair] = {
        _key(*_index(record_ids, np.array(p))) for p in cannot_link if _known(record_ids, p)
    }
    if forbidden:
        allowed = np.array([_key(a, b) not in forbidden for a, b in zip(left, right, strict=True)],
                           dtype=bool)
        left, right, prob = left[allowed], right[allowed], prob[allowed]
    forced = [tuple(_index(record_ids, np.array(p))) for p in must_link if _known(record_ids, p)]
    forced = [p for p in forced if _key(*p) not in forbidden]
    if forced:
        fl, fr = np.array(forced, dtype=np.int64).T
        left = np.concatenate([left, fl])
        right = np.concatenate([right, fr])
        prob = np.concatenate([prob, np.ones(len(fl))])

    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    labels = labels.astype(np.int64)
    conflicts = 0
    if find_conflicts is not None:
        matched = {_key(a, b) for a, b in forced}
        found = {_key(a, b) for a, b in find_conflicts(labels, (left, right))} - matched
        conflicts = len(found - forbidden)
        forbidden |= found
    if forbidden:
        labels = _split_forbidden(labels, left, right, prob, forbidden)
    strength = np.ones(n)
    if len(left):
        inside = labels[left] == labels[right]
        best = np.zeros(n)
        np.maximum.at(best, left[inside], prob[inside])
        np.maximum.at(best, right[inside], prob[inside])
        strength = np.where(best > 0, best, 1.0)
    return Clustering(record_ids=record_ids, labels=labels, strength=strength,
                      conflicts=conflicts)


def _split_forbidden(
    labels: np.ndarray, left: np.ndarray, right: np.ndarray, prob: np.ndarray,
    forbidden: set[Pair],
) -> np.ndarray:
    """Rebuild each component that holds a forbidden pair, strongest edges first."""
    bad = sorted({int(labels[a]) for a, b in forbidden if labels[a] == labels[b]})
    if not bad:
        return labels
    labels = labels.copy()
    next_label = int(labels.max()) + 1
    partners: dict[int, set[int]] = defaultdict(set)
    for a, b in forbidden:
        partners[a].add(b)
        partners[b].add(a)
    # Edges and members grouped by component once, so each component is a slice.
    edge_order = np.argsort(labels[left], kind="stable")
    edge_labels = labels[left][edge_order]
    member_order = np.argsort(labels, kind="stable")
    member_labels = labels[member_order]
    for comp in bad:
        edges = edge_order[np.searchsorted(edge_labels, comp):
                           np.searchsorted(edge_labels, comp, side="right")]
        members = member_order[np.searchsorted(member_labels, comp):
                               np.searchsorted(member_labels, comp, side="right")]
        edges = edges[np.lexsort((right[edges], left[edges], -prob[edges]))]
        parent = {int(m): int(m) for m in members}
        # The constrained members of each root's group; few, since contradictions are few.
        guarded = {int(m): ({int(m)} if int(m) in partners else set()) for m in members}

        for e in edges:
            ra, rb = _find(parent, int(left[e])), _find(parent, int(right[e]))
            if ra == rb:
                continue
            if any(_find(parent, p) == rb
                   for g in guarded[ra] for p in partners[g] if p in parent):
                continue
            parent[rb] = ra
            guarded[ra] |= guarded.pop(rb)
        label_of_root: dict[int, int] = {}
        for m in members:
            r = _find(parent, int(m))
            if r not in label_of_root:
                if label_of_root:
                    label_of_root[r] = next_label
                    next_label += 1
                else:
                    label_of_root[r] = comp
            labels[m] = label_of_root[r]
    return labels


def _find(parent: dict[int, int], x: int) -> int:
    """The root of x's group, halving the path on the way."""
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x


def assign_ids(
    clustering: Clustering,
    previous_record_ids: np.ndarray,
    previous_customer_ids: np.ndarray,
    next_id: int,
) -> IdAssignment:
    """Give each cluster a customer id, keeping the previous run's ids where possible."""
    labels = clustering.labels
    pos = np.searchsorted(clustering.record_ids, previous_record_ids)
    pos = np.clip(pos, 0, max(len(clustering.record_ids) - 1, 0))
    present = (
        clustering.record_ids[pos] == previous_record_ids
        if len(clustering.record_ids) else np.zeros(len(pos), dtype=bool)
    )
    old_label = labels[pos[present]]
    old_id = previous_customer_ids[present].astype(np.int64)

    overlap: dict[tuple[int, int], int] = {}
    if len(old_id):
        both, counts = np.unique(np.stack([old_label, old_id], axis=1), axis=0,
                                 return_counts=True)
        overlap = {(int(a), int(b)): int(n) for (a, b), n in zip(both, counts, strict=True)}
    ranked = sorted(overlap.items(), key=lambda kv: (-kv[1], kv[0][1], kv[0][0]))
    id_of_label: dict[int, int] = {}
    taken: set[int] = set()
    for (lab, oid), _n in ranked:
        if lab not in id_of_label and oid not in taken:
            id_of_label[lab] = oid
            taken.add(oid)

    uniq_labels, first_pos = np.unique(labels, return_index=True)
    # New ids in the order of each cluster's first record, so reruns number them alike.
    for lab in uniq_labels[np.argsort(first_pos, kind="stable")].tolist():
        if lab not in id_of_label:
            id_of_label[lab] = next_id
            next_id += 1
    id_by_label = np.zeros(int(labels.max()) + 1 if len(labels) else 0, dtype=np.int64)
    for lab, cid in id_of_label.items():
        id_by_label[lab] = cid
    customer_ids = id_by_label[labels]

    changes = _changes(customer_ids, present, pos, old_id, overlap, id_of_label,
                       set(previous_customer_ids.tolist()))
    return IdAssignment(customer_ids=customer_ids, changes=changes)


def _changes(
    customer_ids: np.ndarray, present: np.ndarray, pos: np.ndarray, old_id: np.ndarray,
    overlap: dict[tuple[int, int], int], id_of_label: dict[int, int], previous_ids: set[int],
) -> list[Change]:
    sources: dict[int, dict[int, int]] = defaultdict(dict)  # new id -> {old id: records}
    targets: dict[int, dict[int, int]] = defaultdict(dict)  # old id -> {new id: records}
    for (lab, oid), n in overlap.items():
        cid = id_of_label[lab]
        sources[cid][oid] = n
        targets[oid][cid] = n
    known = np.zeros(len(customer_ids), dtype=bool)
    known[pos[present]] = True
    fresh: dict[int, int] = defaultdict(int)
    for cid in customer_ids[~known].tolist():
        fresh[cid] += 1

    changes: list[Change] = []
    for cid in sorted(set(customer_ids.tolist())):
        olds = sources.get(cid, {})
        if not olds:
            changes.append(Change("new", cid, None, f"{fresh[cid]} records"))
            continue
        for oid in sorted(olds):
            if oid != cid:
                changes.append(Change("merge", cid, oid, f"{olds[oid]} records from {oid}"))
        if fresh.get(cid):
            changes.append(Change("new_records", cid, None, f"{fresh[cid]} records"))
    for oid in sorted(targets):
        for cid, n in sorted(targets[oid].items()):
            if len(targets[oid]) > 1 and cid != oid:
                changes.append(Change("split", oid, cid, f"{n} records to {cid}"))
    for oid in sorted(previous_ids - set(targets)):
        changes.append(Change("removed", oid, None, "its records are gone"))
    return changes


def _index(record_ids: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.searchsorted(record_ids, values).astype(np.int64)


def _known(record_ids: np.ndarray, pair: Pair) -> bool:
    """Whether both records of a decided pair are still among the records."""
    if not len(record_ids):
        return False
    idx = np.minimum(np.searchsorted(record_ids, np.array(pair)), len(record_ids) - 1)
    return bool(np.all(record_ids[idx] == np.array(pair)))


def _key(a: int, b: int) -> Pair:
    return (int(a), int(b)) if a <= b else (int(b), int(a))
