"""Problems found in the contacts: episodes of extra demand turned into rules a manager reads.

An episode is a stretch of time in which some contacts ran above their own baseline: the
listening alerts (spikes of a cause, a category or a topic) that overlap in time, or a cause's
week above the weeks before it. For an episode, each (cause, category) cell of the contacts in
its window is compared with the same cell over the weeks before; the cells with a clear excess
are the problem's. When a few terms are far more frequent in those cells' texts than before
("charged twice", "since the update") and cover most of the excess, the problem is those
contacts that use them; otherwise it is every contact of the cells in the window.

The rule (cells, terms, window) is kept with the problem, so new contacts that match it join
the problem as they arrive, and the problem is named from it: cause, terms, categories and
the region when the contacts are concentrated in one.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cxhub.analytics.listening.topics import terms as text_terms


@dataclass(frozen=True)
class DiscoverySettings:
    merge_gap: dt.timedelta = dt.timedelta(hours=36)  # alerts closer than this: one episode
    baseline: dt.timedelta = dt.timedelta(weeks=4)  # the weeks before a window it is compared to
    min_cell_ratio: float = 1.35  # a cell's window rate over its baseline rate
    min_cell_excess: int = 30  # contacts above the baseline, for a cell to count
    min_cell_share: float = 0.05  # of the episode's whole excess
    min_term_lift: float = 6.0  # a term's share in the window over its share before
    min_term_share: float = 0.03  # of the window's contacts in the problem's cells
    min_term_cover: float = 0.6  # the terms must cover this share of the excess
    max_terms: int = 8
    min_excess: int = 50  # an episode with fewer extra contacts is no problem
    weekly_ratio: float = 1.3  # a cause's week over the median of its 8 weeks before ...
    weekly_z: float = 5.0  # ... and this many standard deviations (Poisson) above it


@dataclass
class Episode:
    start: dt.datetime
    end: dt.datetime
    sources: list[str] = field(default_factory=list)  # "alert 7", "cause billing week ..."
    alert_ids: list[int] = field(default_factory=list)


@dataclass
class Rule:
    """What a problem's contacts have in common."""

    cells: list[tuple[str, str]]  # (cause, category); "*" for any
    terms: list[str]
    start: dt.datetime
    end: dt.datetime | None = None  # open: new contacts still join

    def to_dict(self) -> dict[str, Any]:
        return {"cells": [list(c) for c in self.cells], "terms": self.terms,
                "start": self.start.isoformat(), "end": self.end.isoformat() if self.end else None}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Rule:
        return cls([(c[0], c[1]) for c in d["cells"]], list(d.get("terms") or []),
                   dt.datetime.fromisoformat(d["start"]),
                   dt.datetime.fromisoformat(d["end"]) if d.get("end") else None)

    def matches(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows of `frame` (cause, category, text, created_at) that the rule takes."""
        cell = np.zeros(len(frame), dtype=bool)
        for cause, category in self.cells:
            hit = np.ones(len(frame), dtype=bool) if cause == "*" else \
                frame["cause"].to_numpy() == cause
            if category != "*":
                hit &= frame["category"].to_numpy() == category
            cell |= hit
        if self.terms:
            wanted = set(self.terms)
            cell &= np.fromiter((bool(wanted.intersection(text_terms(t))) for t in
                                 frame["text"]), dtype=bool, count=len(frame))
        when = frame["created_at"].to_numpy()
        cell &= when >= np.datetime64(self.start)
        if self.end is not None:
            cell &= when <= np.datetime64(self.end)
        return cell


def episodes(alerts: Sequence[dict[str, Any]], st: DiscoverySettings) -> list[Episode]:
    """Alerts overlapping in time (within `merge_gap`) as one episode each."""
    found: list[Episode] = []
    for a in sorted(alerts, key=lambda a: a["window_start"]):
        start, end = a["window_start"], a["window_end"]
        if found and start <= found[-1].end + st.merge_gap:
            ep = found[-1]
            ep.end = max(ep.end, end)
        else:
            ep = Episode(start, end)
            found.append(ep)
        ep.alert_ids.append(int(a["alert_id"]))
        ep.sources.append(f"alert {a['alert_id']} ({a['dimension']} {a['value']})")
    return found


def weekly_episodes(daily: pd.DataFrame, st: DiscoverySettings) -> list[Episode]:
    """Weeks in which a cause ran above the median of its (up to) eight weeks before.
    `daily`: day, cause, n."""
    found: list[Episode] = []
    if daily.empty:
        return found
    frame = daily.assign(week=pd.to_datetime(daily["day"]).dt.to_period("W").dt.start_time)
    weekly = frame.groupby(["cause", "week"], as_index=False)["n"].sum()
    for cause, g in weekly.groupby("cause"):
        n = g.sort_values("week")["n"].to_numpy(dtype=float)
        weeks = g.sort_values("week")["week"].to_list()
        for i in range(4, len(n)):  # at least four weeks to know what is normal
            base = float(np.median(n[max(0, i - 8):i]))
            if base > 0 and n[i] >= st.weekly_ratio * base and \
                    (n[i] - base) / np.sqrt(base) >= st.weekly_z:
                start = weeks[i].to_pydatetime()
                found.append(Episode(start, start + dt.timedelta(days=7),
                                     [f"cause {cause} in the week of {start:%Y-%m-%d}"]))
    return found


def merge(eps: Iterable[Episode], st: DiscoverySettings) -> list[Episode]:
    out: list[Episode] = []
    for ep in sorted(eps, key=lambda e: e.start):
        if out and ep.start <= out[-1].end + st.merge_gap:
            last = out[-1]
            last.end = max(last.end, ep.end)
            last.sources += ep.sources
            last.alert_ids += ep.alert_ids
        else:
            out.append(Episode(ep.start, ep.end, list(ep.sources), list(ep.alert_ids)))
    return out


def _hours(a: dt.datetime, b: dt.datetime) -> float:
    return max((b - a).total_seconds() / 3600, 1.0)


def excess_cells(window: pd.DataFrame, before: pd.DataFrame, ep: Episode, st: DiscoverySettings
                 ) -> tuple[list[tuple[str, str]], float]:
    """The (cause, category) cells with a clear excess in the window, and the total excess."""
    wh = _hours(ep.start, ep.end)
    bh = st.baseline.total_seconds() / 3600
    w = window.groupby(["cause", "category"]).size()
    b = before.groupby(["cause", "category"]).size()
    rows = []
    for key, n in w.items():
        expected = float(b.get(key, 0)) * wh / bh
        excess = n - expected
        if excess >= st.min_cell_excess and n >= st.min_cell_ratio * max(expected, 1.0):
            rows.append((key, excess))
    total = sum(e for _, e in rows)
    cells = [(str(k[0]), str(k[1])) for k, e in rows if e >= st.min_cell_share * total]
    return cells, float(sum(e for k, e in rows if (str(k[0]), str(k[1])) in cells))


def distinctive_terms(window_texts: Sequence[str | None], before_texts: Sequence[str | None],
                      st: DiscoverySettings) -> list[tuple[str, float, int]]:
    """(term, lift, contacts) of the terms much more frequent in the window than before."""
    def doc_counts(texts: Sequence[str | None]) -> Counter[str]:
        c: Counter[str] = Counter()
        for t in texts:
            c.update(set(text_terms(t)))
        return c

    nw, nb = max(len(window_texts), 1), max(len(before_texts), 1)
    cw, cb = doc_counts(window_texts), doc_counts(before_texts)
    found = []
    for term, k in cw.items():
        share = k / nw
        if share < st.min_term_share:
            continue
        lift = share / ((cb.get(term, 0) + 1) / (nb + 1))
        if lift >= st.min_term_lift:
            found.append((term, lift, k))
    # Ties (words that always come together: "charged", "twice", "charged twice") in a fixed
    # order, not in the order of a set's hashes, which changes from one process to the next.
    found.sort(key=lambda x: (-x[2], -x[1], x[0]))
    return found


def choose_terms(window: pd.DataFrame, candidates: list[tuple[str, float, int]],
                 excess: float, st: DiscoverySettings) -> list[str]:
    """A few terms that together cover most of the excess (greedy by new contacts covered);
    none when they do not."""
    sets = [set(text_terms(t)) for t in window["text"]]
    covered = np.zeros(len(sets), dtype=bool)
    chosen: list[str] = []
    for _ in range(st.max_terms):
        best, gain = None, 0
        for term, _lift, _k in candidates:
            if term in chosen:
                continue
            g = sum(1 for i, s in enumerate(sets) if not covered[i] and term in s)
            if g > gain:
                best, gain = term, g
        if best is None or gain < max(5, 0.02 * excess):
            break
        chosen.append(best)
        covered |= np.fromiter((best in s for s in sets), dtype=bool, count=len(sets))
    if covered.sum() < st.min_term_cover * excess:
        return []
    lift = {t: li for t, li, _ in candidates}
    chosen.sort(key=lambda t: -lift[t])  # the name shows the most telling words first
    # Words that come with the chosen ones ("charged" beside "duplicate charge") join them, so
    # that a new contact saying it in other words still matches.
    for term, _lift, k in candidates:
        if len(chosen) >= st.max_terms or term in chosen:
            continue
        inside = sum(1 for i, s in enumerate(sets) if covered[i] and term in s)
        if inside >= 0.9 * k:
            chosen.append(term)
    return chosen


def rule_for(window: pd.DataFrame, before: pd.DataFrame, ep: Episode,
             st: DiscoverySettings) -> Rule | None:
    """The problem of an episode, or None when nothing in it clearly ran above normal."""
    cells, excess = excess_cells(window, before, ep, st)
    if not cells or excess < st.min_excess:
        return None
    in_cells = Rule(cells, [], ep.start, ep.end).matches(window)
    causes = {c for c, _ in cells}
    before_cells = before[before["cause"].isin(causes).to_numpy()]
    cands = distinctive_terms(window["text"][in_cells].tolist(), before_cells["text"].tolist(), st)
    chosen = choose_terms(window[in_cells], cands, excess, st) if cands else []
    if chosen:
        # A fault's words say which contacts are about it whatever their category: the
        # problem takes its causes' contacts that use them.
        cells = sorted({(c, "*") for c, _ in cells})
    return Rule(sorted(cells), chosen, ep.start, ep.end)


def planned_rule(window: pd.DataFrame, before: pd.DataFrame, start: dt.datetime,
                 end: dt.datetime, st: DiscoverySettings) -> Rule | None:
    """The problem of a planned event (a campaign in the calendar), or None when it brought no
    clear extra contacts. The calendar gives the window, so no alert is needed; the contacts'
    own words ("offer", "upgrade") tell the event's contacts from the usual ones of those weeks,
    whatever cause they were given. Without such words: every contact of its cells."""
    ep = Episode(start, end)
    cells, excess = excess_cells(window, before, ep, st)
    if not cells or excess < st.min_excess:
        return None
    # The words are looked for in every contact of the window against every contact before
    # it, as the rule takes them whatever their cause: a word common elsewhere ("email") is
    # not the event's.
    cands = distinctive_terms(window["text"].tolist(), before["text"].tolist(), st)
    scale = _hours(start, end) / (st.baseline.total_seconds() / 3600)
    chosen = planned_terms(window, before, cands, excess, scale, st) if cands else []
    if chosen:
        return Rule([("*", "*")], chosen, start, end)
    return Rule(sorted(cells), [], start, end)


def planned_terms(window: pd.DataFrame, before: pd.DataFrame,
                  candidates: list[tuple[str, float, int]], excess: float, scale: float,
                  st: DiscoverySettings) -> list[str]:
    """A few words that together take most of a planned event's extra contacts, chosen one at a
    time by the extra contacts they add (the window's new contacts using the word, less as many
    as the weeks before had, scaled by `scale` to the window). A word whose new contacts are
    mostly the usual ones is refused: a rule over every cause takes each of them, and a word the
    event made more frequent may still be one the company uses anyway ("the fibre line", "the
    upgrade price"). None when they cover less than `min_term_cover` of the excess."""
    def uses(texts: pd.Series) -> dict[str, np.ndarray]:
        sets = [set(text_terms(t)) for t in texts]
        return {term: np.fromiter((term in s for s in sets), dtype=bool, count=len(sets))
                for term, _lift, _k in candidates}

    in_w, in_b = uses(window["text"]), uses(before["text"])
    cov_w = np.zeros(len(window), dtype=bool)
    cov_b = np.zeros(len(before), dtype=bool)
    chosen: list[str] = []
    for _ in range(st.max_terms):
        best, best_net = None, 0.0
        for term in in_w:
            if term in chosen:
                continue
            new_w = int((in_w[term] & ~cov_w).sum())
            usual = scale * int((in_b[term] & ~cov_b).sum())
            extra = new_w - usual
            if extra < max(5, 0.02 * excess) or new_w < 2 * usual:
                continue
            if extra - usual > best_net:
                best, best_net = term, extra - usual
        if best is None:
            break
        chosen.append(best)
        cov_w |= in_w[best]
        cov_b |= in_b[best]
    return chosen if cov_w.sum() >= st.min_term_cover * excess else []


def planned_title(name: str, rule: Rule, start: dt.datetime, end: dt.datetime) -> str:
    """The event's own name, the words its contacts use, and its window."""
    shown = [t for t in rule.terms if "'" not in t] or rule.terms
    words = ": " + ", ".join(f"“{t}”" for t in shown[:3]) if shown else ""
    last = end - dt.timedelta(seconds=1)
    return f"{name}{words} ({start:%d %b %Y} to {last:%d %b %Y})"


def title(rule: Rule, linked: pd.DataFrame, everyone: pd.DataFrame | None = None) -> str:
    """A name a manager recognises: cause, the fault's own words, categories, region."""
    causes = sorted({c for c, _ in rule.cells})
    head = " and ".join(causes).capitalize()
    cats = sorted({k for _, k in rule.cells if k != "*"})
    parts = [head]
    if rule.terms:
        shown = [t for t in rule.terms if "'" not in t] or rule.terms  # not "there's"
        parts.append(", ".join(f"“{t}”" for t in shown[:3]))
    elif cats:
        parts.append(" and ".join(cats) + " contacts")
    region = main_region(linked, everyone)
    if region:
        parts.append(f"in {region}")
    since = linked["created_at"].min() if len(linked) else rule.start
    return ": ".join(parts[:2]) + (" " + " ".join(parts[2:]) if len(parts) > 2 else "") + \
        f" (since {since:%d %b %Y})"


def main_region(linked: pd.DataFrame, everyone: pd.DataFrame | None) -> str | None:
    """The region holding most of the problem's contacts, when it holds twice its usual
    share and at least half of them."""
    if "region" not in linked or linked.empty:
        return None
    shares = linked["region"].value_counts(normalize=True)
    if shares.empty or shares.iloc[0] < 0.5:
        return None
    region = str(shares.index[0])
    if everyone is not None and "region" in everyone and not everyone.empty:
        usual = float((everyone["region"] == region).mean())
        if shares.iloc[0] < 2 * usual:
            return None
    return region
