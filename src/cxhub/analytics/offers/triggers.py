"""Triggers: service events that start marketing, as data (the catalogue's `triggers` list).

Three kinds of event, each a rule the service layer turns into one query:
- `contract_ending`: a holding ends within `within_days`, and the customer had a resolved
  contact with `sentiment` (default positive) in the last `recent_days`;
- `contact_about`: a contact in the last `within_days` whose subject or text holds one of
  `terms` (a "moving house" contact);
- `complaint_resolved`: a complaint resolved in the last `within_days`, for a customer whose
  value band is in `value_bands` or whose CLV is at least `min_clv`.
Each trigger has its own control group (`control_share`, by hashing customer and trigger).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cxhub.analytics.offers.catalogue import SENTIMENTS, CatalogueError

EVENTS = ("contract_ending", "contact_about", "complaint_resolved")
FIELDS = ("code", "title", "event", "within_days", "recent_days", "sentiment", "terms",
          "value_bands", "min_clv", "control_share", "offer_code", "action", "active",
          "webhook")


@dataclass(frozen=True)
class Trigger:
    code: str
    title: str
    event: str
    within_days: int = 30
    recent_days: int = 30
    sentiment: str = "positive"
    terms: tuple[str, ...] = ()
    value_bands: tuple[str, ...] = ()
    min_clv: float | None = None
    control_share: float = 0.10
    offer_code: str | None = None
    action: str = ""
    active: bool = True
    webhook: str | None = None  # where the server's scheduled runs POST new members


def _days(code: str, name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 3650:
        raise CatalogueError(code, name, f"must be a whole number of days (1 to 3650), "
                             f"got {value!r}")
    return value


def _texts(code: str, name: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogueError(code, name, "must be a list of words or phrases")
    return tuple(v.strip() for v in value)


def parse_trigger(raw: Any, i: int = 0) -> Trigger:
    if not isinstance(raw, dict) or not isinstance(raw.get("code"), str):
        raise CatalogueError(f"triggers[{i}]", "code", "required (a short name)")
    code = raw["code"]
    unknown = [k for k in raw if k not in FIELDS]
    if unknown:
        raise CatalogueError(code, unknown[0], f"unknown field (known: {', '.join(FIELDS)})")
    event = raw.get("event")
    if event not in EVENTS:
        raise CatalogueError(code, "event", f"must be one of {', '.join(EVENTS)}, got {event!r}")
    sentiment = raw.get("sentiment", "positive")
    if sentiment not in SENTIMENTS:
        raise CatalogueError(code, "sentiment", f"must be one of {', '.join(SENTIMENTS)}")
    terms = _texts(code, "terms", raw.get("terms"))
    if event == "contact_about" and not terms:
        raise CatalogueError(code, "terms", "a contact_about trigger needs terms")
    bands = _texts(code, "value_bands", raw.get("value_bands"))
    min_clv = raw.get("min_clv")
    if min_clv is not None and (isinstance(min_clv, bool)
                                or not isinstance(min_clv, int | float)):
        raise CatalogueError(code, "min_clv", f"must be a number, got {min_clv!r}")
    if event == "complaint_resolved" and not bands and min_clv is None:
        raise CatalogueError(code, "value_bands", "a complaint_resolved trigger needs "
                             "value_bands or min_clv (whose complaints)")
    share = raw.get("control_share", 0.10)
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 <= share <= 0.9:
        raise CatalogueError(code, "control_share", f"must be between 0 and 0.9, got {share!r}")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        raise CatalogueError(code, "active", "must be true or false")
    offer_code = raw.get("offer_code")
    if offer_code is not None and not isinstance(offer_code, str):
        raise CatalogueError(code, "offer_code", "must be an offer's code")
    if event != "contract_ending" and ("recent_days" in raw or "sentiment" in raw):
        bad = "recent_days" if "recent_days" in raw else "sentiment"
        raise CatalogueError(code, bad, f"only a contract_ending trigger has {bad}")
    if event != "contact_about" and terms:
        raise CatalogueError(code, "terms", "only a contact_about trigger has terms")
    if event != "complaint_resolved" and (bands or min_clv is not None):
        bad = "value_bands" if bands else "min_clv"
        raise CatalogueError(code, bad, f"only a complaint_resolved trigger has {bad}")
    webhook = raw.get("webhook")
    if webhook is not None and (not isinstance(webhook, str)
                                or not webhook.startswith(("http://", "https://"))):
        raise CatalogueError(code, "webhook", "must be an http:// or https:// URL")
    return Trigger(code=code, title=str(raw.get("title", code)), event=event,
                   within_days=_days(code, "within_days", raw.get("within_days", 30)),
                   recent_days=_days(code, "recent_days", raw.get("recent_days", 30)),
                   sentiment=sentiment, terms=terms, value_bands=bands,
                   min_clv=None if min_clv is None else float(min_clv),
                   control_share=float(share), offer_code=offer_code,
                   action=str(raw.get("action", "")), active=active, webhook=webhook)
