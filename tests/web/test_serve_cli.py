"""`cxhub serve` as an operator runs it: a second server on the same home is told why, in one
line, without a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.conftest import run_cli
from tests.web.conftest import free_port, start


@pytest.mark.slow
def test_a_second_serve_on_the_same_home_says_why(tmp_path: Path) -> None:
    server = start(tmp_path)
    try:
        second = run_cli("serve", "--port", str(free_port()), home=tmp_path, check=False,
                         timeout=60)
    finally:
        server.stop()
    assert second.returncode == 2
    assert "Traceback" not in second.stderr + second.stdout
    assert "open in another cxhub process" in second.stderr
