"""Listening: volume spikes of mentions and contacts found, stored as alerts, sent to a webhook;
mentions that need service routed into contacts (`listening_route`).

`detect` reads every hour of the warehouse (the baseline needs the weeks before each hour),
tests each series (per target: the total, each cause, each category, and for mentions each
frequent term) and stores one alert per spike. A spike found again on a later run (the same
series, overlapping in time) updates its alert instead of adding one, so running detection
every hour raises each spike once. See docs/listening.md.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import orjson
import pandas as pd
from ibis.backends import BaseBackend

from cxhub.analytics.listening import spikes as sp
from cxhub.analytics.listening import topics, volume
from cxhub.analytics.listening.calendar import PlannedEvent, planned_matrix
from cxhub.services.listening import webhook as listening_webhook
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect
from cxhub.warehouse.schema import edge_sql

KINDS = {"mentions": "mention_spike", "contacts": "contact_spike"}
TARGETS = tuple(KINDS)


@dataclass(frozen=True)
class ListeningSettings:
    spikes: sp.SpikeSettings = field(default_factory=sp.SpikeSettings)
    terms: topics.TermSettings = field(default_factory=topics.TermSettings)
    targets: tuple[str, ...] = TARGETS
    topic_targets: tuple[str, ...] = ("mentions",)  # targets that get term (topic) series
    # Fifty terms are many more series than six causes: each gets a stricter test so that the
    # family raises no more false alerts than the causes do.
    topic_alpha_scale: float = 0.1
    examples: int = 5  # item ids kept in an alert


@dataclass
class DetectReport:
    series: int = 0
    hours: int = 0
    first_hour: dt.datetime | None = None
    last_hour: dt.datetime | None = None
    spikes: list[dict[str, Any]] = field(default_factory=list)
    new_alerts: list[int] = field(default_factory=list)
    updated_alerts: int = 0
    webhook: listening_webhook.DeliveryReport | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "series": self.series, "hours": self.hours,
            "first_hour": self.first_hour, "last_hour": self.last_hour,
            "spikes": self.spikes, "new_alerts": self.new_alerts,
            "updated_alerts": self.updated_alerts,
            "webhook": self.webhook.to_dict() if self.webhook else None,
        }


def _con(wh: Warehouse) -> BaseBackend:
    return connect(None, duckdb_connection=wh.new_cursor())


def _frame(expr: Any) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def detect(wh: Warehouse, *, settings: ListeningSettings | None = None,
           webhook_url: str | None = None, store: bool = True) -> DetectReport:
    """Find spikes over the whole warehouse; store them as alerts (unless `store` is False)
    and send new ones to `webhook_url` when given."""
    st = settings or ListeningSettings()
    con = _con(wh)
    frames = []
    for target in st.targets:
        items = volume.labelled_items(con, target)
        for dim in (None, *volume.DIMENSIONS):
            counts = _frame(volume.hourly_counts(items, dim))
            frames.append((target, dim or volume.TOTAL[0], counts))
    vol = volume.volume_matrix(frames)
    report = DetectReport()
    if vol is None:
        return report
    texts: dict[str, pd.DataFrame] = {}
    for target in st.topic_targets:
        texts[target] = _frame(volume.labelled_items(con, target, text=True))
        _add_terms(vol, target, texts[target], st.terms)
    alpha = np.array([st.spikes.alpha * (st.topic_alpha_scale if k[1] == "topic" else 1.0)
                      for k in vol.keys])
    planned = planned_matrix(vol.keys, vol.start, vol.hours, calendar_events(wh))
    det = sp.detect(vol.counts, vol.pool, st.spikes, alpha, planned)
    found = sp.spikes(det, st.spikes)
    last = _last_hour(wh, st.targets)
    report.series, report.hours = len(vol.keys), vol.hours
    report.first_hour, report.last_hour = vol.start, last
    history = dt.timedelta(weeks=st.spikes.baseline.weeks)
    for target in st.targets:
        if target not in texts:
            windows = [(vol.hour_start(s.start) - history, vol.hour_start(s.end))
                       for s in found if vol.keys[s.series][0] == target]
            texts[target] = _texts_around(con, target, windows)
    records = [_record(vol, s, texts[vol.keys[s.series][0]], st) for s in found]
    report.spikes = records
    if store:
        report.new_alerts, report.updated_alerts = store_alerts(wh, records)
        if webhook_url:
            report.webhook = listening_webhook.deliver_pending(wh, webhook_url, newest=last)
    return report


def calendar_events(wh: Warehouse) -> list[PlannedEvent]:
    """The campaign calendar: demand known in advance (table `calendar_events`)."""
    rows = wh.read("SELECT starts_at, ends_at, channel, cause, expected_lift, name "
                   "FROM calendar_events WHERE starts_at < ends_at ORDER BY starts_at")
    return [PlannedEvent(r[0], r[1], r[2] or None, r[3] or None, r[4], r[5] or "")
            for r in rows]


def _last_hour(wh: Warehouse, targets: tuple[str, ...]) -> dt.datetime | None:
    times = [wh.read_one("SELECT " + edge_sql(t, "created_at", "max")) for t in targets]
    found = [r[0] for r in times if r and r[0] is not None]
    return max(found) if found else None


def _add_terms(vol: volume.Volumes, target: str, items: pd.DataFrame,
               settings: topics.TermSettings) -> None:
    hours = ((pd.to_datetime(items["created_at"]) - pd.Timestamp(vol.start))
             // pd.Timedelta(hours=1)).to_numpy()
    names, counts = topics.term_counts(items["text"].tolist(), hours, vol.hours, settings)
    if not names:
        return
    total = vol.keys.index((target, *volume.TOTAL))
    vol.keys += [(target, "topic", n) for n in names]
    vol.counts = np.vstack([vol.counts, counts])
    vol.pool = np.concatenate([vol.pool, np.full(len(names), total)])


def _texts_around(con: BaseBackend, target: str, windows: list[tuple[dt.datetime, dt.datetime]],
                  limit: int = 200_000) -> pd.DataFrame:
    """The target's labelled items with text in these periods (each spike and the weeks
    before it), at most `limit` of them: a sample by id when there are more."""
    if not windows:
        return pd.DataFrame(columns=["id", "created_at", "text", *volume.DIMENSIONS])
    t = volume.labelled_items(con, target, text=True)
    inside = ibis.or_(*[(t.created_at >= a) & (t.created_at < b) for a, b in windows])
    t = t.filter(inside)
    n = int(t.count().to_pyarrow().as_py())
    if n > limit:
        t = t.filter(t.id % (n // limit + 1) == 0)
    return _frame(t)


def _record(vol: volume.Volumes, s: sp.Spike, items: pd.DataFrame,
            st: ListeningSettings) -> dict[str, Any]:
    target, dim, value = vol.keys[s.series]
    start, end = vol.hour_start(s.start), vol.hour_start(s.end)
    before = start - dt.timedelta(weeks=st.spikes.baseline.weeks)
    inside, prior = _series_items(items, dim, value, before, start, end)
    return {
        "kind": KINDS[target], "target": target, "dimension": dim, "value": value,
        "window_start": start, "window_end": end,
        "detected_at": vol.hour_start(s.detected + 1),
        "observed": s.observed, "expected": round(s.expected, 2),
        "ratio": round(s.observed / s.expected, 2) if s.expected > 0 else None,
        "threshold": s.threshold, "score": round(s.score, 2),
        "terms": topics.distinctive_terms(inside["text"], prior["text"]),
        "examples": inside["id"].head(st.examples).astype(int).tolist(),
    }


def _series_items(items: pd.DataFrame, dim: str, value: str, before: dt.datetime,
                  start: dt.datetime, end: dt.datetime, most: int = 5_000
                  ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The series' items in the spike, and in the weeks before it (each at most `most`,
    evenly spaced: enough to rank terms)."""
    items = items[(items["created_at"] >= before) & (items["created_at"] < end)]
    if dim in volume.DIMENSIONS:
        items = items[items[dim] == value]
    elif dim == "topic":
        items = items[[value in topics.terms(x, bigrams=False) for x in items["text"]]]
    inside = items[items["created_at"] >= start].sort_values(["created_at", "id"])
    prior = items[items["created_at"] < start]
    return (inside.iloc[:: len(inside) // most + 1], prior.iloc[:: len(prior) // most + 1])


_ALERT_COLUMNS = ("alert_id", "kind", "dimension", "value", "window_start", "window_end",
                  "observed", "expected", "threshold", "score")


def store_alerts(wh: Warehouse, records: list[dict[str, Any]]) -> tuple[list[int], int]:
    """Insert an alert per new spike; update the alert of a spike already stored (same kind,
    dimension and value, overlapping windows: a spike seen again, perhaps grown). Spikes of one
    run never overlap (they are merge_gap_hours apart). New ids, updated count."""

    def job(con: Any) -> tuple[list[int], int]:
        rows = con.execute(f"SELECT {', '.join(_ALERT_COLUMNS)} FROM alerts").fetchall()
        known: dict[tuple[str, str, str], list[list[Any]]] = {}
        for row in rows:
            known.setdefault((row[1], row[2], row[3]), []).append(list(row))
        next_id = max((r[0] for r in rows), default=0) + 1
        new, updated = [], 0
        for rec in records:
            detail = orjson.dumps({k: rec[k] for k in (
                "target", "detected_at", "ratio", "terms", "examples")}).decode()
            same = [a for a in known.get((rec["kind"], rec["dimension"], rec["value"]), [])
                    if a[4] < rec["window_end"] and rec["window_start"] < a[5]]
            if not same:
                con.execute(
                    "INSERT INTO alerts (alert_id, kind, dimension, value, window_start, "
                    "window_end, observed, expected, threshold, score, detail) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [next_id, rec["kind"], rec["dimension"], rec["value"], rec["window_start"],
                     rec["window_end"], rec["observed"], rec["expected"], rec["threshold"],
                     rec["score"], detail])
                known.setdefault((rec["kind"], rec["dimension"], rec["value"]), []).append(
                    [next_id, rec["kind"], rec["dimension"], rec["value"], rec["window_start"],
                     rec["window_end"], rec["observed"], rec["expected"], rec["threshold"],
                     rec["score"]])
                new.append(next_id)
                next_id += 1
                continue
            a = same[0]
            start, end = min(a[4], rec["window_start"]), max(a[5], rec["window_end"])
            if (start, end, a[6], a[9]) != (a[4], a[5], rec["observed"], rec["score"]):
                con.execute(
                    "UPDATE alerts SET window_start = ?, window_end = ?, observed = ?, "
                    "expected = ?, score = ?, detail = ? WHERE alert_id = ?",
                    [start, end, rec["observed"], rec["expected"], rec["score"], detail, a[0]])
                a[4], a[5], a[6], a[9] = start, end, rec["observed"], rec["score"]
                updated += 1
        return new, updated

    return wh.write(job)


def list_alerts(wh: Warehouse, *, limit: int = 100, status: str | None = None,
                kind: str | None = None) -> list[dict[str, Any]]:
    """The newest alerts first (by the start of their window)."""
    where, params = [], []
    if status:
        where.append("status = ?")
        params.append(status)
    if kind:
        where.append("kind = ?")
        params.append(kind)
    sql = ("SELECT alert_id, kind, dimension, value, window_start, window_end, observed, "
           "expected, threshold, score, status, created_at, detail, webhook_url, webhook_status, "
           "webhook_attempts, delivered_at FROM alerts"
           + (" WHERE " + " AND ".join(where) if where else "")
           + " ORDER BY window_start DESC, alert_id DESC LIMIT ?")
    out = []
    for rec in wh.read_dicts(sql, [*params, int(limit)]):
        rec["detail"] = orjson.loads(rec["detail"]) if rec["detail"] else {}
        out.append(rec)
    return out


def run(wh: Warehouse, settings: Settings | None = None) -> dict[str, Any]:
    """The pipeline step: detect (sending new alerts to CXHUB_ALERT_WEBHOOK when it is set),
    then route the mentions that need service into contacts."""
    from cxhub.services.listening import route as listening_route

    cfg = settings or Settings()
    report = detect(wh, webhook_url=cfg.alert_webhook)
    routed = listening_route.route_mentions(wh)
    return {"spikes": len(report.spikes), "new_alerts": len(report.new_alerts),
            "updated_alerts": report.updated_alerts,
            "webhook": report.webhook.to_dict() if report.webhook else None,
            "routed_contacts": len(routed.created)}


ALERT_STATUSES = ("open", "acknowledged", "closed")


def set_alert_status(wh: Warehouse, alert_id: int, status: str) -> bool:
    """Mark an alert open, acknowledged or closed; False when there is no such alert."""
    if status not in ALERT_STATUSES:
        raise ValueError(f"unknown status {status!r}; use one of {', '.join(ALERT_STATUSES)}")

    def job(con: Any) -> bool:
        found = con.execute("SELECT count(*) FROM alerts WHERE alert_id = ?", [alert_id])
        if not found.fetchone()[0]:
            return False
        con.execute("UPDATE alerts SET status = ? WHERE alert_id = ?", [status, alert_id])
        return True

    return wh.write(job)
