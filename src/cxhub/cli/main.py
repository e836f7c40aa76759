"""The `cxhub` entry point."""

from __future__ import annotations

from importlib import import_module

import click

from cxhub import __version__

# Command name -> the module that defines it (as an attribute of the same name). A module is
# imported only when its command runs, or when help lists the commands: `cxhub ingest` does
# not import what the other commands need (scikit-learn, SciPy, Ibis ...), a second and a
# half of start-up on two cores. A new command is one line here.
COMMANDS = {
    "ingest": "cxhub.cli.ingest_cmd",
    "keys": "cxhub.cli.admin_cmd",
    "status": "cxhub.cli.admin_cmd",
    "quarantine": "cxhub.cli.admin_cmd",
    "serve": "cxhub.cli.serve_cmd",
    "demo": "cxhub.cli.demo_cmd",
    "simulate": "cxhub.cli.simulate_cmd",
    "metrics": "cxhub.cli.metrics_cmd",
    "publish": "cxhub.cli.publish_cmd",
    "segments": "cxhub.cli.segments_cmd",
    "users": "cxhub.cli.users_cmd",
    "resolve": "cxhub.cli.identity_cmd",
    "review": "cxhub.cli.identity_cmd",
    "listen": "cxhub.cli.listen_cmd",
    "classify": "cxhub.cli.classify_cmd",
    "problems": "cxhub.cli.problems_cmd",
    "forecast": "cxhub.cli.forecast_cmd",
    "staff": "cxhub.cli.staff_cmd",
    "offers": "cxhub.cli.offers_cmd",
}


class _LazyGroup(click.Group):
    """A group whose commands are imported on first use. `commands` (every command, imported)
    stays available for code that lists them."""

    @property  # type: ignore[override]
    def commands(self) -> dict[str, click.Command]:
        for name in COMMANDS:
            self._load(name)
        return self._loaded

    @commands.setter
    def commands(self, value: dict[str, click.Command]) -> None:
        self._loaded = dict(value)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self._loaded})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    def add_command(self, cmd: click.Command, name: str | None = None) -> None:
        self._loaded[name or str(cmd.name)] = cmd

    def _load(self, name: str) -> click.Command | None:
        if name not in self._loaded and name in COMMANDS:
            self._loaded[name] = getattr(import_module(COMMANDS[name]), name)
        return self._loaded.get(name)


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cxhub")
@click.option("--home", type=click.Path(file_okay=False), envvar="CXHUB_HOME",
              help="Folder of the warehouse file (default ./cxhub-data; env CXHUB_HOME).")
def main(home: str | None) -> None:
    """cxhub: one place where every customer and every contact is known, heard and measured."""
