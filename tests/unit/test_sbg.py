"""The shifted-beta-geometric retention model against Fader & Hardie's published figures, hand
sums, and lifetimes drawn from the model itself."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from cxhub.analytics.segments import sbg
from cxhub.analytics.segments.mle import FitError
from cxhub.cli.main import main as cli

# Fader & Hardie (2007), "How to project customer retention", table 1: customers of each
# segment still there at the start of years 1-8 of a 1,000-customer cohort, and the
# maximum-likelihood estimates the paper reports for them.
HIGH_END = [1000, 631, 468, 382, 326, 289, 262, 241]
REGULAR = [1000, 869, 743, 653, 593, 551, 517, 491]


@pytest.mark.parametrize(("survivors", "alpha", "beta"),
                         [(HIGH_END, 0.704, 1.182), (REGULAR, 0.668, 3.806)])
def test_reproduces_the_paper(survivors: list[int], alpha: float, beta: float) -> None:
    fit = sbg.fit_survivors(np.array(survivors))
    assert round(fit.params.alpha, 3) == alpha
    assert round(fit.params.beta, 3) == beta
    assert fit.customers == 1000
    assert fit.churned == 1000 - survivors[-1]


def test_survival_and_retention_by_hand() -> None:
    p = sbg.SbgParams(0.704, 1.182)
    # S(1) = beta / (alpha + beta); S(2) = S(1) (beta + 1) / (alpha + beta + 1).
    s1 = 1.182 / 1.886
    s2 = s1 * 2.182 / 2.886
    assert sbg.survival(p, [0, 1, 2]).tolist() == pytest.approx([1.0, s1, s2])
    assert sbg.churn_probability(p, [1, 2]).tolist() == pytest.approx([1 - s1, s1 - s2])
    assert sbg.churn_next(p, 1) == pytest.approx(1 - s2 / s1)
    assert sbg.project(p, 1000, 2).tolist() == pytest.approx([1000 * s1, 1000 * s2])
    assert sbg.project(p, 500, 1, from_period=1)[0] == pytest.approx(500 * s2 / s1)
    assert sbg.expected_renewals(p, 0, 2) == pytest.approx(s1 + s2)


@pytest.mark.parametrize("renewals", [0, 1, 4, 20])
def test_derl_is_the_discounted_sum_of_future_payments(renewals: int) -> None:
    p = sbg.SbgParams(0.668, 3.806)
    d = 0.10
    # A customer who has renewed n times pays at renewal n + 1 (undiscounted) if they stay,
    # at n + 2 (one period discounted), ...: sum over j of S(n + 1 + j) / S(n) / (1 + d)^j.
    j = np.arange(5000)
    direct = (sbg.survival(p, renewals + 1 + j) / sbg.survival(p, renewals) / (1 + d) ** j).sum()
    assert sbg.derl(p, renewals, d) == pytest.approx(direct, rel=1e-9)


def test_derl_without_heterogeneity_is_the_geometric_sum() -> None:
    # alpha, beta -> infinity with alpha / (alpha + beta) = 0.2: everyone renews with 0.8, so
    # DERL = 0.8 / (1 - 0.8 / 1.1).
    p = sbg.SbgParams(2e6, 8e6)
    assert sbg.derl(p, 3, 0.1) == pytest.approx(0.8 / (1 - 0.8 / 1.1), rel=1e-5)
    with pytest.raises(ValueError, match="positive discount"):
        sbg.derl(p, 3, 0.0)


def _draw(alpha: float, beta: float, n: int, rng: np.random.Generator) -> np.ndarray:
    theta = rng.beta(alpha, beta, n)
    return rng.geometric(theta)  # T: the period each customer leaves in (1, 2, ...)


def test_left_truncated_lifetimes_recover_the_parameters() -> None:
    """Customers who joined 0-59 periods before the data starts, seen for 12 periods: those
    who had left before are missing. The truncated fit finds the true alpha and beta; taking
    the survivors as if seen from their start does not."""
    rng = np.random.default_rng(7)
    n = 60_000
    joined = rng.integers(0, 60, n)  # renewals made before the data starts
    T = _draw(1.5, 6.0, n, rng)
    seen = T > joined
    joined, T = joined[seen], T[seen]
    horizon = joined + 12
    churned = T <= horizon
    renewals = np.where(churned, T, horizon)
    fit = sbg.fit_lifetimes(renewals, churned, entered=joined)
    assert fit.params.alpha == pytest.approx(1.5, rel=0.15)
    assert fit.params.beta == pytest.approx(6.0, rel=0.15)
    naive = sbg.fit_lifetimes(renewals, churned)
    assert abs(naive.params.alpha / (naive.params.alpha + naive.params.beta) - 1.5 / 7.5) > 0.05


def test_fit_refuses_what_it_cannot_estimate() -> None:
    with pytest.raises(FitError, match="nobody left"):
        sbg.fit_lifetimes(np.array([3.0, 4.0]), np.array([False, False]))
    with pytest.raises(FitError, match="entered the data after"):
        sbg.fit_lifetimes(np.array([3.0]), np.array([True]), entered=np.array([3.0]))
    with pytest.raises(FitError, match="never rise"):
        sbg.fit_survivors(np.array([100, 120]))


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cohort.csv"
    path.write_text(text)
    return path


def test_cli_fits_a_survivor_file(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{n}" for i, n in enumerate(REGULAR))
    path = _csv(tmp_path, f"period,active\n{rows}\n")
    result = CliRunner().invoke(cli, ["segments", "retention", str(path), "--json"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.output)
    assert (round(got["alpha"], 3), round(got["beta"], 3)) == (0.668, 3.806)
    assert [p["period"] for p in got["projection"]] == list(range(8, 18))
    p = sbg.SbgParams(got["alpha"], got["beta"])
    assert got["projection"][0]["expected"] == pytest.approx(1000 * sbg.survival(p, 8))
    text = CliRunner().invoke(cli, ["segments", "retention", str(path)])
    assert text.exit_code == 0 and "alpha 0.6681" in text.output and "beta 3.8061" in text.output


@pytest.mark.parametrize(("body", "message"), [
    ("period,active\n0,1000\n1,lots\n", "line 3: field 'active' ('lots'): not a number"),
    ("period,active\n0,1000\n1.5,900\n", "line 3: field 'period' ('1.5'): not a whole number"),
    ("period,active\n0,1000\n2,900\n", "line 3: field 'period' ('2'): periods must follow"),
    ("period,active\n0,1000\n1,1100\n", "line 3: field 'active' ('1100'): more than the period"),
    ("period,count\n0,1000\n", "line 1: no column 'active'"),
    ("period,active\n0,1000\n", "at least two periods"),
])
def test_cli_names_the_line_and_field_of_a_bad_file(tmp_path: Path, body: str,
                                                    message: str) -> None:
    path = _csv(tmp_path, body)
    result = CliRunner().invoke(cli, ["segments", "retention", str(path)])
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())


def test_no_spread_of_churn_gives_the_geometric_limit() -> None:
    """Everyone leaves with probability 0.1 at every renewal, seen from very different
    tenures: the fit is (close to) the geometric model, whichever way the optimiser ends."""
    rng = np.random.default_rng(3)
    n = 40_000
    joined = rng.integers(0, 100, n)
    T = joined + rng.geometric(0.1, n)
    churned = T <= joined + 12
    fit = sbg.fit_lifetimes(np.where(churned, T, joined + 12), churned, entered=joined)
    p = fit.params
    assert p.alpha + p.beta > 1e3
    assert sbg.churn_next(p, 50) == pytest.approx(0.1, rel=0.05)


def test_survival_keeps_its_digits_near_the_geometric_limit() -> None:
    # A cohort fitted with alpha and beta in the billions (no spread of churn): the model is
    # geometric with p = alpha / (alpha + beta), and S(n + k) / S(n) = (1 - p)^k, n or no n.
    p = sbg.SbgParams(3.4e10, 3.6e12)
    q = 1 - 3.4e10 / (3.4e10 + 3.6e12)
    assert sbg.survival_ratio(p.alpha, p.beta, [0, 40, 40], [1, 1, 12]).tolist() == (
        pytest.approx([q, q, q**12], rel=1e-9))
    assert float(sbg.expected_renewals(p, 40, 3)) == pytest.approx(q + q**2 + q**3, rel=1e-9)
    assert float(sbg.derl(p, 40, 0.01)) == pytest.approx(q / (1 - q / 1.01), rel=1e-6)
