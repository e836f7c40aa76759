"""CXHUB_MEMORY_LIMIT: checked when read, applied to the warehouse's DuckDB connection (and so
to every read cursor made from it), and a bad value is one line naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from cxhub.cli.main import main
from cxhub.settings import Settings
from cxhub.warehouse import Warehouse


@pytest.mark.parametrize(("given", "kept"), [
    ("2GB", "2GB"), ("512 mb", "512MB"), ("1.5GiB", "1.5GIB"), ("25%", "25%"), (" 100% ", "100%"),
])
def test_a_size_or_a_share_is_accepted(given: str, kept: str) -> None:
    assert Settings(memory_limit=given).memory_limit == kept


@pytest.mark.parametrize("bad", ["", "lots", "0%", "0GB", "150%", "-1GB", "2 parsecs", "25"])
def test_anything_else_is_refused_naming_the_variable(bad: str) -> None:
    with pytest.raises(ValidationError, match="CXHUB_MEMORY_LIMIT"):
        Settings(memory_limit=bad)


def test_the_default_is_a_quarter_of_the_machine() -> None:
    assert Settings().memory_limit == "25%"


def _limit(wh: Warehouse) -> str:
    row = wh.read_one("SELECT current_setting('memory_limit')")
    assert row is not None
    return str(row[0])


def test_the_warehouse_connection_and_its_cursors_use_the_limit(tmp_path: Path) -> None:
    with Warehouse.open(tmp_path / "a.duckdb", memory_limit="300MB") as wh:
        assert _limit(wh) == "286.1 MiB"  # DuckDB shows 300 * 10^6 bytes in MiB
        assert wh.writer.run(lambda con: con.execute(
            "SELECT current_setting('memory_limit')").fetchone()[0]) == "286.1 MiB"
    with Warehouse.open(tmp_path / "a.duckdb", memory_limit="1GB") as wh:
        assert _limit(wh) == "953.6 MiB"


def test_a_bad_value_stops_a_command_with_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--home", str(tmp_path), "status"],
                                env={"CXHUB_MEMORY_LIMIT": "lots"})
    assert result.exit_code == 2
    assert "CXHUB_MEMORY_LIMIT='lots' is not a memory size" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "cxhub.duckdb").exists()
