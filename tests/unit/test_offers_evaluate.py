"""`cxhub offers evaluate` on campaign files written here: a known effect that lives in one
group (recovered within its interval, and found by the uplift model), and no effect at all
(the interval covers zero); bad files are refused naming the column and line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from tests.conftest import run_cli

pytestmark = pytest.mark.slow


def _campaign(path: Path, effect: float, n: int = 12_000, seed: int = 5) -> None:
    rng = np.random.default_rng(seed)
    group = rng.choice(["a", "b"], n)  # only group a responds
    age = rng.integers(18, 90, n)
    arm = np.where(rng.random(n) < 0.5, "mail", "holdout")
    p = 0.05 + np.where((arm == "mail") & (group == "a"), 2 * effect, 0.0)
    pd.DataFrame({"arm": arm, "group": group, "age": age,
                  "bought": (rng.random(n) < p).astype(int)}).to_csv(path, index=False)


def _evaluate(home: Path, path: Path, *extra: str) -> dict:
    proc = run_cli("offers", "evaluate", "--data", str(path), "--treatment-col", "arm",
                   "--treatment", "mail", "--control", "holdout", "--outcome-col", "bought",
                   "--seed", "3", "--json", *extra, home=home)
    return json.loads(proc.stdout)


def test_evaluate_known_effect_and_no_effect(tmp_path: Path) -> None:
    known, null = tmp_path / "known.csv", tmp_path / "null.csv"
    _campaign(known, effect=0.06)  # +12 points in half the customers: +6 on average
    _campaign(null, effect=0.0)
    r = _evaluate(tmp_path, known, "--features", "group,age")
    assert r["ate_low"] < 0.06 < r["ate_high"] and r["ate_low"] > 0.03
    frame = pd.read_csv(known)
    hand = (frame[frame.arm == "mail"].bought.mean() - frame[frame.arm == "holdout"].bought.mean())
    assert abs(r["ate"] - hand) < 1e-12
    assert r["treated_rate"] == frame[frame.arm == "mail"].bought.mean()
    # The top 30% by the model are mostly group a, whose effect is +12 points.
    assert r["qini"] > 0.005 and r["uplift_at_30"] > 0.08
    z = _evaluate(tmp_path, null)
    assert z["ate_low"] < 0 < z["ate_high"] and z["qini"] is None


def test_evaluate_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("arm,bought\nmail,1\nholdout,maybe\n")
    proc = run_cli("offers", "evaluate", "--data", str(bad), "--treatment-col", "arm",
                   "--treatment", "mail", "--control", "holdout", "--outcome-col", "bought",
                   home=tmp_path, check=False)
    assert proc.returncode != 0 and "line 3: bought: 'maybe'" in " ".join(proc.stderr.split())
    proc = run_cli("offers", "evaluate", "--data", str(bad), "--treatment-col", "group",
                   "--treatment", "mail", "--control", "holdout", "--outcome-col", "bought",
                   home=tmp_path, check=False)
    assert proc.returncode != 0 and "no column 'group'" in " ".join(proc.stderr.split())
