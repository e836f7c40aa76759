"""The last gate before anything public leaves the server.

The figures are already suppressed and whitelisted where they are made
(`cxhub.services.public.figures.suppress`). This gate checks the finished document again, so a
future figure added without that step fails loudly (500) instead of publishing personal data:
every key must be a known aggregate key and every string must look like a label, a number or a
time, never like an e-mail address or a sentence.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from fastapi.responses import Response

from cxhub.services.public.figures import COMPARISONS, DIMENSIONS, VALUES

# Keys of the documents around the figures (windows, section names, chart layout).
_STRUCTURE = frozenset({
    "suppressed", "rows", "metric", "unavailable", "empty", "sections", "date", "window",
    "start", "end", "timezone", "min_public_count", "grain", "days", "weeks", "weekdays",
    "hours", "contacts_per_week", "wait_seconds", "service_level", "asa", "first_response",
    "at", "channels", "arrivals", "backlog", "expected_wait", "wait_basis", "revision",
    "published_at", "note", "figures", "revisions", "previous_n", "last_year_n",
    "recommended", "marks", "kind", "name", "waits", "significant",
    # the forward look (services.public_outlook): opening status, basis of a wait, its top
    "opening", "open", "closes", "opens", "basis", "high", "low",
    # the daily report's forecast accuracy: contacts forecast, share inside the 95% range
    "forecast", "coverage",
})
_SECTION_NAMES = frozenset({
    "volume_total", "volume_by_channel", "category_mix", "waits_by_channel",
    "abandonment_by_channel", "first_response_by_channel", "service_level_by_channel",
    "answered_on_time", "first_reply_on_time_by_channel", "complaints_by_cause",
    "complaints_by_product", "satisfaction",
    "satisfaction_last_month", "actions", "forecast_accuracy", "open_problems",
})
ALLOWED_KEYS = _STRUCTURE | _SECTION_NAMES | set(DIMENSIONS) | set(VALUES) | set(COMPARISONS)

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A label is short; a free text (a narrative, a tweet) is long or has many words.
_MAX_LABEL = 120
_MAX_WORDS = 14


class PrivacyError(RuntimeError):
    pass


def check(document: Any, path: str = "$") -> None:
    """Raise PrivacyError when the document holds anything but aggregates and labels."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key not in ALLOWED_KEYS:
                raise PrivacyError(f"{path}: key {key!r} is not a public aggregate key")
            check(value, f"{path}.{key}")
    elif isinstance(document, list):
        for i, value in enumerate(document):
            check(value, f"{path}[{i}]")
    elif isinstance(document, str):
        if EMAIL.search(document):
            raise PrivacyError(f"{path}: looks like an e-mail address")
        if len(document) > _MAX_LABEL or len(document.split()) > _MAX_WORDS:
            raise PrivacyError(f"{path}: looks like free text, not a label")


def public_json(document: Any, *, max_age: int = 0) -> Response:
    """A checked JSON response; `max_age` lets browsers and proxies reuse it."""
    check(document)
    headers = {"Cache-Control": f"public, max-age={max_age}"} if max_age else {}
    return Response(orjson.dumps(document), media_type="application/json", headers=headers)
