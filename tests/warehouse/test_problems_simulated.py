"""The planted fix on a simulated company, through the files and the ingest: the estimate
within 10% of the planted effect and its interval covering it; placebos on the other causes
cover zero. The simulator's own causes are the labels, so this checks the estimator. The
acceptance on full-size companies (seeds 7, 11, 23; effects 0.2 and 0.4; the demo's own
classifier) is bench/bench_problems_accuracy.py, with figures in BENCHMARKS.md: a company of
20,000 customers has about 250 delivery contacts a week, and at that size a miss of the 10%
band happens (seed 5, effect 0.25: -0.20, interval -0.25 to -0.15)."""

from __future__ import annotations

import json

import pytest

from cxhub.services.problems import impact
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse


@pytest.mark.slow
@pytest.mark.parametrize(("seed", "effect"), [(9, 0.4)])
def test_planted_fix_found_and_placebos_clear(tmp_path, seed, effect):
    data = tmp_path / "data"
    simulate(data, customers=20_000, days=365, seed=seed, fix_effect=effect)
    fix = json.loads((data / "truth" / "events.json").read_text())["fix"]
    truth = data / "truth" / "contacts.csv"
    with Warehouse.open(tmp_path / "cxhub.duckdb") as wh:
        ingest_paths(wh, "generic", [data / "contact_centre" / "contacts.csv"],
                     kind="contacts", source="contact_centre")
        wh.write(lambda c: c.execute(
            "INSERT INTO labels (target, target_id, dimension, label, score, model, is_human) "
            "SELECT 'contacts', x.contact_id, 'cause', y.cause, 1, 'truth', true FROM contacts "
            f"x JOIN read_csv('{truth}', all_varchar = true) y USING (source, external_id)"))
        found = impact.cause_impact(wh, cause=fix["cause"], since=fix["date"])
        assert found.relative_effect == pytest.approx(-effect, rel=0.10)
        assert found.relative_low < -effect < found.relative_high
        for cause in ("billing", "pricing", "product", "service", "other"):
            placebo = impact.cause_impact(wh, cause=cause, since=fix["date"])
            assert placebo.relative_low < 0 < placebo.relative_high, (cause, placebo.message)
