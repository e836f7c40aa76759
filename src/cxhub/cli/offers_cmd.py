"""`cxhub offers load | list | learn | report | decide | evaluate`"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import click

from cxhub.cli.common import input_errors, open_warehouse, print_json, settings_from


@click.group()
def offers() -> None:
    """Offers and the next best action: catalogue, decisions, uplift and campaign evaluation."""


@offers.command("load")
@click.argument("file", required=False, type=click.Path(path_type=Path))
@click.option("--check", is_flag=True, help="Only check the file; write nothing.")
@click.pass_context
@input_errors
def load(ctx: click.Context, file: Path | None, check: bool) -> None:
    """Check a catalogue YAML and make it the catalogue (the demo's without FILE)."""
    from cxhub.services.offers import catalogue as store

    cat = store.read_file(file) if file else store.parse_yaml(store.demo_yaml(), "demo")
    triggers = store.triggers_of_yaml(file.read_text() if file else store.demo_yaml())
    if check:
        click.echo(f"{len(cat.offers)} offers, {len(cat.actions)} service actions, "
                   f"{len(triggers)} triggers: valid")
        return
    with open_warehouse(ctx) as wh:
        n = store.save(wh, cat, triggers)
    click.echo(f"catalogue saved: {n} entries ({len(cat.offers)} offers, "
               f"{len(triggers)} triggers)")


@offers.command("list")
@click.pass_context
def list_offers(ctx: click.Context) -> None:
    """The catalogue."""
    from cxhub.services.offers import catalogue as store

    with open_warehouse(ctx) as wh:
        cat = store.load(wh)
    for o in cat.offers:
        click.echo(f"{o.code:<20} {o.value:>8g}  control {o.control_share:.0%}  {o.title}")
    for a in cat.actions:
        click.echo(f"{a.code:<20} {'action':>8}  {'':12} {a.title}")


@offers.command("learn")
@click.option("--offer", "codes", multiple=True, help="Only these offers.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def learn(ctx: click.Context, codes: tuple[str, ...], seed: int, as_json: bool) -> None:
    """Measure each offer against its control group and train its uplift model."""
    from cxhub.services.offers import learning

    settings = settings_from(ctx)
    with open_warehouse(ctx) as wh:
        results = learning.learn(wh, settings.home / "models" / "offers", seed=seed,
                                 offers=list(codes) or None)
    if as_json:
        print_json(results)
        return
    for r in results:
        if "skipped" in r:
            click.echo(f"{r['offer_code']:<20} skipped: {r['skipped']}")
        else:
            click.echo(f"{r['offer_code']:<20} {r['decisions']:>7} decisions  uplift "
                       f"{r['uplift']:+.1%}  Qini {r['qini']:.4f}  "
                       f"top-30% uplift {_pct(r['uplift_at_30'])}")


def _pct(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.1%}"


def _rate(x: Any) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


@offers.command("report")
@click.option("--by", default="segment", show_default=True,
              type=click.Choice(["segment", "persona", "value_band", "channel"]))
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def report(ctx: click.Context, by: str, as_json: bool) -> None:
    """Acceptance offered vs control and incremental acceptance, per offer and group."""
    from cxhub.services.offers import learning

    with open_warehouse(ctx) as wh:
        reports = learning.latest_reports(wh)
    if as_json:
        print_json(reports)
        return
    if not reports:
        click.echo("nothing learned yet: run `cxhub offers learn`")
    for code, rep in sorted(reports.items()):
        click.echo(f"{code}  (trained {rep['trained_at'][:16]}, Qini {rep.get('qini') or 0:.4f})")
        rows = [("all", rep["all"]), *sorted(rep["by"].get(by, {}).items())]
        for name, e in rows:
            click.echo(f"  {name:<20} offered {e['offered']:>6} {_rate(e['rate_offered'])}  "
                       f"control {e['control']:>5} {_rate(e['rate_control'])}  uplift "
                       f"{_pct(e['uplift'])} [{_pct(e['uplift_low'])}, {_pct(e['uplift_high'])}]")


@offers.command("decide")
@click.option("--customer", help="A customer id in a source system (with --source).")
@click.option("--source", help="The source system of --customer.")
@click.option("--customer-id", type=int, help="The golden customer id.")
@click.option("--channel")
@click.option("--category")
@click.option("--cause")
@click.option("--sentiment")
@click.pass_context
def decide(ctx: click.Context, customer: str | None, source: str | None,
           customer_id: int | None, channel: str | None, category: str | None,
           cause: str | None, sentiment: str | None) -> None:
    """The next best actions for a customer in a contact (a dry run: nothing is recorded)."""
    from cxhub.services.offers.engine import Context, Engine

    with open_warehouse(ctx) as wh:
        engine = Engine(wh)
        print_json(engine.decide(customer_source=source, customer_external_id=customer,
                                 customer_id=customer_id, record=False,
                                 context=Context(channel, category, cause, sentiment)))


@offers.command("audience")
@click.argument("code")
@click.option("--file", "catalogue", type=click.Path(exists=True, path_type=Path),
              help="The YAML holding the trigger (the warehouse's catalogue without it).")
@click.option("--out", type=click.Path(path_type=Path), help="Write FILE.csv or FILE.parquet.")
@click.option("--webhook", help="POST the audience (control group left out) to this URL.")
@click.option("--record", is_flag=True,
              help="Put the audience on record in offer_decisions (with its control group).")
@click.pass_context
@input_errors
def audience(ctx: click.Context, code: str, catalogue: Path | None, out: Path | None,
             webhook: str | None, record: bool) -> None:
    """A trigger's audience: the customers a service event happened to, each with their
    control-group draw; exported for marketing automation, or sent by webhook."""
    import yaml

    from cxhub.domain.errors import CxhubError
    from cxhub.services.offers import catalogue as store
    from cxhub.services.offers import triggers as svc

    with open_warehouse(ctx) as wh:
        listed = (svc.from_yaml(yaml.safe_load(catalogue.read_text())) if catalogue
                  else store.load_triggers(wh, active_only=False))
        found = {t.code: t for t in listed}
        if code not in found:
            raise CxhubError(f"no trigger {code!r} (triggers: {', '.join(found) or 'none'})")
        frame = svc.audience(wh, found[code])
        if record:
            click.echo(f"recorded {svc.record(wh, frame)} new decisions")
    held = int(frame["control"].sum())
    click.echo(f"{code}: {len(frame)} customers, {held} held out as control")
    if out:
        svc.export(frame, out)
        click.echo(f"written {out}")
    if webhook:
        r = svc.send(frame, webhook, found[code])
        click.echo(f"sent {r['sent']} customers to {webhook} ({r['status']})")


@offers.command("evaluate")
@click.option("--data", "path", required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--treatment-col", required=True)
@click.option("--treatment", required=True, help="The value of the treated arm.")
@click.option("--control", required=True, help="The value of the control arm.")
@click.option("--outcome-col", required=True, help="0/1 (or yes/no, true/false) per row.")
@click.option("--features", default="", help="Comma-separated columns for the uplift model.")
@click.option("--seed", default=0, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@input_errors
def evaluate(path: Path, treatment_col: str, treatment: str, control: str, outcome_col: str,
             features: str, seed: int, as_json: bool) -> None:
    """The effect of a randomised campaign in a CSV: average effect with its 95% interval, and
    on a seeded 30% held-out split the uplift model's Qini and uplift in the top 30%."""
    from cxhub.services.offers.evaluate import evaluate as run

    feats = [f.strip() for f in features.split(",") if f.strip()]
    r = run(path, treatment_col=treatment_col, treatment=treatment, control=control,
            outcome_col=outcome_col, features=feats, seed=seed)
    if as_json:
        print_json(r)
        return
    click.echo(f"{r['rows']} rows: treated {r['treated']} ({r['treated_rate']:.2%}), "
               f"control {r['control']} ({r['control_rate']:.2%})")
    click.echo(f"average effect {r['ate']:+.2%}, 95% interval [{r['ate_low']:+.2%}, "
               f"{r['ate_high']:+.2%}]")
    if feats:
        click.echo(f"held-out 30%: Qini {r['qini']:.4f}, uplift in the top 30% "
                   f"{_pct(r['uplift_at_30'])}")
