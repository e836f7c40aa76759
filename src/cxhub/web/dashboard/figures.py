"""A metric's figures for the dashboard: headline, series and breakdown, each with the link to
the contacts behind it. Every number comes from the catalogue (`cxhub.services.metrics.compute`)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from cxhub.domain import plausibility as plausible
from cxhub.services.customers.contacts import figure_range
from cxhub.services.metrics import compute as metrics
from cxhub.warehouse import Warehouse
from cxhub.web.dashboard.pages import NONE_VALUE, qs

if TYPE_CHECKING:
    from cxhub.metrics.definitions import Metric

FILTER_DIMENSIONS = ("channel", "category", "cause", "team", "segment", "persona", "portfolio",
                     "rfm_segment")
# How the menus name the customer-segment dimensions (`segment` is the lifetime-value band).
DIMENSION_LABELS = {"segment": "Value band", "persona": "Persona", "portfolio": "Portfolio",
                    "rfm_segment": "RFM segment"}
GRAINS = ("hour", "day", "week", "month")
COMPARE = ("previous", "last_year", "target")
MAX_TRACES = 8  # more lines than this make a chart unreadable; the table below has them all


def catalogue() -> list[Metric]:
    return [metrics.definition(d["name"]) for d in metrics.catalogue()]


def metric(name: str) -> Metric:
    return metrics.definition(name)


def compute(wh: Warehouse, name: str, **kwargs: Any) -> list[dict[str, Any]]:
    return metrics.compute(wh, name, **kwargs)


WAIT_METRIC = "expected_wait"  # shown per channel group, never as one mixed figure


def waits(wh: Warehouse, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The wait per channel group (label, measure, text, n) for the overview and the page."""
    return [{k: g[k] for k in ("group", "label", "measure", "text", "n")}
            for g in metrics.waits_by_channel_group(wh, start=start, end=end)]


def default_grain(start: date, end: date) -> str:
    days = (end - start).days + 1
    return "hour" if days <= 3 else "day" if days <= 92 else "week" if days <= 730 else "month"


@dataclass
class Figure:
    """One number on the page, formatted, with its comparisons and its drill-down link."""

    text: str
    value: float | None
    n: int
    url: str | None
    compare: list[tuple[str, str, str]] = field(default_factory=list)  # (name, text, tone)
    dims: dict[str, Any] = field(default_factory=dict)
    period: str | None = None


def drill_url(m: Metric, start: datetime, end: datetime, dims: dict[str, Any]) -> str | None:
    if m.fact == "mentions":
        return None  # posts on social media, not contacts
    params = {"metric": m.name, "start": start.isoformat(), "end": end.isoformat()}
    for d, v in dims.items():
        params[d] = NONE_VALUE if v is None else str(v)
    return "/app/contacts?" + qs(params)


def _tone(m: Metric, value: float | None, other: float | None) -> str:
    if value is None or other is None or value == other or m.better == "neither":
        return ""
    return "good" if (value > other) == (m.better == "higher") else "bad"


def _comparisons(m: Metric, row: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, text, tone) of each comparison. A period the data covers only in part says so
    and is never called better or worse; one it does not cover at all has no figure."""
    out = []
    names = {"previous": "previous period", "last_year": "last year", "target": "target"}
    for key in COMPARE:
        if key not in row:
            continue
        caveat = metrics.coverage_note(row.get(f"{key}_coverage"))
        if row[key] is None:
            if caveat:
                none = row.get(f"{key}_coverage", {}).get("status") == "none"
                out.append((names[key], caveat if none else f"– ({caveat})", ""))
            continue
        text = m.format(row[key])
        if caveat:
            out.append((names[key], f"{text} ({caveat})", ""))
        else:
            out.append((names[key], text, _tone(m, row.get("value"), row[key])))
    return out


def compared_with(start: datetime, end: datetime) -> list[tuple[str, str]]:
    """What the overview's `previous period` and `last year` are, in words, for [start, end)."""
    out = []
    for c in metrics.comparison_periods(start, end):
        last = c["end"] - timedelta(days=1)
        text = f"{c['start']:%d %b %Y} to {last:%d %b %Y}"
        if c["month_so_far"]:
            text += " (the same days of the month before, as this month is not over)"
        out.append((c["name"], text))
    return out


def figure(m: Metric, row: dict[str, Any], start: datetime, end: datetime,
           dims: tuple[str, ...], filters: dict[str, str], grain: str | None = None) -> Figure:
    period = row.get("period")
    f_start, f_end = figure_range(start, end, period, grain)
    coords = {**filters, **{d: row.get(d) for d in dims}}
    url = drill_url(m, f_start, f_end, coords) if row.get("n") else None
    return Figure(m.format(row.get("value")), row.get("value"), int(row.get("n") or 0), url,
                  _comparisons(m, row), {d: row.get(d) for d in dims}, period)


@dataclass
class MetricView:
    metric: Metric
    headline: Figure
    series: list[Figure]
    breakdown: list[Figure]
    chart: dict[str, Any]


def metric_view(wh: Warehouse, m: Metric, *, start: datetime, end: datetime, grain: str,
                by: str | None, filters: dict[str, str]) -> MetricView:
    """The headline, the series and the breakdown, computed side by side: DuckDB runs each
    query on its own cursor while the others are being compiled."""
    flt = {d: (None if v == NONE_VALUE else v) for d, v in filters.items()} or None
    dims = (by,) if by else ()
    jobs = {
        "headline": dict(compare=COMPARE),
        "series": dict(by=(grain, *dims), compare=() if by else ("previous", "target")),
    }
    if by:
        jobs["breakdown"] = dict(by=dims, compare=("previous", "target"))
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        futures = {k: pool.submit(compute, wh, m.name, start=start, end=end, filters=flt, **kw)
                   for k, kw in jobs.items()}
        rows = {k: f.result() for k, f in futures.items()}
    head = rows["headline"][0] if rows["headline"] else {"value": None, "n": 0}
    headline = figure(m, head, start, end, (), filters)
    series = [figure(m, r, start, end, dims, filters, grain) for r in rows["series"]]
    breakdown = sorted((figure(m, r, start, end, dims, filters)
                        for r in rows.get("breakdown", [])), key=lambda f: -f.n)
    return MetricView(m, headline, series, breakdown, _chart(m, series, by, breakdown))


def _chart(m: Metric, series: list[Figure], by: str | None,
           breakdown: list[Figure]) -> dict[str, Any]:
    """What app.js hands to plotly: one trace per dimension value (the largest first)."""
    keys = [f.dims.get(by) for f in breakdown[:MAX_TRACES]] if by else [None]
    traces = []
    for key in keys:
        points = [f for f in series if not by or f.dims.get(by) == key]
        traces.append({
            "name": m.label if not by else ("(none)" if key is None else str(key)),
            "x": [f.period for f in points],
            "y": [f.value for f in points],
            "text": [f"{f.text} (n = {f.n:,})" for f in points],
            "urls": [f.url for f in points],
        })
    return {"unit": m.unit, "label": m.label, "traces": traces, "target": m.target_for(None)
            if not isinstance(m.target, dict) else None, "bar": m.unit in ("contacts",
                                                                            "mentions")}


def parse_range(start: str | None, end: str | None, latest: datetime | None
                ) -> tuple[date, date]:
    """The dates asked for, else the 28 days up to the newest contact (or today)."""
    last = (latest or datetime.now()).date()
    # Dates a URL may carry but no data can have (year 1, year 9999) are brought into range.
    lo, hi = plausible.EARLIEST_DATE, date.today() + timedelta(days=3660)

    def day(text: str) -> date:
        return min(max(date.fromisoformat(text), lo), hi)

    try:
        d1 = day(end) if end else last
        d0 = day(start) if start else max(d1 - timedelta(days=27), lo)
    except ValueError:
        d1, d0 = last, last - timedelta(days=27)
    return (d0, d1) if d0 <= d1 else (d1, d0)
