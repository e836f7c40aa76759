"""Spike detection on synthetic hourly counts with a known weekly shape: quiet data raises
nothing, an injected burst is found within hours, the baseline knows the weekday, the verdicts
are causal, and a long incident does not teach the baseline to expect itself."""

from __future__ import annotations

import numpy as np
import pytest

from cxhub.analytics.listening import baseline, spikes
from cxhub.analytics.listening.topics import (
    TermSettings,
    distinctive_terms,
    term_counts,
    terms,
)

WEEKS = 10
# Hour-of-day shape: nothing at night, busy from 8 to 18; weekends (days 5, 6) a fifth.
HOUR = np.array([0.1] * 7 + [1.0] * 11 + [0.5] * 6)
DAY = np.array([1, 1, 1, 1, 1, 0.2, 0.2])


def _rates(per_busy_hour: float, weeks: int = WEEKS) -> np.ndarray:
    week = (DAY[:, None] * HOUR[None, :]).ravel() * per_busy_hour
    return np.tile(week, weeks)


def _counts(rates: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).poisson(rates).astype(float)


def test_quiet_data_raises_no_alert() -> None:
    rates = np.vstack([_rates(r) for r in (40.0, 8.0, 1.0, 0.3)])
    for seed in range(3):
        det = spikes.detect(_counts(rates, seed))
        assert not det.alert.any(), (seed, np.argwhere(det.alert)[:5])
        tested = np.isfinite(det.expected)
        assert tested[:, -24 * 7 :].all() and not tested[:, : 24 * 14].any()


def _burst(per_busy_hour: float, factor: float, start: int, hours: int,
           seed: int = 1) -> np.ndarray:
    rates = _rates(per_busy_hour)
    rates[start : start + hours] *= factor
    return _counts(rates[None, :], seed)


MONDAY_9 = 24 * 7 * 8 + 9  # a Monday 09:00 in week 9


@pytest.mark.parametrize("per_hour,within", [(20.0, 1), (3.0, 3)])
def test_a_fivefold_burst_is_found_within_hours(per_hour: float, within: int) -> None:
    counts = _burst(per_hour, 5.0, MONDAY_9, 24 * 3)
    det = spikes.detect(counts)
    first = int(np.flatnonzero(det.alert[0])[0])
    assert MONDAY_9 <= first < MONDAY_9 + within
    found = spikes.spikes(det)
    assert len(found) >= 1 and found[0].start <= first and found[0].observed > found[0].expected
    # A three-day incident: the baseline of days two and three is cleaned of day one, so the
    # incident keeps alerting until it ends.
    assert det.alert[0, MONDAY_9 + 48 : MONDAY_9 + 60].any()
    assert not det.alert[0, MONDAY_9 + 24 * 3 + 12 :].any()


def test_the_baseline_knows_the_weekday() -> None:
    rates = _rates(10.0)
    saturday = 24 * 7 * 8 + 24 * 5  # Saturday of week 9
    rates[saturday : saturday + 24] = rates[saturday - 5 * 24 : saturday - 4 * 24]  # a Monday
    det = spikes.detect(_counts(rates[None, :], 3))
    alerts = np.flatnonzero(det.alert[0])
    assert len(alerts) and saturday <= alerts[0] < saturday + 24
    # Monday-sized volume on Mondays is what Mondays bring.
    mondays = [24 * 7 * w + h for w in range(2, WEEKS) for h in range(24)]
    assert not det.alert[0, mondays].any()


def test_verdicts_are_causal() -> None:
    counts = _burst(5.0, 4.0, MONDAY_9, 10, seed=4)
    full = spikes.detect(counts)
    cut = 24 * 7 * 8 + 24  # the data ends at the end of the burst's day
    part = spikes.detect(counts[:, :cut])
    assert np.array_equal(full.alert[:, :cut], part.alert)
    assert np.allclose(full.expected[:, :cut], part.expected, equal_nan=True)


def test_sparse_series_need_a_bigger_burst_than_busy_ones() -> None:
    """The same threefold burst of three hours: plain in a busy series, noise in a sparse one
    (whose expected counts are themselves uncertain)."""
    busy = spikes.detect(_burst(30.0, 3.0, MONDAY_9, 3, seed=5))
    sparse = spikes.detect(_burst(0.5, 3.0, MONDAY_9, 3, seed=5))
    assert busy.alert[0, MONDAY_9 : MONDAY_9 + 3].any()
    assert not sparse.alert[0].any()


def test_theil_sen_follows_a_trend_and_ignores_one_odd_week() -> None:
    weekly = np.array([[100.0, 110.0, 120.0, 130.0], [100.0, 100.0, 400.0, 100.0]])
    level = baseline.theil_sen_level(weekly, max_trend=1.5)
    assert 130 < level[0] < 145  # the trend continues half a week on
    assert level[1] == pytest.approx(100.0)


def test_spikes_merge_alerting_hours_close_together() -> None:
    det = spikes.Detection(
        counts=np.ones((1, 100)) * 9, expected=np.ones((1, 100)),
        alert=np.zeros((1, 100), bool), score=np.full((1, 100), 7.0),
        window=np.ones((1, 100), int), threshold=np.full((1, 100), 5.0))
    det.alert[0, [10, 12, 20, 50]] = True
    found = spikes.spikes(det, spikes.SpikeSettings(merge_gap_hours=8))
    assert [(s.start, s.detected, s.end) for s in found] == [(10, 10, 21), (50, 50, 51)]
    assert found[0].observed == 9 * 11 and found[0].expected == 11


def test_terms_and_distinctive_terms() -> None:
    assert terms("@Brand the APP update broke it #fail https://t.co/x", bigrams=False) == [
        "app", "update", "broke", "#fail"]
    before = ["my bill is wrong", "router keeps dropping", "when is my bill due"] * 20
    spike = ["the update broke my router", "since the update nothing works",
             "update broke the tv box"] * 5
    top = distinctive_terms(spike, before, k=3)
    assert top[0]["term"] == "update" and top[0]["count"] == 15
    texts = ["update broke it", "update again", "bill wrong", None]
    names, counts = term_counts(texts, np.array([0, 1, 1, 2]), 3,
                                TermSettings(min_docs=2, max_share=1.0))
    assert names == ["update"] and counts.tolist() == [[1, 1, 0]]
