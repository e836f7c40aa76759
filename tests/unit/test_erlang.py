"""Erlang C and Erlang A against published figures and an independent birth-death chain."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

from cxhub.analytics.staffing import (
    StaffingInputError,
    agents_needed,
    erlang_a,
    erlang_c,
    staff,
    with_shrinkage,
)

REF = dict(arrivals=100, interval_minutes=30, aht_seconds=180, target=0.8,
           answer_within_seconds=20)


def test_erlang_c_matches_pyworkforce_published_figures() -> None:
    r = staff(**REF, shrinkage=0.3, max_occupancy=0.85)
    assert (r.agents, r.agents_with_shrinkage) == (14, 20)
    assert round(r.service_level, 3) == 0.888
    assert round(r.occupancy, 3) == 0.714
    assert round(r.p_wait, 3) == 0.174


def test_erlang_a_matches_pyworkforce_published_figures() -> None:
    r = staff(**REF, patience_seconds=300, agents=14)
    assert round(r.p_wait, 5) == 0.14526
    assert round(r.p_abandon, 6) == 0.013984
    assert round(r.occupancy, 6) == 0.704297
    assert round(r.asa_seconds / 60, 6) == 0.069919
    assert round(r.service_level, 6) == 0.916792


def _chain(n: int, lam: float, mu: float, theta: float, t: float, queue_max: int = 250):
    """M/M/n+M (theta 0: M/M/n) truncated at k_max in the system, solved numerically: the
    stationary law from the balance equations, then a tagged arrival's wait by the matrix
    exponential of its own position in the queue (ahead: served or abandoned; itself: may
    abandon). Returns p_wait, service level, p_abandon, occupancy."""
    k_max = n + queue_max
    down = np.array([min(k, n) * mu + max(k - n, 0) * theta for k in range(1, k_max + 1)])
    logp = np.concatenate([[0.0], np.cumsum(np.log(lam) - np.log(down))])
    p = np.exp(logp - logp.max())
    p /= p.sum()
    assert p[-1] < 1e-15, "the truncation would cut off real probability"
    p_wait = p[n:].sum()
    queue = np.maximum(np.arange(k_max + 1) - n, 0)
    if theta > 0:
        p_abandon = theta * (queue * p).sum() / lam
    else:
        p_abandon = 0.0
    # Tagged caller arriving with j ahead: states j = 0..J ahead, then served, then gone.
    big_j = k_max - n
    q = np.zeros((big_j + 3, big_j + 3))
    served, gone = big_j + 1, big_j + 2
    for j in range(big_j + 1):
        move = n * mu + j * theta
        q[j, j] = -(move + theta)
        q[j, j - 1 if j > 0 else served] += move
        q[j, gone] += theta
    start = np.zeros(big_j + 3)
    start[: big_j + 1] = p[n:k_max + 1]
    answered_late_or_early = (start @ expm(q * t))[served]
    sl = (1 - p_wait) + answered_late_or_early
    busy = (np.minimum(np.arange(k_max + 1), n) * p).sum()
    return p_wait, sl, p_abandon, busy / n


CASES = [  # agents, arrivals per 30 min, AHT s, answer within s, patience s
    (14, 100, 180, 20, 300),
    (5, 40, 200, 30, 60),
    (30, 300, 170, 15, 120),
    (12, 150, 180, 60, 240),  # overloaded: load 15 Erlangs on 12 agents
    (50, 700, 120, 10, 600),
]


@pytest.mark.parametrize(("n", "arrivals", "aht", "t", "patience"), CASES)
def test_erlang_a_agrees_with_a_birth_death_chain(n, arrivals, aht, t, patience) -> None:
    lam = arrivals / 1800
    want = _chain(n, lam, 1 / aht, 1 / patience, t)
    got = erlang_a(n, arrivals, 1800, aht, t, patience)
    assert float(got.p_wait) == pytest.approx(want[0], abs=1e-8)
    assert float(got.service_level) == pytest.approx(want[1], abs=1e-8)
    assert float(got.p_abandon) == pytest.approx(want[2], abs=1e-8)
    assert float(got.occupancy) == pytest.approx(want[3], abs=1e-8)


@pytest.mark.parametrize(("n", "arrivals", "aht", "t"),
                         [(14, 100, 180, 20), (6, 40, 200, 30), (33, 300, 170, 15)])
def test_erlang_c_agrees_with_a_birth_death_chain(n, arrivals, aht, t) -> None:
    want = _chain(n, arrivals / 1800, 1 / aht, 0.0, t)
    got = erlang_c(n, arrivals, 1800, aht, t)
    assert float(got.p_wait) == pytest.approx(want[0], abs=1e-8)
    assert float(got.service_level) == pytest.approx(want[1], abs=1e-8)
    assert float(got.occupancy) == pytest.approx(want[3], abs=1e-8)


def test_agents_needed_is_the_smallest_that_meets_the_target() -> None:
    """Checked one agent below on each row; Erlang A's search starts from Erlang C's answer
    and walks down, so patience from very short (far fewer agents than Erlang C) to very long
    (Erlang C's answer) is covered, over loads from a fraction of an agent to hundreds."""
    rng = np.random.default_rng(7)
    arrivals = np.exp(rng.uniform(np.log(0.5), np.log(5000), 40))
    aht = rng.uniform(60, 600, 40)
    for patience in (None, 5.0, 180.0, 1e5):
        got = agents_needed(arrivals, 1800, aht, 0.8, 20, patience, 0.9)
        for i in range(40):
            def meets(k: int, i: int = i, patience: float | None = patience) -> bool:
                f = (erlang_c(k, arrivals[i], 1800, aht[i], 20) if patience is None
                     else erlang_a(k, arrivals[i], 1800, aht[i], 20, patience))
                return bool(f.service_level >= 0.8 - 1e-9 and f.occupancy <= 0.9 + 1e-9)
            assert meets(int(got[i])) and not meets(int(got[i]) - 1)


def test_thousands_of_agents_stay_finite_and_sensible() -> None:
    f = erlang_c(np.arange(2001, 2101), 2000 * 1800 / 180, 1800, 180, 20)
    assert np.all(np.isfinite(f.service_level)) and np.all(np.diff(f.service_level) > 0)
    g = erlang_a(np.arange(1500, 2500, 10), 2000 * 1800 / 180, 1800, 180, 20, 120)
    for arr in (g.p_wait, g.service_level, g.p_abandon):
        assert np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr <= 1))
    assert np.all(np.diff(g.p_abandon) < 0)
    # Far more agents than the load: no waiting at all, no underflow into NaN.
    h = erlang_a(5000, 100, 1800, 180, 20, 60)
    assert float(h.p_wait) < 1e-100 and float(h.service_level) == pytest.approx(1.0)


def test_shrinkage_rounds_up_but_not_past_exact_values() -> None:
    assert list(with_shrinkage([14, 15, 0], 0.3)) == [20, 22, 0]


@pytest.mark.parametrize(("field", "value", "message"), [
    ("arrivals", 0, "arrivals must be a positive number, got 0"),
    ("aht_seconds", -5, "AHT seconds must be a positive number, got -5"),
    ("target", 1.0, "below 1"),
    ("target", 0, "above 0"),
    ("answer_within_seconds", -1, "answer-within seconds must be 0 or more, got -1"),
])
def test_impossible_inputs_name_the_value(field, value, message) -> None:
    with pytest.raises(StaffingInputError, match=message):
        staff(**{**REF, field: value})


def test_a_target_no_staff_can_reach_is_an_error_not_a_loop() -> None:
    with pytest.raises(StaffingInputError, match="no number of agents up to 1,000,000"):
        staff(**{**REF, "arrivals": 1e9})


def test_zero_arrival_rows_of_a_plan_need_nobody() -> None:
    assert list(agents_needed([0, 100], 1800, 180, 0.8, 20)) == [0, 14]


def test_cli_prints_the_json_keys_and_names_bad_values() -> None:
    import json

    from click.testing import CliRunner

    from cxhub.cli.main import main

    args = ["staff", "erlang", "--arrivals", "100", "--interval-minutes", "30", "--aht", "180",
            "--target", "0.8", "--answer-within", "20", "--shrinkage", "0.3",
            "--max-occupancy", "0.85", "--json"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert {"agents", "agents_with_shrinkage", "service_level", "occupancy", "p_wait",
            "asa_seconds"} <= set(got) and "p_abandon" not in got
    assert (got["agents"], got["agents_with_shrinkage"]) == (14, 20)
    erlang_a_run = CliRunner().invoke(main, [*args, "--patience", "300", "--agents", "14"])
    assert round(json.loads(erlang_a_run.output)["p_abandon"], 6) == 0.013984
    bad = CliRunner().invoke(main, ["staff", "erlang", "--arrivals", "0", "--aht", "180"])
    said = " ".join(bad.output.split())  # the console wraps long lines
    assert bad.exit_code == 2 and "arrivals must be a positive number, got 0" in said
