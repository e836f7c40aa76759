"""The company's planning files: the rota (roster.csv), the known-events calendar
(calendar.csv) and the opening hours (opening_hours.yaml), in the formats the lead fixed.

The rota is what a planner would have scheduled: each day's expected calls and chats (the same
kind of day in the two weeks either side, incidents left out, the campaign in: marketing
announced it), spread over the half hours by the opening-hours shape, sized by Erlang C's
requirement for the service-level promise (80% answered within 20 s on the phone, 60 s on
chat), then bent by the day's staffing noise and the planted under- and over-staffed
half hours, which are the same figures the simulated waits follow (lifecycle.py). The rota
also runs `AHEAD_DAYS` past the period, as published rotas do: the same kind of day in the
last four weeks, with one planted gap (a phone afternoon at 60 %) for the staffing plan to
find before it happens.

Why Erlang C and not load + sqrt(load): at these loads (2 to 15 Erlangs) 80/20 needs a safety
margin of about 1.3 to 2 square roots, so the plain rule left 105 of 160 phone half hours of the
demo below what the staffing plan (Erlang A) asks. Erlang C (nobody hangs up) asks a little
more than Erlang A, which leaves room for the day's noise: most half hours now meet the need.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from cxhub.domain.canonical import FieldType
from cxhub.simulate import rates as r
from cxhub.simulate import week
from cxhub.simulate.demand import Demand
from cxhub.simulate.lifecycle import Lifecycle
from cxhub.simulate.plan import Plan
from cxhub.simulate.texts import INCIDENT_BILLING, INCIDENT_RELEASE
from cxhub.simulate.writer import write_table

ROSTER_SOURCE = "workforce"
CALENDAR_SOURCE = "planning"
_WEEKS_EITHER_SIDE = 2
_WEEKS_BEHIND = 4
# The rota published ahead of the period's end, in days (the forecast's horizon).
AHEAD_DAYS = 14
# A phone afternoon the rota ahead leaves short (a team away at training), planted so that the
# staffing plan has a gap to find before it happens: (from hour, to hour, share of the need).
ROTA_GAP = (13, 17, 0.6)
# The promise the rota is sized for: (share answered, within seconds), as the catalogue's
# service_level target (the simulator may not import the metrics layer).
SERVICE_PROMISE = {"phone": (0.8, 20.0), "chat": (0.8, 60.0)}


@dataclass
class Tally:
    """What the rota is sized from, summed over the chunks: planned-for contacts per live
    channel and day, and the handling time of those answered."""

    days: int
    planned: dict[str, np.ndarray] = field(default_factory=dict)
    handle_s: dict[str, float] = field(default_factory=dict)
    handled: dict[str, int] = field(default_factory=dict)

    def add(self, d: Demand, lc: Lifecycle) -> None:
        ordinary = (d.incident != INCIDENT_RELEASE) & (d.incident != INCIDENT_BILLING)
        for name in week.LIVE_CHANNELS:
            rows = (d.channel == r.CHANNELS.index(name)) & ordinary & (d.day < self.days)
            counts = np.bincount(d.day[rows], minlength=self.days)
            self.planned[name] = self.planned.get(name, 0) + counts
            done = rows & (lc.answered >= 0)
            handle = lc.talk[done] + lc.hold[done] + lc.wrap[done]
            self.handle_s[name] = self.handle_s.get(name, 0.0) + float(handle.sum())
            self.handled[name] = self.handled.get(name, 0) + int(done.sum())


def _expected_by_day(counts: np.ndarray, kinds: np.ndarray) -> np.ndarray:
    """Each day's expected contacts: the mean of the same kind of day (weekday, or Sunday for a
    bank holiday) within two weeks either side, the day itself included."""
    out = np.zeros(len(counts))
    span = 7 * _WEEKS_EITHER_SIDE
    for day in range(len(counts)):
        lo, hi = max(0, day - span), min(len(counts), day + span + 1)
        same = np.flatnonzero(kinds[lo:hi] == kinds[day]) + lo
        out[day] = counts[same].mean()
    return out


def erlang_c_agents(load: float, aht_s: float, target: float, within_s: float) -> int:
    """The fewest agents n answering `target` of the calls within `within_s` at an offered load
    of `load` Erlangs (M/M/n): SL = 1 - C(n, A) exp(-(n - A) t / AHT). Erlang B by its
    recursion B(n) = A B(n-1) / (n + A B(n-1)), which stays in [0, 1] for any n."""
    if load <= 0:
        return 0
    b, n = 1.0, 0
    while True:
        n += 1
        b = load * b / (n + load * b)
        if n > load:
            c = n * b / (n - load * (1 - b))
            if 1 - c * np.exp(-(n - load) * within_s / aht_s) >= target:
                return n


def _expected_ahead(counts: np.ndarray, kinds: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """Expected contacts of each day after the period: the mean of the same kind of day in its
    last `_WEEKS_BEHIND` weeks (what a planner knows when the rota is published)."""
    recent = np.arange(max(0, len(counts) - 7 * _WEEKS_BEHIND), len(counts))
    out = np.zeros(len(ahead))
    for i, kind in enumerate(ahead):
        same = recent[kinds[recent] == kind]
        out[i] = counts[same].mean() if len(same) else 0.0
    return out


def rota_gap_day(plan: Plan) -> int:
    """The day after the period (its index from the start) whose phone afternoon the rota
    leaves short: the third working day ahead (a team away at training)."""
    ahead = week.day_kinds(plan.start, plan.days + AHEAD_DAYS)[plan.days:]
    working = np.flatnonzero(ahead <= 4)
    return plan.days + int(working[min(2, len(working) - 1)])


def roster_table(plan: Plan, tally: Tally) -> dict[str, np.ndarray]:
    """One row per live channel and open half hour: the agents scheduled, over the period and
    the `AHEAD_DAYS` after it (a rota is published ahead: the staffing plan sets the forecast's
    need against it). Ahead, the rota is Erlang C's need of the expected demand, but for the
    planted gap (`ROTA_GAP`)."""
    channels: list[str] = []
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("starts_at", "agents")}
    slots = np.arange(48)
    total = plan.days + AHEAD_DAYS
    kinds = week.day_kinds(plan.start, total)
    gap_day = rota_gap_day(plan)
    for name in week.LIVE_CHANNELS:
        expected = np.concatenate([
            _expected_by_day(tally.planned[name], plan.kinds),
            _expected_ahead(tally.planned[name], plan.kinds, kinds[plan.days:])])
        aht = tally.handle_s[name] / max(1, tally.handled[name])
        per_agent = r.CHAT_CONCURRENCY if name == "chat" else 1
        lo, hi = week.opening(name, kinds)
        for day in range(total):
            if hi[day] <= lo[day]:
                continue
            share = week.slot_shares(lo[day], hi[day])
            open_ = (slots >= 2 * lo[day]) & (slots < 2 * hi[day])
            load = expected[day] * share[open_] * aht / week.SLOT_S / per_agent
            target, within = SERVICE_PROMISE[name]
            need = np.array([erlang_c_agents(a, aht / per_agent, target, within)
                             for a in load], dtype=float)
            if day < plan.days:
                bent = need * plan.staffing[day] * plan.slot_staffing[day, open_]
            else:
                bent = need * _gap_factor(name, day == gap_day, slots[open_])
            agents = np.maximum(1, np.round(bent)).astype(np.int64)
            channels += [name] * len(agents)
            cols["starts_at"].append(plan.day_start_s(day) + slots[open_] * week.SLOT_S)
            cols["agents"].append(agents)
    starts = np.concatenate(cols["starts_at"])
    channel = np.array(channels, dtype=object)
    n = len(starts)
    stamp = np.array(
        [datetime.fromtimestamp(int(s), UTC).strftime("%Y%m%dT%H%M") for s in starts],
        dtype=object,
    )
    return {
        "source": np.full(n, ROSTER_SOURCE, dtype=object),
        "external_id": channel + "-" + stamp,
        "channel": channel,
        "team": np.full(n, None, dtype=object),  # one rota per channel, every team pooled
        "starts_at": starts,
        "ends_at": starts + week.SLOT_S,
        "agents": np.concatenate(cols["agents"]),
    }


def _gap_factor(channel: str, gap_day: bool, slots: np.ndarray) -> np.ndarray:
    """The share of the need rostered in each half hour ahead: all of it, but in the gap."""
    lo, hi, share = ROTA_GAP
    inside = gap_day & (channel == "phone") & (slots >= 2 * lo) & (slots < 2 * hi)
    return np.where(inside, share, 1.0)


def calendar_table(plan: Plan) -> dict[str, np.ndarray]:
    """The events known in advance: the marketing campaign (its demand lasts until a week
    after it closes) and the bank holidays. Incidents are not known in advance: not here."""
    ev = plan.events
    rows = []
    end = min(plan.days, ev.campaign_end + 7)
    rows.append((
        f"campaign-{plan.date_of(ev.campaign_start)}", "campaign",
        "Fibre 500 upgrade campaign",
        ev.campaign_start, end, 1 + r.CAMPAIGN_UPLIFT,
    ))
    shape = week.uk_weekday_shape()
    for day, name in week.holidays_between(plan.start, plan.days):
        i = (day - plan.start).days
        # Demand of a Sunday against the usual demand of that weekday; phone is closed.
        lift = shape[6] / shape[day.weekday()]
        rows.append((f"holiday-{day}", "holiday", name, i, i + 1,
                     float(lift)))
    n = len(rows)
    ext, kind, names, lo, hi, lift = (np.array(c, dtype=object) for c in zip(*rows, strict=True))
    return {
        "source": np.full(n, CALENDAR_SOURCE, dtype=object),
        "external_id": ext,
        "kind": kind,
        "name": names,
        "starts_at": plan.day_start_s(lo.astype(np.int64)),
        "ends_at": plan.day_start_s(hi.astype(np.int64)),
        "channel": np.full(n, None, dtype=object),
        "cause": np.full(n, None, dtype=object),
        "expected_lift": lift.astype(float),
    }


_TYPES = {"starts_at": FieldType.TIMESTAMP, "ends_at": FieldType.TIMESTAMP,
          "agents": FieldType.INT, "expected_lift": FieldType.FLOAT}


def write_planning_files(out_dir: Path, plan: Plan, tally: Tally) -> dict[str, int]:
    """Write roster.csv, calendar.csv and opening_hours.yaml; rows per CSV file."""
    rows = {}
    for name, table in (("roster.csv", roster_table(plan, tally)),
                        ("calendar.csv", calendar_table(plan))):
        write_table(out_dir / name, table, _TYPES)
        rows[name] = len(table["external_id"])
    (out_dir / "opening_hours.yaml").write_text(opening_hours_yaml(plan), encoding="utf-8")
    return rows


def opening_hours_yaml(plan: Plan) -> str:
    """The opening hours in the shared YAML format, written by hand (a fixed, tiny shape)."""
    doc = week.opening_hours_doc(plan.start, plan.days)
    lines = [
        "# Northwind Connect's opening hours (the clock of the files' timestamps). Phone and",
        "# chat answer only in these hours; email, web, social, community and letters are",
        "# received around the clock and answered by the written-channel team. E-mail, web",
        "# forms and letters are promised replies in the phone team's hours (business_hours:",
        "# their business-hour clocks keep the phone's hours).",
        f"timezone: {doc['timezone']}",
        "channels:",
    ]
    for channel, hours in doc["channels"].items():
        lines.append(f"  {channel}:")
        lines += [f'    {day}: "{value}"' if value != "closed" else f"    {day}: closed"
                  for day, value in hours.items()]
    lines.append("holidays:" + ("" if doc["holidays"] else " []"))
    lines += [f"  - {h}" for h in doc["holidays"]]
    borrowed = ", ".join(f"{c}: {owner}" for c, owner in doc["business_hours"].items())
    lines.append(f"business_hours: {{{borrowed}}}")
    return "\n".join(lines) + "\n"


__all__ = ["AHEAD_DAYS", "ROTA_GAP", "Tally", "calendar_table", "rota_gap_day", "roster_table",
           "write_planning_files"]
