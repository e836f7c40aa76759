"""Sentiment: scores in [-1, 1], labels from VADER's cut-offs, English by VADER, Portuguese by
cxhub's own lexicon (negation, intensifiers, phrases, contrast)."""

from __future__ import annotations

import numpy as np
import pytest

from cxhub.analytics.classify import sentiment
from cxhub.analytics.classify.sentiment_pt import compound, fold, looks_portuguese


def test_scores_and_labels_line_up_with_the_texts() -> None:
    texts = ["Thank you so much, the engineer was brilliant!",
             "This is the worst service I have ever had. Cancel my contract.",
             "What time does the shop open?", None, "",
             "Produto excelente, chegou antes do prazo.",
             "Péssimo, não recebi o produto até agora."]
    scores, labels = sentiment.score(texts)
    assert scores.shape == (len(texts),) and scores.dtype == np.float64
    assert np.all((scores >= -1) & (scores <= 1))
    assert labels == ["positive", "negative", "neutral", "neutral", "neutral",
                      "positive", "negative"]
    assert sentiment.MODEL_NAME and sentiment.MODEL_VERSION


def test_the_same_text_gets_the_same_score_wherever_it_appears() -> None:
    scores, _ = sentiment.score(["Any update?", "Great, thanks!", "Any update?"])
    assert scores[0] == scores[2]


def test_portuguese_negation_flips_and_phrases_override_words() -> None:
    assert compound("o produto é bom") > 0.3
    assert compound("o produto não é bom") < 0
    assert compound("muito bom") > compound("bom")  # intensifier
    assert compound("chegou") >= 0 > compound("não chegou")
    # After "mas" the second clause weighs more.
    assert compound("bom, mas veio quebrado") < 0 < compound("veio quebrado, mas bom")
    assert compound("Não recomendo!!!") < compound("Não recomendo") < 0


def test_accents_and_case_do_not_matter() -> None:
    assert fold("NÃO é PÉSSIMO") == "nao e pessimo"
    assert compound("PÉSSIMO atendimento") == compound("pessimo atendimento")


def test_language_choice() -> None:
    assert looks_portuguese("Recebi o produto antes do prazo, muito bom")
    assert looks_portuguese("Excelente")  # one lexicon word is enough
    assert not looks_portuguese("My router keeps dropping the connection, please help")
    assert sentiment.language("não funciona") == "pt"
    assert sentiment.language("It does not work") == "en"


def test_service_requests_are_not_praise() -> None:
    # VADER alone scores "please help" positive; to a service account it is a request.
    assert sentiment.label_of(sentiment.score_one("@brand please help, ok?")) == "neutral"
    assert sentiment.score_one("help me please, it is broken and I am furious") < 0


@pytest.mark.parametrize("value,label", [(-0.05, "negative"), (-0.049, "neutral"),
                                         (0.049, "neutral"), (0.05, "positive")])
def test_label_cut_offs(value: float, label: str) -> None:
    assert sentiment.label_of(value) == label
