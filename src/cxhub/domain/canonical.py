"""The canonical record kinds: every table that holds data from outside, and its fields.

This is the vocabulary shared by ingestion (mappings target these fields), the warehouse (its DDL
is generated from these lists) and the API (request models mirror them). A field list is data, so
adding a column is one line here plus a migration.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FieldType(StrEnum):
    TEXT = "text"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"
    DATE = "date"
    TIMESTAMP = "timestamp"
    DURATION = "duration"  # seconds, never negative
    JSON = "json"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType = FieldType.TEXT
    required: bool = False
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] | None = None
    # A time known in advance (a campaign's start): it may lie in the future.
    planned: bool = False


@dataclass(frozen=True, slots=True)
class RecordKind:
    """A table of records that come from outside, keyed by (source, external_id)."""

    table: str
    id_column: str
    description: str
    fields: tuple[Field, ...]

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(f"{self.table} has no field {name!r}")

    @property
    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


T, I, F, B, D, TS, DUR, J = (  # noqa: E741 (short names keep the field tables readable)
    FieldType.TEXT,
    FieldType.INT,
    FieldType.FLOAT,
    FieldType.BOOL,
    FieldType.DATE,
    FieldType.TIMESTAMP,
    FieldType.DURATION,
    FieldType.JSON,
)

CHANNELS = ("phone", "email", "chat", "web", "social", "community", "letter", "referral", "other")
CATEGORIES = ("information", "transaction", "problem", "complaint", "idea", "compliment")
CAUSES = ("product", "delivery", "pricing", "billing", "service", "other")
CONTACT_EVENT_TYPES = (
    "created",
    "queued",
    "answered",
    "first_response",
    "resolved",
    "abandoned",
    "transferred",
)
SURVEY_TYPES = ("csat", "nps", "ces")
CALENDAR_KINDS = ("campaign", "release", "price_change", "holiday", "other")

_KEY = (
    Field("source", T, True, "the system the record comes from (crm, billing, cfpb ...)"),
    Field("external_id", T, True, "the record's id in its source system"),
)
_CUSTOMER_KEY = (
    Field("customer_source", T, False, "the system that knows the customer (defaults to source)"),
    Field("customer_external_id", T, False, "the customer's id in that system"),
)

SOURCE_RECORDS = RecordKind(
    "source_records",
    "record_id",
    "person records from CRM, billing, marketing automation and sales systems",
    _KEY
    + (
        Field("first_name"),
        Field("last_name"),
        Field("email"),
        Field("phone"),
        Field("date_of_birth", D),
        Field("address"),
        Field("address_2"),
        Field("city"),
        Field("postcode"),
        Field("region"),
        Field("country"),
        Field("national_id"),
        Field("customer_since", D),
        Field("updated_at", TS),
        Field("attributes", J, description="other source columns, kept as JSON"),
    ),
)

CONTACTS = RecordKind(
    "contacts",
    "contact_id",
    "calls, emails, chats, web forms, social and community posts, letters, complaints",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("channel", T, True, "one of " + ", ".join(CHANNELS), choices=CHANNELS),
        Field("created_at", TS, True, "when the customer made contact"),
        Field("queued_at", TS),
        Field("answered_at", TS),
        Field("first_response_at", TS),
        Field("resolved_at", TS),
        Field("abandoned_at", TS),
        Field("wait_seconds", DUR),
        Field("talk_seconds", DUR),
        Field("hold_seconds", DUR),
        Field("wrap_seconds", DUR),
        Field("outcome", T, description="answered, abandoned, phantom, closed ..."),
        Field("queue"),
        Field("team"),
        Field("agent"),
        Field("category", T, choices=CATEGORIES, description="source-given category, if any"),
        Field("cause", T, description="source-given cause, if any"),
        Field("product"),
        Field("sub_product"),
        Field("issue"),
        Field("sub_issue"),
        Field("subject"),
        Field("text"),
        Field("company"),
        Field("region"),
        Field("postcode"),
        Field("resolution", T, description="what the company did (company response)"),
        Field("timely", B, description="answered within the promised time"),
        Field("disputed", B),
        Field("attributes", J),
    ),
)

CONTACT_EVENTS = RecordKind(
    "contact_events",
    "event_id",
    "lifecycle events of a contact (queued, answered, first response, resolved, abandoned ...)",
    _KEY
    + (
        Field("contact_external_id", T, True, "the contact's external id in the same source"),
        Field("event_type", T, True, choices=CONTACT_EVENT_TYPES),
        Field("occurred_at", TS, True),
        Field("agent"),
        Field("team"),
        Field("queue"),
        Field("attributes", J),
    ),
)

SURVEYS = RecordKind(
    "surveys",
    "survey_id",
    "survey answers: CSAT (1-5), NPS (0-10), CES (1-7), with comments",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("contact_external_id"),
        Field("survey_type", T, True, choices=SURVEY_TYPES),
        Field("score", F, True),
        Field("comment"),
        Field("answered_at", TS, True),
        Field("attributes", J),
    ),
)

MENTIONS = RecordKind(
    "mentions",
    "mention_id",
    "social media posts about the company and the company's replies",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("platform", T, description="twitter, facebook, forum ..."),
        Field("author"),
        Field("brand", T, description="the company account addressed or replying"),
        Field("inbound", B, description="true when written by a customer"),
        Field("created_at", TS, True),
        Field("text"),
        Field("in_reply_to", T, description="external id of the post this one answers"),
        Field("thread_id", T, description="external id of the first post of the thread"),
        Field("first_response_at", TS, description="the brand's first reply to this post"),
        Field("first_response_seconds", DUR),
        Field("attributes", J),
    ),
)

TOUCHPOINTS = RecordKind(
    "touchpoints",
    "touchpoint_id",
    "journey events: web visits, app logins, onboarding steps, deliveries, email engagement",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("touchpoint_type", T, True, "web_visit, app_login, onboarding_step, email_open ..."),
        Field("channel"),
        Field("occurred_at", TS, True),
        Field("detail"),
        Field("attributes", J),
    ),
)

TRANSACTIONS = RecordKind(
    "transactions",
    "transaction_id",
    "purchases, orders, invoices, payments and refunds",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("kind", T, description="purchase, order, invoice, payment, refund"),
        Field("occurred_at", TS, True),
        Field("product"),
        Field("quantity", F),
        Field("amount", F, True, "in the currency's unit; refunds negative"),
        Field("currency"),
        Field("attributes", J),
    ),
)

HOLDINGS = RecordKind(
    "holdings",
    "holding_id",
    "products a customer holds (subscriptions, contracts, accounts)",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("product", T, True),
        Field("started_at", TS, True),
        Field("ended_at", TS),
        Field("monthly_amount", F),
        Field("attributes", J, description="free-form; `contract_end` (a date): the end of the "
              "minimum term, read by contract-ending triggers"),
    ),
)

OFFER_DECISIONS = RecordKind(
    "offer_decisions",
    "decision_id",
    "offers presented to customers and their outcomes (accepted, declined, ignored)",
    _KEY
    + _CUSTOMER_KEY
    + (
        Field("offer_code", T, True),
        Field("contact_external_id"),
        Field("presented_at", TS, True),
        Field("outcome", T, description="accepted, declined, ignored"),
        Field("control", B, description="true for the control group (offer withheld)"),
        Field("revenue", F),
        Field("attributes", J),
    ),
)

CALENDAR_EVENTS = RecordKind(
    "calendar_events",
    "calendar_event_id",
    "demand known in advance: campaigns, releases, price changes, holidays",
    _KEY
    + (
        Field("kind", T, True, "one of " + ", ".join(CALENDAR_KINDS), choices=CALENDAR_KINDS),
        Field("name", T, True, "what the public page shows on the history charts"),
        Field("starts_at", TS, True, "when the extra demand starts (UTC)", planned=True),
        Field("ends_at", TS, True, "when it ends (UTC, exclusive)", planned=True),
        Field("channel", T, False, "the channel it affects; empty: every channel",
              choices=CHANNELS),
        Field("cause", T, False, "the cause it brings contacts about; empty: every cause"),
        Field("expected_lift", F, False, "expected demand over the usual (1.35: 35% more)"),
        Field("attributes", J),
    ),
)

ROSTERS = RecordKind(
    "rosters",
    "roster_id",
    "agents scheduled per channel (and team) and interval: the rota the staffing plan checks",
    _KEY
    + (
        Field("channel", T, True, "one of " + ", ".join(CHANNELS), choices=CHANNELS),
        Field("team", T, False, "the team; empty: every team of the channel"),
        Field("starts_at", TS, True, "start of the interval (UTC)", planned=True),
        Field("ends_at", TS, True, "end of the interval (UTC, exclusive)", planned=True),
        Field("agents", F, True, "agents scheduled on the channel for the interval", minimum=0),
        Field("attributes", J),
    ),
)

RECORD_KINDS: dict[str, RecordKind] = {
    k.table: k
    for k in (
        SOURCE_RECORDS,
        CONTACTS,
        CONTACT_EVENTS,
        SURVEYS,
        MENTIONS,
        TOUCHPOINTS,
        TRANSACTIONS,
        HOLDINGS,
        OFFER_DECISIONS,
        CALENDAR_EVENTS,
        ROSTERS,
    )
}


def record_kind(name: str) -> RecordKind:
    try:
        return RECORD_KINDS[name]
    except KeyError:
        known = ", ".join(sorted(RECORD_KINDS))
        raise KeyError(f"unknown record kind {name!r}; known kinds: {known}") from None
