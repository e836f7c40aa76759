"""`cxhub demo`: what `make demo` runs."""

from __future__ import annotations

from pathlib import Path

import click

from cxhub.cli.common import console, fail, say_error, settings_from
from cxhub.domain.errors import CxhubError


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False, path_type=Path),
              default=Path("demo-data"), show_default=True,
              help="Where the simulated company's files are written (cached).")
@click.option("--customers", type=click.IntRange(min=1), default=50_000, show_default=True)
@click.option("--days", type=click.IntRange(min=28), default=365, show_default=True,
              help="Length of the simulated period in days.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--fix-effect", type=click.FloatRange(min=0.0, max=1.0, max_open=True),
              default=0.3, show_default=True,
              help="Share of one cause's contacts the planted permanent fix removes.")
@click.option("--no-serve", is_flag=True, help="Prepare everything, then exit.")
@click.option("--live/--no-live", default=True, show_default=True,
              help="Keep the company working: new contacts arrive while you watch.")
@click.pass_context
def demo(ctx: click.Context, data_dir: Path, customers: int, days: int, seed: int,
         fix_effect: float, no_serve: bool, live: bool) -> None:
    """Simulate the demo company (once), load it, compute everything, serve the web app."""
    from cxhub.services.demo.run import DemoParams, demo_login, load_once, simulate_once
    from cxhub.warehouse import Warehouse

    settings = settings_from(ctx)
    if not no_serve:  # before minutes of simulating and loading, not after
        from cxhub.cli.serve_cmd import ensure_port_free

        ensure_port_free(settings)

    def say(msg: str) -> None:
        console.print(f"[cyan]demo[/] {msg}", highlight=False, soft_wrap=True)

    try:
        manifest = simulate_once(data_dir, DemoParams(customers, days, seed, fix_effect), say)
        with Warehouse.open(settings.warehouse_path, memory_limit=settings.memory_limit) as wh:
            report, pipeline = load_once(wh, manifest, settings, say)
            login = demo_login(wh, settings)
    except CxhubError as exc:
        fail(str(exc))
        return
    if report is not None:
        t = report.totals
        say(f"loaded {t['loaded']:,} rows ({t['quarantined']:,} quarantined, "
            f"{t['existing']:,} already present)")
        for path, why in report.failed.items():
            say_error(f"{path}: {why}", "not loaded")
    if pipeline is not None:
        for step in pipeline.steps:
            say(f"{step.name}: {step.seconds:.1f} s")
    if no_serve:
        return
    base = f"http://{settings.host}:{settings.port}"
    say(f"public page  {base}/")
    say(f"dashboard    {base}/app" + (f"  (user {login.user}, password {login.password})"
                                         if login else ""))
    say(f"API docs     {base}/docs" + (f"  (header X-API-Key: {login.api_key})"
                                          if login else ""))
    from cxhub.cli.serve_cmd import serve_afresh

    settings.demo_live_feed = live
    serve_afresh(settings)
