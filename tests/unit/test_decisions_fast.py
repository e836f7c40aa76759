"""The decisions' fast path takes exactly what the route's model takes as it is, and nothing
else: the same fields, lengths, bounds and vocabularies (derived here from the model, so a
field added to the route without the fast path knowing fails this test), and every doubtful
body left to the route."""

from __future__ import annotations

from typing import Any

import pytest

from cxhub.web.api.v1 import decisions_fast as fast
from cxhub.web.api.v1.offers import DecisionRequest

GOOD: dict[str, Any] = {"customer_source": "crm", "customer_external_id": "C1",
                        "channel": "phone", "category": "information", "cause": "billing",
                        "sentiment": "neutral", "contact_external_id": "K1", "limit": 5}


def test_same_fields_and_limits_as_the_route() -> None:
    fields = DecisionRequest.model_fields
    assert set(fields) == fast._FIELDS
    for name, longest in fast._TEXTS.items():
        meta = {type(m).__name__: m for m in fields[name].metadata}
        assert meta["MaxLen"].max_length == longest, name
    limit = {type(m).__name__: m for m in fields["limit"].metadata}
    assert (limit["Ge"].ge, limit["Le"].le) == (1, 25)
    assert fields["limit"].default == 3


@pytest.mark.parametrize("body", [
    GOOD, {}, {"customer_id": 0}, {"customer_id": 42, "limit": 1},
    {"customer_external_id": "C1"}, {"channel": None}])
def test_what_the_fast_path_takes_the_route_takes_alike(body: dict[str, Any]) -> None:
    assert fast.plain_request(body) == body
    assert DecisionRequest(**body).model_dump(exclude_unset=True) == body


@pytest.mark.parametrize("body", [
    [GOOD], "x", {"colour": "red"}, {"channel": "pigeon"}, {"customer_id": -1},
    {"customer_id": True}, {"customer_id": "12"}, {"customer_id": 1.0}, {"limit": 0},
    {"limit": 26}, {"limit": None}, {"limit": "3"}, {"customer_source": "crm"},
    {"customer_external_id": "x" * 201}, {"sentiment": 1}, {"channel": ["phone"]}])
def test_anything_doubtful_goes_to_the_route(body: Any) -> None:
    # The route refuses these (or coerces "12" and 1.0), naming the field: tested through a
    # real server in tests/web/test_offers_api.py.
    assert fast.plain_request(body) is None
