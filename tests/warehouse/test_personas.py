"""Personas from the warehouse: the inputs read by `persona_inputs`, and the planted segments
of a simulated company recovered and named truthfully.

The simulator gives each customer a segment (family, young professional, student, senior,
small business, value seeker; share 30/20/10/20/10/10 %) that sets their age range, how much
they contact the company and on which channels (seniors 1.4 times the contacts, 70 % by
phone; students 40 % by chat). Products, spend, tenure and satisfaction do not depend on it.
The CRM export carries the segment as an extra column (`attributes.segment`), which no step
of the pipeline reads; the test compares the personas with it.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix

from cxhub.analytics.segments.features import Window
from cxhub.analytics.segments.persona_features import persona_inputs
from cxhub.analytics.segments.persona_names import TYPICAL, WORDS
from cxhub.analytics.segments.personas import INACTIVE
from cxhub.services.customers import identity
from cxhub.services.customers import segments as service
from cxhub.services.records.api import RecordSink
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

# Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

AS_OF = dt.date(2026, 6, 30)


def _at(days_before: int) -> dt.datetime:
    return dt.datetime.combine(AS_OF - dt.timedelta(days=days_before), dt.time(12))


def _write(wh: Warehouse, kind: str, rows: list[dict[str, Any]]) -> None:
    RecordSink(wh).submit(kind, rows).result()


def test_inputs_families_complaints_and_age(warehouse: Warehouse) -> None:
    key = {"customer_source": "crm"}
    holdings = [  # (customer, product, started days before, ended days before or None)
        ("a", "BB-FIBRE-500", 900, None), ("a", "MOB-SIM-10GB", 900, 10),  # SIM ended
        ("a", "Sky TV Sport", 100, None), ("b", "Unlimited 5G SIM", 50, None),
        ("b", "Home Phone Line", 50, None), ("b", "Gift card", 50, None),
        ("c", "Superfast Fibre Broadband", 20, None), ("c", "BB-OLD", 800, 400),
    ]
    _write(warehouse, "holdings", [
        {"source": "sales", "external_id": f"h{i}", "customer_external_id": c, "product": p,
         "started_at": _at(s), "ended_at": _at(e) if e is not None else None, **key}
        for i, (c, p, s, e) in enumerate(holdings)])
    contacts = [  # (customer, own category, days before)
        ("a", "problem", 5), ("a", "complaint", 30), ("a", None, 40), ("a", None, 50),
        ("a", "complaint", 400),  # older than 12 months: left out
        ("b", None, 3),
    ]
    _write(warehouse, "contacts", [
        {"source": "pbx", "external_id": f"k{i}", "customer_external_id": c, "channel": "phone",
         "category": cat, "created_at": _at(d), **key}
        for i, (c, cat, d) in enumerate(contacts)])
    ids = dict(warehouse.read("SELECT external_id, contact_id FROM contacts"))

    def label(con: Any) -> None:
        rows = [  # a model calls k0 a complaint; a person says k1 is a problem after all;
            # k2 gets a model label; b's contact a person's complaint label.
            (ids["k0"], "complaint", False, "2026-06-01"), (ids["k1"], "complaint", False,
                                                             "2026-06-02"),
            (ids["k1"], "problem", True, "2026-05-01"), (ids["k2"], "information", False,
                                                         "2026-06-01"),
            (ids["k5"], "complaint", True, "2026-06-01")]
        con.executemany("INSERT INTO labels (target, target_id, dimension, label, is_human, "
                        "labelled_at) VALUES ('contacts', ?, 'category', ?, ?, ?)", rows)
        con.execute("INSERT INTO customers (customer_id, date_of_birth) VALUES "
                    "(1, DATE '1950-01-01'), (2, NULL)")
        con.executemany("INSERT INTO customer_links (source, external_id, customer_id) "
                        "VALUES (?, ?, ?)", [("crm", "a", 1), ("crm", "b", 2), ("crm", "c", 3)])
    warehouse.write(label)

    con = connect(None, duckdb_connection=warehouse.new_cursor())
    got = persona_inputs(con, Window(AS_OF)).set_index("customer_key").sort_index()
    assert list(got.index) == ["1", "2", "3"]
    families = got[["has_broadband", "has_mobile", "has_tv", "has_landline"]].astype(int)
    # a: broadband and TV (the SIM has ended); b: a 5G SIM and a home phone (the gift card
    # is no family); c: fibre broadband (the old one ended).
    assert families.to_dict("index") == {
        "1": {"has_broadband": 1, "has_mobile": 0, "has_tv": 1, "has_landline": 0},
        "2": {"has_broadband": 0, "has_mobile": 1, "has_tv": 0, "has_landline": 1},
        "3": {"has_broadband": 1, "has_mobile": 0, "has_tv": 0, "has_landline": 0},
    }
    # a's four contacts of the 12 months: k0 complaint (model over own "problem"), k1
    # problem (person over model), k2 information (model), k3 uncategorised.
    assert (got.loc["1", "complaints_12m"], got.loc["1", "categorised_12m"]) == (1, 3)
    assert (got.loc["2", "complaints_12m"], got.loc["2", "categorised_12m"]) == (1, 1)
    assert got.loc["1", "date_of_birth"] == pd.Timestamp("1950-01-01")
    assert pd.isna(got.loc["2", "date_of_birth"])


def _company(tmp: Path, wh: Warehouse) -> None:
    """3,000 customers over a year, loaded as the demo loads them, then resolved."""
    out = tmp / "company"
    simulate(out, customers=3000, days=365, seed=1, start=dt.date(2024, 11, 1))
    manifest = out / "manifest.json"
    for entry in json.loads(manifest.read_text()):
        report = ingest_paths(wh, "generic", [out / entry["path"]], kind=entry["kind"],
                              source=entry["source"])
        assert not report.failed, report.failed
    identity.resolve(wh)


def _planted_segment(wh: Warehouse) -> dict[int, str]:
    return dict(wh.read(
        "SELECT l.customer_id, any_value(json_extract_string(s.attributes, '$.segment')) "
        "FROM source_records s JOIN customer_links l "
        "ON l.source = s.source AND l.external_id = s.external_id "
        "WHERE s.source = 'crm' GROUP BY 1"))


@pytest.mark.slow
def test_personas_recover_the_planted_segments(tmp_path: Path, warehouse: Warehouse) -> None:
    _company(tmp_path, warehouse)
    report = service.refresh_segments(warehouse)
    seg = report.segments
    c = seg.customers
    truth = c["customer_id"].astype(int).map(_planted_segment(warehouse))
    known = truth.notna().to_numpy()  # the rest are marketing's prospects: no segment
    persona = c["persona"].to_numpy()
    names = list(seg.personas.profiles["description"])
    print("personas:", seg.personas.profiles[["customers", "description"]].to_dict("records"))

    # Named, each name once, none "typical"; k from 3-8 plus the inactive persona.
    assert len(set(names)) == len(names) and TYPICAL not in names
    assert 4 <= seg.personas.k <= 9 and INACTIVE in names
    stored = dict(warehouse.read("SELECT persona, count(*) FROM customer_segments GROUP BY 1"))
    assert stored == dict(zip(*np.unique(persona, return_counts=True), strict=True))

    # Recovery. Measured on eight simulated companies of this size (seeds 1-8): adjusted
    # Rand index 0.131-0.170 (seed 1: 0.158), purity 0.40-0.46. Shuffled personas score
    # about 0, and the implementation before this one 0.00 on the 50,000-customer demo; a
    # classifier trained on the segment itself reaches 0.48 (the segments overlap in age
    # and most customers contact the company a few times a year, so that is the ceiling).
    # The floors sit below the lowest of the eight with room for noise.
    ari = adjusted_rand_score(truth[known], persona[known])
    table = contingency_matrix(truth[known], persona[known])
    purity = table.max(axis=0).sum() / table.sum()
    rng = np.random.default_rng(0)
    shuffled = max(abs(adjusted_rand_score(truth[known], rng.permutation(persona[known])))
                   for _ in range(20))
    print(f"ARI {ari:.3f}, purity {purity:.3f}, shuffled ARI up to {shuffled:.4f}")
    assert ari >= 0.10 and ari > 10 * shuffled
    assert purity >= 0.38 > truth[known].value_counts(normalize=True).max() + 0.05

    # Seniors: the oldest persona is mostly seniors (55-78 % over the eight companies,
    # against their 20 % of customers) and holds most of them (66-80 %).
    oldest = seg.personas.profiles["age"].idxmax()
    oldest_name = seg.personas.profiles.loc[oldest, "description"]
    members = (persona == oldest_name) & known
    seniors = (truth == "senior").to_numpy()
    assert seniors[members].mean() >= 0.45
    assert (members & seniors).sum() / (known & seniors).sum() >= 0.55
    assert "older" in oldest_name

    # Every word of every name is true of its persona, against the customers clustered.
    # Age and satisfaction are unknown for some customers, so they are checked on the
    # customers whose value is known, from the warehouse's own columns.
    born = dict(warehouse.read("SELECT customer_id, date_of_birth FROM customers"))
    age = (pd.Timestamp(seg.as_of) - pd.to_datetime(
        c["customer_id"].astype(int).map(born))).dt.days / 365.25
    known_means = pd.DataFrame({"age": age, "satisfaction": c["satisfaction"]})
    _assert_names_are_true(seg.personas.profiles, known_means, persona)


def _assert_names_are_true(profiles: pd.DataFrame, known: pd.DataFrame,
                           persona: np.ndarray) -> None:
    by_word = {w: (f, +1) for f, (w, _) in WORDS.items()}
    by_word |= {w: (f, -1) for f, (_, w) in WORDS.items()}
    clustered = persona != INACTIVE
    weights = profiles["customers"].where(profiles["description"] != INACTIVE, 0)
    numbers = profiles.drop(columns=["customers", "share", "description"])
    mean = numbers.mul(weights, axis=0).sum() / weights.sum()
    mean[known.columns] = known[clustered].mean()
    checked = 0
    for _, row in profiles.iterrows():
        name = row["description"]
        if name == INACTIVE:
            assert row["monthly_spend"] == 0 and row.filter(like="has_").sum() == 0
            continue
        for word in name.split(", "):
            if word in by_word:
                feature, sign = by_word[word]
                value = (known.loc[persona == name, feature].mean() if feature in known
                         else row[feature])
                assert sign * (value - mean[feature]) > 0, (name, word, value, mean[feature])
            elif word == "few or no products":
                assert row.filter(like="has_").sum() < 0.5, name
            elif word.startswith("no "):
                col = "has_" + word.removeprefix("no ").lower()
                assert row[col] < mean[col], (name, word)
            elif word.endswith(" only"):
                assert row["has_" + word.removesuffix(" only").lower()] >= 0.5, name
            elif word.startswith("with "):
                for family in word.removeprefix("with ").split(" and "):
                    col = "has_" + family.removeprefix("a ").lower()
                    assert row[col] > mean[col], (name, word)
            else:
                raise AssertionError(f"unknown words {word!r} in {name!r}")
            checked += 1
    assert checked >= 8
