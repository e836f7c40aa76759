"""Topics: what the posts of a spike talk about.

A topic here is a term (a word, hashtags included, or a two-word phrase) rather than a label:
causes and categories are fixed lists, while a new fault shows up as a word nobody planned
for ("update", "outage", "#down"). Two uses:

- **term series**: the hourly counts of the `max_terms` most frequent terms of the mentions
  (a term must occur in at least `min_docs` posts and in no more than `max_share` of them, so
  the brand's handle and "help" are not topics), tested for spikes like the causes;
- **distinctive terms** of a spike: terms over-represented in the spike's posts against the
  weeks before, ranked by the z-score of their log-odds ratio with an informative Dirichlet
  prior (Monroe, Colaresi and Quinn, 2008), which keeps rare words from topping the list.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

_HANDLE_OR_URL = re.compile(r"@\w+|https?://\S+")
_WORD = re.compile(r"#?[a-z][a-z0-9']{2,}")
STOP = frozenset(ENGLISH_STOP_WORDS) | {"i'm", "it's", "don't", "can't", "i've", "you're"}


def terms(text: str | None, bigrams: bool = True) -> list[str]:
    """The text's terms: lower-case words of three letters or more (hashtags keep their #),
    without stop words, handles or links; with bigrams, also each pair of adjacent terms."""
    if not text:
        return []
    words = list(_words(text))
    if bigrams:
        words += [f"{a} {b}" for a, b in zip(words, words[1:], strict=False)]
    return words


@lru_cache(maxsize=100_000)
def _term_set(text: str) -> frozenset[str]:
    return frozenset(terms(text))


@lru_cache(maxsize=100_000)
def _words(text: str) -> tuple[str, ...]:
    # Contact texts repeat (templates, "Any update?"): each distinct text is split once.
    return tuple(w for w in _WORD.findall(_HANDLE_OR_URL.sub(" ", text.lower()))
                 if w not in STOP)


@dataclass(frozen=True)
class TermSettings:
    max_terms: int = 50
    min_docs: int = 30
    max_share: float = 0.2  # terms in more posts than this are not topics


def term_counts(texts: Sequence[str | None], hours: np.ndarray, n_hours: int,
                settings: TermSettings | None = None) -> tuple[list[str], np.ndarray]:
    """(terms, counts[term, hour]): posts per hour that use each of the most frequent terms.

    hours: each text's hour index (0 .. n_hours - 1).
    """
    st = settings or TermSettings()
    if not len(texts):
        return [], np.zeros((0, n_hours))
    vec = CountVectorizer(analyzer=lambda t: terms(t, bigrams=False), binary=True,
                          min_df=st.min_docs, max_df=st.max_share)
    try:
        docs = vec.fit_transform(texts)
    except ValueError:  # no term passes the document-frequency limits
        return [], np.zeros((0, n_hours))
    vocab = vec.get_feature_names_out()
    df = np.asarray(docs.sum(axis=0)).ravel()
    keep = np.argsort(-df, kind="stable")[: st.max_terms]
    keep = keep[np.argsort(vocab[keep])]
    out = np.zeros((len(keep), n_hours))
    sub = docs[:, keep].tocoo()
    np.add.at(out, (sub.col, np.asarray(hours)[sub.row]), sub.data)
    return [str(vocab[i]) for i in keep], out


def distinctive_terms(spike: Iterable[str | None], before: Iterable[str | None], k: int = 8,
                      prior: float = 10.0, min_count: int = 2) -> list[dict[str, str | float]]:
    """The k terms most over-represented in `spike` against `before`: term, count, z."""
    a = Counter(t for text in spike if text for t in _term_set(text))
    b = Counter(t for text in before if text for t in _term_set(text))
    if not a:
        return []
    vocab = sorted(set(a) | set(b))
    ya = np.array([a.get(t, 0) for t in vocab], dtype=float)
    yb = np.array([b.get(t, 0) for t in vocab], dtype=float)
    both = ya + yb
    alpha = prior * both / both.sum() * len(vocab) / 100.0 + 0.01
    a0, na, nb = alpha.sum(), ya.sum(), yb.sum()
    delta = (np.log((ya + alpha) / (na + a0 - ya - alpha))
             - np.log((yb + alpha) / (nb + a0 - yb - alpha)))
    z = delta / np.sqrt(1.0 / (ya + alpha) + 1.0 / (yb + alpha))
    order = np.argsort(-z, kind="stable")
    out: list[dict[str, str | float]] = []
    for i in order:
        if len(out) >= k or z[i] <= 0:
            break
        if ya[i] >= min_count:
            out.append({"term": vocab[i], "count": int(ya[i]), "z": round(float(z[i]), 2)})
    return out
