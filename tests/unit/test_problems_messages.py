"""A problem's own contacts' change after an action, in the words the page and the demo's
verification note use."""

from __future__ import annotations

from cxhub.services.problems.impact import own_contacts_message


def _change(per_week: float, half: float) -> dict[str, float]:
    return {"avoided_per_week": per_week, "avoided_low": per_week - half,
            "avoided_high": per_week + half}


def test_fewer_more_and_no_clear_change():
    assert own_contacts_message(_change(218.4, 30.2), "2026-11-09") == (
        "since 2026-11-09, about 218 fewer of its own contacts a week than expected without "
        "it (188 to 249)")
    # More after the action: the interval (-40 to -10 avoided) read as 10 to 40 more.
    assert own_contacts_message(_change(-25, 15), "the fix") == (
        "since the fix, about 25 more of its own contacts a week than expected without it "
        "(10 to 40)")
    assert own_contacts_message(_change(3, 10), "the fix") == (
        "since the fix, no clear change in its own contacts a week (-13 to +7)")
