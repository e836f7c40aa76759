"""`cxhub serve` and `cxhub demo` as an operator runs them: a second server on the same home is
told why, in one line, without a traceback; the demo serves from a fresh `cxhub serve`."""

from __future__ import annotations

import os
import platform
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from tests.conftest import run_cli
from tests.web.conftest import Server, free_port, healthy, start


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


def test_a_demo_period_too_short_to_simulate_is_refused_in_one_line(tmp_path: Path) -> None:
    done = run_cli("demo", "--data", str(tmp_path / "demo-data"), "--days", "20",
                   home=tmp_path, check=False, timeout=60)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "'--days': 20 is not in the range" in done.stderr
    assert not (tmp_path / "demo-data").exists()


@pytest.mark.slow
@pytest.mark.skipif(platform.system() != "Linux", reason="reads the process's /proc entry")
def test_the_demo_hands_over_to_a_fresh_cxhub_serve(tmp_path: Path) -> None:
    """Once built, `cxhub demo` becomes `cxhub serve` in the same process (a new program): the
    server starts with the allocator settled before any thread has run, without what the build
    left in memory, on the same home, port and live feed."""
    port = free_port()
    log = tmp_path / "demo.log"
    env = {**os.environ, "CXHUB_HOME": str(tmp_path / "home"), "CXHUB_PORT": str(port)}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxhub", "demo", "--data", str(tmp_path / "data"),
             "--customers", "300", "--days", "28"], stdout=fh, stderr=subprocess.STDOUT, env=env)
    server = healthy(Server(f"http://127.0.0.1:{port}", tmp_path, proc, log), timeout=300)
    try:
        program = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
        assert b"serve" in program and b"demo" not in program
        environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
        assert b"CXHUB_DEMO_LIVE_FEED=true" in environ
        key = re.search(r"X-API-Key: (\S+)\)", log.read_text())
        assert key, log.read_text()  # the key the demo made answers on the served home
        answer = httpx.get(f"http://127.0.0.1:{port}/api/v1/problems",
                           headers={"X-API-Key": key[1]}, timeout=10)
        assert answer.status_code == 200, answer.text
    finally:
        server.stop()
