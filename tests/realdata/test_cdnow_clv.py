"""CDNOW 2,357-customer sample: the BG/NBD and Gamma-Gamma fits reproduce the published
estimates (Fader, Hardie & Lee 2005), from the raw purchase file loaded through `cxhub ingest`."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from tests.conftest import run_cli

from cxhub.services.customers.segments import ClvFit, fit_clv
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

pytestmark = [
    pytest.mark.realdata,
    # Ibis 12 still calls DuckDB 2.0's deprecated fetch_arrow_table(); harmless, and not ours.
    pytest.mark.filterwarnings(
        "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning"),
]

CALIBRATION_END = dt.date(1997, 9, 30)  # 39 weeks after 1997-01-01


@pytest.fixture(scope="module")
def cdnow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.conftest import SHARED_DATA

    sample = SHARED_DATA / "cdnow" / "CDNOW_sample.txt"
    if not sample.is_file():
        pytest.skip(f"{sample} is absent (the real data sits beside the repo in CI)")
    home = tmp_path_factory.mktemp("cdnow")
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        report = ingest_paths(wh, "cdnow", [sample])
    assert report.totals["loaded"] == 6919, report.to_dict()
    return home


@pytest.fixture
def fit(cdnow_home: Path, shared_data: Path) -> Iterator[ClvFit]:
    with Warehouse.open(cdnow_home / "cxhub.duckdb") as wh:
        yield fit_clv(wh, CALIBRATION_END)


def test_summary_matches_the_published_customer_summary(fit: ClvFit, shared_data: Path) -> None:
    ours = fit.summary.assign(ID=fit.summary["customer_key"].str.split("|").str[1].astype(int))
    ref = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    both = ours.merge(ref, on="ID", suffixes=("", "_ref"), validate="one_to_one")
    assert len(both) == len(ref) == 2357
    assert (both["x"] == both["x_ref"]).all()
    # The reference file rounds weeks and dollars to two decimals.
    assert (both["t_x"] - both["t_x_ref"]).abs().max() <= 0.005
    assert (both["T"] - both["T_ref"]).abs().max() <= 0.005
    assert (both["m"] - both["zbar"]).abs().max() <= 0.005 + 1e-9
    assert int((both["x"] > 0).sum()) == 946


def test_bgnbd_and_gamma_gamma_reproduce_the_published_estimates(fit: ClvFit) -> None:
    bg = fit.bgnbd.params
    assert (round(bg.r, 3), round(bg.alpha, 3), round(bg.a, 3), round(bg.b, 3)) == (
        0.243, 4.414, 0.793, 2.426)
    assert round(fit.bgnbd.log_likelihood, 1) == -9582.4
    assert fit.gamma_gamma is not None
    gg = fit.gamma_gamma.params
    assert fit.gamma_gamma.customers == 946
    assert (round(gg.p, 2), round(gg.q, 2), round(gg.v, 2)) == (6.25, 3.74, 15.44)
    # The paper's worked example: x = 2, t_x = 30.43, T = 38.86 over the next 39 weeks.
    assert round(fit.expected_purchases(2, 30.43, 38.86, 39), 3) == 1.226


def test_the_cli_prints_the_parameters(cdnow_home: Path, shared_data: Path) -> None:
    proc = run_cli("segments", "clv", "--calibration-end", "1997-09-30", "--json",
                   home=cdnow_home)
    got = json.loads(proc.stdout)
    assert set(got) == {"bgnbd", "gamma_gamma"}
    assert set(got["bgnbd"]) == {"r", "alpha", "a", "b"}
    assert set(got["gamma_gamma"]) == {"p", "q", "v"}
    assert f"{got['bgnbd']['r']:.3g}" == "0.243"
    assert f"{got['bgnbd']['alpha']:.3g}" == "4.41"
    assert f"{got['gamma_gamma']['v']:.3g}" == "15.4"
