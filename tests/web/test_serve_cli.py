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


def test_a_taken_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    """Another program listens on the port: `serve` and `demo` say so in one line, at once
    (the demo before it simulates anything), instead of uvicorn's message after a start-up
    whose shutdown printed tracebacks."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        served = run_cli("serve", "--port", port, home=tmp_path / "a", check=False, timeout=60)
        demo = run_cli("demo", "--data", str(tmp_path / "demo-data"), home=tmp_path / "b",
                       check=False, timeout=60, env={"CXHUB_PORT": port})
    for done in (served, demo):
        out = done.stderr + done.stdout
        assert done.returncode == 2, out
        assert "Traceback" not in out
        assert f"cannot listen on 127.0.0.1:{port}" in out and "--port" in out
    assert not (tmp_path / "demo-data").exists()  # nothing simulated
