"""Classification speed: contacts/s through `classify_pending`, and the embedding path's texts/s.

    python bench/bench_classify.py [--customers 20000] [--days 365] [--runs 3] [--no-embeddings]

The demo company is simulated once into the cache folder (about 150,000 contacts with the
defaults). Each run loads its contacts into a fresh warehouse (not timed), trains and registers
linear category and cause models on 5,000 contacts whose labels come from the simulator's truth
(timed apart), then times `classify_pending` over every contact: category and cause, then
sentiment (when its module is installed). That is the end-to-end path of `cxhub classify run`:
the pending query, the texts read from DuckDB, the models, and the labels written through the
single writer.

The baseline, measured in the same run, is the same models called on the same texts already in
memory, in the same chunks (no warehouse): the ratio says what the warehouse costs. Besides
wall-clock rates, `*_per_cpu_s` divides by the process's CPU time (every thread), which other
work on a shared machine changes much less. The embedding figures time the
MiniLM encoder, the embedding classifier and zero-shot (adapting and predicting) on 2,000 of
the contacts' texts. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "cxhub-bench"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def company(cache: Path, customers: int, days: int) -> Path:
    from cxhub.simulate import simulate

    out = cache / f"classify-company-{customers}-{days}"
    if not (out / "manifest.json").is_file():
        say(f"simulating {customers:,} customers over {days} days into {out}")
        simulate(out, customers=customers, days=days, seed=42, start=date(2025, 1, 1))
    return out


def load(wh: Any, out: Path) -> None:
    from cxhub.services.records.files import ingest_paths

    for entry in json.loads((out / "manifest.json").read_text()):
        if entry["kind"] in ("contacts", "mentions"):
            ingest_paths(wh, "generic", [out / entry["path"]], kind=entry["kind"],
                         source=entry["source"])


def training_data(wh: Any, out: Path, n: int) -> dict[str, tuple[list[str], list[str]]]:
    """n contacts' texts (as the classifier reads them) with their true category and cause."""
    from cxhub.services.classification.run import TEXT_SQL

    truth = pd.read_csv(out / "truth" / "contacts.csv", dtype=str, keep_default_na=False)
    rows = wh.read(f"SELECT t.external_id, {TEXT_SQL['contacts']} FROM contacts t "
                   f"USING SAMPLE reservoir({n} ROWS) REPEATABLE (3)")
    frame = pd.DataFrame(rows, columns=["external_id", "text"]).merge(truth, on="external_id")
    return {d: (frame.text.tolist(), frame[d].tolist()) for d in ("category", "cause")}


def one_run(out: Path, run: int) -> dict[str, Any]:
    from cxhub.services.classification import run as svc
    from cxhub.services.classification import training
    from cxhub.warehouse import Warehouse

    with tempfile.TemporaryDirectory(prefix="cxhub-bench-classify-") as tmp:
        wh = Warehouse.open(Path(tmp) / "cxhub.duckdb")
        try:
            load(wh, out)
            contacts = wh.read_one("SELECT count(*) FROM contacts")[0]
            began = time.perf_counter()
            models = {}
            for dimension, data in training_data(wh, out, 5000).items():
                summary = training.train(wh, dimension, "linear", data=data, source="truth")
                models[dimension] = summary
            train_s = time.perf_counter() - began
            began, cpu = time.perf_counter(), time.process_time()
            first = svc.classify_pending(wh, targets=("contacts",),
                                         dimensions=("category", "cause"))
            labels_s = time.perf_counter() - began
            labels_cpu = time.process_time() - cpu
            sentiment_s = sentiment_cpu = None
            if svc.sentiment_module() is not None:
                began, cpu = time.perf_counter(), time.process_time()
                svc.classify_pending(wh, targets=("contacts",), dimensions=("sentiment",))
                sentiment_s = time.perf_counter() - began
                sentiment_cpu = time.process_time() - cpu
            labelled = first["written"]["contacts"]["category"]
            texts = [r[0] for r in wh.read(
                f"SELECT {svc.TEXT_SQL['contacts']} FROM contacts t "
                f"WHERE {svc.HAS_TEXT['contacts']} AND t.category IS NULL")]
            # The baseline: the same models on the same texts in memory, in the same chunks.
            chunks = [texts[i:i + svc.CHUNK] for i in range(0, len(texts), svc.CHUNK)]
            baseline = {}
            for dimension in ("category", "cause", "sentiment"):
                model = svc.model_in_use(wh, dimension, adapt=False)
                if model is None:
                    continue
                began = time.perf_counter()
                for chunk in chunks:
                    model.classify(chunk)
                baseline[dimension] = time.perf_counter() - began
        finally:
            wh.close()
    result = {
        "run": run, "contacts": contacts, "labelled": labelled,
        "load_at_end": round(os.getloadavg()[0], 2),
        "train_seconds_both": round(train_s, 2),
        "held_out_accuracy": {d: round(m["evaluation"]["accuracy"], 4)
                              for d, m in models.items()},
        "category_cause_seconds": round(labels_s, 2),
        "category_cause_per_s": round(labelled / labels_s),
        "category_cause_per_cpu_s": round(labelled / labels_cpu),
        "baseline_in_memory_category_cause_per_s": round(
            len(texts) / (baseline["category"] + baseline["cause"])),
    }
    if sentiment_s is not None:
        total = labels_s + sentiment_s
        result.update(sentiment_seconds=round(sentiment_s, 2),
                      all_three_per_s=round(labelled / total),
                      all_three_per_cpu_s=round(labelled / (labels_cpu + sentiment_cpu)),
                      baseline_in_memory_all_three_per_s=round(len(texts) / sum(baseline.values())))
    say(json.dumps(result))
    return result


def embedding_path(out: Path, n: int = 2000) -> dict[str, Any]:
    from cxhub.analytics.classify.embedding import EmbeddingClassifier, Encoder
    from cxhub.analytics.classify.linear import LinearClassifier
    from cxhub.analytics.classify.zeroshot import ZeroShotClassifier

    contacts = pd.read_csv(out / "contact_centre" / "contacts.csv", dtype=str,
                           keep_default_na=False)
    truth = pd.read_csv(out / "truth" / "contacts.csv", dtype=str, keep_default_na=False)
    frame = contacts.merge(truth[["external_id", "category"]], on="external_id",
                           suffixes=("_source", ""))
    frame = frame.sample(2 * n, random_state=1)
    texts = (frame.subject + " " + frame.text + " channel_" + frame.channel).tolist()
    train, test = (texts[:n], frame.category.tolist()[:n]), texts[n:]
    encoder = Encoder()
    encoder.encode(["load the model"])
    began = time.perf_counter()
    encoder.encode(test)
    encode_s = time.perf_counter() - began
    fresh = Encoder()  # another memo: fitting encodes the training texts anew
    fresh.encode(["load the model"])
    began = time.perf_counter()
    model = EmbeddingClassifier(encoder=fresh).fit(*train)
    fit_s = time.perf_counter() - began
    fresh2 = Encoder()
    fresh2.encode(["load the model"])
    model.encoder = fresh2
    began = time.perf_counter()
    model.predict_proba(test)
    predict_s = time.perf_counter() - began
    linear = LinearClassifier().fit(*train)
    began = time.perf_counter()
    linear.predict_proba(test)
    linear_s = time.perf_counter() - began
    zero_encoder = Encoder()
    zero_encoder.encode(["load the model"])
    zero = ZeroShotClassifier(dimension="category", method="embedding", encoder=zero_encoder)
    began = time.perf_counter()
    zero.fit(train[0])
    adapt_s = time.perf_counter() - began
    began = time.perf_counter()
    zero.predict_proba(test)
    student_s = time.perf_counter() - began
    return {
        "texts": n,
        "encoder_texts_per_s": round(n / encode_s),
        "embedding_classifier_fit_seconds": round(fit_s, 2),
        "embedding_classifier_predict_per_s": round(n / predict_s),
        "linear_predict_per_s_same_texts": round(n / linear_s),
        "zeroshot_adapt_seconds": round(adapt_s, 2),
        "zeroshot_adapted_predict_per_s": round(n / student_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-embeddings", action="store_true")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args()
    out = company(args.cache, args.customers, args.days)
    load_before = os.getloadavg()
    runs = [one_run(out, i + 1) for i in range(args.runs)]
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_before": [round(x, 2) for x in load_before]},
        "runs": runs,
        "median": {k: statistics.median(r[k] for r in runs) for k in runs[0]
                   if isinstance(runs[0][k], (int, float)) and k != "run"},
    }
    if not args.no_embeddings:
        from cxhub.analytics.classify.embedding import embeddings_available

        if embeddings_available():
            report["embedding"] = embedding_path(out)
    report["machine"]["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
