"""The model kinds: the shared protocol, the registry, the linear default, zero-shot words."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cxhub.analytics.classify import model as registry
from cxhub.analytics.classify.linear import LinearClassifier
from cxhub.analytics.classify.model import ModelKindUnavailable, TextClassifier, model_kinds
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier

TOPICS = {
    "billing": ["invoice", "charged twice", "direct debit", "refund", "bill"],
    "delivery": ["parcel", "courier", "tracking number", "delivery slot", "package"],
    "product": ["router", "screen", "battery", "signal", "app crashes"],
}
FRAMES = ["my {} is a mess", "question about the {}", "the {} again", "{} not ok",
          "help with {} please"]


def toy(seed: int, n: int) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for label, words in TOPICS.items():
        for _ in range(n):
            texts.append(str(rng.choice(FRAMES)).format(rng.choice(words)))
            labels.append(label)
    return texts, labels


def test_linear_learns_a_toy_set_and_survives_a_save(tmp_path: Path) -> None:
    train, test = toy(1, 15), toy(2, 10)
    model = LinearClassifier().fit(*train)
    assert isinstance(model, TextClassifier)
    assert model.kind == "linear" and model.version.startswith("linear-")
    classes, proba = model.predict_proba(test[0])
    assert classes == sorted(TOPICS) and proba.shape == (len(test[0]), 3)
    assert np.allclose(proba.sum(axis=1), 1)
    predicted = [classes[i] for i in proba.argmax(axis=1)]
    assert np.mean(np.array(predicted) == np.array(test[1])) >= 0.9
    model.save(tmp_path / "m")
    again = LinearClassifier.load(tmp_path / "m")
    assert again.version == model.version
    assert np.allclose(again.predict_proba(test[0])[1], proba)


def test_linear_needs_two_labels_and_matching_lengths() -> None:
    with pytest.raises(ValueError, match="two different labels"):
        LinearClassifier().fit(["a", "b"], ["x", "x"])
    with pytest.raises(ValueError, match="2 texts but 1 labels"):
        LinearClassifier().fit(["a", "b"], ["x"])


def test_registry_names_every_kind_and_explains_what_is_missing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    kinds = model_kinds()
    assert list(kinds) == ["linear", "embedding", "finetuned", "fewshot", "zeroshot"]
    assert kinds["linear"] is LinearClassifier and kinds["zeroshot"] is ZeroShotClassifier
    with pytest.raises(ModelKindUnavailable, match="unknown model kind 'forest'"):
        kinds["forest"]
    monkeypatch.setitem(registry._KINDS, "embedding", (
        "cxhub.analytics.classify.embedding", "EmbeddingClassifier",
        ("no_such_package_for_cxhub",), "install the embeddings extra"))
    with pytest.raises(ModelKindUnavailable,
                       match="needs no_such_package_for_cxhub.*install the embeddings extra"):
        kinds["embedding"]
    assert registry.available_kinds()["linear"] is None
    assert "no_such_package_for_cxhub" in str(registry.available_kinds()["embedding"])


def test_zero_shot_words_fallback_reads_the_descriptions(tmp_path: Path) -> None:
    model = ZeroShotClassifier(dimension="category", method="lexical")
    texts = ["I want to make a formal complaint, this is unacceptable",
             "Thank you so much, excellent and helpful service!",
             "Here is a suggestion: it would be great if you could add a dark mode",
             "My internet is not working, I get an error"]
    classes, proba = model.predict_proba(texts)
    assert [classes[i] for i in proba.argmax(axis=1)] == [
        "complaint", "compliment", "idea", "problem"]
    with pytest.raises(ValueError, match="not from labels"):
        model.fit(texts, ["complaint"] * 4)
    assert model.fit(texts).student is None  # too few texts to adapt to: unchanged
    model.fit(texts * 20)
    assert model.student is not None and model.version.startswith("zeroshot-2")
    model.save(tmp_path / "z")
    again = ZeroShotClassifier.load(tmp_path / "z")
    assert again.version == model.version
    assert np.allclose(again.predict_proba(texts)[1], model.predict_proba(texts)[1])


def test_word_by_word_character_ngrams_equal_scikit_learns() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer

    from cxhub.analytics.classify.linear import CharNgramTfidf

    texts = toy(3, 20)[0] + ["Cancelling MY order, pls!!", "a b", "", "naïve café ok"]
    ours = CharNgramTfidf(ngram_range=(2, 5), min_df=2).fit(texts)
    theirs = TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2,
                             sublinear_tf=True).fit(texts)
    assert ours.vocabulary_ == theirs.vocabulary_
    assert np.allclose(ours.transform(texts).toarray(), theirs.transform(texts).toarray(),
                       atol=1e-6)


def test_the_guard_refuses_an_adaptation_that_collapses_onto_one_class() -> None:
    from cxhub.analytics.classify.taxonomy import LabelSpec
    from cxhub.analytics.classify.zeroshot import collapsed_class

    # By hand: more than half, and more than 15 points above the expected share.
    assert collapsed_class({"a": 0.7, "b": 0.3}, {"a": 0.5, "b": 0.5}) == "a"
    assert collapsed_class({"a": 0.6, "b": 0.4}, {"a": 0.5, "b": 0.5}) is None  # 10 points
    assert collapsed_class({"a": 0.45, "b": 0.3, "c": 0.25}, {"a": 0.2}) is None  # not most
    # Every text names all three things: the teacher sees a tie (a third each) but its first
    # choice is always the first label, and a student trained on those choices says "alpha".
    specs = [LabelSpec(n, f"about {k}s", (), (k,)) for n, k in
             (("alpha", "widget"), ("beta", "gadget"), ("gamma", "gizmo"))]
    rng = np.random.default_rng(0)
    filler = "red blue green small large old new box".split()
    texts = [" ".join(["widget", "gadget", "gizmo", *rng.choice(filler, 3)]) for _ in range(120)]
    model = ZeroShotClassifier(labels=specs, method="lexical").fit(texts)
    assert model.student is None and model.adapted_on == 0
    assert "'alpha'" in model.check["refused"]
    assert model.check["student_shares"]["alpha"] == 1.0


def test_zero_shot_adapts_per_source_and_guards_each_source(tmp_path: Path) -> None:
    from cxhub.analytics.classify.taxonomy import LabelSpec
    from cxhub.analytics.classify.zeroshot import MIN_SOURCE_TEXTS

    specs = [LabelSpec(n, f"about {k}s", (), (k,)) for n, k in
             (("alpha", "widget"), ("beta", "gadget"), ("gamma", "gizmo"))]
    rng = np.random.default_rng(0)
    filler = "red blue green small large old new box".split()
    n = MIN_SOURCE_TEXTS
    # Source "plain" names one thing per text; source "tied" names all three in every text, so
    # a student of its own would say "alpha" for all of them (the guard's case above).
    plain = [" ".join([("widget", "gadget", "gizmo")[i % 3], *rng.choice(filler, 3)])
             for i in range(n)]
    tied = [" ".join(["widget", "gadget", "gizmo", *rng.choice(filler, 3)]) for _ in range(n)]
    model = ZeroShotClassifier(labels=specs, method="lexical").fit(
        plain + tied, sources=["plain"] * n + ["tied"] * n)
    assert set(model.students) == {"plain"}  # the tied source's own student was refused
    assert model.teacher_sources == {"tied"}  # ... so its texts are read by the teacher
    assert model.check["per_source"]["tied"]["student_shares"]["alpha"] == 1.0
    assert model.check["refused_sources"][0].startswith("tied: ")
    # One student for both sources collapses too (the tied texts all go one way): refused, yet
    # the plain source keeps its adaptation.
    assert "the adapted model put" in model.check["refused"] and model.student is None
    assert model.adapted_on == 2 * n and model.version.startswith("zeroshot-2")
    texts = ["widget red", "gizmo box", "gadget old"]
    classes, by_source = model.predict_proba(texts, ["plain"] * 3)
    assert [classes[i] for i in by_source.argmax(axis=1)] == ["alpha", "gamma", "beta"]
    # Each text is read by its own source's student, or by the teacher where that was refused;
    # other sources by the general student, here (refused) the teacher as well.
    assert np.allclose(by_source, model._read(model.students["plain"], texts))
    assert np.allclose(model.predict_proba(texts, ["tied", "new", "new"])[1],
                       model.teacher_proba(texts))
    with pytest.raises(ValueError, match="3 texts but 2 sources"):
        model.predict_proba(texts, ["plain"] * 2)
    model.save(tmp_path / "z")
    again = ZeroShotClassifier.load(tmp_path / "z")
    assert set(again.students) == {"plain"} and again.teacher_sources == {"tied"}
    assert np.allclose(again.predict_proba(texts, ["plain", "tied", "x"])[1],
                       model.predict_proba(texts, ["plain", "tied", "x"])[1])


def test_a_student_that_cannot_reproduce_its_teacher_on_unseen_texts_is_refused() -> None:
    from cxhub.analytics.classify.taxonomy import LabelSpec
    from cxhub.analytics.classify.zeroshot import MIN_AGREEMENT

    # Every text names its label by a made-up keyword no other text uses (random letters, so no
    # shared character n-grams either): a student learns the words of the texts it trains on and
    # has nothing to go on for the others (about a third agree by chance).
    names = ("alpha", "beta", "gamma")
    rng = np.random.default_rng(0)
    made_up = ["".join(rng.choice(list("bcdfghjklmnpqrstvwxz"), 8)) for _ in range(300)]
    words = {n: made_up[100 * k:100 * (k + 1)] for k, n in enumerate(names)}
    specs = [LabelSpec(n, f"about {n}", (), tuple(words[n])) for n in names]
    texts = [f"{words[n][i]} red box" for i in range(100) for n in names]
    model = ZeroShotClassifier(labels=specs, method="lexical").fit(
        texts, sources=["new"] * len(texts))
    check = model.check["per_source"]["new"]
    assert check["agreement"] < 0.5 < MIN_AGREEMENT and "had not learnt from" in check["refused"]
    assert model.teacher_sources == {"new"} and not model.students and model.student is None
    classes, proba = model.predict_proba(texts[:6], ["new"] * 6)
    assert [classes[i] for i in proba.argmax(axis=1)] == [*names, *names]
    assert np.allclose(proba, model.teacher_proba(texts[:6]))
