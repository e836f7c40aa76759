"""Zero-shot on the hand-labelled real texts (tests/realdata/LABELS.md), scored on one half of
the labels.

    .venv/bin/python bench/bench_classify_real.py [--split test|tune|all] [--together]

Each corpus on its own: adapted to its texts (without labels). With `--together`, as the classify
step does with both loaded: one model per dimension adapted on up to 2,000 texts of each corpus
(numpy seed 7), a student per source, each text read with its source's (`--mixed`: one student
for both, on 2,000 of those texts, as before per-source adaptation; both pass the same checks).
Prints, for CFPB narratives and twcs tweets, category and cause: the teacher's accuracy (not
adapted; each corpus on its own), the adapted model's accuracy, its predicted shares and the
labelled shares. Needs ../shared/data and the embeddings
extra. Figures in BENCHMARKS.md ("Complaints and real text").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.services.classification.run import ADAPT_SAMPLE

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
CHANNELS = {"Web": "web", "Referral": "referral", "Phone": "phone", "Postal mail": "letter",
            "Fax": "letter", "Email": "email"}


def corpora() -> dict[str, tuple[dict[int, str], str]]:
    """id -> the text the classify step reads, per corpus, and the id column of its labels."""
    cfpb = pd.read_csv(DATA / "cfpb" / "complaints.csv", dtype=str, keep_default_na=False)
    cfpb = cfpb[cfpb["Consumer complaint narrative"].str.strip() != ""]
    narratives = (cfpb["Consumer complaint narrative"].str.strip() + " channel_"
                  + cfpb["Submitted via"].map(CHANNELS).fillna("other"))
    tweets = pd.read_csv(DATA / "twcs" / "twcs_sample.csv", dtype=str, keep_default_na=False)
    tweets = tweets[tweets.inbound == "True"]
    return {"cfpb": (dict(zip(cfpb["Complaint ID"].astype(int), narratives, strict=True)),
                     "complaint_id"),
            "twcs": (dict(zip(tweets.tweet_id.astype(int), tweets.text.str.strip(),
                              strict=True)), "tweet_id")}


def shares(values: np.ndarray) -> str:
    counts = pd.Series(values).value_counts(normalize=True)
    return ", ".join(f"{k} {v:.2f}" for k, v in counts.items())


def together(split: str, mixed: bool) -> None:
    """One model per dimension for both corpora, as `classify_pending` adapts it."""
    sources = {"cfpb": "contacts:cfpb", "twcs": "mentions:twcs"}
    found = corpora()
    rng = np.random.default_rng(7)
    sample: list[str] = []
    where: list[str] = []
    for name, (texts, _) in found.items():
        ids = list(texts)
        for i in rng.choice(len(ids), min(ADAPT_SAMPLE, len(ids)), replace=False):
            sample.append(texts[ids[i]])
            where.append(sources[name])
    for dimension in ("category", "cause"):
        began = time.perf_counter()
        model = ZeroShotClassifier(dimension=dimension).fit(
            sample, sources=None if mixed else where)
        print(f"{dimension}: students for {sorted(model.students)}; refused: "
              f"{model.check.get('refused')}, {model.check.get('refused_sources')}; "
              f"{time.perf_counter() - began:.0f} s")
        for name, (texts, id_column) in found.items():
            labels = pd.read_csv(REPO / "tests" / "realdata" / f"{name}_labels.csv")
            labels = labels if split == "all" else labels[labels.split == split]
            items = [texts[i] for i in labels[id_column]]
            classes, proba = model.predict_proba(items, [sources[name]] * len(items))
            got = np.asarray(classes)[proba.argmax(axis=1)]
            truth = labels[dimension].to_numpy()
            print(f"  {name} {dimension} ({len(items)} {split}): {np.mean(got == truth):.3f}; "
                  f"predicted {shares(got)}; labelled {shares(truth)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    parser.add_argument("--together", action="store_true",
                        help="one model for both corpora, a student per source")
    parser.add_argument("--mixed", action="store_true",
                        help="with --together: one student for both corpora")
    args = parser.parse_args()
    if args.together:
        together(args.split, args.mixed)
        return
    for name, (texts, id_column) in corpora().items():
        labels = pd.read_csv(REPO / "tests" / "realdata" / f"{name}_labels.csv")
        if args.split != "all":
            labels = labels[labels.split == args.split]
        items = [texts[i] for i in labels[id_column]]
        for dimension in ("category", "cause"):
            began = time.perf_counter()
            model = ZeroShotClassifier(dimension=dimension)
            truth = labels[dimension].to_numpy()
            teacher = np.asarray(model.classes)[model.teacher_proba(items).argmax(axis=1)]
            model.fit(list(texts.values()))
            classes, proba = model.predict_proba(items)
            adapted = np.asarray(classes)[proba.argmax(axis=1)]
            refused = model.check.get("refused")
            print(f"{name} {dimension} ({len(items)} {args.split}): teacher "
                  f"{np.mean(teacher == truth):.3f}, adapted {np.mean(adapted == truth):.3f}"
                  f"{f' (refused: {refused})' if refused else ''}"
                  f"; {time.perf_counter() - began:.0f} s")
            print(f"  predicted: {shares(adapted)}")
            print(f"  labelled:  {shares(truth)}")


if __name__ == "__main__":
    main()
