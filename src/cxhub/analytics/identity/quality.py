"""How good a linkage is: pairwise precision and recall against a known truth.

Every pair of records given one customer is a predicted link; every pair of records of one
person is a true link. Precision is the share of predicted links that are true, recall the share
of true links found. Pairs are counted, never listed: a cluster of n records holds n(n-1)/2
pairs, and the hits are the pairs inside each (customer, person) group, so a million records
are scored in a second.

`truth_csv` is the simulator's `truth/identities.csv` (`source,external_id,person_id`); the
tests, the benchmark and anyone checking a demo use `linkage_quality` on the warehouse.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from cxhub.domain.errors import CxhubError


@dataclass(frozen=True)
class LinkageQuality:
    records: int  # records in both the links and the truth
    people: int
    customers: int
    predicted_pairs: int
    true_pairs: int
    hits: int
    # Customers holding records of two or more people, and the most people in one customer.
    mixed_customers: int
    most_people_in_one: int

    @property
    def precision(self) -> float:
        return self.hits / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.hits / self.true_pairs if self.true_pairs else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.update(precision=round(self.precision, 4), recall=round(self.recall, 4),
                   f1=round(self.f1, 4))  # fmt: skip
        return out


def pairwise_quality(predicted: np.ndarray, truth: np.ndarray) -> LinkageQuality:
    """Quality of a clustering given as two aligned label arrays (one entry per record)."""
    predicted, truth = np.asarray(predicted), np.asarray(truth)
    if predicted.shape != truth.shape:
        raise ValueError("predicted and truth labels must be aligned, one per record")
    _, p = np.unique(predicted, return_inverse=True)
    _, t = np.unique(truth, return_inverse=True)
    both = np.unique(np.stack([p, t], axis=1), axis=0) if len(p) else np.empty((0, 2), int)
    mixed = np.bincount(both[:, 0]) if len(both) else np.zeros(0, int)
    return LinkageQuality(
        records=len(p),
        people=int(t.max() + 1) if len(t) else 0,
        customers=int(p.max() + 1) if len(p) else 0,
        predicted_pairs=_pairs(np.bincount(p)),
        true_pairs=_pairs(np.bincount(t)),
        hits=_pairs(np.unique(p.astype(np.int64) * (t.max() + 1 if len(t) else 1) + t,
                              return_counts=True)[1]),
        mixed_customers=int((mixed > 1).sum()),
        most_people_in_one=int(mixed.max()) if len(mixed) else 0,
    )


def linkage_quality(cur: duckdb.DuckDBPyConnection, truth_csv: Path | str) -> LinkageQuality:
    """The warehouse's `customer_links` scored against a truth CSV of
    `source,external_id,person_id`; records missing from either side are left out."""
    path = Path(truth_csv)
    if not path.is_file():
        raise CxhubError(f"identity truth file {path} does not exist")
    rows = cur.execute(
        """
        SELECT l.customer_id, t.person_id
        FROM customer_links l
        JOIN read_csv(?, header = true, all_varchar = true) t
          ON t.source = l.source AND t.external_id = l.external_id
        """,
        [str(path)],
    ).fetchnumpy()
    return pairwise_quality(rows["customer_id"], rows["person_id"])


def _pairs(counts: np.ndarray) -> int:
    c = counts.astype(np.int64)
    return int((c * (c - 1) // 2).sum())
