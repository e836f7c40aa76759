"""Which mentions need service: unanswered problems and complaints that open a thread, recent."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cxhub.analytics.listening.routing import RoutingRule, needs_service

NOW = dt.datetime(2026, 4, 13, 12, 0)


def _post(**kw: object) -> dict[str, object]:
    row: dict[str, object] = {"mention_id": 1, "inbound": True, "in_reply_to": None,
                              "category": "problem", "sentiment": None,
                              "first_response_at": None, "has_reply": False,
                              "created_at": NOW - dt.timedelta(hours=2)}
    row.update(kw)
    return row


def test_the_rule() -> None:
    frame = pd.DataFrame([
        _post(mention_id=1),                                      # routed: problem
        _post(mention_id=2, category="complaint"),                # routed: complaint
        _post(mention_id=3, category=None, sentiment="negative"),  # routed: negative, no category
        _post(mention_id=4, category="compliment"),
        _post(mention_id=5, category="information", sentiment="negative"),  # category wins
        _post(mention_id=6, first_response_at=NOW - dt.timedelta(hours=1)),  # answered
        _post(mention_id=7, has_reply=True),                      # a brand post answers it
        _post(mention_id=8, in_reply_to="SM1-R"),                 # part of a thread
        _post(mention_id=9, inbound=False),                       # the brand's own post
        _post(mention_id=10, created_at=NOW - dt.timedelta(days=8)),  # too old
        _post(mention_id=11, created_at=NOW + dt.timedelta(hours=1)),  # after the reference
    ])
    chosen = needs_service(frame, NOW)
    assert chosen["mention_id"].tolist() == [1, 2, 3]
    assert chosen["reason"].tolist() == ["unanswered problem", "unanswered complaint",
                                         "unanswered negative"]
    older = needs_service(frame, NOW, RoutingRule(max_age=dt.timedelta(days=30)))
    assert 10 in older["mention_id"].tolist()
    assert needs_service(frame.iloc[:0], NOW).empty
