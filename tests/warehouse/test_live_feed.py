"""The demo's live feed writes contacts and lifecycle events through the API's record sink."""

from __future__ import annotations

from datetime import datetime, timedelta

from cxhub.services.live_feed import LiveFeed
from cxhub.services.records import RecordSink
from cxhub.simulate import calibration as cal
from cxhub.warehouse import Warehouse


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
    # 100,000 a day x this hour's share of the measured arrival shape (0.084 of the day's
    # calls at 10:00, x 7 x 0.1919 for a Tuesday) over 5 minutes: 940 expected.
    expected = 100_000 * 0.084 * 7 * 0.1919 * 300 / 3600
    assert abs(n - expected) < 0.15 * expected
    assert answered > abandoned > 0
    assert written > 0
    assert bad_order == 0
    assert 20 < waits < 300
    # Only voice and chat callers abandon; written channels get first responses.
    channels = dict(warehouse.read(
        "SELECT channel, count(*) FROM contacts WHERE abandoned_at IS NOT NULL GROUP BY 1"))
    assert set(channels) <= {"phone", "chat"}


def test_backfill_fills_the_gap_at_the_measured_rate(warehouse: Warehouse) -> None:
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=20_000, seed=3)
    since = datetime(2026, 11, 24, 9, 0, 0)  # Tuesday 9:00 to 12:00
    feed.backfill(since, since + timedelta(hours=3))
    n, first, last = warehouse.read_one(
        "SELECT count(*), min(created_at), max(created_at) FROM contacts")
    # 20,000 a day x the measured shares of the day at 9, 10 and 11 h x 7 x Tuesday's share.
    expected = 20_000 * sum(cal.HOUR_SHAPE[9:12]) * 7 * cal.WEEKDAY_SHAPE[1]
    assert abs(n - expected) < 0.15 * expected
    assert since < first and last <= since + timedelta(hours=3)



def test_live_contacts_carry_what_the_customer_wrote(warehouse: Warehouse) -> None:
    feed = LiveFeed(RecordSink(warehouse), contacts_per_day=50_000, seed=5)
    feed.step(datetime(2026, 11, 24, 10, 0, 0), seconds=120)
    rows = warehouse.read("SELECT channel, subject, text FROM contacts")
    assert len(rows) > 20
    assert all(text and len(text) > 10 for _, _, text in rows)
    assert len({text for _, _, text in rows}) > 0.8 * len(rows)  # varied, not one template
    # Phone calls have a note of what was said, written channels a subject too.
    assert any(subject for channel, subject, _ in rows if channel == "email")
