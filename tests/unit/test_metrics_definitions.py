"""The catalogue loads, every product metric is in it, bad definitions and requests are refused
with a message naming what is wrong, and the periods arithmetic is right."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from cxhub.metrics import MetricQueryError, UnknownMetricError, default_catalogue
from cxhub.metrics.definitions import CatalogueError, format_duration, loads
from cxhub.metrics.formula import FormulaError
from cxhub.metrics.markdown import END, START, render
from cxhub.metrics.periods import (
    add_months,
    comparison_range,
    floor,
    parse_time,
    period_starts,
)
from cxhub.metrics.query import request

DOCS = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"

# PRODUCT.md, "Metric definitions", and what the public page needs.
PRODUCT_METRICS = {
    "contacts", "contact_rate", "backlog", "service_level", "asa", "abandonment_rate",
    "first_response_time", "first_response_time_p90", "first_response_within_target",
    "resolution_time", "aht", "fcr", "csat", "nps", "ces", "failure_demand_share",
    "expected_wait", "arrivals", "mentions", "complaints", "answered_on_time",
}

_OK = """
handled_share:
  label: Handled
  description: Share handled.
  fact: contacts
  kind: share
  numerator: handled
  unit: share
  better: higher
"""


def test_every_product_metric_is_defined_with_unit_and_direction() -> None:
    catalogue = default_catalogue()
    assert PRODUCT_METRICS <= set(catalogue.names)
    for m in catalogue:
        assert m.description and m.label, m.name
        assert m.better in ("higher", "lower", "neither"), m.name
        assert "channel" in m.dimensions, m.name
        # Forecast intervals have no customer, so no segment.
        assert "segment" in m.dimensions or m.fact == "forecasts", m.name
    sl = catalogue.get("service_level")
    assert sl.params["threshold"] == {"phone": 20, "chat": 60}
    assert sl.params["short_abandon_seconds"] == 5
    assert sl.target_for("phone") == 0.8
    assert catalogue.get("csat").fact == "surveys"


def test_a_small_valid_catalogue_loads() -> None:
    metric = loads(_OK).get("handled_share")
    assert metric.kind == "share" and metric.numerator is not None
    assert metric.numerator.columns == {"handled"}
    assert metric.to_dict()["numerator"] == "handled"


@pytest.mark.parametrize(("change", "message"), [
    (("kind: share", "kind: proportion"), "kind must be one of"),
    (("unit: share", "unit: percent"), "unit must be one of"),
    (("fact: contacts", "fact: tickets"), "fact must be one of"),
    (("numerator: handled", "numerator: handld"), "'handld' in 'handld' is neither a column"),
    (("numerator: handled", "numerator: handled and"), "is not a valid formula"),
    (("numerator: handled", "numerator: channel.upper == 'X'"), "Attribute is not allowed"),
    (("numerator: handled", "numerator: __import__('os')"), "may be called"),
    (("numerator: handled", "numerator: handled\n  colour: blue"), "unknown field(s) colour"),
    (("  numerator: handled\n", ""), "missing field(s) numerator"),
    (("better: higher", "better: up"), "better must be one of"),
    (("unit: share", "unit: share\n  target: high"), "target must be a number"),
    (("unit: share", "unit: share\n  time: closed_on"), "time 'closed_on' is not a column"),
])
def test_bad_definitions_are_refused_naming_the_metric_and_field(
        change: tuple[str, str], message: str) -> None:
    with pytest.raises((CatalogueError, FormulaError)) as err:
        loads(_OK.replace(*change), origin="my.yaml")
    assert message in str(err.value)
    assert "my.yaml: metric 'handled_share'" in str(err.value)


def test_unknown_metric_lists_the_catalogue_and_suggests() -> None:
    with pytest.raises(UnknownMetricError) as err:
        default_catalogue().get("servicelevel")
    text = str(err.value)
    assert "Did you mean 'service_level'?" in text
    assert all(name in text for name in default_catalogue().names)


@pytest.mark.parametrize(("kwargs", "parameter"), [
    ({"by": "day,week"}, "by"),
    ({"by": "platform"}, "by"),  # a dimension of mentions, not of contacts
    ({"filters": {"colour": "red"}}, "colour"),
    ({"filters": {"hour_of_day": "nine"}}, "hour_of_day"),
    ({"start": "2024-03-05", "end": "2024-03-04T00:00:00"}, "to"),
    ({"start": "5 March"}, "from"),
    ({"start": "2020-01-01", "end": "2024-01-01", "by": "15min"}, "by"),  # 140,000 periods
])
def test_bad_requests_name_the_parameter(kwargs: dict[str, object], parameter: str) -> None:
    args = {"start": "2024-03-04", "end": "2024-03-10", **kwargs}
    with pytest.raises(MetricQueryError) as err:
        request(default_catalogue().get("contacts"), **args)  # type: ignore[arg-type]
    assert err.value.parameter == parameter


def test_request_splits_grain_dimensions_and_filters() -> None:
    req = request(default_catalogue().get("contacts"), start="2024-03-04", end="2024-03-10",
                  by=["week", "channel", "team"], filters={"channel": "phone,chat"})
    assert (req.grain, req.dimensions) == ("week", ("channel", "team"))
    assert req.filters == {"channel": ("phone", "chat")}
    assert (req.start, req.end) == (datetime(2024, 3, 4), datetime(2024, 3, 11))


def test_period_arithmetic() -> None:
    t = datetime(2024, 3, 6, 9, 44, 12)  # a Wednesday
    assert floor(t, "15min") == datetime(2024, 3, 6, 9, 30)
    assert floor(t, "week") == datetime(2024, 3, 4)
    assert floor(t, "month") == datetime(2024, 3, 1)
    assert add_months(datetime(2024, 1, 31), 1) == datetime(2024, 2, 29)
    assert add_months(datetime(2024, 3, 1), -14) == datetime(2023, 1, 1)
    assert period_starts(datetime(2024, 1, 15), datetime(2024, 3, 1), "month") == [
        datetime(2024, 1, 1), datetime(2024, 2, 1)]


def test_comparison_ranges() -> None:
    march = (datetime(2024, 3, 1), datetime(2024, 4, 1))
    assert comparison_range("previous", *march, None).start == datetime(2024, 2, 1)
    assert comparison_range("previous", *march, "day").start == datetime(2024, 2, 29)
    last_year = comparison_range("last_year", *march, None)
    assert (last_year.start, last_year.end) == (datetime(2023, 3, 1), datetime(2023, 4, 1))
    monday = comparison_range("last_year", datetime(2024, 3, 4), datetime(2024, 3, 5), "day")
    assert monday.start == datetime(2023, 3, 6) and monday.start.weekday() == 0
    assert monday.forward(datetime(2023, 3, 6)) == datetime(2024, 3, 4)
    week = comparison_range("previous", datetime(2024, 3, 4), datetime(2024, 3, 11), None)
    assert (week.start, week.end) == (datetime(2024, 2, 26), datetime(2024, 3, 4))


def test_times_are_parsed_as_people_write_them() -> None:
    assert parse_time("2024-03-31", parameter="to", end=True) == datetime(2024, 4, 1)
    assert parse_time(date(2024, 3, 31), parameter="to", end=True) == datetime(2024, 4, 1)
    assert parse_time("2024-03-31T12:00:00", parameter="to", end=True) == datetime(
        2024, 3, 31, 12)
    assert parse_time("2024-03-31T12:00:00+02:00", parameter="from") == datetime(
        2024, 3, 31, 10)
    assert parse_time("2024-03-31T12:00:00Z", parameter="from") == datetime(2024, 3, 31, 12)


def test_values_are_formatted_in_their_unit() -> None:
    catalogue = default_catalogue()
    assert catalogue.get("service_level").format(0.8333) == "83.3%"
    assert catalogue.get("nps").format(12) == "+12.0"
    assert catalogue.get("contacts").format(12345) == "12,345"
    assert catalogue.get("asa").format(None) == "–"
    assert format_duration(45) == "45 s"
    assert format_duration(250) == "4 min 10 s"
    assert format_duration(3 * 3600) == "3.0 h"
    assert format_duration(3 * 86400) == "3.0 d"


def test_docs_show_the_catalogue_as_it_is() -> None:
    text = DOCS.read_text()
    documented = START + text.split(START, 1)[1].split(END, 1)[0] + END + "\n"
    assert documented == render(), (
        "docs/metrics.md is out of date: regenerate its catalogue section with "
        "`python -m cxhub.metrics.markdown`")
