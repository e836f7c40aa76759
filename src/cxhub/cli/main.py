"""The `cxhub` entry point."""

from __future__ import annotations

import click

from cxhub import __version__
from cxhub.cli.admin_cmd import keys, quarantine, status
from cxhub.cli.demo_cmd import demo
from cxhub.cli.ingest_cmd import ingest
from cxhub.cli.identity_cmd import resolve, review
from cxhub.cli.metrics_cmd import metrics
from cxhub.cli.publish_cmd import publish
from cxhub.cli.segments_cmd import segments
from cxhub.cli.serve_cmd import serve
from cxhub.cli.users_cmd import users
from cxhub.cli.simulate_cmd import simulate


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cxhub")
@click.option("--home", type=click.Path(file_okay=False), envvar="CXHUB_HOME",
              help="Folder of the warehouse file (default ./cxhub-data; env CXHUB_HOME).")
def main(home: str | None) -> None:
    """cxhub: one place where every customer and every contact is known, heard and measured."""


for command in (ingest, keys, status, quarantine, serve, demo, simulate,
                metrics, publish, segments, users, resolve, review):
    main.add_command(command)
