"""Learning from labels: train and register a model, evaluate on files, human labels.

Human labels (`set_label`, `import_labels`, the dashboard's contact page) are rows of `labels`
with `is_human = true`; they are never overwritten, and they always win over model labels (the
metrics rank them first). `train` learns from them, from a CSV file, and on request from the
values the source systems gave (agents' wrap-up codes in contacts.category / contacts.cause).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from cxhub.analytics.classify import evaluate as ev
from cxhub.analytics.classify.model import TextClassifier, model_kinds
from cxhub.analytics.classify.taxonomy import DIMENSIONS, Taxonomy, taxonomy_for_home
from cxhub.analytics.classify.zeroshot import ZeroShotClassifier
from cxhub.domain.canonical import CATEGORIES
from cxhub.domain.errors import CxhubError
from cxhub.services.classification.run import (
    HAS_TEXT,
    ID_COLUMN,
    SENTIMENT,
    TARGETS,
    TEXT_SQL,
    home_of,
    model_in_use,
    refresh_best_labels,
    register_model,
)
from cxhub.warehouse import Warehouse

TRAINABLE = ("linear", "embedding", "finetuned", "fewshot")
SENTIMENT_LABELS = ("negative", "neutral", "positive")
_CHEAP = ("linear", "embedding", "fewshot")  # refitted on every label after the held-out evaluation


class ClassifyError(CxhubError):
    """Labels or training data that cannot be used (unknown label, empty file, one class)."""


def read_labelled_csv(path: Path | str, text_col: str = "text",
                      label_col: str = "label") -> tuple[list[str], list[str]]:
    """(texts, labels) of a CSV file; rows with an empty text or label are dropped."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ClassifyError(f"cannot read {path}: {exc}") from None
    missing = [c for c in (text_col, label_col) if c not in frame.columns]
    if missing:
        raise ClassifyError(f"{path} has no column {', '.join(missing)}; its columns are "
                            f"{', '.join(frame.columns)}")
    keep = (frame[text_col].str.strip() != "") & (frame[label_col].str.strip() != "")
    return frame.loc[keep, text_col].tolist(), frame.loc[keep, label_col].str.strip().tolist()


def make_model(kind: str, *, dimension: str = "category", taxonomy: Taxonomy | None = None,
               **options: Any) -> Callable[[], TextClassifier]:
    """A factory of fresh models of a kind (zeroshot reads the taxonomy's dimension)."""
    cls = model_kinds()[kind]
    if kind in ("zeroshot", "fewshot"):  # both read the labels' descriptions
        return lambda: cls(dimension=dimension, taxonomy=taxonomy, **options)
    return lambda: cls(**options)


def evaluate_files(train: tuple[list[str], list[str]], test: tuple[list[str], list[str]], *,
                   kind: str = "linear", per_class: int | None = None, seed: int = 0,
                   dimension: str = "category", taxonomy: Taxonomy | None = None) -> ev.Report:
    """Train on one labelled set (or `per_class` examples of each label) and score the other.
    A zero-shot model reads the training texts only, unlabelled, to adapt to them."""
    texts, labels = train
    if per_class:
        rows = ev.sample_per_class(labels, per_class, seed=seed)
        texts, labels = [texts[i] for i in rows], [labels[i] for i in rows]
    if kind == "zeroshot":
        model = ZeroShotClassifier(dimension=dimension, taxonomy=taxonomy).fit(texts)
        return ev.report(test[1], ev.predict(model, test[0]), n_train=0, model=kind)
    _check_classes(labels)
    factory = make_model(kind, dimension=dimension, taxonomy=taxonomy)
    return ev.holdout(factory, texts, labels, test[0], test[1])


def cross_validate_file(data: tuple[list[str], list[str]], *, kind: str = "linear",
                        folds: int = 5, seed: int = 0) -> ev.Report:
    _check_classes(data[1])
    if kind == "zeroshot":
        raise ClassifyError("zero-shot uses no labels, so there is nothing to cross-validate; "
                            "use `cxhub classify evaluate --model zeroshot`")
    return ev.cross_validate(make_model(kind), data[0], data[1], folds=folds, seed=seed)


def _check_classes(labels: Sequence[str]) -> None:
    if len(set(labels)) < 2:
        raise ClassifyError(f"training needs at least two different labels; got "
                            f"{len(labels)} rows with {len(set(labels))}")


def labelled_from_warehouse(wh: Warehouse, dimension: str, *,
                            include_source: bool = False) -> tuple[list[str], list[str]]:
    """The texts with a human label in `dimension` (the newest per row), and with
    `include_source` the contacts whose source gave the value and no person overrode it."""
    parts = [
        f"SELECT {TEXT_SQL[t]} AS body, h.label FROM {t} t JOIN human h "
        f"ON h.target = '{t}' AND h.target_id = t.{ID_COLUMN[t]} WHERE {HAS_TEXT[t]}"
        for t in TARGETS
    ]
    if include_source and dimension in DIMENSIONS:
        parts.append(f"SELECT {TEXT_SQL['contacts']}, t.{dimension} FROM contacts t "
                     f"WHERE {HAS_TEXT['contacts']} AND t.{dimension} IS NOT NULL "
                     "AND NOT EXISTS (SELECT 1 FROM human h WHERE h.target = 'contacts' "
                     "AND h.target_id = t.contact_id)")
    rows = wh.read(
        "WITH human AS (SELECT target, target_id, arg_max(label, labelled_at) AS label "
        "FROM labels WHERE is_human AND dimension = ? GROUP BY target, target_id) "
        + " UNION ALL ".join(parts), [dimension])
    return [r[0] for r in rows], [r[1] for r in rows]


def train(wh: Warehouse, dimension: str, kind: str = "linear", *,
          data: tuple[list[str], list[str]] | None = None, source: str = "human labels",
          include_source: bool = False, test_share: float = 0.2, seed: int = 0,
          taxonomy: Taxonomy | None = None) -> dict[str, Any]:
    """Train a model of `kind` for `dimension`, evaluate it on a held-out share, register it
    (active, so the next classification run uses it) and return the registration summary.

    `data` is (texts, labels), e.g. from `read_labelled_csv`; without it, the warehouse's human
    labels (and with `include_source`, the source systems' values)."""
    if dimension not in DIMENSIONS:
        raise ClassifyError(f"train a category or cause model, not {dimension!r}")
    if kind not in TRAINABLE:
        raise ClassifyError(f"cannot train a {kind!r} model; use one of {', '.join(TRAINABLE)} "
                            "(zero-shot needs no labels: it runs when no model is trained)")
    factory = make_model(kind, dimension=dimension,
                         taxonomy=taxonomy or taxonomy_for_home(home_of(wh)))
    if data is None:
        data = labelled_from_warehouse(wh, dimension, include_source=include_source)
        source = "human labels" + (" and source values" if include_source else "")
    texts, labels = data
    if dimension == "category":
        unknown = sorted(set(labels) - set(CATEGORIES))
        if unknown:
            raise ClassifyError(f"{', '.join(unknown)} {'is' if len(unknown) == 1 else 'are'} "
                                f"not a category; use {', '.join(CATEGORIES)}")
    _check_classes(labels)
    y = np.asarray(labels, dtype=object)
    counts = pd.Series(labels).value_counts()
    evaluation: dict[str, Any] = {"source": source, "held_out": None}
    can_hold_out = counts.min() >= 2 and len(y) * test_share >= len(counts)
    if can_hold_out:
        train_i, test_i = train_test_split(np.arange(len(y)), test_size=test_share,
                                           random_state=seed, stratify=y)
        result = ev.holdout(factory, [texts[i] for i in train_i], list(y[train_i]),
                            [texts[i] for i in test_i], list(y[test_i]))
        evaluation.update(result.to_dict(), held_out=test_share)
    refit = kind in _CHEAP or not can_hold_out
    if refit:
        model = factory().fit(texts, labels)
    else:
        model = factory().fit([texts[i] for i in train_i], list(y[train_i]))
    evaluation["refit_on_all"] = refit
    n_train = len(texts) if refit else len(train_i)
    model_id = register_model(wh, dimension, model, name=kind, n_train=n_train,
                              evaluation=evaluation)
    return {"model_id": model_id, "dimension": dimension, "kind": kind,
            "version": model.version, "n_train": n_train, "classes": sorted(set(labels)),
            "evaluation": evaluation,
            "path": str(home_of(wh) / "models" / dimension / model.version)}


def allowed_labels(wh: Warehouse, dimension: str, taxonomy: Taxonomy | None = None) -> list[str]:
    if dimension == "category":
        return list(CATEGORIES)
    if dimension == SENTIMENT:
        return list(SENTIMENT_LABELS)
    if dimension == "cause":
        taxonomy = taxonomy or taxonomy_for_home(home_of(wh))
        used = [r[0] for r in wh.read("SELECT DISTINCT label FROM labels WHERE is_human "
                                      "AND dimension = 'cause' ORDER BY 1")]
        return [*taxonomy.names("cause"), *(u for u in used if u not in taxonomy.names("cause"))]
    raise ClassifyError(f"unknown dimension {dimension!r}; use category, cause or sentiment")


def set_label(wh: Warehouse, target: str, target_id: int, dimension: str, label: str,
              user: str, *, taxonomy: Taxonomy | None = None) -> None:
    """Record a person's label (kept beside, never instead of, earlier labels)."""
    set_labels(wh, [(target, target_id, dimension, label)], user, taxonomy=taxonomy)


def set_labels(wh: Warehouse, rows: Sequence[tuple[str, int, str, str]], user: str, *,
               taxonomy: Taxonomy | None = None) -> int:
    """Several human labels in one write; returns how many were new (a label equal to the row's
    newest human label is not written again)."""
    allowed: dict[str, list[str]] = {}
    for target, _id, dimension, label in rows:
        if target not in TARGETS:
            raise ClassifyError(f"unknown target {target!r}; use contacts or mentions")
        if dimension not in allowed:
            allowed[dimension] = allowed_labels(wh, dimension, taxonomy)
        if label not in allowed[dimension]:
            raise ClassifyError(f"{label!r} is not a {dimension}; choose one of "
                                f"{', '.join(allowed[dimension])}")
    now = datetime.now(UTC).replace(tzinfo=None)

    def job(con: duckdb.DuckDBPyConnection) -> int:
        new = 0
        for target, target_id, dimension, label in rows:
            if not con.execute(f"SELECT 1 FROM {target} WHERE {ID_COLUMN[target]} = ?",
                               [target_id]).fetchone():
                raise ClassifyError(f"no {target[:-1]} with id {target_id}")
            newest = con.execute(
                "SELECT arg_max(label, labelled_at) FROM labels WHERE target = ? "
                "AND target_id = ? AND dimension = ? AND is_human",
                [target, target_id, dimension]).fetchone()
            if newest and newest[0] == label:
                continue
            con.execute("INSERT INTO labels (target, target_id, dimension, label, score, model, "
                        "is_human, labelled_by, labelled_at) "
                        "VALUES (?, ?, ?, ?, 1.0, 'human', true, ?, ?)",
                        [target, target_id, dimension, label, user, now])
            new += 1
        return new

    new = wh.write(job)
    if new:
        refresh_best_labels(wh)
    return new


def import_labels(wh: Warehouse, path: Path | str, *, user: str = "import",
                  taxonomy: Taxonomy | None = None) -> dict[str, Any]:
    """Human labels from a CSV file. Rows name their record by `id` (the warehouse id) or by
    `source` and `external_id`, with `target` (contacts, the default, or mentions); the labels
    are `dimension` and `label` columns, or one column per dimension (category, cause,
    sentiment). Rows that cannot be used are skipped and listed with their line number."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ClassifyError(f"cannot read {path}: {exc}") from None
    if "id" not in frame.columns and not {"source", "external_id"} <= set(frame.columns):
        raise ClassifyError(f"{path}: name each record by an id column, or by source and "
                            "external_id columns")
    long = {"dimension", "label"} <= set(frame.columns)
    wide = [d for d in (*DIMENSIONS, SENTIMENT) if d in frame.columns]
    if not long and not wide:
        raise ClassifyError(f"{path}: give dimension and label columns, or a column per "
                            "dimension (category, cause, sentiment)")
    keys = _resolve_ids(wh, frame)
    rows: list[tuple[str, int, str, str]] = []
    skipped: list[dict[str, Any]] = []
    choices = {d: allowed_labels(wh, d, taxonomy) for d in (*DIMENSIONS, SENTIMENT)}
    for line, (record, target_id) in enumerate(zip(frame.to_dict("records"), keys,
                                                   strict=True), start=2):
        target = record.get("target") or "contacts"
        pairs = ([(record["dimension"], record["label"])] if long
                 else [(d, record[d]) for d in wide if record[d].strip()])
        for dimension, label in pairs:
            label = label.strip()
            reason = (f"unknown target {target!r}" if target not in TARGETS
                      else "no such record" if target_id is None
                      else f"unknown dimension {dimension!r}" if dimension not in choices
                      else f"{label!r} is not a {dimension}" if label not in choices[dimension]
                      else None)
            if reason or target_id is None:
                skipped.append({"line": line, "reason": reason})
            else:
                rows.append((str(target), target_id, str(dimension), label))
    new = set_labels(wh, rows, user, taxonomy=taxonomy) if rows else 0
    return {"imported": new, "unchanged": len(rows) - new, "skipped": skipped}


def _resolve_ids(wh: Warehouse, frame: pd.DataFrame) -> list[int | None]:
    targets = frame["target"].replace("", "contacts") if "target" in frame.columns else (
        pd.Series(["contacts"] * len(frame)))
    out: list[int | None] = []
    lookups: dict[str, dict[tuple[str, str], int]] = {}
    for i, target in enumerate(targets):
        if "id" in frame.columns and str(frame["id"].iloc[i]).strip():
            try:
                out.append(int(frame["id"].iloc[i]))
            except ValueError:
                out.append(None)
            continue
        if target not in TARGETS or "source" not in frame.columns:
            out.append(None)
            continue
        if target not in lookups:
            wanted = frame.loc[targets == target, ["source", "external_id"]]
            found = wh.read(f"SELECT t.source, t.external_id, t.{ID_COLUMN[target]} "
                            f"FROM {target} t JOIN (SELECT unnest(?::VARCHAR[]) AS s, "
                            "unnest(?::VARCHAR[]) AS e) u "
                            "ON t.source = u.s AND t.external_id = u.e",
                            [wanted["source"].tolist(), wanted["external_id"].tolist()])
            lookups[target] = {(s, e): int(k) for s, e, k in found}
        out.append(lookups[target].get((frame["source"].iloc[i], frame["external_id"].iloc[i])))
    return out


def suggest(wh: Warehouse, *, dimension: str = "category", k: int = 20,
            targets: Sequence[str] = TARGETS, pool: int = 20_000,
            taxonomy: Taxonomy | None = None, zero_shot: str = "auto") -> list[dict[str, Any]]:
    """The unlabelled texts whose labels would help the model most (smallest margin between its
    two likeliest labels, near-duplicates skipped), from a random pool of up to `pool` rows."""
    if dimension not in DIMENSIONS:
        raise ClassifyError("suggestions are for the category or cause dimension")
    model = model_in_use(wh, dimension, taxonomy=taxonomy, adapt=False, zero_shot=zero_shot)
    assert model is not None
    parts = [
        f"SELECT '{t}' AS target, t.{ID_COLUMN[t]} AS id, {TEXT_SQL[t]} AS body FROM {t} t "
        f"WHERE {HAS_TEXT[t]} AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.is_human "
        f"AND l.target = '{t}' AND l.target_id = t.{ID_COLUMN[t]} AND l.dimension = ?)"
        for t in targets
    ]
    rows = wh.read(f"SELECT * FROM ({' UNION ALL '.join(parts)}) "
                   f"USING SAMPLE reservoir({int(pool)} ROWS) REPEATABLE (11)",
                   [dimension] * len(parts))
    if not rows:
        return []
    texts = [r[2] for r in rows]
    classes, proba = model.model.predict_proba(texts)
    picked = ev.most_informative(texts, proba, k)
    out = []
    for i in picked:
        top = np.argsort(proba[i])[::-1][:2]
        out.append({"target": rows[i][0], "id": int(rows[i][1]), "text": texts[i],
                    "margin": float(ev.margins(proba[i:i + 1])[0]),
                    "likeliest": [{"label": classes[j], "probability": float(proba[i, j])}
                                  for j in top]})
    return out
