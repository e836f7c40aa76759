"""The decision engine and learning on a real warehouse file: the planted effect recovered per
segment within its interval, the learner ranking families first, and after learning no offer
to seniors; the policy's refusals in a decision; the catalogue stored and read back."""

from __future__ import annotations

import gc
import json
from pathlib import Path

import pytest
from tests.warehouse.offers_data import RATES, plant

from cxhub.analytics.offers.catalogue import CatalogueError
from cxhub.services.offers import catalogue as store
from cxhub.services.offers import engine as engine_mod
from cxhub.services.offers import learning
from cxhub.services.offers.engine import Context, Engine
from cxhub.services.records.api import RecordSink
from cxhub.warehouse import Warehouse

PHONE = Context(channel="phone", category="information", sentiment="neutral")


def _offered(engine: Engine, cid: int) -> list[str]:
    d = engine.decide(customer_id=cid, context=PHONE, record=False)
    return [a["code"] for a in d["actions"] if a["kind"] == "offer"] + [
        c["code"] for c in d["control"]]


@pytest.mark.slow  # learns uplift models on the planted decisions: 6-10 s on this machine
def test_planted_effect_recovered_and_seniors_no_longer_offered(
        warehouse: Warehouse, tmp_path: Path) -> None:
    planted = plant(warehouse, opted_out=(4,), complaint_open=(5,),
                    problem={301: "acknowledged", 302: "fixed", 303: "wont_fix"})
    engine = Engine(warehouse)
    engine.refresh()
    # Before learning, the prior uplift offers it to everyone eligible.
    seniors = [c for c in range(1, 60) if c % 3 == 1 and c not in (4,)]
    assert any("SPEED-BOOST-500" in _offered(engine, c) for c in seniors)

    results = learning.learn(warehouse, tmp_path / "models", seed=1)
    assert results[0]["offer_code"] == "SPEED-BOOST-500" and results[0]["qini"] > 0
    rep = learning.latest_reports(warehouse)["SPEED-BOOST-500"]
    for seg, (offered, control) in RATES.items():
        e = rep["by"]["segment"][seg]
        part = planted[planted.segment == seg]
        hand = (part[~part.control].outcome.eq("accepted").mean()
                - part[part.control].outcome.eq("accepted").mean())
        assert e["uplift"] == pytest.approx(hand)  # the report's figure is this count
        assert e["uplift_low"] < offered - control < e["uplift_high"], seg
    assert rep["by"]["segment"]["family"]["uplift_low"] > 0.1
    assert rep["by"]["segment"]["senior"]["uplift_high"] < 0.05

    engine.refresh()
    for c in seniors:
        d = engine.decide(customer_id=c, context=PHONE, record=False)
        assert "SPEED-BOOST-500" not in [a["code"] for a in d["actions"] + d["control"]]
        why = " ".join(r for x in d["refused"] if x["code"] == "SPEED-BOOST-500"
                       for r in x["reasons"])
        assert "measured for senior" in why
    families = [c for c in range(1, 60) if c % 3 == 0]
    assert all("SPEED-BOOST-500" in _offered(engine, c) for c in families)
    fam = engine.decide(customer_id=3, context=PHONE, record=False)
    made = [a for a in fam["actions"] if a["code"] == "SPEED-BOOST-500"]
    if made:  # not in the control group
        assert made[0]["expected_uplift"] > 0.12 and "uplift model" in made[0]["reasons"][0]

    # The policy, as a decision reports it.
    why = " ".join(r for x in engine.decide(customer_id=4, context=PHONE, record=False)[
        "refused"] for r in x["reasons"])
    assert "opted out of marketing" in why
    why = " ".join(r for x in engine.decide(customer_id=5, context=PHONE, record=False)[
        "refused"] for r in x["reasons"])
    assert "open complaint" in why
    for cid, state in ((301, "acknowledged"), (302, "fixed"), (303, "wont_fix")):
        why = " ".join(r for x in engine.decide(customer_id=cid, context=PHONE, record=False)[
            "refused"] for r in x["reasons"])
        assert ("open problem (Fault 301)" in why) == (state == "acknowledged"), state
    bill = engine.decide(customer_id=2, context=Context("phone", "information", "billing"),
                         record=False)
    assert bill["actions"][0]["code"] == "EXPLAIN-BILL"
    assert all(a["kind"] == "service_action" for a in bill["actions"])
    # Offers made by golden id count towards the caps after a reload too.
    cap = Engine(warehouse, sink=RecordSink(warehouse))
    cap.refresh()
    first = cap.decide(customer_id=6, context=PHONE)
    made = [a["code"] for a in first["actions"] if a["kind"] == "offer"]
    assert made
    for did in list(cap.decided):
        remembered = cap.remembered(did)
        assert remembered is not None and remembered.rows
    cap.wait_written()
    assert warehouse.read_one("SELECT count(*) FROM offer_decisions WHERE json_extract_string("
                              "attributes, '$.decision_id') = ?", [first["decision_id"]])[0]
    # What a decision leaves behind for the server's lifetime is not walked by every full
    # garbage collection (tuples of atoms are untracked): under a stream of decisions those
    # collections made the slowest 1 % wait hundreds of milliseconds. (A collection untracks
    # a tuple of atoms, one nesting level at a time.)
    gc.collect()
    gc.collect()
    assert cap.decided and not any(gc.is_tracked(v) for v in cap.decided.values())
    assert cap.state is not None and not any(
        gc.is_tracked(v) for v in cap.state.profiles.recent.values())
    cap.refresh()
    again = cap.decide(customer_id=6, context=PHONE, record=False)
    capped = {x["code"]: " ".join(x["reasons"]) for x in again["refused"]}
    assert all("cap 1 for this offer" in capped[c] for c in made)
    # An unknown caller is still answered, by the rules that need no profile.
    anon = engine.decide(customer_source="crm", customer_external_id="NOPE", context=PHONE,
                         record=False)
    assert anon["known_customer"] is False
    refused = {x["code"]: " ".join(x["reasons"]) for x in anon["refused"]}
    assert "needs a known customer" in refused["SPEED-BOOST-500"]
    assert "MOBILE-SIM-ADD" not in refused  # its rules need only the contact


def test_decisions_waiting_for_the_writer_are_not_walked_by_the_collector(
        warehouse: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """A decision's rows wait for the writer as plain rows in one list: no object of theirs is
    tracked by the garbage collector (nested reasons and a request object per decision made
    every young collection walk them: 8-17 ms pauses under 4,000 decisions a second), and what
    is written is the same JSON."""
    plant(warehouse)
    monkeypatch.setattr(engine_mod, "WRITE_LINGER_SECONDS", 60.0)
    sink = RecordSink(warehouse)
    engine = Engine(warehouse, sink=sink)
    engine.refresh()
    made = [engine.decide(customer_id=c, context=PHONE) for c in (3, 6, 9)]
    waiting = sink._loose["offer_decisions"]  # what lingers, not yet written
    assert len(waiting) >= 3 and not any(gc.is_tracked(row) for row in waiting)
    engine.wait_written()
    for d in made:
        stored = warehouse.read(
            "SELECT offer_code, attributes FROM offer_decisions WHERE "
            "json_extract_string(attributes, '$.decision_id') = ?", [d["decision_id"]])
        offers = {a["code"]: a for a in d["actions"] if a["kind"] == "offer"}
        assert stored and {code for code, _ in stored} >= set(offers)
        for code, attributes in stored:
            if code in offers:
                saved = json.loads(attributes)
                assert saved["reasons"] == offers[code]["reasons"]
                assert saved["rank"] == offers[code]["rank"]


def test_catalogue_saved_and_read_back(warehouse: Warehouse, tmp_path: Path) -> None:
    demo = store.parse_yaml(store.demo_yaml())
    assert store.load(warehouse) == demo  # a new warehouse has the demo's catalogue
    bad = tmp_path / "bad.yaml"
    bad.write_text("offers:\n  - code: A\n    rules: {min_age: 70, max_age: 20}\n")
    with pytest.raises(CatalogueError, match="bad.yaml: A: rules.min_age"):
        store.read_file(bad)
    store.save(warehouse, demo)
    back = store.load(warehouse)
    assert {o.code: o for o in back.offers} == {o.code: o for o in demo.offers}
    assert {a.code: a for a in back.actions} == {a.code: a for a in demo.actions}


def test_pipeline_learns_the_offers_once_per_change(warehouse: Warehouse, tmp_path: Path
                                                   ) -> None:
    """The pipeline's `offers` step (after segments): offers with enough decided decisions are
    learned before the server starts; again with nothing new, nothing; one more outcome of
    an offer, that offer alone."""
    from cxhub.services import pipeline

    names = [n for n, _ in pipeline._steps()]
    assert "offers" in names and names.index("offers") > names.index("segments")
    plant(warehouse, customers=300, decisions=1500)
    first = learning.learn_due(warehouse, tmp_path / "m")
    counts = dict(warehouse.read(
        "SELECT offer_code, count(*) FROM offer_decisions WHERE outcome IS NOT NULL "
        "GROUP BY 1"))
    assert {r["offer_code"] for r in first} == {c for c, n in counts.items() if n >= 200}
    assert learning.learn_due(warehouse, tmp_path / "m") == []
    code = first[0]["offer_code"]
    warehouse.write(lambda con: con.execute(
        "INSERT INTO offer_decisions (decision_id, source, external_id, offer_code, "
        "presented_at, control, outcome) VALUES (999999, 'test', 'one-more', ?, now(), false, "
        "'declined')", [code]))
    again = learning.learn_due(warehouse, tmp_path / "m")
    assert [r["offer_code"] for r in again] == [code]
    assert learning.latest_reports(warehouse)[code]["decisions"] == counts[code] + 1
