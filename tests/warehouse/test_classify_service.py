"""Classifying the warehouse: labels written once per model version, human labels kept apart and
winning in the metrics, a trained model registered and used by the next run, labels imported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cxhub.metrics import compute
from cxhub.services.classification import run as svc
from cxhub.services.classification import training
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect

pytestmark = pytest.mark.filterwarnings(
    "ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning")

ASKS = {
    "complaint": "I want to make a formal complaint about {}, this is unacceptable",
    "compliment": "Thank you, excellent help with {}, really impressed",
    "problem": "{} is not working and shows an error",
    "information": "Could you explain how {} works? I have a question",
}
TOPICS = ["my latest bill", "the parcel delivery", "the monthly price", "the router",
          "the advisor on the phone"]


def add_contacts(wh: Warehouse, rows: list[dict[str, Any]]) -> None:
    start = wh.read_one("SELECT coalesce(max(contact_id), 0) FROM contacts")[0]  # type: ignore[index]
    def job(con: Any) -> None:
        for i, r in enumerate(rows, start=start + 1):
            con.execute("INSERT INTO contacts (contact_id, source, external_id, channel, "
                        "created_at, subject, text, category) VALUES (?, 'crm', ?, ?, "
                        "TIMESTAMP '2024-03-05 10:00:00', ?, ?, ?)",
                        [i, f"c{i}", r.get("channel", "email"), r.get("subject"),
                         r.get("text"), r.get("category")])
    wh.write(job)


def corpus(n_each: int) -> list[dict[str, Any]]:
    return [{"text": ask.format(TOPICS[i % len(TOPICS)]) + f" (ref {i})"}
            for ask in ASKS.values() for i in range(n_each)]


def labels(wh: Warehouse, dimension: str) -> list[tuple[Any, ...]]:
    return wh.read("SELECT target, target_id, label, model, model_version, is_human FROM labels "
                   "WHERE dimension = ? ORDER BY target, target_id, labelled_at", [dimension])


@pytest.fixture
def small(warehouse: Warehouse) -> Warehouse:
    """Eight contacts with text, one with only a subject, one without text, one whose source
    gave a category; two mentions."""
    add_contacts(warehouse, corpus(2) + [
        {"subject": "Thank you for the quick refund"},
        {"text": None, "channel": "phone"},
        {"text": "the router does not work", "category": "problem"},
    ])
    warehouse.write(lambda con: con.execute(
        "INSERT INTO mentions (mention_id, source, external_id, created_at, text) VALUES "
        "(1, 'social', 'm1', TIMESTAMP '2024-03-05 11:00:00', '@brand worst service ever'), "
        "(2, 'social', 'm2', TIMESTAMP '2024-03-05 11:00:00', '   ')"))
    return warehouse


def test_pending_rows_get_one_label_per_dimension_and_a_rerun_writes_nothing(
        small: Warehouse) -> None:
    first = svc.classify_pending(small, dimensions=("category", "cause"), zero_shot="lexical")
    assert first["written"] == {"contacts": {"category": 9, "cause": 10},
                                "mentions": {"category": 1, "cause": 1}}
    category = labels(small, "category")
    ids = [r[1] for r in category if r[0] == "contacts"]
    assert ids == list(range(1, 10))  # not 10 (no text) nor 11 (its source gave a category)
    assert {r[3] for r in category} == {"zeroshot"}
    assert {r[4] for r in category} == {first["models"]["category"]["version"]}
    assert not any(r[5] for r in category)
    assert small.read_one("SELECT count(*) FROM classifier_models")[0] == 0  # too few to adapt
    again = svc.classify_pending(small, dimensions=("category", "cause"), zero_shot="lexical")
    assert again["written"] == {"contacts": {"category": 0, "cause": 0},
                                "mentions": {"category": 0, "cause": 0}}
    assert len(labels(small, "category")) == len(category)
    # Written again by the same model version (a race with another run): nothing is added.
    model = svc.model_in_use(small, "category", adapt=False, zero_shot="lexical")
    assert model is not None
    assert svc.write_labels(small, "contacts", "category", [1, 2], ["idea", "idea"],
                            np.array([0.5, 0.5]), model) == 0


def test_sentiment_is_scored_when_its_module_is_installed(small: Warehouse) -> None:
    module = svc.sentiment_module()
    if module is None:
        pytest.skip("cxhub.analytics.classify.sentiment is not installed")
    result = svc.classify_pending(small, dimensions=("sentiment",), targets=("mentions",))
    assert result["written"]["mentions"]["sentiment"] == 1
    row = small.read_one("SELECT label, score, model, model_version FROM labels "
                         "WHERE dimension = 'sentiment'")
    assert row is not None and row[0] == "negative" and -1 <= row[1] < 0
    assert row[2:] == (module.MODEL_NAME, module.MODEL_VERSION)


def test_a_human_label_wins_in_the_metrics_and_is_never_overwritten(small: Warehouse) -> None:
    svc.classify_pending(small, dimensions=("category",), targets=("contacts",),
                         zero_shot="lexical")
    model_label = small.read_one("SELECT label FROM labels WHERE target_id = 1 "
                                 "AND dimension = 'category'")[0]  # type: ignore[index]
    assert model_label == "complaint"
    training.set_label(small, "contacts", 1, "category", "idea", "ana")
    svc.classify_pending(small, dimensions=("category",), targets=("contacts",),
                         zero_shot="lexical")
    rows = small.read("SELECT label, is_human, labelled_by FROM labels WHERE target_id = 1 "
                      "AND target = 'contacts' AND dimension = 'category' ORDER BY is_human")
    assert rows == [("complaint", False, None), ("idea", True, "ana")]
    by_category = {r["category"]: r["value"] for r in compute(
        connect(duckdb_connection=small.cursor()), "contacts", start="2024-03-04",
        end="2024-03-10", by=["category"])}
    assert by_category["idea"] == 1
    assert by_category["complaint"] == 1  # contact 2; contact 1 is the human's idea now
    with pytest.raises(training.ClassifyError, match="'praise' is not a category"):
        training.set_label(small, "contacts", 1, "category", "praise", "ana")
    with pytest.raises(training.ClassifyError, match="no contact with id 99"):
        training.set_label(small, "contacts", 99, "category", "idea", "ana")


def test_a_trained_model_is_registered_and_relabels_on_the_next_run(
        warehouse: Warehouse) -> None:
    add_contacts(warehouse, corpus(10))
    svc.classify_pending(warehouse, dimensions=("category",), zero_shot="lexical")
    # A person labels every other contact; the model learns from them.
    truth = {cid: label for cid, label in enumerate(
        (k for k in ASKS for _ in range(10)), start=1)}  # corpus() order
    training.set_labels(warehouse, [("contacts", cid, "category", truth[cid])
                                    for cid in truth if cid % 2], "ana")
    summary = training.train(warehouse, "category", "linear")
    assert summary["n_train"] == 20 and summary["classes"] == sorted(ASKS)
    assert summary["evaluation"]["held_out"] == 0.2 and summary["evaluation"]["n_test"] == 4
    assert Path(summary["path"], "meta.json").is_file()
    model = warehouse.read_one("SELECT kind, version, active, n_train FROM classifier_models")
    assert model == ("linear", summary["version"], True, 20)
    result = svc.classify_pending(warehouse, dimensions=("category",), zero_shot="lexical")
    assert result["models"]["category"]["version"] == summary["version"]
    assert result["written"]["contacts"]["category"] == 20  # the unlabelled half, relabelled
    newest = dict(warehouse.read(
        "SELECT target_id, arg_max(label, labelled_at) FROM labels WHERE NOT is_human "
        "AND model_version = ? GROUP BY 1", [summary["version"]]))
    assert all(newest[cid] == truth[cid] for cid in newest)


def test_zero_shot_adapts_registers_and_readapts_when_the_causes_change(
        warehouse: Warehouse, tmp_path: Path) -> None:
    add_contacts(warehouse, corpus(60))
    first = svc.classify_pending(warehouse, dimensions=("cause",), zero_shot="lexical")
    registered = warehouse.read("SELECT kind, version, evaluation FROM classifier_models")
    assert [(k, v) for k, v, _ in registered] == [
        ("zeroshot", first["models"]["cause"]["version"])]
    assert json.loads(registered[0][2])["adapted_on"] == 240
    # 240 texts of one source: it has a student of its own, and the run read them with it.
    assert set(json.loads(registered[0][2])["per_source"]) == {"contacts:crm"}
    model = svc.model_in_use(warehouse, "cause")
    assert model is not None and set(model.model.students) == {"contacts:crm"}
    assert svc.classify_pending(warehouse, dimensions=("cause",),
                                zero_shot="lexical")["written"]["contacts"]["cause"] == 0
    home = Path(warehouse.path).parent
    (home / "taxonomy.yaml").write_text(
        "causes:\n  - {name: money, description: bills prices refunds and payments}\n"
        "  - {name: things, description: products parcels routers and people}\n")
    second = svc.classify_pending(warehouse, dimensions=("cause",), zero_shot="lexical")
    assert second["models"]["cause"]["version"] != first["models"]["cause"]["version"]
    assert second["written"]["contacts"]["cause"] == 240
    assert {r[0] for r in warehouse.read(
        "SELECT DISTINCT label FROM labels WHERE model_version = ?",
        [second["models"]["cause"]["version"]])} <= {"money", "things"}


def test_labels_import_from_csv_by_source_key(small: Warehouse, tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("source,external_id,category,cause\n"
                    "crm,c1,idea,pricing\n"
                    "crm,c2,praise,\n"
                    "crm,nope,idea,\n")
    summary = training.import_labels(small, path, user="qa")
    assert summary["imported"] == 2 and summary["unchanged"] == 0
    assert summary["skipped"] == [{"line": 3, "reason": "'praise' is not a category"},
                                  {"line": 4, "reason": "no such record"}]
    assert small.read("SELECT target_id, dimension, label, labelled_by FROM labels "
                      "WHERE is_human ORDER BY dimension") == [
        (1, "category", "idea", "qa"), (1, "cause", "pricing", "qa")]
    assert training.import_labels(small, path)["unchanged"] == 2
    long = tmp_path / "long.csv"
    long.write_text("target,id,dimension,label\nmentions,1,sentiment,negative\n")
    assert training.import_labels(small, long)["imported"] == 1


@pytest.mark.slow
def test_suggestions_are_unlabelled_texts_the_model_hesitates_on(small: Warehouse) -> None:
    training.set_label(small, "contacts", 1, "category", "complaint", "ana")
    rows = training.suggest(small, dimension="category", k=3)
    assert len(rows) == 3
    assert all(not (r["target"] == "contacts" and r["id"] == 1) for r in rows)
    margins = [r["margin"] for r in rows]
    assert all(0 <= m <= 1 for m in margins)
    assert {"label", "probability"} <= set(rows[0]["likeliest"][0])


def test_the_dashboard_offers_the_companys_causes(warehouse: Warehouse) -> None:
    from cxhub.services.customers import contacts as cq

    assert cq.label_choices(warehouse)["cause"] == list(svc.taxonomy_for_home(None).names("cause"))
    (Path(warehouse.path).parent / "taxonomy.yaml").write_text(
        "causes: [{name: network, description: N}, {name: devices, description: D}]")
    add_contacts(warehouse, [{"text": "no signal"}])
    cq.set_human_label(warehouse, 1, dimension="cause", label="network", username="ana")
    assert cq.label_choices(warehouse)["cause"] == ["network", "devices"]


def add_mentions(wh: Warehouse, texts: list[str], source: str = "twitter") -> None:
    start = wh.read_one("SELECT coalesce(max(mention_id), 0) FROM mentions")[0]  # type: ignore[index]
    wh.write(lambda con: con.executemany(
        "INSERT INTO mentions (mention_id, source, external_id, created_at, text, inbound) "
        "VALUES (?, ?, ?, TIMESTAMP '2024-03-06 09:00:00', ?, true)",
        [[i, source, f"t{i}", text] for i, text in enumerate(texts, start=start + 1)]))


def test_zero_shot_adapts_again_when_a_new_source_arrives(warehouse: Warehouse) -> None:
    add_contacts(warehouse, corpus(60))
    first = svc.classify_pending(warehouse, dimensions=("category",), zero_shot="lexical")
    evaluation = json.loads(warehouse.read_one(
        "SELECT evaluation FROM classifier_models")[0])  # type: ignore[index]
    assert evaluation["sources"] == {"contacts:crm": 240}
    # A few new texts from a known source, or from a new one, keep the model.
    add_mentions(warehouse, [f"@brand thanks a lot, great help {i}" for i in range(10)])
    assert (svc.classify_pending(warehouse, dimensions=("category",), zero_shot="lexical")
            ["models"]["category"]["version"] == first["models"]["category"]["version"])
    # Tweets of another kind arrive: the model adapts again, on both sources, and relabels all.
    add_mentions(warehouse, [f"@brand my {t} is broken again, worst service ever #{i}"
                             for i in range(25) for t in ("phone", "router")])
    second = svc.classify_pending(warehouse, dimensions=("category",), zero_shot="lexical")
    assert second["models"]["category"]["version"] != first["models"]["category"]["version"]
    assert second["written"] == {"contacts": {"category": 240}, "mentions": {"category": 60}}
    rows = warehouse.read("SELECT evaluation FROM classifier_models ORDER BY model_id")
    assert len(rows) == 2
    assert json.loads(rows[1][0])["sources"] == {"contacts:crm": 240, "mentions:twitter": 60}
    assert svc.stale_sources({"contacts:crm": 240, "mentions:twitter": 60},
                             svc.text_sources(warehouse)) == []


def test_labels_are_written_in_small_jobs_and_none_twice(
        small: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    """Large label writes are cut into writer jobs so API flushes get in between; each job
    still skips what is already labelled."""
    model = svc.model_in_use(small, "category", adapt=False, zero_shot="lexical")
    assert model is not None
    assert svc.write_labels(small, "contacts", "category", [2, 5], ["idea", "idea"],
                            np.array([0.5, 0.5]), model) == 2
    monkeypatch.setattr(svc, "LABEL_JOB_ROWS", 3)
    jobs_before = small.writer.job_number
    ids = list(range(1, 10))
    written = svc.write_labels(small, "contacts", "category", ids, ["problem"] * 9,
                               np.full(9, 0.7), model)
    assert written == 7  # 2 and 5 were there
    assert small.writer.job_number - jobs_before == 3
    got = small.read("SELECT target_id, label FROM labels WHERE dimension = 'category' "
                     "ORDER BY target_id")
    assert got == [(i, "idea" if i in (2, 5) else "problem") for i in ids]


def test_the_background_classifier_waits_while_requests_write(
        small: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    from cxhub.services.classification import loop

    classifier = loop.BackgroundClassifier(small)  # not started: its ticks are called here
    assert not classifier._defer(100.0)
    small.writer.submit(lambda con: None, urgent=True).result(timeout=10)
    assert classifier._defer(100.0) and classifier._defer(105.0)
    assert not classifier._defer(100.0 + loop.MAX_DEFER_SECONDS)  # labels wait so long, no more
    assert classifier._defer(111.0)  # a new wait starts
    monkeypatch.setattr(loop, "BUSY_SECONDS", 0.0)
    assert not classifier._defer(112.0)
    assert classifier.deferred == 3
