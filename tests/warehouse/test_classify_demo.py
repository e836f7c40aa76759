"""Zero-shot on the demo company: its contacts and mentions carry no category or cause (but for
some agents' wrap-up codes), so the pipeline's classify step must find them from the texts.
Checked against the simulator's truth files, which cxhub never loads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from cxhub.analytics.classify import evaluate as ev
from cxhub.analytics.classify.embedding import embeddings_available
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.services.classification import run as svc
from cxhub.services.records.files import ingest_paths
from cxhub.simulate import simulate
from cxhub.warehouse import Warehouse


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("company")
    simulate(out, customers=3000, days=60, seed=11, start=date(2025, 11, 1))
    return out


def truth(company: Path, kind: str) -> pd.DataFrame:
    return pd.read_csv(company / "truth" / f"{kind}.csv", dtype=str, keep_default_na=False)


@pytest.mark.slow
def test_the_classify_step_finds_the_demo_companys_categories_and_causes(
        company: Path, warehouse: Warehouse) -> None:
    for entry in json.loads((company / "manifest.json").read_text()):
        if entry["kind"] in ("contacts", "mentions"):
            ingest_paths(warehouse, "generic", [company / entry["path"]], kind=entry["kind"],
                         source=entry["source"])
    summary = svc.classify_pending(warehouse, dimensions=("category", "cause"))
    method = "embedding" if embeddings_available() else "lexical"
    assert {m["kind"] for m in summary["models"].values()} == {"zeroshot"}
    labelled = pd.DataFrame(warehouse.read(
        "SELECT c.external_id, l.dimension, l.label FROM labels l "
        "JOIN contacts c ON l.target = 'contacts' AND l.target_id = c.contact_id"),
        columns=["external_id", "dimension", "label"])
    wide = labelled.pivot(index="external_id", columns="dimension", values="label")
    known = truth(company, "contacts").set_index("external_id")
    # Contacts with an agent's wrap-up code keep it: the model labels only the others.
    wrapped = warehouse.read_one("SELECT count(*) FROM contacts WHERE category IS NOT NULL")
    assert wrapped is not None and wrapped[0] > 0
    assert len(wide) == len(known) - wrapped[0] and wide.notna().all().all()
    floors = {"embedding": 0.90, "lexical": 0.80}  # measured 0.975 and 0.990 with embeddings
    for dimension in ("category", "cause"):
        rows = wide[dimension].dropna()
        accuracy = ev.accuracy(known.loc[rows.index, dimension].tolist(), rows.tolist())
        print(f"demo {dimension} ({method}, adapted, {len(rows)} contacts): {accuracy:.3f}")
        assert accuracy >= floors[method]
    mentions = pd.DataFrame(warehouse.read(
        "SELECT m.external_id, l.label, m.inbound FROM labels l JOIN mentions m "
        "ON l.target = 'mentions' AND l.target_id = m.mention_id AND l.dimension = 'category'"),
        columns=["external_id", "label", "inbound"]).set_index("external_id")
    assert mentions["inbound"].all()  # customers' posts only, not the brand's replies
    posts = truth(company, "mentions").set_index("external_id")
    assert set(posts.index) <= set(mentions.index)  # (follow-ups have no truth)
    mentions = mentions.loc[posts.index]
    accuracy = ev.accuracy(posts.loc[mentions.index, "category"].tolist(),
                           mentions["label"].tolist())
    print(f"demo mentions category: {accuracy:.3f}")
    assert accuracy >= floors[method] - 0.1


@pytest.mark.slow
def test_the_words_fallback_on_the_demo_contacts(company: Path) -> None:
    contacts = pd.read_csv(company / "contact_centre" / "contacts.csv", dtype=str,
                           keep_default_na=False)
    texts = (contacts.subject + " " + contacts.text + " channel_" + contacts.channel).tolist()
    known = truth(company, "contacts").set_index("external_id").loc[contacts.external_id]
    for dimension, floor in (("category", 0.85), ("cause", 0.80)):  # measured 0.930, 0.921
        model = ZeroShotClassifier(dimension=dimension, method="lexical").fit(texts)
        accuracy = ev.accuracy(known[dimension].tolist(), ev.predict(model, texts))
        print(f"demo {dimension} (words fallback, adapted): {accuracy:.3f}")
        assert accuracy >= floor
