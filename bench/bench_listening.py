"""Listening and sentiment: how fast, and how well the planted faulty release is found.

    python bench/bench_listening.py [--customers 50000] [--days 365] [--seed 42] [--runs 3]
                                    [--labels none,model,truth]

Sentiment: texts per second of `sentiment.score` on twcs tweets (English), Olist reviews
(Portuguese) and the demo company's contact texts, against plain VADER `polarity_scores` over
the same texts in the same run (the baseline). Real data is read from ../shared/data when there.

Listening: the demo company (cached under ~/.cache/cxhub-bench/listening) is loaded into a fresh
warehouse (contacts and mentions) and `listening.detect` runs over it, timed against a plain
DuckDB hourly count of the same tables. Then, for each labelling:
- `none`: no labels (contact volumes, the contacts' own wrap-up codes, mention terms);
- `model`: linear category and cause models trained on the wrap-up codes, then
  `classify_pending` over every contact and mention (the classifier's own code);
- `truth`: the simulator's true cause and category as human labels (an upper bound);
it reports the first alert of each series in the release's first day (hours after its start,
the truth's `start`: the alert's hour ends then), and every alert outside the planted events
(campaign, release, billing fault) as a false alert.
Prints one JSON document.
"""

from __future__ import annotations

import argparse
import csv
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

import pandas as pd

from cxhub.analytics.classify import sentiment
from cxhub.services.listening import detect as listening
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"


def _timed(fn: Any, runs: int) -> tuple[float, list[float]]:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), times


def _texts() -> dict[str, list[str]]:
    out = {}
    twcs = SHARED / "twcs" / "twcs_sample.csv"
    if twcs.exists():
        with open(twcs, newline="", encoding="utf-8") as fh:
            out["twcs (en)"] = [r["text"] for r in csv.DictReader(fh) if r["text"]]
    olist = SHARED / "olist" / "order_reviews.csv"
    if olist.exists():
        with open(olist, newline="", encoding="utf-8") as fh:
            out["olist (pt)"] = [r["review_comment_message"] for r in csv.DictReader(fh)
                                 if r["review_comment_message"]]
    return out


def bench_sentiment(texts: dict[str, list[str]], runs: int) -> list[dict[str, Any]]:
    vader = sentiment._vader()
    rows = []
    for name, batch in texts.items():
        sentiment._vader()  # loaded once, outside the timing
        ours, our_runs = _timed(lambda b=batch: sentiment.score(b), runs)
        base, base_runs = _timed(lambda b=batch: [vader.polarity_scores(t) for t in b], runs)
        rows.append({"texts": name, "n": len(batch), "distinct": len(set(batch)),
                     "cxhub_texts_per_s": round(len(batch) / ours),
                     "vader_texts_per_s": round(len(batch) / base),
                     "ratio": round(base / ours, 2), "runs_s": our_runs, "vader_runs_s": base_runs})
    return rows


def company(customers: int, days: int, seed: int) -> Path:
    folder = CACHE / "listening" / f"{customers}-{days}-{seed}"
    if not (folder / "manifest.json").exists():
        simulate(folder, customers=customers, days=days, seed=seed)
    return folder


def load(data: Path, db: Path) -> None:
    with Warehouse.open(db) as wh:
        for kind, source, path in (("contacts", "contact_centre", "contact_centre/contacts.csv"),
                                   ("mentions", "social", "social/mentions.csv")):
            ingest_paths(wh, "generic", [data / path], kind=kind, source=source)


def label(db: Path, data: Path, how: str) -> float:
    started = time.perf_counter()
    with Warehouse.open(db) as wh:
        if how == "model":
            from cxhub.services.classification.run import classify_pending
            from cxhub.services.classification.training import train

            for dimension in ("category", "cause"):
                train(wh, dimension, "linear", include_source=True)
            classify_pending(wh, targets=("contacts", "mentions"))
        elif how == "truth":
            for target, id_col, name in (("mentions", "mention_id", "mentions"),
                                         ("contacts", "contact_id", "contacts")):
                for dim in ("cause", "category"):
                    truth = data / "truth" / f"{name}.csv"
                    wh.write(lambda con, t=target, i=id_col, d=dim, f=truth: con.execute(
                        f"INSERT INTO labels (target, target_id, dimension, label, score, model,"
                        f" is_human) SELECT '{t}', x.{i}, '{d}', y.{d}, 1, 'truth', true "
                        f"FROM {t} x JOIN read_csv('{f}') y USING (external_id)"))
    return time.perf_counter() - started


def judge(spikes: list[dict[str, Any]], events: dict[str, Any]) -> dict[str, Any]:
    rel = pd.Timestamp(events["faulty_release"]["start"])  # the deploy, not midnight
    day = pd.Timedelta(days=1)
    planted = [
        (pd.Timestamp(events["marketing_campaign"]["start"]),
         pd.Timestamp(events["marketing_campaign"]["end_exclusive"]) + 8 * day),
        (rel, pd.Timestamp(events["faulty_release"]["end"]) + day),
        (pd.Timestamp(events["billing_problem"]["start"]),
         pd.Timestamp(events["billing_problem"]["fixed"]) + day)]
    false, first = [], {}
    for s in spikes:
        at = pd.Timestamp(s["detected_at"])
        if not any(a <= at - pd.Timedelta(hours=1) < b for a, b in planted):
            false.append(f"{s['target']} {s['dimension']} {s['value']} at {at}")
        elif rel < at <= rel + day:
            key = f"{s['target']} {s['dimension']} {s['value']}"
            first[key] = min(first.get(key, at), at)
    hours = {k: (v - rel) / pd.Timedelta(hours=1) for k, v in sorted(first.items(),
                                                                     key=lambda x: x[1])}
    before = [f for f in false if rel - 30 * day <= pd.Timestamp(f.rsplit(" at ", 1)[1]) <= rel]
    return {"release_start": str(rel), "first_alert_hours_after_start": hours,
            "false_alerts": false, "false_alerts_30_days_before": len(before)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--customers", type=int, default=50_000)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--labels", default="none,model,truth")
    args = ap.parse_args()
    out: dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                                       "load": os.getloadavg()}}
    texts = _texts()
    data = company(args.customers, args.days, args.seed)
    with open(data / "contact_centre" / "contacts.csv", newline="") as fh:
        texts["simulated contacts"] = [r["text"] for r in csv.DictReader(fh) if r["text"]]
    print("sentiment ...", file=sys.stderr)
    out["sentiment"] = bench_sentiment(texts, args.runs)
    events = json.loads((data / "truth" / "events.json").read_text())
    out["listening"] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.duckdb"
        load(data, base)
        for how in args.labels.split(","):
            print(f"listening with labels: {how} ...", file=sys.stderr)
            db = Path(tmp) / f"{how}.duckdb"
            shutil.copy(base, db)
            labelling = label(db, data, how) if how != "none" else 0.0
            with Warehouse.open(db) as wh:
                report = listening.detect(wh, store=False)
                detect_s, runs = _timed(lambda w=wh: listening.detect(w, store=False), args.runs)
                plain_s, _ = _timed(lambda w=wh: [w.read(
                    f"SELECT date_trunc('hour', created_at), count(*) FROM {t} GROUP BY 1")
                    for t in ("contacts", "mentions")], args.runs)
            out["listening"].append({
                "labels": how, "labelling_s": round(labelling, 1), "series": report.series,
                "hours": report.hours, "detect_s": round(detect_s, 2), "detect_runs_s": runs,
                "plain_hourly_count_s": round(plain_s, 3), "spikes": len(report.spikes),
                **judge(report.spikes, events)})
    json.dump(out, sys.stdout, indent=2, default=str)
    print()


if __name__ == "__main__":
    main()
