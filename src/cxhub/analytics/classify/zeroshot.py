"""Classification without labels, from each label's name, description, examples and keywords.

Two views score a text against every label:

- meaning (the embeddings extra): the text's sentence embedding against each label's phrasings
  (name plus description, and each example). All vectors are first centred on the mean of every
  label's phrasings, which removes what all customer texts share ("a customer writes to a
  company") and leaves what tells the labels apart; a label's score is the mean of the cosine
  with the mean of its centred phrasings and the cosine with its nearest phrasing (so that one
  example written for another trade, a bank's credit report beside a broadband router, still
  finds that trade's texts);
- words (always available): keyword and phrase matches (a keyword shared by several labels
  counts less) plus the TF-IDF similarity of the text to the label's phrasings.

Each view's scores become probabilities by a softmax with a fixed temperature. With the extra the
teacher is the normalised geometric mean of both views (`method="embedding"`); without it, the
words view alone is the lighter fallback (`method="lexical"`).

`fit(texts)` then adapts to the company's own texts, still without labels (self-training): the
teacher labels a sample, the texts it is surest of (the surer half of each label) and the labels'
own phrasings train a strongly regularised linear TF-IDF model (`linear.py`), which from then on
classifies alone. That student learns the company's words, is usually more accurate than its
teacher, and classifies thousands of texts a second instead of a few hundred.

`fit(texts, sources=...)` adapts per source: each source with at least MIN_SOURCE_TEXTS texts gets
a student of its own, trained on its texts alone, beside the general student trained on all of
them (for sources it has not seen, or too small to learn from). One student for CFPB's letters and
tweets together learnt the letters' words and read the tweets with them: on the tune half of the
hand-labelled tweets (tests/realdata) their cause came out 0.520 with one student, 0.62 with
their own. Each student passes two checks on its own texts or is not used, and then its texts
are read by the teacher (at the encoder's speed): the no-collapse guard below, and agreement with
its teacher on texts it did not learn from (MIN_AGREEMENT).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Self

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from cxhub.analytics.classify.embedding import Encoder, embeddings_available, shared_encoder
from cxhub.analytics.classify.linear import LinearClassifier
from cxhub.analytics.classify.model import new_version, read_meta, softmax, write_meta
from cxhub.analytics.classify.taxonomy import (
    LabelSpec,
    Taxonomy,
    default_taxonomy,
    specs_fingerprint,
)

EMBEDDING_SCALE = 25.0  # cosine differences of a few hundredths separate labels
LEXICAL_SCALE = 2.0
ADAPT_SAMPLE = 2000
MIN_ADAPT_TEXTS = 50
KEEP_SHARE = 0.5
# Pseudo-labels are noisy: regularise more than a model trained on labels (0.5), but not so much
# that a class's own words (a complaint's "had enough") lose to words it shares with another
# class (a fault's details): 0.1 left 14% of a simulated company's complaints as problems.
STUDENT_C = 0.3
# Keywords in a long text are partly incidental: past this many words the words view's scores
# are flattened by sqrt(words / LONG_TEXT_WORDS), so the meaning view carries more weight.
LONG_TEXT_WORDS = 40
# The no-collapse guard: an adapted model that puts more than DOMINANT_SHARE of the texts into
# one class, and more than COLLAPSE_MARGIN above the teacher's own estimate of that class's share
# (its mean probability), has amplified its teacher's bias: it is refused.
DOMINANT_SHARE = 0.5
COLLAPSE_MARGIN = 0.15
# A source with fewer texts than this in the sample is read by the general student.
MIN_SOURCE_TEXTS = 200
# A student trained on one half of the sample must give its teacher's first choice on the other
# half (and the other way round) for at least this share of the texts. Below it, the student has
# not learnt the texts' words (short, varied tweets), and is refused: its teacher reads them. The
# agreement was 0.91-0.93 on simulated companies, 0.82 on Bitext's development half and 0.74 on
# CFPB narratives, where students were as good as their teacher or better, and 0.57-0.61 on
# tweets, where they were 2-4 points worse (on the hand labels' tune half).
MIN_AGREEMENT = 0.7
_TOKENS = r"(?u)\b\w[\w']*"
# Twitter handles and links say nothing about what a customer wants.
_NOISE = re.compile(r"(?:@\w+|https?://\S+)")


def _clean(texts: Sequence[str]) -> list[str]:
    return [" ".join(_NOISE.sub(" ", t or "").split()) for t in texts]


class MeaningView:
    """Sentence embeddings of texts against the labels' centred phrasings."""

    def __init__(self, specs: Sequence[LabelSpec], encoder: Encoder | None = None) -> None:
        self.specs = list(specs)
        self.encoder = encoder or shared_encoder()
        self._centre: np.ndarray | None = None
        self._centroids: np.ndarray | None = None
        self._groups: list[np.ndarray] = []

    def _prepare(self) -> tuple[np.ndarray, np.ndarray]:
        if self._centre is None or self._centroids is None:
            phrasings = [spec.phrasings() for spec in self.specs]
            vectors = self.encoder.encode([p for group in phrasings for p in group])
            centre = vectors.mean(axis=0)
            centroids, groups, start = [], [], 0
            for group in phrasings:
                part = _unit(vectors[start:start + len(group)] - centre)
                start += len(group)
                groups.append(part)
                centroids.append(_unit(part.mean(axis=0)))
            self._centre, self._centroids, self._groups = centre, np.stack(centroids), groups
        return self._centre, self._centroids

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        centre, centroids = self._prepare()
        vectors = _unit(self.encoder.encode(texts) - centre)
        nearest = np.column_stack([(vectors @ group.T).max(axis=1) for group in self._groups])
        out: np.ndarray = 0.5 * (vectors @ centroids.T) + 0.5 * nearest
        return out

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        return softmax(self.scores(texts), EMBEDDING_SCALE)


class WordsView:
    """Keyword matches plus TF-IDF similarity to the labels' phrasings."""

    def __init__(self, specs: Sequence[LabelSpec]) -> None:
        self.specs = list(specs)
        vocabulary = sorted({k for s in self.specs for k in s.keywords if k != "?"})
        self._counts = (CountVectorizer(vocabulary=vocabulary, ngram_range=(1, 4), binary=True,
                                        token_pattern=_TOKENS, lowercase=True)
                        if vocabulary else None)
        holders = {k: sum(k in s.keywords for s in self.specs) for k in vocabulary}
        weights = np.zeros((len(vocabulary), len(self.specs)))
        for j, spec in enumerate(self.specs):
            for k in spec.keywords:
                if k in holders:
                    words = len(k.split())
                    weights[vocabulary.index(k), j] = (1 + 0.5 * (words - 1)) / holders[k]
        self._weights = weights
        self._question = np.array(["?" in s.keywords for s in self.specs], dtype=float)
        self._tfidf = TfidfVectorizer(token_pattern=_TOKENS, sublinear_tf=True)
        self._docs = self._tfidf.fit_transform([" ".join(s.phrasings()) for s in self.specs])

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        texts = [t or "" for t in texts]
        similar = np.asarray((self._tfidf.transform(texts) @ self._docs.T).todense())
        asks = np.array(["?" in t for t in texts], dtype=float)[:, None] * self._question
        scores: np.ndarray
        if self._counts is None:  # a company's labels without keywords
            scores = asks + 3.0 * similar
        else:
            keyword = np.asarray(self._counts.transform(texts) @ self._weights)
            scores = keyword + asks + 3.0 * similar
        return scores

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        words = np.array([len((t or "").split()) for t in texts], dtype=float)
        flatten = np.sqrt(np.maximum(1.0, words / LONG_TEXT_WORDS))[:, None]
        return softmax(self.scores(texts) / flatten, LEXICAL_SCALE)


class Teacher:
    """The words view, and with `method="embedding"` the meaning view too (geometric mean)."""

    def __init__(self, specs: Sequence[LabelSpec], method: str,
                 encoder: Encoder | None = None) -> None:
        self.words = WordsView(specs)
        self.meaning = MeaningView(specs, encoder) if method == "embedding" else None

    def predict_proba(self, texts: Sequence[str]) -> np.ndarray:
        texts = _clean(texts)
        words = self.words.predict_proba(texts)
        if self.meaning is None:
            return words
        both = np.sqrt(words * self.meaning.predict_proba(texts))
        out: np.ndarray = both / both.sum(axis=1, keepdims=True)
        return out


def collapsed_class(shares: dict[str, float], expected: dict[str, float]) -> str | None:
    """The class a model has collapsed onto, if any: more than DOMINANT_SHARE of the texts and
    more than COLLAPSE_MARGIN above its expected share."""
    name, share = max(shares.items(), key=lambda kv: kv[1])
    if share > DOMINANT_SHARE and share > expected.get(name, 0.0) + COLLAPSE_MARGIN:
        return name
    return None


def _unit(v: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(v, axis=-1, keepdims=True)
    out: np.ndarray = v / np.where(norm == 0, 1, norm)
    return out


class ZeroShotClassifier:
    kind = "zeroshot"

    def __init__(self, *, dimension: str = "category", taxonomy: Taxonomy | None = None,
                 labels: Sequence[LabelSpec] | None = None, method: str = "auto",
                 adapt_sample: int = ADAPT_SAMPLE, seed: int = 0,
                 encoder: Encoder | None = None) -> None:
        """`method`: embedding, lexical or auto (embedding when the extra is installed)."""
        self.dimension = dimension
        self.specs = list(labels) if labels is not None else list(
            (taxonomy or default_taxonomy()).labels(dimension))
        if method == "auto":
            method = "embedding" if embeddings_available() else "lexical"
        if method not in ("embedding", "lexical"):
            raise ValueError(f"unknown zero-shot method {method!r}; use embedding or lexical")
        self.method = method
        self.adapt_sample, self.seed = adapt_sample, seed
        self._encoder = encoder
        self._teacher: Teacher | None = None
        self.student: LinearClassifier | None = None
        self.students: dict[str, LinearClassifier] = {}  # per source, beside the general one
        self.teacher_sources: set[str] = set()  # sources whose student was refused
        self.adapted_on = 0
        self.check: dict[str, Any] = {}
        self.classes = [s.name for s in self.specs]
        self.version = f"zeroshot-{method}-{specs_fingerprint(self.specs)}"

    @property
    def teacher(self) -> Teacher:
        if self._teacher is None:
            self._teacher = Teacher(self.specs, self.method, self._encoder)
        return self._teacher

    def teacher_proba(self, texts: Sequence[str]) -> np.ndarray:
        return self.teacher.predict_proba(list(texts))

    def fit(self, texts: Sequence[str], labels: Sequence[str] = (),
            sources: Sequence[str] | None = None) -> Self:
        """Adapt to unlabelled texts (self-training); with `sources` (one name per text), also
        per source. Labels are not used: a model that learns from labels is another kind
        (linear, embedding, finetuned)."""
        if len(labels):
            raise ValueError("zero-shot learns from the label descriptions, not from labels; "
                             "train a linear, embedding or finetuned model instead")
        names = list(sources) if sources is not None else [""] * len(texts)
        if len(names) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(names)} sources")
        kept = [(t, n) for t, n in zip(texts, names, strict=True) if t and t.strip()]
        if len(kept) < MIN_ADAPT_TEXTS:
            return self
        if len(kept) > self.adapt_sample * max(1, len(set(names))):
            # The caller samples per source; a bare list is cut to one sample.
            rng = np.random.default_rng(self.seed)
            chosen = rng.choice(len(kept), self.adapt_sample, replace=False)
            kept = [kept[i] for i in sorted(chosen)]
        texts = [t for t, _ in kept]
        where = np.array([n for _, n in kept], dtype=object)
        proba = self.teacher_proba(texts)
        self.student, self.check = self._adapt(texts, proba)
        per_source: dict[str, Any] = {}
        for name in sorted(set(where) - {""}):
            rows = np.flatnonzero(where == name)
            if len(rows) < MIN_SOURCE_TEXTS:
                continue
            student, check = self._adapt([texts[i] for i in rows], proba[rows])
            per_source[name] = check
            if student is not None:
                self.students[name] = student
            else:
                self.teacher_sources.add(name)
        if per_source:
            self.check["per_source"] = per_source
        refused = [f"{name}: {c['refused']}" for name, c in per_source.items() if "refused" in c]
        if refused:
            self.check["refused_sources"] = refused
        if self.student is not None or self.students or self.teacher_sources:
            self.adapted_on = len(texts)
            self.version = new_version(self.kind)
        return self

    def _adapt(self, texts: list[str], proba: np.ndarray) -> tuple[LinearClassifier | None,
                                                                   dict[str, Any]]:
        """A student trained on the teacher's surer labels of `texts`, or None when the guard or
        the agreement check refuses it; and what they saw."""
        student = self._student(texts, proba)
        classes, student_proba = student.predict_proba(texts)
        picked = np.array(classes)[student_proba.argmax(axis=1)]
        shares = {c: float(np.mean(picked == c)) for c in self.classes}
        prior = proba.mean(axis=0)
        check: dict[str, Any] = {
            "texts": len(texts),
            "teacher_prior": {c: round(float(p), 3)
                              for c, p in zip(self.classes, prior, strict=True)},
            "student_shares": {c: round(v, 3) for c, v in shares.items()}}
        collapsed = collapsed_class(shares, dict(zip(self.classes, prior, strict=True)))
        if collapsed is not None:
            # Refused: these texts are classified by the teacher, and the check says why.
            expected = prior[self.classes.index(collapsed)]
            check["refused"] = (f"the adapted model put {shares[collapsed]:.0%} of the texts "
                                f"into {collapsed!r}, whose estimated share is {expected:.0%}")
            return None, check
        check["agreement"] = agreement = round(self._agreement(texts, proba), 3)
        if agreement < MIN_AGREEMENT:
            check["refused"] = (f"the adapted model gave its teacher's label to {agreement:.0%} "
                                f"of the texts it had not learnt from (at least "
                                f"{MIN_AGREEMENT:.0%} needed)")
            return None, check
        return student, check

    def _agreement(self, texts: list[str], proba: np.ndarray) -> float:
        """How often a student trained on one half of the texts gives the teacher's first choice
        on the other half (both ways round; alternate texts make the halves)."""
        half = np.arange(len(texts)) % 2 == 0
        same = 0
        for train in (half, ~half):
            rows, other = np.flatnonzero(train), np.flatnonzero(~train)
            student = self._student([texts[i] for i in rows], proba[rows])
            classes, got = student.predict_proba([texts[i] for i in other])
            picked = np.array(classes)[got.argmax(axis=1)]
            same += int(np.sum(picked == np.array(self.classes)[proba[other].argmax(axis=1)]))
        return same / len(texts)

    def _student(self, texts: list[str], proba: np.ndarray) -> LinearClassifier:
        guess, sure = proba.argmax(axis=1), proba.max(axis=1)
        # The teacher's own estimate of each class's share: its mean probability, which a
        # biased teacher overstates less than its counts of first choices.
        prior = proba.mean(axis=0)
        train_texts: list[str] = []
        train_labels: list[str] = []
        for j, spec in enumerate(self.specs):
            rows = np.flatnonzero(guess == j)
            # The surer part of each class's texts, at most KEEP_SHARE of its estimated share:
            # a class the teacher over-picks does not swamp the student.
            keep = min(len(rows), int(np.ceil(KEEP_SHARE * prior[j] * len(texts))))
            rows = rows[np.argsort(-sure[rows], kind="stable")[:keep]]
            train_texts += [texts[i] for i in rows] + spec.phrasings()
            train_labels += [spec.name] * (len(rows) + len(spec.phrasings()))
        return LinearClassifier(C=STUDENT_C).fit(train_texts, train_labels)

    def predict_proba(self, texts: Sequence[str],
                      sources: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """Probabilities per text; with `sources`, each text is read by its source's student,
        by the teacher if that student was refused, else by the general student."""
        if not len(texts):
            return list(self.classes), np.zeros((0, len(self.classes)))
        if sources is None or not (self.students or self.teacher_sources):
            return list(self.classes), self._general(texts)
        where = np.array(list(sources), dtype=object)
        if len(where) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(where)} sources")
        out = np.zeros((len(texts), len(self.classes)))
        rest = np.ones(len(texts), dtype=bool)
        for name in [*self.students, *self.teacher_sources]:
            rows = np.flatnonzero(where == name)
            if len(rows):
                some = [texts[int(i)] for i in rows]
                student = self.students.get(name)
                out[rows] = self._read(student, some) if student else self.teacher_proba(some)
                rest[rows] = False
        if rest.any():
            rows = np.flatnonzero(rest)
            out[rows] = self._general([texts[int(i)] for i in rows])
        return list(self.classes), out

    def _general(self, texts: Sequence[str]) -> np.ndarray:
        if self.student is None:
            return self.teacher_proba(texts)
        return self._read(self.student, texts)

    def _read(self, student: LinearClassifier, texts: Sequence[str]) -> np.ndarray:
        classes, proba = student.predict_proba(list(texts))
        out: np.ndarray = proba[:, [classes.index(c) for c in self.classes]]
        return out

    def save(self, directory: Path) -> None:
        directory = Path(directory)
        # Source names are the company's own words: each student is kept under a number.
        students = {name: f"source_{i}" for i, name in enumerate(sorted(self.students))}
        write_meta(directory, {
            "kind": self.kind, "version": self.version, "classes": self.classes,
            "dimension": self.dimension, "method": self.method, "adapted_on": self.adapted_on,
            "labels": [s.to_dict() for s in self.specs], "students": students,
            "teacher_sources": sorted(self.teacher_sources)})
        if self.student is not None:
            self.student.save(directory / "student")
        for name, folder in students.items():
            self.students[name].save(directory / folder)

    @classmethod
    def load(cls, directory: Path) -> Self:
        directory = Path(directory)
        meta: dict[str, Any] = read_meta(directory)
        specs = [LabelSpec.from_dict(d) for d in meta["labels"]]
        model = cls(dimension=meta.get("dimension", "category"), labels=specs,
                    method=meta.get("method", "lexical"))
        if (directory / "student").is_dir():
            model.student = LinearClassifier.load(directory / "student")
        for name, folder in (meta.get("students") or {}).items():
            model.students[name] = LinearClassifier.load(directory / folder)
        model.teacher_sources = set(meta.get("teacher_sources") or [])
        model.adapted_on = int(meta.get("adapted_on", 0))
        model.version = meta["version"]
        return model
