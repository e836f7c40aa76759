"""Disks that refuse writes, made honestly: a small tmpfs that fills up (ENOSPC) and file
permissions that deny writing (EACCES), with the real `cxhub` commands run against them.

A tmpfs needs a mount, which needs a mount namespace of our own (`unshare -rm`: no root
needed where unprivileged user namespaces are allowed); every command that must see the small
disk enters that namespace with `nsenter`. Root ignores file permissions, so a root test run
maps itself to an ordinary user in a user namespace for the permission tests. Where the
kernel allows neither, the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from tests.web.conftest import Server, free_port

CXHUB = [sys.executable, "-m", "cxhub"]


def _works(prefix: list[str]) -> bool:
    try:
        return subprocess.run([*prefix, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def plain_user() -> list[str]:
    """A command prefix under which file permissions apply to `cxhub`."""
    if os.geteuid() != 0:
        return []
    prefix = ["unshare", "-U", "--map-user=1000", "--map-group=1000"]
    if not shutil.which("unshare") or not _works(prefix):
        pytest.skip("running as root, and no user namespace to drop root in: permissions "
                    "would not apply")
    return prefix


class SmallDisk:
    """A tmpfs of `size` mounted at `at`, seen only by the commands run through `run`/`popen`.

    A process holds the mount namespace (sleeping) until `close`.
    """

    def __init__(self, at: Path, size: str) -> None:
        if not shutil.which("unshare") or not shutil.which("nsenter"):
            pytest.skip("unshare/nsenter not installed: no small disk to fill")
        at.mkdir(parents=True, exist_ok=True)
        self.at = at
        self._holder = subprocess.Popen(
            ["unshare", "-rm", "sh", "-c",
             f"mount -t tmpfs -o size={size} tmpfs '{at}' && echo ready && exec sleep 3600"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self._holder.stdout is not None
        if self._holder.stdout.readline().strip() != "ready":
            reason = self._holder.stderr.read() if self._holder.stderr else ""  # type: ignore[union-attr]
            self._holder.wait()
            pytest.skip(f"cannot mount a small tmpfs in a namespace of our own: {reason.strip()}")

    def _enter(self, args: list[str]) -> list[str]:
        return ["nsenter", "-t", str(self._holder.pid), "-U", "-m", "--preserve-credentials",
                "--", *args]

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Any command, in the namespace that sees the small disk."""
        return subprocess.run(self._enter(list(args)), capture_output=True, text=True,
                              timeout=timeout, env={**os.environ, "CXHUB_HOME": str(self.at)})

    def cxhub(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return self.run(*CXHUB, *args, timeout=timeout)

    def fill(self, name: str, size: int) -> None:
        """Take `size` bytes of the disk with a file of zeros (tmpfs keeps every byte)."""
        done = self.run("sh", "-c", f"head -c {size} /dev/zero > '{self.at / name}'")
        assert done.returncode == 0, done.stderr

    def serve(self, log: Path) -> Server:
        """`cxhub serve` on the small disk's warehouse."""
        port = free_port()
        with open(log, "wb") as fh:
            proc = subprocess.Popen(self._enter([*CXHUB, "serve", "--port", str(port)]),
                                    stdout=fh, stderr=subprocess.STDOUT,
                                    env={**os.environ, "CXHUB_HOME": str(self.at)})
        server = Server(f"http://127.0.0.1:{port}", self.at, proc, log)
        wait_healthy(server)
        return server

    def close(self) -> None:
        self._holder.send_signal(signal.SIGKILL)
        self._holder.wait(timeout=30)


def wait_healthy(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise AssertionError(f"cxhub serve exited {server.process.returncode}:\n"
                                 f"{server.log.read_text()}")
        try:
            if httpx.get(f"{server.url}/healthz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"not healthy in {timeout}s:\n{server.log.read_text()}"
        time.sleep(0.05)
