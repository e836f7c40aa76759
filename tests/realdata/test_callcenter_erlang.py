"""Erlang A against the real Anonymous Bank log, hour by hour: patience from the hang-ups
(censored by the served callers' waits), agents on duty from the agents' stretches of service,
and the predicted abandonment and service level against what happened."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cxhub.services.forecast.erlang_check import check

pytestmark = pytest.mark.realdata


def test_patience_estimate_and_erlang_a_per_hour(shared_data: Path) -> None:
    path = shared_data / "callcenter" / "anonymous_bank_1999_02.tsv"
    # The censored exponential MLE by hand: everyone's wait in the queue over the hang-ups.
    waited = hung = 0
    with path.open() as f:
        for row in csv.DictReader(f, delimiter="\t"):
            queued = row["q_start"] != "0:00:00"
            if row["outcome"] == "AGENT" or (row["outcome"] == "HANG" and queued):
                waited += int(row["q_time"])
                hung += row["outcome"] == "HANG"
    result = check(path, answer_within_seconds=60)
    assert result.abandons == hung == 3963
    assert result.patience_seconds == pytest.approx(waited / hung)
    s = result.summary()
    assert s["hours_compared"] > 300
    # Erlang A follows the hours' ups and downs closely ...
    h = result.hours
    assert np.corrcoef(h["p_abandon"], h["p_abandon_pred"])[0, 1] > 0.75
    assert np.corrcoef(h["sl"], h["sl_pred"])[0, 1] > 0.75
    # Agents on duty through stretches of services (breaks over 10 minutes off duty): 3.6
    # points per hour (the aim is 5). The break length was chosen on the first two
    # weeks; on the last two alone the error is 3.9 (BENCHMARKS.md).
    assert s["break_minutes"] == 10
    assert s["mae_abandonment_points"] < 4.5
    assert s["mae_service_level_points"] < 10.0
    late = h["hour"] >= np.datetime64("1999-02-15")
    assert 100 * (h["p_abandon_pred"] - h["p_abandon"])[late].abs().mean() < 4.5
    # Agents counted only from their first to last service inside each hour take breaks as
    # time on duty: Erlang A then predicts too few hang-ups (5.2 points, the first version).
    inside = check(path, answer_within_seconds=60, break_minutes=None).summary()
    assert inside["mean_abandonment_pred"] < s["mean_abandonment_pred"] < s["mean_abandonment"]
    assert inside["mae_abandonment_points"] > s["mae_abandonment_points"]
