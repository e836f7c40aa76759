"""Request models of the REST API, generated from the canonical record kinds.

One model per kind, so a field added to `canonical.py` is accepted by the API at once. Values
are checked here as in file ingestion: times not in the future (and not before the contact was
created), durations not negative, survey scores in range for their survey type.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model, model_validator

from cxhub.domain import plausibility as plausible
from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind

SURVEY_RANGES = {"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}
_LIFECYCLE = ("queued_at", "answered_at", "first_response_at", "resolved_at", "abandoned_at")
class _Horizon:
    """The latest acceptable time (now plus a day, UTC), worked out again at most once a
    second: asking the clock for every time field was a twelfth of a batch's cost."""

    def __init__(self) -> None:
        self._at = -1.0
        self._limit = datetime.min

    def __call__(self) -> datetime:
        tick = time.monotonic()
        if tick - self._at >= 1.0:
            self._limit = datetime.now(UTC).replace(tzinfo=None) + timedelta(days=1)
            self._at = tick
        return self._limit


_horizon = _Horizon()


def _utc_not_future(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if value > _horizon():
        raise ValueError("in the future")
    if problem := plausible.date_problem(value.date()):
        raise ValueError(problem)
    return value


def _utc_planned(value: datetime) -> datetime:
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    if problem := plausible.date_problem(value.date()):
        raise ValueError(problem)
    return value


def _date_not_future(value: date) -> date:
    if value > date.today() + timedelta(days=1):
        raise ValueError("in the future")
    if problem := plausible.date_problem(value):
        raise ValueError(problem)
    return value


# The checks of times run on time fields only (a validator on every field cost a third of
# validating a record).
_TYPES: dict[FieldType, Any] = {
    FieldType.TEXT: Annotated[str, Field(max_length=100_000)],
    FieldType.INT: int,
    FieldType.FLOAT: Annotated[float, Field(allow_inf_nan=False)],
    FieldType.BOOL: bool,
    FieldType.DATE: Annotated[date, AfterValidator(_date_not_future)],
    FieldType.TIMESTAMP: Annotated[datetime, AfterValidator(_utc_not_future)],
    FieldType.DURATION: Annotated[
        float, Field(ge=0, le=plausible.MAX_DURATION_SECONDS, allow_inf_nan=False)
    ],
    FieldType.JSON: dict[str, Any],
}


class RecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    @model_validator(mode="after")
    def _cross_field(self) -> RecordIn:
        if problem := cross_field_problem(self.__dict__):
            raise ValueError(problem)
        return self


# The fields `cross_field_problem` reads besides created_at: a batch with none of them holding
# a value has no problem to find (`api_columns` skips the check then).
CROSS_FIELDS = frozenset((*_LIFECYCLE, "score"))


def cross_field_problem(data: dict[str, Any]) -> str | None:
    """What is wrong between a record's fields (its values already validated one by one)."""
    created = data.get("created_at")
    if created is not None and "channel" in data:
        for name in _LIFECYCLE:
            t = data.get(name)
            if t is not None and t < created - timedelta(minutes=1):
                return f"{name} is before created_at (negative duration)"
    kind, score = data.get("survey_type"), data.get("score")
    if kind in SURVEY_RANGES and score is not None:
        lo, hi = SURVEY_RANGES[kind]
        if not lo <= score <= hi:
            return f"score {score} out of range for {kind} ({lo}-{hi})"
    return None


def _model(kind: RecordKind) -> type[RecordIn]:
    fields: dict[str, Any] = {}
    for f in kind.fields:
        py: Any = Literal[f.choices] if f.choices else _TYPES[f.type]
        if f.name in ("source", "external_id"):
            py = Annotated[str, Field(min_length=1, max_length=200)]
        if f.planned and f.type == FieldType.TIMESTAMP:  # known in advance: may be future
            py = Annotated[datetime, AfterValidator(_utc_planned)]
        if f.required:
            fields[f.name] = (py, Field(..., description=f.description))
        else:
            fields[f.name] = (py | None, Field(None, description=f.description))
    name = "".join(p.title() for p in kind.table.split("_")) + "In"
    return create_model(name, __base__=RecordIn, __doc__=kind.description, **fields)


MODELS: dict[str, type[RecordIn]] = {name: _model(kind) for name, kind in RECORD_KINDS.items()}
