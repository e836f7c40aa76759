"""Classify every contact and mention: category, cause and sentiment, written to `labels`.

A row is pending in a dimension when it has text, no value given by its source (an agent's
wrap-up code in `contacts.category` / `contacts.cause` counts as a label), no human label, and no
label from the model now in use. So a re-run writes nothing new, and a newly trained model
relabels every row on its next run (old model labels stay for audit; the newest counts).

The model in use per dimension is the newest active row of `classifier_models` (its files under
`$CXHUB_HOME/models/<dimension>/<version>/`). Without one, zero-shot: on a warehouse with
enough texts it first adapts to a sample of them (up to ADAPT_SAMPLE from every source, so that no
kind of text drowns the others; a student per source, zeroshot.py) and registers the result (kind
`zeroshot`) so that later runs and the API's background classifier reuse it; otherwise it
classifies with the zero-shot teacher directly. Each text is then read with its source's student
(the source is `target:source`, as in `text_sources`). A zero-shot model adapted before a new
source arrived (or before a source grew to more than twice its size) is stale: the next run adapts
again on all sources and relabels. An adaptation that collapses onto one class is refused by the
zero-shot guard, as is one that cannot reproduce its teacher on texts it did not learn from (for
all sources, or for one: those texts are then read by the teacher) and the reason is kept in the
model's evaluation and the run's `notes`. Training, human
labels and their import: `classify_training`.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

from cxhub.analytics.classify.model import TextClassifier, load_model, new_version
from cxhub.analytics.classify.taxonomy import DIMENSIONS, Taxonomy, taxonomy_for_home
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.warehouse import Warehouse
from cxhub.warehouse.schema import largest_sql

Progress = Callable[[str, int, int], None]
TARGETS = ("contacts", "mentions")
ID_COLUMN = {"contacts": "contact_id", "mentions": "mention_id"}
CHUNK = 20_000
# Labels written per writer job. One job of a 20,000-row chunk held the single writer for up
# to a second while API requests queued behind it; in jobs of this size their flushes (urgent
# in the writer's queue) get in between. Each job skips rows already labelled, so a crash
# between jobs leaves nothing that a rerun does not complete.
LABEL_JOB_ROWS = 2_000
ADAPT_MIN_TEXTS = 200
ADAPT_SAMPLE = 2_000  # texts per source, while there are at most three sources
ADAPT_TOTAL = 6_000  # ... and in all, past three (each source keeps its share)
NEW_SOURCE_MIN_TEXTS = 50  # fewer new texts than this do not make an adapted model stale
SENTIMENT = "sentiment"

# The text a model reads. A contact: subject, text and its channel as a token; a mention
# written by a customer: its text.
TEXT_SQL = {
    "contacts": "concat_ws(' ', nullif(trim(t.subject), ''), nullif(trim(t.text), ''), "
                "'channel_' || t.channel)",
    "mentions": "trim(t.text)",
}
HAS_TEXT = {
    "contacts": "(nullif(trim(t.text), '') IS NOT NULL OR nullif(trim(t.subject), '') IS NOT NULL)",
    # The brand's own replies are not the customer's voice.
    "mentions": "nullif(trim(t.text), '') IS NOT NULL AND t.inbound IS NOT false",
}


def home_of(wh: Warehouse) -> Path:
    """$CXHUB_HOME: the folder of the warehouse file (models and taxonomy.yaml live there)."""
    return Path(wh.path).parent


def sentiment_module() -> ModuleType | None:
    """`cxhub.analytics.classify.sentiment` when installed (it scores texts in [-1, 1])."""
    try:
        from cxhub.analytics.classify import sentiment
    except ImportError:
        return None
    return sentiment


@dataclass
class ModelInUse:
    dimension: str
    name: str
    version: str
    kind: str
    model: Any  # a TextClassifier, or the sentiment module
    note: str = ""  # why an adaptation was refused, if it was

    def classify(self, texts: Sequence[str],
                 sources: Sequence[str] | None = None) -> tuple[list[str], np.ndarray]:
        """(label, score) per text: the likeliest label and its probability (sentiment: the
        sentiment label and its score in [-1, 1]). `sources` ('target:source' per text) lets a
        zero-shot model read each text with its source's student."""
        if self.dimension == SENTIMENT:
            scores, labels = self.model.score(list(texts))
            return [str(x) for x in labels], np.asarray(scores, dtype=float)
        if sources is not None and isinstance(self.model, ZeroShotClassifier):
            classes, proba = self.model.predict_proba(list(texts), list(sources))
        else:
            classes, proba = self.model.predict_proba(list(texts))
        best = proba.argmax(axis=1)
        return [classes[i] for i in best], proba[np.arange(len(best)), best]


_cache: dict[tuple[str, str], TextClassifier] = {}
_cache_lock = threading.Lock()


def _load_cached(kind: str, path: Path, version: str) -> TextClassifier:
    key = (kind, version)
    with _cache_lock:
        if key not in _cache:
            if len(_cache) >= 8:
                _cache.pop(next(iter(_cache)))
            _cache[key] = load_model(kind, path)
        return _cache[key]


def active_model_row(wh: Warehouse, dimension: str) -> dict[str, Any] | None:
    rows = wh.read("SELECT model_id, name, version, kind, path, evaluation FROM classifier_models "
                   "WHERE dimension = ? AND active ORDER BY trained_at DESC NULLS LAST, "
                   "model_id DESC LIMIT 1", [dimension])
    if not rows:
        return None
    model_id, name, version, kind, path, evaluation = rows[0]
    return {"model_id": model_id, "name": name, "version": version, "kind": kind, "path": path,
            "evaluation": json.loads(evaluation) if isinstance(evaluation, str) else evaluation}


def text_sources(wh: Warehouse) -> dict[str, int]:
    """'target:source' -> the number of texts a model would read there."""
    parts = [f"SELECT '{t}:' || t.source AS src FROM {t} t WHERE {HAS_TEXT[t]}" for t in TARGETS]
    rows = wh.read(f"SELECT src, count(*) FROM ({' UNION ALL '.join(parts)}) GROUP BY src")
    return {str(src): int(n) for src, n in rows}


def stale_sources(adapted: dict[str, int], now: dict[str, int]) -> list[str]:
    """The sources a zero-shot model adapted on `adapted` has not seen enough of: new ones, and
    ones that more than doubled, with at least NEW_SOURCE_MIN_TEXTS new texts."""
    return sorted(src for src, n in now.items()
                  if n - adapted.get(src, 0) >= NEW_SOURCE_MIN_TEXTS
                  and n > 2 * adapted.get(src, 0))


def _registered(wh: Warehouse, dimension: str, taxonomy: Taxonomy,
                adapt: bool = True) -> ModelInUse | None:
    row = active_model_row(wh, dimension)
    if row is None:
        return None
    evaluation = row["evaluation"] or {}
    if row["kind"] == "zeroshot" and evaluation.get("taxonomy") != taxonomy.fingerprint(dimension):
        return None  # the descriptions changed since it was adapted: adapt again
    if (row["kind"] == "zeroshot" and adapt and "sources" in evaluation
            and stale_sources(evaluation["sources"], text_sources(wh))):
        return None  # new kinds of text arrived since it was adapted: adapt again
    path = Path(row["path"])
    path = path if path.is_absolute() else home_of(wh) / path
    model = _load_cached(row["kind"], path, row["version"])
    return ModelInUse(dimension, row["name"], row["version"], row["kind"], model,
                      refusal_note(evaluation))


def refusal_note(check: dict[str, Any]) -> str:
    """Why the zero-shot guard refused an adaptation, in general or for some sources."""
    parts = ([f"the general student: {check['refused']}"] if check.get("refused") else [])
    return "; ".join(parts + list(check.get("refused_sources", [])))


_teachers: dict[tuple[str, str, str], ZeroShotClassifier] = {}


def _teacher(dimension: str, taxonomy: Taxonomy, method: str) -> ZeroShotClassifier:
    """A zero-shot model that is not adapted, kept per (dimension, descriptions, method): its
    label phrasings are encoded once per process."""
    key = (dimension, taxonomy.fingerprint(dimension), method)
    with _cache_lock:
        if key not in _teachers:
            _teachers[key] = ZeroShotClassifier(dimension=dimension, taxonomy=taxonomy,
                                                method=method)
        return _teachers[key]


def model_in_use(wh: Warehouse, dimension: str, *, taxonomy: Taxonomy | None = None,
                 adapt: bool = True, zero_shot: str = "auto") -> ModelInUse | None:
    """The model for a dimension (None for sentiment when its module is absent).

    Without a registered model: with `adapt`, zero-shot adapted to a sample of the warehouse's
    texts and registered; else the zero-shot teacher of method `zero_shot` (auto, embedding or
    lexical)."""
    if dimension == SENTIMENT:
        module = sentiment_module()
        if module is None:
            return None
        return ModelInUse(SENTIMENT, module.MODEL_NAME, module.MODEL_VERSION, "sentiment",
                          module)
    taxonomy = taxonomy or taxonomy_for_home(home_of(wh))
    found = _registered(wh, dimension, taxonomy, adapt)
    if found is not None:
        return found
    if adapt:
        sources = text_sources(wh)
        sample = _text_sample(wh, sources)
        if len(sample) >= ADAPT_MIN_TEXTS:
            zero = ZeroShotClassifier(dimension=dimension, taxonomy=taxonomy, method=zero_shot,
                                      adapt_sample=ADAPT_SAMPLE).fit(
                [t for t, _ in sample], sources=[s for _, s in sample])
            refused = refusal_note(zero.check)
            if refused and not zero.adapted_on:
                # the guard kept the teacher: a version of its own, new each time
                zero.version = new_version("zeroshot")
            register_model(wh, dimension, zero, name="zeroshot", n_train=0, evaluation={
                "adapted_on": zero.adapted_on, "method": zero.method,
                "taxonomy": taxonomy.fingerprint(dimension), "sources": sources,
                **zero.check})
            return ModelInUse(dimension, "zeroshot", zero.version, "zeroshot", zero, refused)
    zero = _teacher(dimension, taxonomy, zero_shot)
    return ModelInUse(dimension, "zeroshot", zero.version, "zeroshot", zero)


def _text_sample(wh: Warehouse, sources: dict[str, int],
                 seed: int = 7) -> list[tuple[str, str]]:
    """(text, 'target:source') pairs: the same number from every source (all of a smaller
    one's), ADAPT_SAMPLE each, or ADAPT_TOTAL shared out when there are many sources."""
    if not sources:
        return []
    each = min(ADAPT_SAMPLE, max(-(-ADAPT_SAMPLE // len(sources)), ADAPT_TOTAL // len(sources)))
    out: list[tuple[str, str]] = []
    for src in sorted(sources):
        target, source = src.split(":", 1)
        rows = wh.read(f"SELECT body FROM (SELECT {TEXT_SQL[target]} AS body FROM {target} t "
                       f"WHERE {HAS_TEXT[target]} AND t.source = ?) "
                       f"USING SAMPLE reservoir({each} ROWS) REPEATABLE ({int(seed)})", [source])
        out += [(r[0], src) for r in rows]
    return out


def register_model(wh: Warehouse, dimension: str, model: TextClassifier, *, name: str,
                   n_train: int, evaluation: dict[str, Any], active: bool = True) -> int:
    """Save the model under $CXHUB_HOME/models/<dimension>/<version>/ and register it."""
    relative = Path("models") / dimension / model.version
    model.save(home_of(wh) / relative)
    classes = list(getattr(model, "classes", []) or [])

    def job(con: duckdb.DuckDBPyConnection) -> int:
        row = con.execute("SELECT coalesce(max(model_id), 0) + 1 FROM classifier_models").fetchone()
        model_id = int(row[0]) if row else 1
        con.execute("INSERT INTO classifier_models (model_id, dimension, name, version, kind, "
                    "path, trained_at, n_train, classes, evaluation, active) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [model_id, dimension, name, model.version, model.kind, str(relative),
                     datetime.now(UTC).replace(tzinfo=None), n_train, classes,
                     json.dumps(evaluation, default=str), active])
        return model_id

    return wh.write(job)


def _pending_where(target: str, dimension: str) -> str:
    """Rows of `target` (alias t) pending in `dimension`; parameters: `_pending_params`. The
    labels are read from the first id on only (zone maps skip the older ones)."""
    source_value = (f" AND t.{dimension} IS NULL"
                    if target == "contacts" and dimension in DIMENSIONS else "")
    return (f"{HAS_TEXT[target]}{source_value} AND t.{ID_COLUMN[target]} > ? "
            "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.target = ? AND l.dimension = ? "
            f"AND l.target_id > ? AND l.target_id = t.{ID_COLUMN[target]} "
            "AND (l.is_human OR (l.model = ? AND l.model_version = ?)))")


def _pending_params(target: str, dimension: str, model: ModelInUse, after: int) -> list[Any]:
    return [after, target, dimension, after, model.name, model.version]


def count_pending(wh: Warehouse, target: str, dimension: str, model: ModelInUse,
                  since: int = 0) -> int:
    row = wh.read_one(f"SELECT count(*) FROM {target} t WHERE {_pending_where(target, dimension)}",
                      _pending_params(target, dimension, model, since))
    return int(row[0]) if row else 0


def _pending_chunk(wh: Warehouse, target: str, dimension: str, model: ModelInUse, after: int,
                   limit: int) -> list[tuple[int, str, str]]:
    """(id, text, 'target:source') of the next pending rows."""
    id_col = ID_COLUMN[target]
    return [(int(i), str(body), f"{target}:{source}") for i, body, source in wh.read(
        f"SELECT t.{id_col}, {TEXT_SQL[target]}, t.source FROM {target} t "
        f"WHERE {_pending_where(target, dimension)} ORDER BY t.{id_col} LIMIT {int(limit)}",
        _pending_params(target, dimension, model, after))]


def write_labels(wh: Warehouse, target: str, dimension: str, ids: Sequence[int],
                 labels: Sequence[str], scores: np.ndarray, model: ModelInUse) -> int:
    """Insert model labels; a row already labelled by this model version is left alone."""
    step = LABEL_JOB_ROWS
    if len(ids) > step:
        return sum(write_labels(wh, target, dimension, ids[i:i + step], labels[i:i + step],
                                scores[i:i + step], model)
                   for i in range(0, len(ids), step))
    n = len(ids)
    table = pa.table({
        "target": pa.array([target] * n), "target_id": pa.array(ids, pa.int64()),
        "dimension": pa.array([dimension] * n), "label": pa.array(list(labels), pa.string()),
        "score": pa.array(np.asarray(scores, dtype=float)),
        "model": pa.array([model.name] * n), "model_version": pa.array([model.version] * n),
    })
    view = f"_new_labels_{uuid.uuid4().hex[:8]}"
    low, high = (int(min(ids)), int(max(ids))) if n else (0, -1)

    def job(con: duckdb.DuckDBPyConnection) -> int:
        con.register(view, table)
        try:
            row = con.execute(
                "INSERT INTO labels (target, target_id, dimension, label, score, model, "
                "model_version, is_human, labelled_at) "
                "SELECT n.target, n.target_id, n.dimension, n.label, n.score, n.model, "
                "n.model_version, false, current_timestamp::TIMESTAMP "
                f"FROM {view} n WHERE NOT EXISTS (SELECT 1 FROM labels l "
                "WHERE l.target = n.target AND l.target_id = n.target_id "
                "AND l.target_id BETWEEN ? AND ? "
                "AND l.dimension = n.dimension AND l.model = n.model "
                "AND l.model_version = n.model_version)", [low, high]).fetchone()
        finally:
            con.unregister(view)
        return int(row[0]) if row else 0

    return wh.write(job, groupable=n < 1000)


def classify_pending(wh: Warehouse, *, targets: Sequence[str] = TARGETS,
                     dimensions: Sequence[str] = (*DIMENSIONS, SENTIMENT),
                     progress: Progress | None = None, taxonomy: Taxonomy | None = None,
                     since: dict[str, int] | None = None, adapt: bool = True,
                     zero_shot: str = "auto", chunk: int = CHUNK) -> dict[str, Any]:
    """Label every pending contact and mention; returns what was written and by which model.

    `since` (target -> id) looks only at rows with a larger id (the background classifier's
    new rows); `adapt=False` never adapts and registers a zero-shot model; `zero_shot` is the
    zero-shot method when no model is registered (auto: embeddings when installed)."""
    began = time.perf_counter()
    taxonomy = taxonomy or taxonomy_for_home(home_of(wh))
    models: dict[str, ModelInUse] = {}
    skipped: dict[str, str] = {}
    for dimension in dimensions:
        if progress:
            progress(f"choosing the {dimension} model", 0, 0)
        found = model_in_use(wh, dimension, taxonomy=taxonomy, adapt=adapt, zero_shot=zero_shot)
        if found is None:
            skipped[dimension] = "the sentiment module is not installed"
        else:
            models[dimension] = found
    work = [(t, d) for t in targets for d in models]
    totals = {(t, d): count_pending(wh, t, d, models[d], (since or {}).get(t, 0))
              for t, d in work}
    total, done = sum(totals.values()), 0
    written: dict[str, dict[str, int]] = {t: {} for t in targets}
    if progress:
        progress("classifying", 0, total)
    for target, dimension in work:
        model, after, count = models[dimension], (since or {}).get(target, 0), 0
        while totals[(target, dimension)]:
            rows = _pending_chunk(wh, target, dimension, model, after, chunk)
            if not rows:
                break
            ids = [i for i, _, _ in rows]
            labels, scores = model.classify([body for _, body, _ in rows],
                                            [src for _, _, src in rows])
            count += write_labels(wh, target, dimension, ids, labels, scores, model)
            after = ids[-1]
            done += len(rows)
            if progress:
                progress(f"{target}: {dimension}", min(done, total), total)
        written[target][dimension] = count
    if any(n for dims in written.values() for n in dims.values()):
        refresh_best_labels(wh)
    return {
        "written": written,
        "models": {d: {"name": m.name, "version": m.version, "kind": m.kind}
                   for d, m in models.items()},
        "notes": {d: m.note for d, m in models.items() if m.note},
        "skipped": skipped,
        "seconds": round(time.perf_counter() - began, 2),
    }


def refresh_best_labels(wh: Warehouse) -> None:
    """Keep the metrics' table of winning labels (`current_labels`) up to date, where the
    warehouse has one (cxhub.services.classification.labels)."""
    try:
        from cxhub.services.classification.labels import refresh_current
    except ImportError:
        return
    refresh_current(wh)


def newest_ids(wh: Warehouse, targets: Sequence[str] = TARGETS) -> dict[str, int]:
    out = {}
    for target in targets:
        row = wh.read_one(f"SELECT {largest_sql(target, ID_COLUMN[target])}")
        out[target] = int(row[0]) if row else 0
    return out
