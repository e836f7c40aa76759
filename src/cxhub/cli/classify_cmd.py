"""`cxhub classify run | train | evaluate | cross-validate | suggest | label | import-labels |
models`.

scikit-learn (and torch, for the embedding kinds) are imported when a command runs, not when
`cxhub` starts.
"""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from cxhub.cli.common import console, fail, open_warehouse, out, print_json, settings_from
from cxhub.domain.errors import CxhubError

KINDS = ("linear", "embedding", "finetuned", "fewshot", "zeroshot")
FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
taxonomy_option = click.option(
    "--taxonomy", type=FILE,
    help="YAML file of the causes (name, description); default $CXHUB_HOME/taxonomy.yaml.")
zero_shot_option = click.option(
    "--zero-shot", "zero_shot", type=click.Choice(["auto", "embedding", "lexical"]),
    default="auto", show_default=True,
    help="Zero-shot method where no model is registered: sentence embeddings with keywords, or "
         "keywords alone (auto: embeddings when the extra is installed).")


def _taxonomy(ctx: click.Context, path: Path | None) -> Any:
    from cxhub.analytics.classify.taxonomy import taxonomy_for_home

    try:
        return taxonomy_for_home(settings_from(ctx).home, path)
    except CxhubError as exc:
        fail(str(exc))


@click.group()
def classify() -> None:
    """Classify contacts and mentions (category, cause, sentiment); train, evaluate, label."""


@classify.command("run")
@taxonomy_option
@zero_shot_option
@click.option("--target", "targets", multiple=True, type=click.Choice(["contacts", "mentions"]),
              help="Only these records (repeatable; default both).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.pass_context
def run(ctx: click.Context, taxonomy: Path | None, zero_shot: str, targets: tuple[str, ...],
        as_json: bool) -> None:
    """Label every contact and mention that has no label from the model in use.

    Without a trained model, zero-shot adapts to a sample of your texts first and registers
    itself. Re-running writes nothing new; after `cxhub classify train` it relabels everything.
    """
    from cxhub.services.classification import run as service

    tax = _taxonomy(ctx, taxonomy)
    with open_warehouse(ctx) as wh, Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TimeElapsedColumn(), console=console, transient=True,
    ) as bar:
        task = bar.add_task("classifying", total=None)

        def progress(what: str, done: int, total: int) -> None:
            bar.update(task, description=what, completed=done, total=total or None)

        summary = service.classify_pending(wh, targets=targets or service.TARGETS,
                                           progress=progress, taxonomy=tax,
                                           zero_shot=zero_shot)
    if as_json:
        print_json(summary)
        return
    table = Table("records", "dimension", "labels written", "model", "version")
    for target, dims in summary["written"].items():
        for dim, n in dims.items():
            m = summary["models"][dim]
            table.add_row(target, dim, f"{n:,}", m["name"], m["version"])
    out.print(table)
    for dim, why in summary["skipped"].items():
        console.print(f"{dim} skipped: {why}")
    for dim, why in summary.get("notes", {}).items():
        console.print(f"{dim}: adaptation refused ({why}); those texts are read by the "
                      "zero-shot teacher")
    out.print(f"{summary['seconds']} s")


@classify.command("train")
@click.option("--dimension", type=click.Choice(["category", "cause"]), required=True)
@click.option("--model", "kind", type=click.Choice(KINDS[:4]), default="linear",
              show_default=True)
@click.option("--from-csv", "csv", type=FILE,
              help="Learn from this file instead of the human labels in the warehouse.")
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--include-source-labels", is_flag=True,
              help="Also learn from the values the source systems gave (e.g. agents' wrap-up "
                   "codes in contacts.category / contacts.cause).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def train(ctx: click.Context, dimension: str, kind: str, csv: Path | None, text_col: str,
          label_col: str, include_source_labels: bool, as_json: bool) -> None:
    """Train a model on labelled contacts, evaluate it on a held-out fifth, and register it as
    the model in use (`cxhub classify run` then relabels with it)."""
    from cxhub.services.classification import training as service

    with open_warehouse(ctx) as wh:
        try:
            data = service.read_labelled_csv(csv, text_col, label_col) if csv else None
            summary = service.train(wh, dimension, kind, data=data,
                                    source=f"csv:{csv}" if csv else "human labels",
                                    include_source=include_source_labels)
        except CxhubError as exc:
            fail(str(exc))
    if as_json:
        print_json(summary)
        return
    ev = summary["evaluation"]
    out.print(f"registered {kind} model {summary['version']} for {dimension} "
              f"({summary['n_train']:,} labelled texts, {len(summary['classes'])} labels)")
    if ev.get("held_out"):
        out.print(f"held-out {ev['held_out']:.0%}: accuracy {ev['accuracy']:.3f}, "
                  f"macro-F1 {ev['macro_f1']:.3f} on {ev['n_test']:,} texts")
    else:
        console.print("too few labels per class for a held-out evaluation")


def _labelled(path: Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    from cxhub.services.classification.training import read_labelled_csv

    try:
        return read_labelled_csv(path, text_col, label_col)
    except CxhubError as exc:
        fail(str(exc))
        raise  # unreachable: fail exits


def _print_report(report: dict[str, Any], title: str) -> None:
    table = Table("label", "precision", "recall", "F1", "support", title=title)
    for row in report["per_class"]:
        table.add_row(row["label"], f"{row['precision']:.3f}", f"{row['recall']:.3f}",
                      f"{row['f1']:.3f}", f"{row['support']:,}")
    out.print(table)
    out.print(f"accuracy {report['accuracy']:.4f}  macro-F1 {report['macro_f1']:.4f}  "
              f"({report['n_test']:,} texts, trained on {report['n_train']:,})")


@classify.command("evaluate")
@click.option("--train", "train_file", type=FILE, required=True, help="Labelled CSV to learn.")
@click.option("--test", "test_file", type=FILE, required=True, help="Labelled CSV to score.")
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--per-class", type=click.IntRange(min=1),
              help="Train on this many examples of each label (drawn with --seed).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--model", "kind", type=click.Choice(KINDS), default="linear", show_default=True,
              help="zeroshot ignores the training labels (its texts only adapt it); its test "
                   "labels must be names of --dimension in the taxonomy.")
@click.option("--dimension", type=click.Choice(["category", "cause"]), default="category",
              show_default=True, help="For --model zeroshot and fewshot.")
@taxonomy_option
@click.option("--json", "as_json", is_flag=True,
              help='Print {"accuracy", "macro_f1", "n_test", ...} as JSON.')
@click.pass_context
def evaluate(ctx: click.Context, train_file: Path, test_file: Path, text_col: str,
             label_col: str, per_class: int | None, seed: int, kind: str, dimension: str,
             taxonomy: Path | None, as_json: bool) -> None:
    """Train on one file, print accuracy and macro-F1 on the other (no warehouse needed)."""
    from cxhub.services.classification import training as service

    train_data = _labelled(train_file, text_col, label_col)
    test_data = _labelled(test_file, text_col, label_col)
    tax = _taxonomy(ctx, taxonomy) if kind in ("zeroshot", "fewshot") else None
    try:
        report = service.evaluate_files(train_data, test_data, kind=kind, per_class=per_class,
                                        seed=seed, dimension=dimension, taxonomy=tax).to_dict()
    except (CxhubError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(report)
        return
    _print_report(report, f"{kind} on {test_file.name}")


@classify.command("cross-validate")
@click.argument("file", type=FILE)
@click.option("--text-col", default="text", show_default=True)
@click.option("--label-col", default="label", show_default=True)
@click.option("--folds", type=click.IntRange(min=2), default=5, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--model", "kind", type=click.Choice(KINDS[:3]), default="linear",
              show_default=True)
@click.option("--json", "as_json", is_flag=True)
def cross_validate(file: Path, text_col: str, label_col: str, folds: int, seed: int, kind: str,
                   as_json: bool) -> None:
    """k-fold cross-validated report of a labelled CSV: accuracy, macro-F1, and each label's
    precision and recall over the pooled out-of-fold predictions."""
    from cxhub.services.classification import training as service

    data = _labelled(file, text_col, label_col)
    try:
        report = service.cross_validate_file(data, kind=kind, folds=folds, seed=seed).to_dict()
    except (CxhubError, ValueError) as exc:
        fail(str(exc))
    if as_json:
        print_json(report)
        return
    _print_report(report, f"{kind}, {len(report['folds'])}-fold cross-validation")
    out.print("fold accuracies: " + ", ".join(f"{a:.3f}" for a in report["folds"]))


@classify.command("suggest")
@click.option("--dimension", type=click.Choice(["category", "cause"]), default="category",
              show_default=True)
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@taxonomy_option
@zero_shot_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def suggest(ctx: click.Context, dimension: str, limit: int, taxonomy: Path | None,
            zero_shot: str, as_json: bool) -> None:
    """The unlabelled contacts and mentions whose labels would help the model most: those it
    hesitates on between two labels, near-duplicates skipped. Label them with
    `cxhub classify label` or on the dashboard."""
    from cxhub.services.classification import training as service

    tax = _taxonomy(ctx, taxonomy)
    with open_warehouse(ctx) as wh:
        try:
            rows = service.suggest(wh, dimension=dimension, k=limit, taxonomy=tax,
                                   zero_shot=zero_shot)
        except CxhubError as exc:
            fail(str(exc))
    if as_json:
        print_json(rows)
        return
    table = Table("target", "id", "text", "likeliest", "margin")
    for r in rows:
        guess = " / ".join(f"{x['label']} {x['probability']:.2f}" for x in r["likeliest"])
        table.add_row(r["target"], str(r["id"]), r["text"][:90], guess, f"{r['margin']:.3f}")
    out.print(table)


@classify.command("label")
@click.argument("target", type=click.Choice(["contacts", "mentions"]))
@click.argument("record_id", metavar="ID", type=int)
@click.option("--dimension", type=click.Choice(["category", "cause", "sentiment"]),
              required=True)
@click.option("--label", required=True)
@click.option("--user", default=None, help="Who labels (default: your login name).")
@taxonomy_option
@click.pass_context
def label(ctx: click.Context, target: str, record_id: int, dimension: str, label: str,
          user: str | None, taxonomy: Path | None) -> None:
    """Set a human label on a contact or mention; it wins over every model label."""
    from cxhub.services.classification import training as service

    tax = _taxonomy(ctx, taxonomy)
    with open_warehouse(ctx) as wh:
        try:
            service.set_label(wh, target, record_id, dimension, label, user or _user(),
                              taxonomy=tax)
        except CxhubError as exc:
            fail(str(exc))
    out.print(f"{target} {record_id}: {dimension} = {label}")


@classify.command("import-labels")
@click.argument("file", type=FILE)
@click.option("--user", default=None, help="Recorded as the labeller (default: your login).")
@taxonomy_option
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def import_labels(ctx: click.Context, file: Path, user: str | None, taxonomy: Path | None,
                  as_json: bool) -> None:
    """Import human labels from a CSV: an `id` column (or `source` and `external_id`), an
    optional `target` (contacts or mentions), and `dimension` + `label` columns or one column
    per dimension (category, cause, sentiment)."""
    from cxhub.services.classification import training as service

    tax = _taxonomy(ctx, taxonomy)
    with open_warehouse(ctx) as wh:
        try:
            summary = service.import_labels(wh, file, user=user or _user(), taxonomy=tax)
        except CxhubError as exc:
            fail(str(exc))
    if as_json:
        print_json(summary)
        return
    out.print(f"{summary['imported']:,} labels imported, {summary['unchanged']:,} unchanged, "
              f"{len(summary['skipped']):,} skipped")
    for row in summary["skipped"][:20]:
        console.print(f"line {row['line']}: {row['reason']}")


@classify.command("models")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def models(ctx: click.Context, as_json: bool) -> None:
    """The registered models, newest first; the newest active one per dimension is in use."""
    with open_warehouse(ctx) as wh:
        rows = wh.read("SELECT model_id, dimension, name, kind, version, trained_at, n_train, "
                       "active, evaluation->>'accuracy' FROM classifier_models "
                       "ORDER BY trained_at DESC NULLS LAST, model_id DESC")
    if as_json:
        keys = ("model_id", "dimension", "name", "kind", "version", "trained_at", "n_train",
                "active", "accuracy")
        print_json([dict(zip(keys, r, strict=True)) for r in rows])
        return
    table = Table("id", "dimension", "kind", "version", "trained", "labels", "active",
                  "held-out accuracy")
    for r in rows:
        acc = f"{float(r[8]):.3f}" if r[8] is not None else ""
        table.add_row(str(r[0]), r[1], r[3], r[4], f"{r[5]:%Y-%m-%d %H:%M}" if r[5] else "",
                      f"{r[6] or 0:,}", "yes" if r[7] else "no", acc)
    out.print(table)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
