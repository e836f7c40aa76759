"""Zero-shot on the hand-labelled real texts (tests/realdata/LABELS.md), each corpus on its own:
adapted to all of that corpus's texts (without labels), scored on one half of the labels.

    .venv/bin/python bench/bench_classify_real.py [--split test|tune|all]

Prints, for CFPB narratives and twcs tweets, category and cause: the teacher's accuracy (not
adapted), the adapted model's accuracy, its predicted shares and the labelled shares. Needs
../shared/data and the embeddings extra. Figures in BENCHMARKS.md ("Zero-shot on real text").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxhub.analytics.classify.zeroshot import ZeroShotClassifier

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("test", "tune", "all"), default="test")
    args = parser.parse_args()
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
