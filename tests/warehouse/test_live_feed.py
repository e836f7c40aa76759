"""The demo's live feed writes contacts and lifecycle events through the API's record sink."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from cxhub.services.demo.live_feed import _CHANNEL_MIX as CHANNEL_MIX
from cxhub.services.demo.live_feed import LiveFeed
from cxhub.services.records.api import RecordSink
from cxhub.simulate.week import hourly_factor
from cxhub.warehouse import Warehouse


@pytest.mark.slow
def test_live_feed_creates_queues_and_answers(warehouse: Warehouse) -> None:
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=100_000, seed=7)
    start = datetime(2026, 11, 24, 10, 0, 0)  # a Tuesday morning: a busy hour
    for i in range(100):  # 5 minutes of 3-second ticks
        feed.step(start + timedelta(seconds=3 * i))
    n, answered, abandoned, written, bad_order, waits = warehouse.read_one(
        "SELECT count(*), count(answered_at), count(abandoned_at), count(first_response_at), "
        "count(*) FILTER (WHERE coalesce(answered_at, abandoned_at, first_response_at) "
        "< created_at), avg(wait_seconds) FROM contacts WHERE source = 'demo-live'"
    )
    # 100,000 a day x each channel's share x its hour's weight in the demo company's week
    # (a Tuesday at 10:00) over 5 minutes.
    expected = sum(100_000 / 24 * share * hourly_factor(c, start) * 300 / 3600
                   for c, share in CHANNEL_MIX.items())
    assert expected > 1.2 * 100_000 / 24 * 300 / 3600  # a busy hour, above the day's mean
    assert abs(n - expected) < 0.15 * expected
    assert answered > abandoned > 0
    assert written > 0
    assert bad_order == 0
    assert 20 < waits < 300
    # Only voice and chat callers abandon; written channels get first responses.
    channels = dict(warehouse.read(
        "SELECT channel, count(*) FROM contacts WHERE abandoned_at IS NOT NULL GROUP BY 1"))
    assert set(channels) <= {"phone", "chat"}


@pytest.mark.slow
def test_backfill_fills_the_gap_at_the_measured_rate(warehouse: Warehouse) -> None:
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=20_000, seed=3)
    since = datetime(2026, 11, 24, 9, 0, 0)  # Tuesday 9:00 to 12:00
    feed.backfill(since, since + timedelta(hours=3))
    n, first, last = warehouse.read_one(
        "SELECT count(*), min(created_at), max(created_at) FROM contacts")
    # 20,000 a day x each channel's share x its weight at 9, 10 and 11 h on a Tuesday.
    expected = sum(20_000 / 24 * share * hourly_factor(c, since + timedelta(hours=h))
                   for c, share in CHANNEL_MIX.items() for h in range(3))
    assert abs(n - expected) < 0.15 * expected
    assert since < first and last <= since + timedelta(hours=3)


def test_the_live_feed_keeps_the_demo_company_s_week(warehouse: Warehouse) -> None:
    # A UK company: no calls on a Sunday (phones closed) nor at 22:00; e-mails still come.
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=50_000, seed=11)
    sunday, late = datetime(2026, 11, 29, 12, 0, 0), datetime(2026, 11, 24, 22, 0, 0)
    for at in (sunday, late):
        feed.step(at, seconds=600)
    by = dict(warehouse.read("SELECT channel, count(*) FROM contacts GROUP BY 1"))
    assert "phone" not in by
    assert by.get("email", 0) > 0



def test_live_contacts_carry_what_the_customer_wrote(warehouse: Warehouse) -> None:
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=50_000, seed=5)
    feed.step(datetime(2026, 11, 24, 10, 0, 0), seconds=120)
    rows = warehouse.read("SELECT channel, subject, text FROM contacts")
    assert len(rows) > 20
    assert all(text and len(text) > 10 for _, _, text in rows)
    assert len({text for _, _, text in rows}) > 0.8 * len(rows)  # varied, not one template
    # Phone calls have a note of what was said, written channels a subject too.
    assert any(subject for channel, subject, _ in rows if channel == "email")


def test_the_demo_agent_s_queue_holds_written_contacts_for_a_while(warehouse: Warehouse) -> None:
    """With an agent (the demo login), e-mails and web forms go to its queue (answered within
    15 minutes, resolved 20-90 minutes later) and a third of the answered calls and chats (in
    hand for 5-25 minutes), so the queue page and the offers beside the call have something to
    show; each live contact names one of the given customers."""
    known = [("crm", "C1"), ("crm", "C2")]
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=50_000, seed=5, agent="demo",
                    customers=known)
    start = datetime(2026, 11, 24, 10, 0, 0)
    for i in range(20):  # the first 20 minutes, a tick a minute
        feed.step(start + timedelta(minutes=i), seconds=60)
    mine = "FROM contacts WHERE source = 'demo-live' AND agent = 'demo'"
    n, answered, customers = warehouse.read_one(
        f"SELECT count(*), count(first_response_at), count(DISTINCT customer_external_id) "
        f"{mine}")
    assert n > 0 and answered > 0
    assert warehouse.read_one(f"SELECT count(*) FILTER (WHERE resolved_at IS NOT NULL) {mine} "
                              "AND channel IN ('email', 'web')") == (0,)  # none in 20 minutes
    calls, calls_answered, calls_open = warehouse.read_one(
        f"SELECT count(*), count(answered_at), count(*) FILTER (WHERE resolved_at IS NULL) "
        f"{mine} AND channel IN ('phone', 'chat')")
    assert 0 < calls_answered <= calls and calls_open > 0  # calls in hand (some still waiting)
    assert warehouse.read_one(f"SELECT count(abandoned_at) {mine}") == (0,)
    assert warehouse.read_one("SELECT count(*) FROM contacts WHERE source = 'demo-live' AND "
                              "customer_external_id NOT IN ('C1', 'C2')") == (0,)
    assert customers == 2
    for i in range(20, 140):  # two hours on: every one of them resolved
        feed.step(start + timedelta(minutes=i), seconds=1 if i > 20 else 60)
    first = warehouse.read_one(
        f"SELECT count(*) FILTER (WHERE resolved_at IS NULL) {mine} "
        "AND created_at < TIMESTAMP '2026-11-24 10:20:00'")
    assert first == (0,)
