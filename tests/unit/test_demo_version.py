"""The demo folder knows which simulator wrote it: files from an older simulator, or for other
options, are simulated again; the same ones are kept."""

from __future__ import annotations

import json
from pathlib import Path

from cxhub.services.demo.run import DemoParams, simulate_once
from cxhub.simulate import SIMULATOR_VERSION


def test_demo_resimulates_an_older_simulators_files(tmp_path: Path) -> None:
    said: list[str] = []
    params = DemoParams(customers=500, days=28, seed=3)
    manifest = simulate_once(tmp_path, params, said.append)
    stamp = json.loads((tmp_path / "demo-params.json").read_text())
    assert stamp["simulator_version"] == SIMULATOR_VERSION
    assert stamp["fix_effect"] == params.fix_effect
    assert manifest.exists() and said[-1].startswith("simulating")

    simulate_once(tmp_path, params, said.append)
    assert said[-1].startswith("demo company already simulated")

    # The same options written by an older simulator (no stamp or an older one): again.
    (tmp_path / "demo-params.json").write_text(json.dumps({**stamp, "simulator_version": 1}))
    simulate_once(tmp_path, params, said.append)
    assert said[-1].startswith("simulating")
    assert json.loads((tmp_path / "demo-params.json").read_text()) == stamp
    # Files from before either stamp existed (the demo's, or `cxhub simulate`'s): again.
    (tmp_path / "demo-params.json").unlink()
    (tmp_path / "simulation.json").unlink()
    simulate_once(tmp_path, params, said.append)
    assert said[-1].startswith("simulating")
    assert json.loads((tmp_path / "demo-params.json").read_text()) == stamp

    # Another fix effect is another company.
    simulate_once(tmp_path, DemoParams(customers=500, days=28, seed=3, fix_effect=0.5),
                  said.append)
    assert said[-1].startswith("simulating")
    events = json.loads((tmp_path / "truth" / "events.json").read_text())
    assert events["fix"]["effect"] == 0.5


def test_demo_loads_a_folder_cxhub_simulate_wrote_as_it_is(tmp_path: Path) -> None:
    from cxhub.simulate import simulate

    simulate(tmp_path, customers=400, days=30, seed=9, fix_effect=0.5)
    manifest = (tmp_path / "manifest.json").read_bytes()
    said: list[str] = []
    # The demo's own options differ: the user's company is kept all the same.
    simulate_once(tmp_path, DemoParams(customers=500, days=28, seed=3), said.append)
    assert "as it is" in said[-1]
    assert (tmp_path / "manifest.json").read_bytes() == manifest

    # Written by an older simulator: simulated again, with its own options.
    asked = json.loads((tmp_path / "simulation.json").read_text())
    (tmp_path / "simulation.json").write_text(json.dumps({**asked, "simulator_version": 1}))
    simulate_once(tmp_path, DemoParams(customers=500, days=28, seed=3), said.append)
    assert "older simulator" in said[-1]
    assert json.loads((tmp_path / "simulation.json").read_text()) == asked
    assert (tmp_path / "manifest.json").read_bytes() == manifest  # same options, same files
