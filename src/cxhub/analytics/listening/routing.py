"""Which mentions need service: the rule that turns a public post into a contact in the queue.

A mention needs service when all of these hold:

- a customer wrote it (inbound) and it opens a thread (it answers no other post: a reply in a
  thread the brand has answered is part of a conversation someone already handles);
- it reports something wrong: its best category is `problem` or `complaint`, or, when it has
  no category label, its sentiment label is negative;
- the brand has not replied: no first response time recorded and no brand post answers it;
- it is recent: created within `max_age` before the reference time (older unanswered posts are
  history, not work; the queue should not fill with last year's tweets on a first run).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pandas as pd

NEEDS_SERVICE_CATEGORIES = ("problem", "complaint")
# Contacts made from mentions come from this source; volumes leave them out (their mention
# is already counted).
ROUTED_SOURCE = "listening"


@dataclass(frozen=True)
class RoutingRule:
    max_age: dt.timedelta = dt.timedelta(days=7)
    categories: tuple[str, ...] = NEEDS_SERVICE_CATEGORIES


def needs_service(mentions: pd.DataFrame, as_of: dt.datetime,
                  rule: RoutingRule | None = None) -> pd.DataFrame:
    """The rows of `mentions` that need service, with a `reason` column.

    Columns used: inbound, in_reply_to, category, sentiment, first_response_at, has_reply
    (a brand post answers it), created_at.
    """
    r = rule or RoutingRule()
    if mentions.empty:
        return mentions.assign(reason=pd.Series(dtype=object))
    m = mentions
    inbound = m["inbound"].fillna(True).astype(bool)
    opens_thread = m["in_reply_to"].isna()
    category = m["category"]
    wrong = category.isin(r.categories)
    negative = category.isna() & (m["sentiment"] == "negative")
    unanswered = m["first_response_at"].isna() & ~m["has_reply"].fillna(False).astype(bool)
    created = pd.to_datetime(m["created_at"])
    recent = (created <= pd.Timestamp(as_of)) & (created > pd.Timestamp(as_of - r.max_age))
    chosen = m[inbound & opens_thread & (wrong | negative) & unanswered & recent]
    reason = chosen["category"].where(chosen["category"].isin(r.categories), "negative")
    return chosen.assign(reason=("unanswered " + reason.astype(str)).to_numpy())
