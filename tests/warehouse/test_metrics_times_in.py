"""facts.build's `times_in`: contacts whose time cannot fall in the spans are dropped by their
stored times before anything is joined, and no contact whose time does fall in them is lost.

The contacts below mix every way a computed time is made: closed by resolution, by
abandonment, resolved before it was created (closed when created), still open; reached by an
answer or by a first reply; queued or not."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import pytest
from tests.warehouse.test_metrics_hand import insert

from cxhub.metrics import facts
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

T0 = datetime(2024, 3, 4)
TIMES = ("closed_at", "reached_at", "arrived_at", "created_at", "resolved_at")


def _maybe(rng: random.Random, created: datetime, low: int, high: int) -> datetime | None:
    """A moment `low`..`high` minutes after creation (before it when negative), or missing."""
    if rng.random() < 0.3:
        return None
    return created + timedelta(minutes=rng.randint(low, high))


@pytest.fixture
def source(warehouse: Warehouse):  # type: ignore[no-untyped-def]
    rng = random.Random(12)
    rows = []
    for _ in range(400):
        created = T0 + timedelta(minutes=rng.randint(0, 3 * 24 * 60))
        rows.append((rng.choice(["phone", "chat", "email"]), created,
                     _maybe(rng, created, -30, 60), _maybe(rng, created, 0, 20),
                     # some resolved before they were made (a source's clock): closed when made
                     _maybe(rng, created, *rng.choice([(-120, -1), (0, 2000)])),
                     _maybe(rng, created, 0, 30),
                     _maybe(rng, created, 0, 600), rng.choice(["answered", "abandoned", None])))
    insert(warehouse, "contacts", "channel, created_at, queued_at, answered_at, resolved_at, "
           "abandoned_at, first_response_at, outcome", rows, key="contact_id")
    return connect(duckdb_connection=warehouse.cursor())


def _ids(con, time: str, spans, **kwargs) -> tuple[set[int], int]:  # type: ignore[no-untyped-def]
    """(ids whose `time` lies in a span, rows the build returned before that exact test)."""
    t = facts.build(con, "contacts", {"contact_id", time}, **kwargs)
    kept = t.execute()
    inside = set()
    for row in kept.itertuples():
        at = getattr(row, time)
        if at is not None and not (at != at) and any(a <= at < b for a, b in spans):
            inside.add(row.contact_id)
    return inside, len(kept)


@pytest.mark.parametrize("time", TIMES)
def test_no_contact_in_the_spans_is_lost_and_the_rest_is_mostly_skipped(source, time):  # type: ignore[no-untyped-def]
    rng = random.Random(time)
    for _ in range(6):
        spans = []
        for _ in range(rng.choice([1, 2])):
            a = T0 + timedelta(minutes=rng.randint(0, 4 * 24 * 60))
            spans.append((a, a + timedelta(minutes=rng.choice([10, 60, 300]))))
        every, total = _ids(source, time, spans)
        narrowed, kept = _ids(source, time, spans, times_in={time: spans})
        assert narrowed == every
        # The stored times bound the computed one, so most of the 400 are dropped.
        assert kept < total / 2, (time, spans, kept)


def test_several_times_keep_the_contacts_of_each(source):  # type: ignore[no-untyped-def]
    edge = [(T0 + timedelta(days=1), T0 + timedelta(days=1, hours=2))]
    early = [(T0 + timedelta(hours=4), T0 + timedelta(hours=8))]
    t = facts.build(source, "contacts", {"contact_id", "created_at", "closed_at"},
                    times_in={"created_at": edge, "closed_at": edge + early}).execute()
    opened, _ = _ids(source, "created_at", edge)
    closed, _ = _ids(source, "closed_at", edge + early)
    assert opened and closed - opened
    assert opened | closed <= set(t.contact_id)


def test_a_time_a_contact_does_not_have_is_refused(source):  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="'channel' is not a time of a contact"):
        facts.build(source, "contacts", {"contact_id"},
                    times_in={"channel": [(T0, T0 + timedelta(hours=1))]})
