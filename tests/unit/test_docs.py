"""The documentation names every canonical field and every CLI command: it cannot drift."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import click
from click.testing import CliRunner

from cxhub.cli.main import main
from cxhub.domain.canonical import RECORD_KINDS
from cxhub.ingest.mapping import builtin_formats

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = Path(__file__).resolve().parents[2] / "README.md"
SRC = Path(__file__).resolve().parents[2] / "src" / "cxhub"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command's words after `cxhub`, groups and their subcommands alike."""
    for name, command in group.commands.items():
        yield (*path, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))


def _all_docs() -> str:
    return README.read_text() + "".join(p.read_text() for p in sorted(DOCS.glob("*.md")))


def test_every_canonical_field_is_documented() -> None:
    text = (DOCS / "mappings.md").read_text()
    block = text.split("<!-- canonical-fields:start -->")[1]
    block = block.split("<!-- canonical-fields:end -->")[0]
    for kind in RECORD_KINDS.values():
        section = block.split(f"### `{kind.table}`")[1].split("### ")[0]
        documented = set(re.findall(r"^\| `([a-z_0-9]+)` \|", section, re.M))
        assert documented == set(kind.field_names), kind.table


def test_every_builtin_format_is_documented() -> None:
    text = (DOCS / "mappings.md").read_text()
    for fmt in builtin_formats():
        assert f"| `{fmt}` |" in text, fmt


def test_every_command_has_help_and_is_in_the_readme() -> None:
    readme = README.read_text()
    runner = CliRunner()
    for name, command in main.commands.items():
        assert command.help, f"cxhub {name} has no help text"
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, result.output
        assert f"cxhub {name}" in readme, f"README does not mention `cxhub {name}`"


def test_every_subcommand_has_help_and_is_documented() -> None:
    docs = _all_docs()
    runner = CliRunner()
    for words in _commands(main):
        result = runner.invoke(main, [*words, "--help"])
        assert result.exit_code == 0, result.output
        command = main
        for word in words:
            command = command.commands[word]  # type: ignore[attr-defined]
        assert command.help, f"cxhub {' '.join(words)} has no help text"
        assert f"cxhub {' '.join(words)}" in docs, (
            f"neither README nor docs/ mention `cxhub {' '.join(words)}`")


def test_every_cxhub_variable_the_code_names_is_a_documented_setting() -> None:
    # Read through Settings or straight from the environment: either way the README says it,
    # and the README names no variable the code does not know.
    from cxhub.settings import Settings

    known = {f"CXHUB_{name.upper()}" for name in Settings.model_fields}
    named = {v for p in SRC.rglob("*.py") for v in re.findall(r"CXHUB_[A-Z0-9_]+", p.read_text())}
    readme = set(re.findall(r"CXHUB_[A-Z0-9_]+", README.read_text()))
    assert named - readme == set(), "named in the code, not in the README"
    assert readme - known - named == set(), "in the README, unknown to the code"


def test_every_setting_is_in_the_readme() -> None:
    from cxhub.settings import Settings

    readme = README.read_text()
    for name in Settings.model_fields:
        assert f"CXHUB_{name.upper()}" in readme, f"README does not mention CXHUB_{name.upper()}"


def test_every_doc_is_linked_from_the_readme() -> None:
    readme = README.read_text()
    for doc in sorted(DOCS.glob("*.md")):
        assert f"](docs/{doc.name})" in readme, f"README does not link docs/{doc.name}"
