"""Complaint recall and precision of zero-shot on a simulated company, against its truth files.

    .venv/bin/cxhub simulate /tmp/company --seed 42          # the demo company (50,000 customers)
    .venv/bin/python bench/bench_complaints.py /tmp/company

Reads the contacts the classify step reads (subject, text, channel token), adapts zero-shot to a
random 2,000 of them as `cxhub classify run` does, labels every contact and compares with
truth/contacts.csv: accuracy per dimension, recall and precision per category, and the
complaints during the planted incidents. Figures in BENCHMARKS.md ("Complaints and real text").
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cxhub.analytics.classify.zeroshot import ZeroShotClassifier


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("company", type=Path, help="a folder written by `cxhub simulate`")
    args = parser.parse_args()
    contacts = pd.read_csv(args.company / "contact_centre" / "contacts.csv", dtype=str,
                           keep_default_na=False)
    contacts = contacts[(contacts.text.str.strip() != "") | (contacts.subject.str.strip() != "")]
    texts = [" ".join([p.strip() for p in (r.subject, r.text) if p.strip()]
                      + [f"channel_{r.channel}"]) for r in contacts.itertuples()]
    truth = pd.read_csv(args.company / "truth" / "contacts.csv", dtype=str,
                        keep_default_na=False).set_index("external_id").loc[contacts.external_id]
    sample = [texts[i] for i in np.random.default_rng(7).choice(len(texts), 2000, replace=False)]
    for dimension in ("category", "cause"):
        began = time.perf_counter()
        model = ZeroShotClassifier(dimension=dimension).fit(sample)
        classes, proba = model.predict_proba(texts)
        predicted = np.asarray(classes)[proba.argmax(axis=1)]
        known = truth[dimension].to_numpy()
        print(f"{dimension}: accuracy {np.mean(predicted == known):.3f} on {len(known):,} "
              f"contacts ({time.perf_counter() - began:.0f} s)")
        if dimension != "category":
            continue
        for label in classes:
            hits = int(np.sum((predicted == label) & (known == label)))
            print(f"  {label:12s} true {int(np.sum(known == label)):7,d} predicted "
                  f"{int(np.sum(predicted == label)):7,d} recall "
                  f"{hits / max(1, int(np.sum(known == label))):.3f} precision "
                  f"{hits / max(1, int(np.sum(predicted == label))):.3f}")
        during = (truth.incident.to_numpy() != "") & (known == "complaint")
        print(f"  complaints during incidents: true {int(np.sum(during))}, found "
              f"{int(np.sum(during & (predicted == known)))}")


if __name__ == "__main__":
    main()
