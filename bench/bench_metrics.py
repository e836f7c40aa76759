"""Every metric of the catalogue on 10 million contacts, and the catalogue against pandas.

    python bench/bench_metrics.py [--rows 10000000] [--runs 5] [--cache DIR]

A warehouse of one year of contacts (with model labels for the category and cause of every
contact, customers, holdings, segments, surveys and mentions) is generated once with DuckDB SQL
into a cache folder outside the repository and reused by later runs. Each metric call is
`services.metrics.compute` as the API and the pages make it (compile, run, rows), timed
warm: one call first, then the median of `--runs`. Two questions a page asks are timed:
the last 30 days by day, and the whole year by month and channel.

The metrics are answered as the API answers them: from the ready-made tables (current labels,
repeat gaps, hourly and daily sums, quantile values) that `cxhub serve` keeps up to date; the
first run builds them (timed apart, `ready_tables`).

The pandas baseline computes three metrics the way an analyst would without the catalogue
(contacts by hour and channel, service level by day, ASA) on the same contacts: on the columns
already loaded in memory (loading not timed), and reading the columns it needs from a Parquet
export of the contacts first (made once, cached). The catalogue is also timed computing from the
records alone (a bare Ibis backend: what the API did before the ready-made tables). Results
are checked equal. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cxhub.metrics import compute as catalogue_compute
from cxhub.metrics import default_catalogue
from cxhub.services.metrics import compute as metrics
from cxhub.services.metrics import ready_tables
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"
YEAR = ("2025-01-01", "2025-12-31")
LAST_30_DAYS = ("2025-12-02", "2025-12-31")


# --- the data: one year of a contact centre, made with DuckDB SQL --------------------------

VERSION = "v1"
CUSTOMERS = 1_000_000
# Pseudo-random but repeatable: hash() of the row number, cut into independent parts.
_CONTACTS = """
INSERT INTO contacts (contact_id, source, external_id, customer_external_id, channel,
    created_at, queued_at, answered_at, first_response_at, resolved_at, abandoned_at,
    wait_seconds, talk_seconds, hold_seconds, wrap_seconds, outcome, queue, team, timely)
WITH r AS (
    SELECT i, (hash(i) >> 1)::BIGINT AS a, (hash(i + 7919) >> 1)::BIGINT AS b,
           (hash(i + 104729) >> 1)::BIGINT AS c FROM range({rows}) t(i)
), s AS (
    SELECT i, a, b, c,
        CASE WHEN a % 100 < 50 THEN 'phone' WHEN a % 100 < 65 THEN 'chat'
             WHEN a % 100 < 82 THEN 'email' WHEN a % 100 < 90 THEN 'web'
             WHEN a % 100 < 97 THEN 'social' ELSE 'letter' END AS channel,
        TIMESTAMP '2025-01-01' + to_days((i * 365 // {rows})::INTEGER)
            + to_seconds((7 * 3600 + (b % 50400))::BIGINT) AS created,
        (c >> 8) % 240 AS wait, (a >> 16) % 100 < 7 AS gives_up,
        60 + (b >> 20) % 600 AS talk, (c >> 24) % 100 < 20 AS holds,
        15 + (a >> 28) % 120 AS wrap, (b >> 32) % 100 AS resolve_draw,
        (c >> 36) % (36 * 3600) AS reply
    FROM r
)
SELECT i + 1, 'bench', 'c' || i, 'k' || (a >> 40) % {customers}, channel,
    created,
    CASE WHEN channel IN ('phone', 'chat') THEN created + INTERVAL 20 SECOND END,
    CASE WHEN channel IN ('phone', 'chat') AND NOT gives_up
         THEN created + INTERVAL 20 SECOND + to_seconds(wait) END,
    CASE WHEN channel NOT IN ('phone', 'chat') THEN created + to_seconds(reply) END,
    CASE WHEN resolve_draw < 95 THEN created + to_seconds(wait + talk + wrap + 60 + reply) END,
    CASE WHEN channel IN ('phone', 'chat') AND gives_up
         THEN created + INTERVAL 20 SECOND + to_seconds(wait // 2) END,
    CASE WHEN channel IN ('phone', 'chat') THEN CASE WHEN gives_up THEN wait // 2 ELSE wait END
         END,
    CASE WHEN NOT (channel IN ('phone', 'chat') AND gives_up) THEN talk END,
    CASE WHEN holds AND channel IN ('phone', 'chat') AND NOT gives_up THEN 45 END,
    CASE WHEN NOT (channel IN ('phone', 'chat') AND gives_up) THEN wrap END,
    CASE WHEN channel IN ('phone', 'chat') THEN
        CASE WHEN gives_up THEN 'abandoned' ELSE 'answered' END ELSE 'responded' END,
    channel, ['general', 'billing', 'technical', 'sales', 'retention'][1 + (b >> 44) % 5],
    (c >> 44) % 100 < 93
FROM s ORDER BY created
"""
_LABELS = """
INSERT INTO labels (target, target_id, dimension, label, score, model, model_version, is_human,
                    labelled_at)
SELECT 'contacts', contact_id, d.dimension,
    CASE d.dimension
        WHEN 'category' THEN ['information', 'transaction', 'problem', 'complaint', 'idea',
                              'compliment'][(1 + hash(contact_id) % 6)::BIGINT]
        ELSE ['product', 'delivery', 'pricing', 'billing', 'service', 'other'][
             (1 + hash(contact_id + 1) % 6)::BIGINT] END,
    0.8, 'tfidf-logreg', '1', false, created_at + INTERVAL 1 HOUR
FROM contacts, (VALUES ('category'), ('cause')) d(dimension)
"""
_CUSTOMERS = """
INSERT INTO holdings (holding_id, source, external_id, customer_external_id, product,
                      started_at, ended_at)
SELECT j + 1, 'bench', 'h' || j, 'k' || j, ['broadband', 'mobile', 'tv'][1 + j % 3],
    TIMESTAMP '2020-01-01' + to_days((hash(j) % 2100)::INTEGER),
    CASE WHEN hash(j + 3) % 10 = 0 THEN TIMESTAMP '2025-01-01'
         + to_days((hash(j + 5) % 365)::INTEGER) END
FROM range({customers}) t(j);
INSERT INTO customer_links (source, external_id, customer_id, match_probability, run_id)
SELECT 'bench', 'k' || j, j + 1, 1.0, 1 FROM range({customers}) t(j);
INSERT INTO customer_segments (customer_id, computed_at, segment)
SELECT j + 1, TIMESTAMP '2025-12-01',
    ['seniors', 'families', 'students', 'young professionals', 'small business'][1 + j % 5]
FROM range({customers}) t(j);
INSERT INTO surveys (survey_id, source, external_id, contact_external_id, survey_type, score,
                     answered_at)
SELECT k + 1, 'bench', 's' || k, 'c' || (k * 10), ['csat', 'nps', 'ces'][1 + k % 3],
    CASE k % 3 WHEN 0 THEN 1 + hash(k) % 5 WHEN 1 THEN hash(k) % 11
         ELSE 1 + hash(k) % 7 END,
    TIMESTAMP '2025-01-01' + to_seconds((k * 31536000 // {surveys})::BIGINT)
FROM range({surveys}) t(k);
INSERT INTO mentions (mention_id, source, external_id, platform, inbound, created_at,
                      first_response_seconds)
SELECT k + 1, 'bench', 'm' || k, 'twitter', k % 4 <> 0,
    TIMESTAMP '2025-01-01' + to_seconds((k * 31536000 // {mentions})::BIGINT),
    CASE WHEN k % 4 <> 0 AND hash(k) % 3 > 0 THEN (hash(k) % 7200)::BIGINT END
FROM range({mentions}) t(k);
"""


def generate(cache: Path, rows: int) -> Path:
    """The warehouse file for `rows` contacts, made once and reused."""
    path = cache / f"metrics-{VERSION}-{rows}" / "cxhub.duckdb"
    done = path.with_suffix(".done")
    if done.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    sizes = {"rows": rows, "customers": min(CUSTOMERS, max(rows // 10, 1000)),
             "surveys": max(rows // 10, 100), "mentions": max(rows // 10, 100)}
    with Warehouse.open(path) as wh:
        for step, sql in (("contacts", _CONTACTS), ("labels", _LABELS),
                          ("customers, surveys, mentions", _CUSTOMERS)):
            t = time.perf_counter()
            statements = sql.format(**sizes)
            wh.write(lambda con, q=statements: con.execute(q), groupable=False)
            print(f"generated {step} in {time.perf_counter() - t:.0f} s", file=sys.stderr)
        wh.write(lambda con: con.execute("CHECKPOINT"), groupable=False)
    done.touch()
    return path


def timed(fn: Callable[[], Any], runs: int) -> tuple[float, Any]:
    """Median seconds of `runs` calls after one warm-up call, and the last result."""
    result = fn()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


# --- pandas, written as one would without the catalogue -----------------------------------

def pandas_contacts_by_hour_and_channel(df: pd.DataFrame) -> pd.Series:
    return df.groupby([df.created_at.dt.floor("h"), "channel"], observed=False).size()


def pandas_service_level_by_day(df: pd.DataFrame) -> pd.Series:
    live = df[df.channel.isin(["phone", "chat"])]
    answered = live.answered_at.notna()
    abandoned = live.abandoned_at.notna() & ~answered
    threshold = np.where(live.channel == "phone", 20, 60)
    within = answered & (live.wait_seconds <= threshold)
    counted = answered | (abandoned & (live.wait_seconds >= 5))
    day = live.created_at.dt.floor("D")
    sums = pd.DataFrame({"day": day, "within": within, "counted": counted}).groupby("day").sum()
    return sums.within / sums.counted


def pandas_asa(df: pd.DataFrame) -> float:
    answered = df[df.channel.isin(["phone", "chat"]) & df.answered_at.notna()]
    return float(answered.wait_seconds.mean())


_PANDAS_COLUMNS = ["channel", "created_at", "answered_at", "abandoned_at", "wait_seconds"]


def parquet_export(wh: Warehouse, path: Path) -> Path:
    """Every column of the contacts as a Parquet file (made once): what an analyst exports."""
    file = path.parent / "contacts.parquet"
    if not file.exists():
        wh.cursor().execute(f"COPY contacts TO '{file}' (FORMAT parquet)")
    return file


def _from_parquet(file: Path, columns: list[str]) -> pd.DataFrame:
    df = pd.read_parquet(file, columns=columns)
    df["channel"] = df.channel.astype("category")
    return df


def compare_with_pandas(wh: Warehouse, runs: int, file: Path) -> list[dict[str, Any]]:
    """Each question four ways: pandas on the columns already in memory; pandas reading the
    columns it needs from a Parquet export first (what an analyst does); the catalogue from
    the records alone (no ready-made table); the catalogue as the API answers it."""
    contacts = wh.cursor().sql(f"SELECT {', '.join(_PANDAS_COLUMNS)} FROM contacts").df()
    contacts["channel"] = contacts.channel.astype("category")
    year = {"start": YEAR[0], "end": YEAR[1]}
    bare = connect(duckdb_connection=wh.new_cursor())
    cases = [
        ("contacts by hour and channel", "contacts", {"by": "hour,channel"},
         pandas_contacts_by_hour_and_channel, ["channel", "created_at"],
         lambda rows, ref: sum(r["value"] for r in rows) == int(ref.sum())),
        ("service level by day", "service_level", {"by": "day"}, pandas_service_level_by_day,
         _PANDAS_COLUMNS,
         lambda rows, ref: np.allclose([r["value"] for r in rows], ref.to_numpy())),
        ("ASA", "asa", {}, pandas_asa, ["channel", "answered_at", "wait_seconds"],
         lambda rows, ref: abs(rows[0]["value"] - ref) < 1e-6 * max(1.0, ref)),
    ]
    out = []
    for label, name, extra, baseline, columns, same in cases:
        pandas_s, reference = timed(lambda b=baseline: b(contacts), runs)
        parquet_s, _ = timed(lambda b=baseline, c=columns: b(_from_parquet(file, c)), runs)
        records_s, plain_rows = timed(
            lambda n=name, e=extra: catalogue_compute(bare, n, **year, **e), runs)
        catalogue_s, rows = timed(
            lambda n=name, e=extra: metrics.compute(wh, n, **year, **e), runs)
        out.append({"question": label, "metric": name,
                    "pandas_in_memory_ms": round(pandas_s * 1000, 1),
                    "pandas_from_parquet_ms": round(parquet_s * 1000, 1),
                    "catalogue_records_only_ms": round(records_s * 1000, 1),
                    "catalogue_ms": round(catalogue_s * 1000, 1),
                    "x_vs_pandas_in_memory": round(pandas_s / catalogue_s, 1),
                    "x_vs_pandas_from_parquet": round(parquet_s / catalogue_s, 1),
                    "records_only_x_vs_pandas_in_memory": round(pandas_s / records_s, 1),
                    "same_result": bool(same(rows, reference) and same(plain_rows, reference))})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    # Ibis 12 calls a method DuckDB 2.0 deprecates; the warning says nothing about cxhub.
    warnings.filterwarnings("ignore", message="fetch_arrow_table", category=DeprecationWarning)

    load_before = os.getloadavg()
    started = time.perf_counter()
    path = generate(args.cache, args.rows)
    generate_s = time.perf_counter() - started
    calls = {"last 30 days by day": {"start": LAST_30_DAYS[0], "end": LAST_30_DAYS[1],
                                     "by": "day"},
             "year by month and channel": {"start": YEAR[0], "end": YEAR[1],
                                           "by": "month,channel"}}
    with Warehouse.open(path) as wh:
        counts = {t: wh.read_one(f"SELECT count(*) FROM {t}")[0]  # type: ignore[index]
                  for t in ("contacts", "labels", "holdings", "surveys", "mentions")}
        # The ready-made tables (current labels, repeat gaps, sums, quantile values), as
        # `cxhub serve` keeps them: built the first time, then only checked.
        t = time.perf_counter()
        steps = ready_tables.refresh(wh)
        refresh = {"refresh_s": round(time.perf_counter() - t, 1),
                   "rebuilt": [s["step"] for s in steps if s["rebuilt"]]}
        print(f"ready-made tables: {refresh}", file=sys.stderr)
        per_metric: dict[str, dict[str, float]] = {}
        for m in default_catalogue():
            per_metric[m.name] = {}
            for label, kwargs in calls.items():
                seconds, _ = timed(lambda n=m.name, k=kwargs: metrics.compute(wh, n, **k),
                                   args.runs)
                per_metric[m.name][label] = round(seconds * 1000, 1)
            print(f"{m.name}: {per_metric[m.name]}", file=sys.stderr)
        baseline = compare_with_pandas(wh, args.runs, parquet_export(wh, path))
    every = [v for d in per_metric.values() for v in d.values()]
    print(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform(),
                    # Other work on the machine slows every figure: say how busy it was.
                    "load_average_before": round(load_before[0], 1),
                    "load_average_after": round(os.getloadavg()[0], 1)},
        "rows": counts, "warehouse": str(path), "generate_or_reuse_s": round(generate_s, 1),
        "ready_tables": refresh,
        "runs": args.runs,
        "metric_p50_ms": per_metric,
        "slowest_ms": max(every), "calls_under_300_ms": sum(v < 300 for v in every),
        "calls": len(every),
        "pandas_vs_catalogue": baseline,
    }, indent=2))


if __name__ == "__main__":
    main()
