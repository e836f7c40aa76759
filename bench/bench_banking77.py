"""BANKING77 intent classification: accuracy, macro-F1, training time and prediction speed of
each model kind, with all training data and with ten examples per intent.

    python bench/bench_banking77.py [--models linear,frozen-lr,embedding,finetuned]
                                    [--settings full,10] [--samples 3] [--runs 1]

The data set ships only its training file (10,003 queries, 77 intents), so it is split here:
a stratified 80/20 split with seed 0 (8,002 to train, 2,001 to validate; the same split as
tests/realdata/test_banking77.py). "10" trains on ten examples per intent drawn from the 80%
part (`--samples` draws, seeds 0, 1, ...), always validated on the same 2,001. Models:

- linear: TF-IDF words + character n-grams, linear SVM (the default kind; the baseline);
- frozen-lr: frozen MiniLM embeddings + logistic regression;
- embedding: the `embedding` kind (TF-IDF and frozen MiniLM embeddings, linear SVM);
- finetuned: the `finetuned` kind with its defaults (MiniLM fine-tuned end to end, cosine
  head, blended with the embedding kind: 40 % from twenty examples per class, less below; under
  twenty per class each intent's name joins its examples).

Training time is wall time of `fit` (for the frozen models it includes encoding the training
texts; no encoding is reused between runs); prediction speed is the validation texts over the
wall time of `predict_proba` on them.
Published figures (official test set, Casanueva et al. 2020): full data BERT 93.66,
USE+ConveRT 93.36; ten per intent USE+ConveRT 85.19, BERT 83.42. Prints one JSON document.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.model_selection import train_test_split

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "banking77" / "train.csv"
PUBLISHED = {"full": {"BERT": 93.66, "USE+ConveRT": 93.36},
             "10": {"USE+ConveRT": 85.19, "BERT": 83.42}}


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class FrozenLR:
    """Frozen MiniLM embeddings + multinomial logistic regression."""

    def __init__(self) -> None:
        from cxhub.analytics.classify.embedding import shared_encoder

        self.encoder = shared_encoder()
        self.lr = LogisticRegression(C=10.0, max_iter=2000)

    def fit(self, texts: list[str], labels: list[str]) -> FrozenLR:
        self.lr.fit(self.encoder.encode(texts), labels)
        return self

    def predict_proba(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        return [str(c) for c in self.lr.classes_], self.lr.predict_proba(self.encoder.encode(texts))


def make(kind: str, seed: int) -> Any:
    if kind == "frozen-lr":
        return FrozenLR()
    from cxhub.analytics.classify.model import model_kinds

    cls = model_kinds()[kind]
    return cls(seed=seed) if kind == "finetuned" else cls()


def split() -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.read_csv(DATA)
    train, valid = train_test_split(frame, test_size=0.2, random_state=0,
                                    stratify=frame["category"])
    return train, valid


def ten_per_intent(train: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Ten rows per intent, drawn as tests/realdata/test_banking77.py draws them."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = {}
    for i, label in enumerate(train["category"]):
        by_label.setdefault(label, []).append(i)
    picked = sorted(i for rows in by_label.values() for i in rng.choice(rows, 10, replace=False))
    return train.iloc[picked]


def forget_encodings() -> None:
    """The shared encoder remembers texts it has encoded; each run must pay for its own."""
    if "cxhub.analytics.classify.embedding" in sys.modules:
        from cxhub.analytics.classify.embedding import shared_encoder

        shared_encoder()._memo.clear()


def one_run(kind: str, train: pd.DataFrame, valid: pd.DataFrame, seed: int) -> dict[str, Any]:
    forget_encodings()
    model = make(kind, seed)
    started = time.perf_counter()
    model.fit(train["text"].tolist(), train["category"].tolist())
    fit_s = time.perf_counter() - started
    texts = valid["text"].tolist()
    started = time.perf_counter()
    classes, proba = model.predict_proba(texts)
    predict_s = time.perf_counter() - started
    predicted = np.asarray(classes, dtype=object)[proba.argmax(axis=1)]
    truth = valid["category"].to_numpy()
    return {"accuracy": round(100 * accuracy_score(truth, predicted), 2),
            "macro_f1": round(100 * f1_score(truth, predicted, average="macro"), 2),
            "fit_seconds": round(fit_s, 1), "predict_texts_per_s": round(len(texts) / predict_s),
            "load_1min": round(os.getloadavg()[0], 1)}


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = ("accuracy", "macro_f1", "fit_seconds", "predict_texts_per_s")
    out: dict[str, Any] = {f"median_{k}": statistics.median(r[k] for r in runs) for k in keys}
    out["mean_accuracy"] = round(statistics.fmean(r["accuracy"] for r in runs), 2)
    out["min_accuracy"] = min(r["accuracy"] for r in runs)
    out["runs"] = runs
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="linear,frozen-lr,embedding,finetuned")
    parser.add_argument("--settings", default="full,10")
    parser.add_argument("--samples", type=int, default=3, help="draws of ten per intent")
    parser.add_argument("--runs", type=int, default=1, help="repeats of the full-data setting")
    args = parser.parse_args()
    if not DATA.is_file():
        sys.exit(f"{DATA} is absent")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    train, valid = split()
    results: dict[str, Any] = {}
    for setting in args.settings.split(","):
        draws = ([(train, s) for s in range(args.runs)] if setting == "full" else
                 [(ten_per_intent(train, s), s) for s in range(args.samples)])
        results[setting] = {}
        for kind in args.models.split(","):
            runs = []
            for data, seed in draws:
                say(f"{setting} {kind} seed {seed}: training on {len(data)} texts")
                runs.append(one_run(kind, data, valid, seed) | {"seed": seed})
                say(f"  {runs[-1]}")
            results[setting][kind] = summary(runs)
    print(json.dumps({
        "data": str(DATA), "n_train_full": len(train), "n_valid": len(valid),
        "published": PUBLISHED, "results": results,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
    }, indent=2))


if __name__ == "__main__":
    main()
