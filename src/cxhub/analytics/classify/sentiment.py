"""Sentiment of contacts and mentions: a score in [-1, 1] and a label.

English text is scored by VADER (the lexicon ships in the `vaderSentiment` wheel); text that looks
Portuguese by cxhub's own small lexicon (`sentiment_pt`), which follows VADER's arithmetic.
Other languages get VADER, which knows only English words (and emoji), so they mostly come out
neutral: a neutral label on such text means "not known", not "calm".

Checked on real ratings (tests/realdata/test_sentiment_real.py, BENCHMARKS.md): Olist reviews
(Portuguese, 1-5 stars) and twcs tweets (English, no ratings).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import numpy as np

from cxhub.analytics.classify import sentiment_pt

MODEL_NAME = "lexicon-sentiment"
# vaderSentiment 3.3 for English + cxhub's Portuguese lexicon, version 1.
MODEL_VERSION = "vader3.3+pt1"
LABELS = ("negative", "neutral", "positive")
# VADER's own cut-offs for its compound score.
NEUTRAL_BAND = 0.05


# Words VADER counts as positive that, written to a company's service account, ask for
# something rather than praise it ("please help", "ok, yes", "customer support"). Chosen from
# their meaning in service requests before measuring, not fitted to any data set.
SERVICE_REQUEST_WORDS = (
    "help", "please", "kindly", "support", "care", "cares", "sure", "ok", "okay", "yes",
    "like", "want",
)  # fmt: skip


@cache
def _vader():  # type: ignore[no-untyped-def]
    # Loading the lexicon reads two files from the wheel: never at import time.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    for word in SERVICE_REQUEST_WORDS:
        analyzer.lexicon.pop(word, None)
    return analyzer


def language(text: str) -> str:
    """'pt' or 'en': which lexicon scores this text."""
    return "pt" if sentiment_pt.looks_portuguese(text) else "en"


def score_one(text: str | None) -> float:
    if not text or not text.strip():
        return 0.0
    if sentiment_pt.looks_portuguese(text):
        return sentiment_pt.compound(text)
    return float(_vader().polarity_scores(text)["compound"])


def label_of(score: float) -> str:
    if score <= -NEUTRAL_BAND:
        return "negative"
    if score >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


def score(texts: Sequence[str | None]) -> tuple[np.ndarray, list[str]]:
    """Scores in [-1, 1] and labels (negative, neutral, positive), one per text.

    Each distinct text is scored once: contact texts repeat a lot ("Any update?", templates of
    web forms), and scoring is pure Python.
    """
    seen: dict[str | None, float] = {}
    out = np.empty(len(texts), dtype=np.float64)
    for i, text in enumerate(texts):
        s = seen.get(text)
        if s is None:
            s = seen[text] = score_one(text)
        out[i] = s
    return out, [label_of(s) for s in out.tolist()]
