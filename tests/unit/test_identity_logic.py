"""Identity resolution's pure parts: settings, clustering with decisions, stable ids."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
import yaml

from cxhub.analytics.identity.clusters import assign_ids, cluster
from cxhub.analytics.identity.settings import (
    IdentitySettings,
    IdentitySettingsError,
    settings_from_dict,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "identity.md"


def _pairs(*rows: tuple[int, int, float]) -> pa.Table:
    left, right, prob = zip(*rows, strict=True) if rows else ((), (), ())
    return pa.table({"record_id_l": pa.array(left, pa.int64()),
                     "record_id_r": pa.array(right, pa.int64()),
                     "match_probability": pa.array(prob, pa.float64())})  # fmt: skip


def _groups(record_ids: np.ndarray, labels: np.ndarray) -> set[frozenset[int]]:
    out: dict[int, set[int]] = {}
    for r, lab in zip(record_ids.tolist(), labels.tolist(), strict=True):
        out.setdefault(lab, set()).add(r)
    return {frozenset(g) for g in out.values()}


def test_the_documented_settings_file_is_valid() -> None:
    block = re.search(r"## Settings file.*?```yaml\n(.*?)```", DOCS.read_text(), re.S)
    assert block, "docs/identity.md has no settings example"
    s = settings_from_dict(yaml.safe_load(block.group(1)))
    assert s.threshold == 0.9 and s.survivorship.rules["location"] == "most_trusted"
    assert s.blocking == IdentitySettings().blocking  # the example shows the defaults
    assert [c.column for c in s.comparisons] == [c.column for c in IdentitySettings().comparisons]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"threshold": 1.2}, "threshold must be between 0 and 1"),
        ({"review": {"low": 0.95}}, "review.low <= threshold"),
        ({"comparisons": [{"column": "shoe_size", "kind": "exact"}]}, "column must be one of"),
        ({"comparisons": [{"column": "email", "kind": "fuzzy"}]}, "kind must be one of"),
        ({"blocking": [["colour"]]}, "names none of the columns"),
        ({"survivorship": {"rules": {"email": "loudest"}}}, "is not one of"),
        ({"conflicts": {"checks": ["shoe_size"]}}, "conflicts.checks"),
        ({"treshold": 0.9}, "unknown keys ['treshold']"),
    ],
)
def test_bad_settings_say_what_is_wrong(doc: dict[str, object], message: str) -> None:
    with pytest.raises(IdentitySettingsError, match=re.escape(message)):
        settings_from_dict(doc, where="identity.yaml")


def test_links_at_the_threshold_and_human_decisions() -> None:
    ids = np.arange(1, 7, dtype=np.int64)
    pairs = _pairs((1, 2, 0.95), (2, 3, 0.92), (4, 5, 0.6), (5, 6, 0.89))
    plain = cluster(ids, pairs, 0.9)
    assert _groups(ids, plain.labels) == {frozenset({1, 2, 3}), frozenset({4}),
                                          frozenset({5}), frozenset({6})}  # fmt: skip
    assert plain.strength.tolist() == [0.95, 0.95, 0.92, 1.0, 1.0, 1.0]
    # A person's match joins 4 and 5; a non_match keeps 1 and 3 apart although 2 links both:
    # 2 stays with 1, its stronger link.
    decided = cluster(ids, pairs, 0.9, must_link=[(4, 5)], cannot_link=[(3, 1)])
    assert _groups(ids, decided.labels) == {frozenset({1, 2}), frozenset({3}),
                                            frozenset({4, 5}), frozenset({6})}  # fmt: skip


def test_contradictions_split_a_cluster_unless_a_person_matched_them() -> None:
    ids = np.array([10, 20, 30], dtype=np.int64)
    pairs = _pairs((10, 20, 0.99), (20, 30, 0.97))

    def contradiction(labels: np.ndarray, edges: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
        assert labels[0] == labels[2]  # asked about the clusters as first found
        return np.array([[0, 2]])

    split = cluster(ids, pairs, 0.9, find_conflicts=contradiction)
    assert _groups(ids, split.labels) == {frozenset({10, 20}), frozenset({30})}
    assert split.conflicts == 1
    kept = cluster(ids, pairs, 0.9, must_link=[(10, 30)], find_conflicts=contradiction)
    assert _groups(ids, kept.labels) == {frozenset({10, 20, 30})}


def test_ids_follow_most_records_and_changes_are_named() -> None:
    ids = np.array([1, 2, 3, 4, 5, 6, 7], dtype=np.int64)
    # Before: customer 100 = {1, 2, 3}, 200 = {4}, 300 = {5, 6}; record 7 is new.
    prev_records = np.array([1, 2, 3, 4, 5, 6], dtype=np.int64)
    prev_ids = np.array([100, 100, 100, 200, 300, 300], dtype=np.int64)
    # Now: {1, 2} {3, 4} {5, 6, 7}: 100 loses 3 to 200's cluster, 300 gains 7.
    now = cluster(ids, _pairs((1, 2, 0.99), (3, 4, 0.99), (5, 6, 0.99), (6, 7, 0.99)), 0.9)
    got = assign_ids(now, prev_records, prev_ids, next_id=301)
    by_record = dict(zip(ids.tolist(), got.customer_ids.tolist(), strict=True))
    assert by_record == {1: 100, 2: 100, 3: 200, 4: 200, 5: 300, 6: 300, 7: 300}
    changes = {(c.change, c.customer_id, c.other_customer_id) for c in got.changes}
    assert changes == {("split", 100, 200), ("merge", 200, 100), ("new_records", 300, None)}
    # A cluster of records from two customers of equal weight keeps the lower id.
    both = cluster(ids[:2], _pairs((1, 2, 0.99)), 0.9)
    merged = assign_ids(both, np.array([1, 2]), np.array([9, 8]), next_id=10)
    assert merged.customer_ids.tolist() == [8, 8]
    assert {(c.change, c.customer_id, c.other_customer_id) for c in merged.changes} == {
        ("merge", 8, 9)}


def test_pairwise_quality_counts_pairs_as_by_hand() -> None:
    from cxhub.analytics.identity.quality import pairwise_quality

    # Customers {a1 a2 b1} {a3} {c1 c2}; people a (3 records), b, c (2).
    predicted = np.array([1, 1, 1, 2, 3, 3])
    truth = np.array(["a", "a", "b", "a", "c", "c"])
    q = pairwise_quality(predicted, truth)
    # Predicted pairs: 3 + 0 + 1 = 4; true pairs: 3 (a) + 0 + 1 (c) = 4; hits: a1-a2 and c1-c2.
    assert (q.predicted_pairs, q.true_pairs, q.hits) == (4, 4, 2)
    assert (q.precision, q.recall) == (0.5, 0.5)
    assert (q.mixed_customers, q.most_people_in_one, q.people, q.customers) == (1, 2, 3, 3)
    perfect = pairwise_quality(truth, truth)
    assert perfect.precision == perfect.recall == 1.0 and perfect.mixed_customers == 0


def test_only_decisive_pairs_are_queued() -> None:
    from cxhub.analytics.identity.review import decisive_pairs

    ids = np.arange(1, 9, dtype=np.int64)
    pairs = _pairs(
        (1, 2, 0.999), (2, 3, 0.95),  # 3 hangs on one uncertain link: asked
        (1, 3, 0.6),  # inside one customer held by surer links: not asked
        (3, 4, 0.7), (2, 4, 0.8),  # two customers joined by uncertain pairs: the 0.8 asked once
        (5, 6, 0.999), (5, 7, 0.95), (6, 7, 0.97),  # 7 held by its 0.97 link: asked that one
        (4, 8, 0.93),  # over the threshold but kept apart (a contradiction): not asked
        (1, 5, 0.3),  # below review.low: not asked
    )
    c = cluster(ids, pairs, 0.9, cannot_link=[(4, 8)])
    assert _groups(ids, c.labels) == {frozenset({1, 2, 3}), frozenset({4}),
                                      frozenset({5, 6, 7}), frozenset({8})}  # fmt: skip
    queued = decisive_pairs(pairs, c, 0.5, 0.9, 0.99)
    asked = set(zip(queued.column("record_id_l").to_pylist(),
                    queued.column("record_id_r").to_pylist(), strict=True))  # fmt: skip
    assert asked == {(2, 3), (2, 4), (6, 7)}
    # Records that contradict each other (two first names: a household) are not asked about.
    household = decisive_pairs(
        pairs, c, 0.5, 0.9, 0.99,
        contradicting=lambda idx: idx[(ids[idx[:, 0]] == 2) & (ids[idx[:, 1]] == 4)],
    )  # fmt: skip
    assert set(zip(household.column("record_id_l").to_pylist(),
                   household.column("record_id_r").to_pylist(), strict=True)) == {(2, 3), (6, 7)}
