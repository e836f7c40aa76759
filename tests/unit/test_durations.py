"""One way to say a duration: the dashboard and the public report print what `cxhub metrics`
prints."""

from __future__ import annotations

import pytest

from cxhub.metrics.definitions import format_duration
from cxhub.web.dashboard.pages import seconds
from cxhub.web.public.routes import _fmt


@pytest.mark.parametrize(("value", "said"), [
    (45, "45 s"), (200, "3 min 20 s"), (179.6, "3 min 00 s"), (3_958, "66 min"), (7_300, "2.0 h"),
    (300_000, "3.5 d")])
def test_every_page_says_a_duration_the_same_way(value: float, said: str) -> None:
    assert format_duration(value) == said
    assert seconds(value) == said
    assert _fmt(value, "seconds") == said


def test_a_missing_duration_is_blank_on_the_dashboard_and_not_shown_in_public() -> None:
    assert seconds(None) == ""
    assert _fmt(None, "seconds") == "not shown"
