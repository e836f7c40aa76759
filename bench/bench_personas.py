"""Personas at scale: time of the persona step on the demo company and on a million customers,
and how well the personas recover the simulator's planted customer segments.

    python bench/bench_personas.py [--customers 50000] [--seed 42] [--scale 1000000] [--runs 3]

The demo company (`--customers`, one year) is simulated, loaded and resolved once into a cache
folder. The persona step is what `segments refresh` adds for personas: `persona_inputs` (age,
product families, complaints: DuckDB) and `personas` (features, the choice of k, k-means,
names: pandas and scikit-learn), on the customer frame `compute_segments` builds. For a
million customers a copy of the warehouse gets every customer, link, holding and contact
repeated with new ids (so the queries read 20 times the rows) and the customer frame is
repeated alike. Baseline, in the same run: one plain scikit-learn k-means (10 starts) of every
customer at the chosen k, with no choice of k and no sampling. Recovery: adjusted Rand index
and purity of the personas against the CRM export's `segment` column, which no step reads.
Prints one JSON document; the targets: 50,000 customers in a few seconds, a million well
under a minute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics.cluster import contingency_matrix
from threadpoolctl import threadpool_limits

from cxhub.analytics.segments import personas as persona_model
from cxhub.analytics.segments.features import Window
from cxhub.analytics.segments.persona_features import BY_NAME, feature_table, persona_inputs
from cxhub.services.customers import identity
from cxhub.services.customers.segments import compute_segments
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"
START = dt.date(2024, 11, 1)


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def company(customers: int, seed: int) -> Path:
    """The simulated company, loaded and resolved (cached)."""
    folder = CACHE / f"personas-{customers}-{seed}"
    db = folder / "cxhub.duckdb"
    if (folder / "done").exists():
        return db
    shutil.rmtree(folder, ignore_errors=True)
    say(f"simulating {customers:,} customers ...")
    simulate(folder / "data", customers=customers, days=365, seed=seed, start=START)
    wh = Warehouse.open(db)
    manifest = folder / "data" / "manifest.json"
    for entry in json.loads(manifest.read_text()):
        say(f"loading {entry['kind']} from {entry['source']}")
        ingest_paths(wh, "generic", [manifest.parent / entry["path"]], kind=entry["kind"],
                     source=entry["source"])
    say("resolving identities ...")
    identity.resolve(wh)
    wh.close()
    shutil.rmtree(folder / "data")
    (folder / "done").write_text("ok")
    return db


def persona_step(wh: Warehouse, c: pd.DataFrame, as_of: dt.date
                 ) -> tuple[persona_model.Personas, float, float]:
    con = connect(None, duckdb_connection=wh.new_cursor())
    t0 = time.perf_counter()
    inputs = persona_inputs(con, Window(as_of))
    t1 = time.perf_counter()
    found = persona_model.personas(c.merge(inputs, on="customer_key", how="left"),
                                   pd.Timestamp(as_of))
    return found, t1 - t0, time.perf_counter() - t1


def baseline(c: pd.DataFrame, wh: Warehouse, as_of: dt.date, k: int) -> float:
    """One plain k-means of every (active) customer at k, on the same matrix."""
    con = connect(None, duckdb_connection=wh.new_cursor())
    features = feature_table(c.merge(persona_inputs(con, Window(as_of)), on="customer_key",
                                     how="left"), pd.Timestamp(as_of))
    features = features[~persona_model.inactive(features)]
    basis = [n for n in features.columns if BY_NAME[n].basis]
    x = persona_model.scaled(features[basis])[0].to_numpy()
    with threadpool_limits(limits=1):
        t = time.perf_counter()
        KMeans(k, n_init=10, random_state=0).fit(x)
        return time.perf_counter() - t


def recovery(wh: Warehouse, c: pd.DataFrame, labels: np.ndarray) -> dict[str, float]:
    planted = dict(wh.read(
        "SELECT l.customer_id, any_value(json_extract_string(s.attributes, '$.segment')) "
        "FROM source_records s JOIN customer_links l "
        "ON l.source = s.source AND l.external_id = s.external_id "
        "WHERE s.source = 'crm' GROUP BY 1"))
    truth = c["customer_id"].astype(int).map(planted)
    known = truth.notna().to_numpy()
    table = contingency_matrix(truth[known], labels[known])
    return {"customers_with_a_segment": int(known.sum()),
            "adjusted_rand_index": round(adjusted_rand_score(truth[known], labels[known]), 4),
            "purity": round(float(table.max(axis=0).sum() / table.sum()), 4),
            "largest_segment_share": round(float(truth[known].value_counts(
                normalize=True).max()), 4)}


def scaled_copy(db: Path, folder: Path, times: int) -> tuple[Warehouse, int]:
    """A copy of the warehouse with customers, links, holdings and contacts `times` over."""
    copy = folder / "scaled.duckdb"
    shutil.copy(db, copy)
    wh = Warehouse.open(copy)
    (offset,), = wh.read("SELECT max(customer_id) + 1 FROM customers")

    def grow(con: Any) -> None:
        reps = f"range(1, {times}) r(r)"
        con.execute(f"INSERT INTO customers BY NAME SELECT t.* REPLACE "
                    f"(customer_id + r * {offset} AS customer_id) FROM customers t, {reps}")
        con.execute(f"INSERT INTO customer_links BY NAME SELECT t.* REPLACE "
                    f"(external_id || '~' || r AS external_id, "
                    f"customer_id + r * {offset} AS customer_id) FROM customer_links t, {reps}")
        for table, key in (("holdings", "holding_id"), ("contacts", "contact_id")):
            (top,), = con.execute(f"SELECT max({key}) + 1 FROM {table}").fetchall()
            con.execute(f"INSERT INTO {table} BY NAME SELECT t.* REPLACE "
                        f"({key} + r * {top} AS {key}, external_id || '~' || r AS external_id,"
                        f" customer_external_id || '~' || r AS customer_external_id) "
                        f"FROM {table} t, {reps}")

    wh.write(grow)
    return wh, int(offset)


def scaled_frame(c: pd.DataFrame, times: int, offset: int) -> pd.DataFrame:
    parts = []
    for r in range(times):
        part = c.copy()
        part["customer_id"] = part["customer_id"] + r * offset
        part["customer_key"] = part["customer_id"].astype(str)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def measure(label: str, wh: Warehouse, frame: pd.DataFrame, as_of: dt.date, runs: int
            ) -> dict[str, Any]:
    timings, base_runs = [], []
    found = None
    for _ in range(runs):
        say(f"{label}: persona step on {len(frame):,} customers ...")
        found, q, cl = persona_step(wh, frame, as_of)
        timings.append({"inputs": round(q, 2), "personas": round(cl, 2),
                        "total": round(q + cl, 2)})
        say(f"{label}: baseline k-means ...")
        clusters = found.k - int(persona_model.INACTIVE in set(found.labels))
        base_runs.append(baseline(frame, wh, as_of, clusters))
    assert found is not None
    total = statistics.median(r["total"] for r in timings)
    return {
        "customers": len(frame), "runs": timings, "median_seconds": total,
        "median_inputs_seconds": statistics.median(r["inputs"] for r in timings),
        "median_personas_seconds": statistics.median(r["personas"] for r in timings),
        "baseline_kmeans_seconds": [round(b, 2) for b in base_runs],
        "personas_over_baseline": round(
            statistics.median(r["personas"] for r in timings) / statistics.median(base_runs),
            2),
        "k": found.k, "silhouette_by_k": {k: round(v, 3) for k, v in found.scores.items()},
        "personas": found.profiles[["customers", "description"]].to_dict("records"),
        "recovery": recovery(wh, frame, found.labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--scale", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    db = company(args.customers, args.seed)
    result: dict[str, Any] = {
        "command": " ".join(sys.argv),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                    "platform": platform.platform(), "load_before": os.getloadavg()},
    }
    with Warehouse.open(db) as wh:
        t = time.perf_counter()
        seg = compute_segments(wh)
        result["compute_segments_seconds"] = round(time.perf_counter() - t, 2)
        c = seg.customers.drop(columns=["persona"])
        result["demo"] = measure("demo", wh, c, seg.as_of, args.runs)
    times = max(1, -(-args.scale // len(c)))
    if times > 1:
        say(f"repeating every customer {times} times ...")
        tmp = Path(tempfile.mkdtemp(prefix="cxhub-personas-"))
        try:
            wh, offset = scaled_copy(db, tmp, times)
            with wh:
                result["scaled"] = measure("scaled", wh, scaled_frame(c, times, offset),
                                           seg.as_of, args.runs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    result["machine"]["load_after"] = os.getloadavg()
    print(json.dumps(result, indent=2, default=str))


if __name__ == "__main__":
    main()
