"""What a plausible value is: one set of rules for files and the REST API.

A single implausible value (a contact created in the year 57, a wait of 3e11 seconds, a
duration of NaN) must not bend a public figure or break a chart, so both entry paths refuse it
with the same reason. `cxhub.ingest.compile` turns these rules into SQL checks and
`cxhub.domain.api_models` into request validators (bounds in the OpenAPI schema).
"""

from __future__ import annotations

from datetime import date

EARLIEST_DATE = date(1850, 1, 1)
EARLIEST_TEXT = "implausible date (before 1850)"

# The longest duration a contact's lifecycle can hold: a written item resolved after most of a
# year is rare but real, a longer one is a unit error (milliseconds read as seconds).
MAX_DURATION_SECONDS = 366 * 24 * 3600
NEGATIVE_TEXT = "negative duration"
NOT_FINITE_TEXT = "not a finite number"
TOO_LONG_TEXT = f"implausibly long duration (over {MAX_DURATION_SECONDS:,} s)"


def date_problem(value: date) -> str | None:
    return EARLIEST_TEXT if value < EARLIEST_DATE else None
