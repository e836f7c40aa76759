"""A batch of API records validated a column at a time, for the common case only.

Validating a batch of 1,000 contacts record by record with the request models (`api_models`)
cost about 5 ms, a fifth of the server's work for the batch. Most batches are plain: JSON
strings without stray spaces, numbers, ISO times. This checks such a batch one field at a time
with a few C-level passes (types, lengths, choices, ISO times parsed by `datetime.fromisoformat`
after a strict pattern, the bounds) and builds the same rows the models would give.

It never decides anything the models would decide otherwise: whatever it does not recognise as
plainly acceptable (a type to coerce, a space to strip, a time in another format, a value out
of bounds, a missing or unknown field) makes it answer None, and the caller validates the
batch with the models, which accept or refuse it with their own messages. The rules
themselves (bounds, dates, the checks between fields) are the models' (`api_models`,
`plausibility`); `tests/unit/test_api_columns.py` checks that both give the same rows.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from itertools import chain
from operator import itemgetter
from typing import Any

from cxhub.domain import api_models as models
from cxhub.domain import plausibility as plausible
from cxhub.domain.canonical import RECORD_KINDS, Field, FieldType, RecordKind

# Below this many records the models are as quick (and a single record is their case).
MIN_BATCH = 16

_TEXT_MAX = 100_000
_KEY_MAX = 200
# The ISO forms both `datetime.fromisoformat` and the models read the same way.
_ISO_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)?")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_NONE = type(None)


class _Unsure(Exception):
    """Not plainly acceptable: the models decide."""


Column = list[Any]


def _text(limit: int, *, at_least: int = 0) -> Callable[[Column], Column]:
    def check(values: Column) -> Column:
        if not set(map(type, values)) <= {str}:
            raise _Unsure
        # Stripping is left to the models: Python's idea of a space is a superset of theirs, so
        # a value Python would not strip is one they would not either.
        if list(map(str.strip, values)) != values:
            raise _Unsure
        lengths = list(map(len, values))
        if max(lengths) > limit or min(lengths) < at_least:
            raise _Unsure
        return values
    return check


def _choice(choices: tuple[str, ...]) -> Callable[[Column], Column]:
    allowed = frozenset(choices)

    def check(values: Column) -> Column:
        if not set(map(type, values)) <= {str} or not set(values) <= allowed:
            raise _Unsure
        return values
    return check


def _int(values: Column) -> Column:
    if not set(map(type, values)) <= {int}:
        raise _Unsure
    return values


def _bool(values: Column) -> Column:
    if not set(map(type, values)) <= {bool}:
        raise _Unsure
    return values


def _float(low: float | None = None, high: float | None = None) -> Callable[[Column], Column]:
    def check(values: Column) -> Column:
        if not set(map(type, values)) <= {int, float}:
            raise _Unsure
        try:
            out = list(map(float, values))
        except OverflowError:
            raise _Unsure from None
        if not all(map(math.isfinite, out)):
            raise _Unsure
        if low is not None and min(out) < low or high is not None and max(out) > high:
            raise _Unsure
        return out
    return check


def _json(values: Column) -> Column:
    if not set(map(type, values)) <= {dict}:
        raise _Unsure
    return values


def _times(values: Column) -> list[datetime]:
    if not set(map(type, values)) <= {str} or not all(map(_ISO_TIME.fullmatch, values)):
        raise _Unsure
    try:
        out = list(map(datetime.fromisoformat, values))
    except ValueError:
        raise _Unsure from None
    aware = [i for i, t in enumerate(out) if t.tzinfo is not None]
    for i in aware:
        out[i] = out[i].astimezone(UTC).replace(tzinfo=None)
    # The plausible dates are a range (not before 1850): its ends decide for the whole column.
    if any(map(plausible.date_problem, (min(out).date(), max(out).date()))):
        raise _Unsure
    return out


def _timestamp(values: Column) -> Column:
    out = _times(values)
    if max(out) > models._horizon():
        raise _Unsure
    return out


def _date(values: Column) -> Column:
    if not set(map(type, values)) <= {str} or not all(map(_ISO_DATE.fullmatch, values)):
        raise _Unsure
    try:
        out = list(map(date.fromisoformat, values))
        for day in set(out):
            models._date_not_future(day)
    except ValueError:
        raise _Unsure from None
    return out


def _check_of(f: Field) -> Callable[[Column], Column]:
    if f.choices:
        return _choice(f.choices)
    if f.name in ("source", "external_id"):
        return _text(_KEY_MAX, at_least=1)
    if f.type == FieldType.TIMESTAMP:
        return _times if f.planned else _timestamp
    return {
        FieldType.TEXT: _text(_TEXT_MAX),
        FieldType.INT: _int,
        FieldType.FLOAT: _float(),
        FieldType.BOOL: _bool,
        FieldType.DATE: _date,
        FieldType.DURATION: _float(0.0, plausible.MAX_DURATION_SECONDS),
        FieldType.JSON: _json,
    }[f.type]


class _Plan:
    def __init__(self, kind: RecordKind) -> None:
        self.names = kind.field_names
        self.known = frozenset(self.names)
        self.required = frozenset(f.name for f in kind.fields if f.required)
        self.checks = {f.name: _check_of(f) for f in kind.fields}
        self.template: dict[str, Any] = dict.fromkeys(self.names)


_PLANS = {name: _Plan(kind) for name, kind in RECORD_KINDS.items()}


def validated_rows(kind: str, data: Any) -> list[dict[str, Any]] | None:
    """The rows the request models would give for `data` (a list of records as parsed from
    JSON), or None when that is not plain: then validate with the models.

    The rows are `data`'s own dicts with their values converted as the models convert them
    (times to naive UTC, numbers of a float field to float), changed only once the whole
    batch is known to be plain. A field a record leaves out stays out of its row rather than
    being added as None: the writer reads it as None, and adding 30 empty fields to each of a
    thousand rows cost as much as checking them."""
    plan = _PLANS.get(kind)
    if plan is None or type(data) is not list or len(data) < MIN_BATCH:
        return None
    if set(map(type, data)) != {dict}:
        return None
    present = set(chain.from_iterable(data))
    if not present <= plan.known or not plan.required <= present:
        return None
    converted: dict[str, list[Any]] = {}
    try:
        for name in present:
            try:
                values = list(map(itemgetter(name), data))
            except KeyError:  # some records leave the field out
                values = [record.get(name) for record in data]
            if name in plan.required:
                if None in values:
                    raise _Unsure
                given = values
            else:
                given = [v for v in values if v is not None]
                if not given:
                    continue
            checked = plan.checks[name](given)
            if checked is given:
                continue  # the values as parsed are the models' values
            if len(given) != len(values):  # put the checked values back among the Nones
                it = iter(checked)
                checked = [None if v is None else next(it) for v in values]
            converted[name] = checked
    except _Unsure:
        return None
    if not present.isdisjoint(models.CROSS_FIELDS):  # rare: whole rows, as the models see them
        rows = [{**plan.template, **record} for record in data]
        _put(rows, converted)
        return None if any(map(models.cross_field_problem, rows)) else rows
    _put(data, converted)
    return data


def _put(rows: list[dict[str, Any]], columns: dict[str, list[Any]]) -> None:
    for name, values in columns.items():
        for row, value in zip(rows, values, strict=True):
            row[name] = value
