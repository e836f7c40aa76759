"""`api_columns.validated_rows` (a batch checked a column at a time) either gives exactly the
rows the request models give, or says it is unsure (None): random batches mixing plain values
with the ones the models coerce, strip or refuse."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from cxhub.domain.api_columns import MIN_BATCH, validated_rows
from cxhub.domain.api_models import MODELS
from cxhub.domain.canonical import RECORD_KINDS, FieldType

ADAPTERS = {kind: TypeAdapter(list[model]) for kind, model in MODELS.items()}  # type: ignore[valid-type]
FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%S")

TEXT = st.one_of(
    st.sampled_from(["billing", "a", "x" * 200, "x" * 201, "", " padded", "tab\t", "\u00a0nb",
                     "\u2003em", "\x1cfs", "é", "12"]),
    st.text(max_size=6), st.integers(0, 9), st.none())
TIMES = st.one_of(
    st.sampled_from([
        "2024-05-06T09:00:00", "2024-05-06 09:00:00", "2024-05-06T09:00:00Z",
        "2024-05-06T09:00:00.5", "2024-05-06T09:00:00.123456+02:00", "2024-05-06T23:30:00-05:30",
        "2024-05-06T09:00", "2024-05-06", "2024-02-30T09:00:00", "1849-12-31T23:00:00",
        "1850-01-01T00:30:00+01:00", FUTURE, "2024-05-06T24:00:00", "0000-01-01T00:00:00",
        " 2024-05-06T09:00:00", "2024-05-06T09:00:00+24:00"]),
    st.integers(0, 2_000_000_000), st.none())
NUMBERS = st.one_of(
    st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from([0, -0.0, 31_622_400, 31_622_401, 10**400, "5", True]), st.none())


def value(ftype: FieldType, choices: tuple[str, ...] | None) -> st.SearchStrategy[Any]:
    if choices:
        return st.one_of(st.sampled_from(choices), st.sampled_from([" phone", "PHONE", None]))
    return {
        FieldType.TEXT: TEXT, FieldType.TIMESTAMP: TIMES, FieldType.INT: NUMBERS,
        FieldType.FLOAT: NUMBERS, FieldType.DURATION: NUMBERS,
        FieldType.BOOL: st.one_of(st.booleans(), st.sampled_from([1, "true", None])),
        FieldType.DATE: st.one_of(st.sampled_from(
            ["2024-05-06", "1800-01-01", "2024-13-01", "2024-05-06T00:00:00", "9999-12-31"]),
            st.none()),
        FieldType.JSON: st.one_of(st.just({"a": [1, 2]}), st.just([1]), st.none()),
    }[ftype]


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    kind = draw(st.sampled_from(["contacts", "surveys", "source_records", "calendar_events",
                                 "transactions"]))
    fields = RECORD_KINDS[kind].fields
    # A few columns vary; the others are plain in every record, so many batches are plain.
    varying = draw(st.sets(st.sampled_from([f.name for f in fields]), max_size=2))
    plain = draw(st.lists(st.sampled_from([f.name for f in fields if not f.required]),
                          max_size=4, unique=True))
    # Each varying column takes one or two values in the batch (drawn once), so a batch holding
    # a tricky value is as often plain otherwise, and the column path sees it.
    pools = {f.name: draw(st.lists(value(f.type, f.choices), min_size=1, max_size=2))
             for f in fields if f.name in varying}
    n = draw(st.integers(MIN_BATCH, MIN_BATCH + 4))
    records = []
    for i in range(n):
        record: dict[str, Any] = {}
        for f in fields:
            if f.name in pools and draw(st.integers(0, 3)):
                record[f.name] = draw(st.sampled_from(pools[f.name]))
            elif f.required or f.name in plain:
                record[f.name] = PLAIN[f.type] if not f.choices else f.choices[0]
        record["external_id"] = record.get("external_id") or f"k{i}"
        if draw(st.integers(0, 40)) == 0:
            del record[draw(st.sampled_from(sorted(record)))]
        if draw(st.integers(0, 40)) == 0:
            record["unknown_field"] = 1
        records.append(record)
    return kind, records


PLAIN: dict[FieldType, Any] = {
    FieldType.TEXT: "plain", FieldType.TIMESTAMP: "2024-05-06T09:00:00", FieldType.INT: 3,
    FieldType.FLOAT: 2.5, FieldType.DURATION: 30, FieldType.BOOL: True,
    FieldType.DATE: "2024-05-06", FieldType.JSON: {"k": "v"},
}


def models_rows(kind: str, data: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    try:
        return [vars(r) for r in ADAPTERS[kind].validate_python(data)]
    except ValidationError:
        return None


def typed(rows: list[dict[str, Any]]) -> list[dict[str, tuple[type, Any]]]:
    """Each field's type and value; a field left out of a row (read by the writer as None)
    counts as None."""
    return [{k: (type(v), v) for k, v in row.items() if v is not None} for row in rows]


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_the_columns_give_the_models_rows_or_nothing(batch: tuple[str, list[dict[str, Any]]]
                                                     ) -> None:
    kind, data = batch
    slow = models_rows(kind, copy.deepcopy(data))
    sent = copy.deepcopy(data)
    fast = validated_rows(kind, data)
    event(f"columns: {'sure' if fast is not None else 'unsure'}")
    if fast is None:
        assert data == sent, "changed a batch it left to the models"
        return
    assert slow is not None, "accepted a batch the models refuse"
    assert typed(fast) == typed(slow)
    assert all(set(r) <= set(MODELS[kind].model_fields) for r in fast)


def test_a_plain_batch_is_validated_by_columns() -> None:
    """The bench's batch (and any like it) takes the column path, with the models' rows."""
    data = [{"source": "bench", "external_id": f"r-{i}", "channel": "email",
             "created_at": f"2024-05-06T09:{i % 60:02d}:{i % 59:02d}", "wait_seconds": i % 600,
             "queue": "billing", "resolved_at": "2024-05-06T11:00:00+01:00" if i % 2 else None,
             "attributes": {"n": i}} for i in range(1000)]
    slow = models_rows("contacts", copy.deepcopy(data))
    fast = validated_rows("contacts", copy.deepcopy(data))
    assert fast is not None
    assert typed(fast) == typed(slow or [])
    # A value the models would refuse, or coerce, sends the batch to them.
    for bad in ({"wait_seconds": -1}, {"wait_seconds": 31_622_401},
                {"wait_seconds": float("inf")}, {"wait_seconds": "5"}, {"wait_seconds": True},
                {"channel": "fax"}, {"channel": " email"}, {"queue": " billing"},
                {"queue": "x" * 100_001}, {"queue": 5}, {"external_id": ""},
                {"external_id": "x" * 201}, {"created_at": FUTURE},
                {"created_at": "1700-01-01T00:00:00"}, {"created_at": None},
                {"created_at": "2024-05-06T09:00:00+99:00"}, {"resolved_at": "2024-05-06T08:00:00"},
                {"timely": 1}, {"attributes": [1]}, {"extra": 1}):
        assert validated_rows("contacts", [{**data[0], **bad}, *data[1:]]) is None, bad
    assert validated_rows("contacts", data[:MIN_BATCH - 1]) is None


def test_a_plain_batch_of_every_kind() -> None:
    """Every kind's plain batch (each field holding a plain value) takes the column path with
    the models' rows; a number that is not finite sends it to the models."""
    for kind, spec in RECORD_KINDS.items():
        data = [{f.name: f.choices[0] if f.choices else PLAIN[f.type] for f in spec.fields}
                | {"external_id": f"k{i}"} for i in range(MIN_BATCH)]
        fast = validated_rows(kind, copy.deepcopy(data))
        assert fast is not None, kind
        assert typed(fast) == typed(models_rows(kind, data) or []), kind
        for f in spec.fields:
            if f.type in (FieldType.FLOAT, FieldType.DURATION):
                broken = [{**data[0], f.name: float("inf")}, *data[1:]]
                assert validated_rows(kind, broken) is None, (kind, f.name)
