"""A real `cxhub serve` in its own process, on a free loopback port, with keys made by the CLI.

The server holds the warehouse file's lock while it runs, so keys are created (and revoked)
with `cxhub keys ...` before it starts, and rows are counted in the file after it stops.
One shared server serves most tests; tests that need their own settings or must look inside
the file start their own with `start_server`.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import run_cli
from tests.web.dashboard_fixtures import role_user_rows

_START_TIMEOUT = 30.0


def create_key(home: Path, *scopes: str, name: str = "test") -> tuple[int, str]:
    """`cxhub keys create --scope ...`: the key's id and its secret, as a user gets them."""
    args = ["keys", "create", "--name", name]
    for scope in scopes:
        args += ["--scope", scope]
    proc = run_cli(*args, home=home, timeout=60)
    found = re.search(r"key (\d+) ", proc.stderr)
    assert found, f"no key id in: {proc.stderr!r}"
    return int(found.group(1)), proc.stdout.strip().splitlines()[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running `cxhub serve`: its URL, its home folder and the keys made for it."""

    url: str
    home: Path
    process: subprocess.Popen[bytes]
    log: Path
    keys: dict[str, str] = field(default_factory=dict)

    def client(self, key: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.keys[key]}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30.0)

    def post(self, path: str, body: Any, key: str | None = "ingest_read") -> httpx.Response:
        with self.client(key) as c:
            return c.post(path, json=body)

    def get(self, path: str, key: str | None = "ingest_read") -> httpx.Response:
        with self.client(key) as c:
            return c.get(path)

    def stop(self) -> None:
        """Stop as an operator would (SIGTERM), so the warehouse is closed cleanly."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(
                    f"cxhub serve ignored SIGTERM; log:\n{self.log.read_text()}") from None


def start(home: Path, *, env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = home / f"serve-{port}.log"
    full_env = {**os.environ, "CXHUB_HOME": str(home), **(env or {})}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cxhub", "serve", "--port", str(port)],
            stdout=fh, stderr=subprocess.STDOUT, env=full_env,
        )
    return healthy(Server(f"http://127.0.0.1:{port}", home, proc, log))


def healthy(server: Server, timeout: float = _START_TIMEOUT) -> Server:
    """`server` once it answers /healthz; stopped, and the test failed with its log, if it
    exits or does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise AssertionError(
                f"cxhub exited {server.process.returncode}:\n{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise AssertionError(
                f"cxhub serve not healthy in {timeout}s:\n{server.log.read_text()}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def role_users(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Any, ...]]:
    """One user per role (`dashboard_fixtures.ROLES`), made once: each password hash costs
    40-200 ms of scrypt by design, and the `dashboard` fixture needs four per test."""
    return role_user_rows(tmp_path_factory.mktemp("users"))


# Keys every shared-server test may use, by the name tests refer to them with.
KEY_SCOPES = {
    "ingest": ("ingest",),
    "read": ("read",),
    "admin": ("admin",),
    "ingest_read": ("ingest", "read"),
}


@pytest.fixture(scope="session")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for the web tests, with a key per scope and one revoked key."""
    home = tmp_path_factory.mktemp("cxhub-api")
    keys = {name: create_key(home, *scopes, name=name)[1] for name, scopes in KEY_SCOPES.items()}
    revoked_id, keys["revoked"] = create_key(home, "admin", name="revoked")
    run_cli("keys", "revoke", str(revoked_id), home=home, timeout=60)
    server = start(home)
    server.keys = keys
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start a server of this test's own, with keys of the given scopes and extra settings:
    `start_server(keys={"ingest_read": ("ingest", "read")}, env={"CXHUB_MAX_BODY_BYTES": "4096"})`.
    """
    started: list[Server] = []

    def _start(keys: dict[str, tuple[str, ...]] | None = None,
               env: dict[str, str] | None = None) -> Server:
        home = tmp_path / f"home{len(started)}"
        home.mkdir()
        made = {n: create_key(home, *s, name=n)[1] for n, s in (keys or {}).items()}
        server = start(home, env=env)
        server.keys = made
        started.append(server)
        return server

    try:
        yield _start
    finally:
        for server in started:
            server.stop()
