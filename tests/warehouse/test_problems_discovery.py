"""Discovery on a company with a planted fault: found as one problem named by its words, its
contacts linked (recall and precision), found again without a copy, new contacts joining."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from cxhub.services.problems import discovery, store

START = dt.datetime(2026, 1, 5)
PHRASES = {"billing": ["question about my bill", "when is my payment taken", "change my bank"],
           "delivery": ["where is my parcel", "the engineer did not come", "book a visit"],
           "product": ["the router is slow", "how do I set up wifi", "my phone needs a sim"]}
FAULT = ["I was charged twice this month", "there is a duplicate charge on my bill",
         "you took a duplicate payment"]


def company(wh, *, fault_day: int = 50, fault_days: int = 4, seed: int = 3) -> set[int]:
    """70 days of contacts (about 60 a day per cause); from `fault_day`, for `fault_days`
    days, 80 more billing contacts a day about a duplicate charge. Returns their ids."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(70):
        for cause, texts in PHRASES.items():
            for _ in range(rng.poisson(60)):
                rows.append((d, cause, texts[rng.integers(len(texts))], False))
        if fault_day <= d < fault_day + fault_days:
            for _ in range(rng.poisson(80)):
                rows.append((d, "billing", FAULT[rng.integers(len(FAULT))], True))
    frame = pd.DataFrame(rows, columns=["day", "cause", "text", "fault"])
    frame["created_at"] = [START + dt.timedelta(days=int(d), seconds=int(s)) for d, s in
                           zip(frame.day, rng.integers(8 * 3600, 20 * 3600, len(frame)),
                               strict=True)]
    frame = frame.sort_values("created_at", ignore_index=True)
    frame["contact_id"] = np.arange(1, len(frame) + 1)

    def write(c):
        c.register("f", frame)
        c.execute("INSERT INTO contacts (contact_id, source, external_id, channel, created_at, "
                  "cause, category, text, region) SELECT contact_id, 'cc', 'K' || contact_id, "
                  "'phone', created_at, cause, 'problem', text, 'London' FROM f")
        c.unregister("f")
    wh.write(write)
    return set(frame.contact_id[frame.fault].astype(int))


@pytest.mark.slow
def test_a_planted_fault_is_one_problem(warehouse):
    fault = company(warehouse)
    report = discovery.discover(warehouse)
    assert len(report.created) == 1, report
    p = store.problem(warehouse, report.created[0])
    assert p["cause"] == "billing" and "duplicate" in " ".join(p["terms"])
    assert p["title"].startswith("Billing: ") and "duplicate" in p["title"]
    linked = set(store.linked_ids(warehouse, p["problem_id"]))
    assert len(linked & fault) / len(fault) >= 0.9
    assert len(linked & fault) / len(linked) >= 0.8

    again = discovery.discover(warehouse)
    assert again.created == [] and again.updated == [p["problem_id"]]
    assert set(store.linked_ids(warehouse, p["problem_id"])) == linked  # no copies

    newest = warehouse.read_one("SELECT max(contact_id) FROM contacts")[0]
    later = START + dt.timedelta(days=71)
    warehouse.write(lambda c: c.execute(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, cause, "
        "category, text) VALUES (?, 'cc', 'new1', 'chat', ?, 'billing', 'problem', "
        "'another duplicate charge'), (?, 'cc', 'new2', 'chat', ?, 'billing', 'problem', "
        "'question about my bill')", [newest + 1, later, newest + 2, later]))
    joined = discovery.join_new_contacts(warehouse, after_id=newest)
    assert joined == {"newest": newest + 2, "linked": {p["problem_id"]: 1}}
    assert newest + 1 in store.linked_ids(warehouse, p["problem_id"])


@pytest.mark.parametrize("quiet", [True])
def test_nothing_above_baseline_is_no_problem(warehouse, quiet):
    company(warehouse, fault_days=0)
    assert discovery.discover(warehouse).created == []


OFFER = ["I saw the upgrade offer in your email", "is the speed upgrade offer for me too",
         "how long does the offer last"]


@pytest.mark.slow
def test_a_campaign_in_the_calendar_is_one_problem_named_after_it(warehouse):
    """No alert: the calendar gives the window; the offer's words pick its contacts (of any
    cause) from the same weeks' usual ones. The weeks of the campaign are not found again as an
    unexplained problem."""
    company(warehouse, fault_days=0)
    rng = np.random.default_rng(5)
    start = START + dt.timedelta(days=30)
    rows = [(start + dt.timedelta(days=d, hours=int(rng.integers(8, 20))),
             ("billing", "product")[int(rng.integers(2))], OFFER[rng.integers(len(OFFER))])
            for d in range(14) for _ in range(rng.poisson(45))]
    newest = warehouse.read_one("SELECT max(contact_id) FROM contacts")[0]
    campaign = set(range(newest + 1, newest + 1 + len(rows)))

    def write(c):
        for i, (at, cause, text) in enumerate(rows, start=newest + 1):
            c.execute("INSERT INTO contacts (contact_id, source, external_id, channel, "
                      "created_at, cause, category, text) VALUES (?, 'cc', ?, 'chat', ?, ?, "
                      "'information', ?)", [i, f"O{i}", at, cause, text])
        c.execute("INSERT INTO calendar_events (calendar_event_id, source, external_id, kind, "
                  "name, starts_at, ends_at) VALUES (1, 'plan', 'spring', 'campaign', "
                  "'Spring upgrade campaign', "
                  "?, ?)", [start, start + dt.timedelta(days=14)])
    warehouse.write(write)

    report = discovery.discover(warehouse)
    assert len(report.created) == 1, report
    p = store.problem(warehouse, report.created[0])
    assert p["title"].startswith("Spring upgrade campaign: ") and "offer" in p["terms"]
    assert p["signature"] == "calendar:plan:spring"
    linked = set(store.linked_ids(warehouse, p["problem_id"]))
    assert len(linked & campaign) / len(campaign) >= 0.95  # both causes
    assert len(linked & campaign) / len(linked) >= 0.95
    again = discovery.discover(warehouse)
    assert again.created == [] and again.updated == [p["problem_id"]]
    assert set(store.linked_ids(warehouse, p["problem_id"])) == linked


@pytest.mark.slow
def test_customers_posts_join_the_problem_of_their_words(warehouse):
    """Posts classified into the problem's cause that use its words, inside its window, are
    linked (and counted in its figures); the usual posts of that cause, the brand's replies,
    posts with no label yet and posts from before the fault are not. A new post joins the open
    problem once it is classified."""
    from cxhub.services.problems import figures

    company(warehouse)
    fault_at = START + dt.timedelta(days=50, hours=12)
    posts = [  # (id, when, text, inbound, cause or None, expected to join, thread)
        (1, fault_at, "@brand I was charged twice!!", True, "billing", True, 1),
        (2, fault_at + dt.timedelta(days=1), "duplicate charge again @brand", True, "billing",
         True, 2),
        (3, fault_at, "@brand question about my bill", True, "billing", False, 3),
        (4, fault_at, "@brand charged twice for the router", True, "product", False, 4),
        (5, fault_at, "Sorry, a duplicate charge: DM us", False, "billing", False, 1),
        (6, fault_at, "duplicate charge @brand", True, None, False, 6),
        (7, fault_at - dt.timedelta(days=20), "charged twice last year @brand", True,
         "billing", False, 7),
        # Replies: about what their thread is about, whatever their own words say.
        (9, fault_at + dt.timedelta(hours=5), "Any news on this?", True, "billing", True, 1),
        (10, fault_at + dt.timedelta(hours=5), "duplicate charge?", True, "billing", False, 3),
    ]

    def write(c):
        for mid, at, text, inbound, cause, _, thread in posts:
            c.execute("INSERT INTO mentions (mention_id, source, external_id, platform, inbound, "
                      "created_at, text, thread_id) VALUES (?, 'social', ?, 'twitter', ?, ?, ?, "
                      "?)", [mid, f"SM{mid}", inbound, at, text, f"SM{thread}"])
            if cause:
                for dim, label in (("cause", cause), ("category", "complaint")):
                    c.execute("INSERT INTO labels (target, target_id, dimension, label, score, "
                              "model) VALUES ('mentions', ?, ?, ?, 0.9, 'm')", [mid, dim, label])
    warehouse.write(write)

    report = discovery.discover(warehouse)
    assert len(report.created) == 1 and report.mentions_linked == 3, report
    pid = report.created[0]
    assert store.linked_mention_ids(warehouse, pid) == [m[0] for m in posts if m[5]]
    assert figures.compute(warehouse, pid, figures.costs(None))["mentions"] == 3
    assert discovery.discover(warehouse).mentions_linked == 0  # found again: no copies

    later = START + dt.timedelta(days=71)
    warehouse.write(lambda c: [c.execute(
        "INSERT INTO mentions (mention_id, source, external_id, platform, inbound, created_at, "
        "text, thread_id) VALUES (11, 'social', 'SM11', 'forum', true, ?, "
        "'still a duplicate charge', 'SM11'), (12, 'social', 'SM12', 'twitter', true, ?, "
        "'hello?', 'SM2')", [later, later]), c.execute(
        "INSERT INTO labels (target, target_id, dimension, label, score, model) VALUES "
        "('mentions', 11, 'cause', 'billing', 0.9, 'm'), ('mentions', 12, 'cause', 'other', "
        "0.9, 'm')")])
    joined = discovery.join_new_mentions(warehouse, after_id=10)
    assert joined == {"newest": 12, "linked": {pid: 2}}
    assert store.linked_mention_ids(warehouse, pid) == [1, 2, 9, 11, 12]
