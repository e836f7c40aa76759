"""Fixtures shared by every test folder: a fresh warehouse file, the shared data, the CLI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cxhub.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# Whole folders of the slow tier (`make check` leaves them out, `make test` runs them): each test
# there starts chromium, starts Java for Spark, or reads and models the real data sets.
SLOW_FOLDERS = ("browser", "backends", "realdata")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).resolve().parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0] if item.path.is_relative_to(tests) else ""
        if folder in SLOW_FOLDERS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def migrated_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new warehouse file with every migration run, made once per session: each test gets a
    copy (a few milliseconds) instead of running the migrations again (150-350 ms)."""
    path = tmp_path_factory.mktemp("migrated") / "cxhub.duckdb"
    Warehouse.open(path).close()
    beside = [p.name for p in path.parent.iterdir() if p != path]
    assert not beside, f"closing left {beside} beside the file: a copy would miss them"
    return path


@pytest.fixture
def warehouse(tmp_path: Path, migrated_file: Path) -> Iterator[Warehouse]:
    """A new, migrated warehouse file for this test only (a copy of `migrated_file`)."""
    path = tmp_path / "cxhub.duckdb"
    shutil.copyfile(migrated_file, path)
    wh = Warehouse.open(path)
    try:
        yield wh
    finally:
        wh.close()


@pytest.fixture
def shared_data() -> Path:
    """The real public data sets beside the repository; tests skip where they are absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it sits beside the repo in CI)")
    return SHARED_DATA


def run_cli(*args: str, home: Path, check: bool = True, timeout: float = 300,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run `cxhub ARGS` as a user would, in its own process."""
    full_env = {**os.environ, "CXHUB_HOME": str(home), **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "cxhub", *args], capture_output=True, text=True,
        env=full_env, timeout=timeout,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"cxhub {' '.join(args)} exited {proc.returncode}:\n{proc.stderr}")
    return proc
