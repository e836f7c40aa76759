"""The live figures of the public page: arrivals in the last hour, backlog and expected wait now,
per channel. Computed once per tick for every visitor (see `cxhub.web.public.live`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cxhub.services.public.figures import compute, suppress
from cxhub.warehouse import Warehouse

# The channels a customer can wait on now; others appear when they have contacts.
LIVE_CHANNELS = ("phone", "chat", "email", "social", "web")


def snapshot(wh: Warehouse, *, min_count: int, now: datetime | None = None) -> dict[str, Any]:
    now = now or datetime.now(UTC).replace(tzinfo=None)
    hour_ago = now - timedelta(hours=1)
    # No total of the channels is published live, so a small channel hides only itself.
    arrivals = suppress(compute(wh, "contacts", start=hour_ago, end=now, by=("channel",)),
                        min_count, counts=True, total=False)
    # The backlog now: its range only decides which channels have a row (those with a contact
    # open at some time in it). It starts on a whole hour, so that the ready-made sums answer
    # all of it but the hour under way; from the minute an hour ago, the records of that
    # hour's first minutes were read again at every tick, as many as the clock was past the hour.
    since = hour_ago.replace(minute=0, second=0, microsecond=0)
    backlog = suppress(compute(wh, "backlog", start=since, end=now, by=("channel",)),
                       min_count, counts=True, total=False)
    # The catalogue's expected wait: the mean wait of the contacts reached in the last half
    # hour, what a customer arriving now can expect.
    raw_wait = compute(wh, "expected_wait", start=now - timedelta(minutes=30), end=now,
                       by=("channel",))
    wait_basis = "contacts answered in the last 30 minutes"
    waits = suppress(raw_wait, min_count)
    figures = {"arrivals": arrivals, "backlog": backlog, "expected_wait": waits}
    channels = list(LIVE_CHANNELS)
    for rows in figures.values():
        for row in rows:
            if row.get("channel") and row["channel"] not in channels and not row["suppressed"]:
                channels.append(row["channel"])
    by_channel = []
    for channel in channels:
        entry: dict[str, Any] = {"channel": channel}
        for name, rows in figures.items():
            found = next((r for r in rows if r.get("channel") == channel), None)
            # A channel with no row had no contacts: zero is a small count like any other.
            entry[name] = ({"value": found["value"], "suppressed": found["suppressed"]}
                           if found else {"value": None, "suppressed": True})
        by_channel.append(entry)
    return {"at": now.replace(microsecond=0).isoformat() + "Z", "min_public_count": min_count,
            "wait_basis": wait_basis, "channels": by_channel}
