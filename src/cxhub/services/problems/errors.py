"""The error every problems use case raises for bad input: it names the field at fault."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cxhub.domain.errors import CxhubError, NotFoundError


class ProblemInputError(CxhubError):
    """Bad input to a problems use case; `field` names what to fix (cause, since, state ...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class ProblemNotFoundError(NotFoundError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


def parse_date(value: Any, field: str) -> dt.date:
    """A date from a date, a date-time or its ISO text; bad input names `field`."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ProblemInputError(field, f"{value!r} is not a date (YYYY-MM-DD)") from None
