"""A small company's contacts and mentions with a known weekly rhythm and one planted burst,
loaded like any export (generic CSV files through `ingest_paths`)."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np

from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

START = dt.datetime(2026, 3, 2)  # a Monday
WEEKS = 6
BURST = START + dt.timedelta(weeks=5, hours=9)  # Monday 6 April, 09:00
BURST_HOURS = 6
HOUR = np.array([0.05] * 7 + [1.0] * 11 + [0.5] * 6)
DAY = np.array([1, 1, 1, 1, 0.9, 0.3, 0.2])
CAUSES = {"product": 5.0, "billing": 4.0}  # contacts per busy hour
TEXTS = {"product": "my broadband keeps dropping", "billing": "why is my bill so high"}
BURST_TEXT = "since the update the router is broken"


def _hours(rate: float, burst: float, rng: np.random.Generator) -> list[dt.datetime]:
    out = []
    for h in range(WEEKS * 7 * 24):
        at = START + dt.timedelta(hours=h)
        mean = rate * DAY[at.weekday()] * HOUR[at.hour]
        if burst != 1 and BURST <= at < BURST + dt.timedelta(hours=BURST_HOURS):
            mean *= burst
        for _ in range(rng.poisson(mean)):
            out.append(at + dt.timedelta(seconds=int(rng.integers(0, 3600))))
    return out


def _write(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, sorted({k for r in rows for k in r}))
        writer.writeheader()
        writer.writerows({k: (v.isoformat(sep=" ") if isinstance(v, dt.datetime) else v)
                          for k, v in r.items()} for r in rows)
    return path


def load_company(wh: Warehouse, folder: Path, *, seed: int = 1) -> dict[str, int]:
    """Contacts (with their source's own cause) and mentions; product runs five-fold for six
    hours from BURST. Returns the row counts."""
    rng = np.random.default_rng(seed)
    contacts = []
    for cause, rate in CAUSES.items():
        for at in _hours(rate, 5.0 if cause == "product" else 1.0, rng):
            burst = BURST <= at < BURST + dt.timedelta(hours=BURST_HOURS) and cause == "product"
            contacts.append({"external_id": f"K{len(contacts):06d}", "channel": "phone",
                             "created_at": at, "cause": cause,
                             "text": BURST_TEXT if burst else TEXTS[cause]})
    mentions = []
    for at in _hours(1.5, 5.0, rng):
        burst = BURST <= at < BURST + dt.timedelta(hours=BURST_HOURS)
        mentions.append({"external_id": f"SM{len(mentions):06d}", "inbound": "true",
                         "created_at": at, "platform": "twitter", "author": "@someone",
                         "text": ("@Brand " + BURST_TEXT) if burst else "@Brand hello there"})
    for kind, rows, source in (("contacts", contacts, "contact_centre"),
                               ("mentions", mentions, "social")):
        path = _write(folder / f"{kind}.csv", rows)
        report = ingest_paths(wh, "generic", [path], kind=kind, source=source)
        assert not report.failed and report.totals["quarantined"] == 0, report.to_dict()
    return {"contacts": len(contacts), "mentions": len(mentions)}
