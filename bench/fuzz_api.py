"""The REST API fuzzed for longer than the suite does, once per key scope, against a real server.

    python bench/fuzz_api.py                           # 50 examples per operation and scope
    python bench/fuzz_api.py --examples 200 --budget 1800 --scopes admin

One `cxhub serve` (as users run it) on a fresh warehouse in a temporary folder holding 50
contacts loaded with `cxhub ingest`; one key per scope made with `cxhub keys create`
(ingest, read, admin). For each scope, schemathesis generates requests, valid and invalid,
for every operation of the server's own `/openapi.json` (`--examples` per operation, seeded:
the same run gives the same cases) and sends them with that scope's key. Each answer is
checked as in the suite (`tests/web/test_api_fuzz.py`): no 5xx, status codes, content types
and bodies as documented, invalid requests refused; left out, as there, the check that every
schema-valid request is accepted (JSON Schema cannot say "a time from 1850 up to tomorrow").
A request refused for its scope (403) is a right answer, and documented.

Reported per scope: cases sent, operations run, server errors, answers that break the schema
(response body, status code or content type not as documented), other failed checks, and the
first few of each with the operation. `--budget` bounds the wall time: operations not reached
in it are listed as not run. Keys are only made by the CLI; a run whose admin fuzzing revokes
a key (DELETE /api/v1/keys/{id} with a guessed id) says so, as later answers are then 401s.
Prints one JSON document on stdout; progress on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

SCOPES = ("ingest", "read", "admin")
SERVER_ERRORS = {"ServerError", "ContentTypeServerError"}
SCHEMA = {"JsonSchemaError", "UndefinedStatusCode", "UndefinedContentType", "MissingContentType",
          "MalformedJson", "MalformedMediaType", "DiscriminatorMismatch", "MissingHeaders",
          "ContentDeserializationError"}


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "cxhub", *args], capture_output=True, text=True,
                          env={**os.environ, "CXHUB_HOME": str(home)}, timeout=300)
    if done.returncode != 0:
        raise SystemExit(f"cxhub {' '.join(args)} failed:\n{done.stderr}")
    return done


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(home: Path) -> dict[str, str]:
    """50 contacts loaded as a file, and a key per scope: {scope: secret}."""
    data = home.parent / "contacts.csv"
    data.write_text("source,external_id,channel,created_at,queue,wait_seconds\n" + "".join(
        f"shop,c{i},{('phone', 'email', 'chat', 'web')[i % 4]},2026-03-{1 + i % 28:02d} "
        f"{8 + i % 9:02d}:15:00,billing,{30 + i}\n" for i in range(50)))
    cli(home, "ingest", "generic", "--kind", "contacts", str(data))
    keys = {}
    for scope in SCOPES:
        made = cli(home, "keys", "create", "--name", f"fuzz-{scope}", "--scope", scope)
        keys[scope] = made.stdout.strip().splitlines()[0]
    return keys


def serve(home: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log = open(home / "serve.log", "wb")  # noqa: SIM115 - open for the server's lifetime
    proc = subprocess.Popen([sys.executable, "-m", "cxhub", "serve", "--port", str(port)],
                            stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "CXHUB_HOME": str(home)})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"cxhub serve did not start:\n{(home / 'serve.log').read_text()}")


def failures_of(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [f for inner in exc.exceptions for f in failures_of(inner)]
    return [exc]


def fuzz_scope(schema: Any, scope: str, secret: str, examples: int, seed: int,
               deadline: float) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {secret}"}
    cases, run, not_run = 0, 0, []
    kinds: Counter[str] = Counter()
    statuses: Counter[str] = Counter()
    found: dict[str, list[str]] = {"server_errors": [], "schema": [], "other": []}
    for result in schema.get_all_operations():
        operation = result.ok()
        if time.monotonic() > deadline:
            not_run.append(operation.label)
            continue
        run += 1
        label = operation.label

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck), print_blob=False)
        def fuzz(case: Any) -> None:
            nonlocal cases
            cases += 1
            try:
                answer = case.call_and_validate(headers=headers,
                                                excluded_checks=[positive_data_acceptance])
                statuses[f"{answer.status_code // 100}xx"] += 1
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - counted, not raised
                for failure in failures_of(exc):
                    kind = type(failure).__name__
                    kinds[kind] += 1
                    group = ("server_errors" if kind in SERVER_ERRORS
                             else "schema" if kind in SCHEMA else "other")
                    if len(found[group]) < 5:
                        title = getattr(failure, "title", "") or str(failure)[:200]
                        found[group].append(f"{label}: {kind}: {title}")  # noqa: B023

        fuzz()
    return {"cases": cases, "operations_run": run, "operations_not_run": not_run,
            "server_errors": sum(kinds[k] for k in SERVER_ERRORS),
            "schema_violations": sum(kinds[k] for k in SCHEMA),
            "other_failed_checks": sum(n for k, n in kinds.items()
                                       if k not in SERVER_ERRORS | SCHEMA),
            "by_kind": dict(kinds), "passed_by_status": dict(statuses), "first": found}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="examples per operation")
    parser.add_argument("--scopes", default=",".join(SCOPES))
    parser.add_argument("--budget", type=float, default=300.0, help="seconds for all scopes")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scopes = [s for s in args.scopes.split(",") if s]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="cxhub-fuzz-") as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        keys = prepare(home)
        proc, url = serve(home)
        report: dict[str, Any] = {}
        try:
            schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
            for i, scope in enumerate(scopes):
                # Each scope gets an equal share of what is left of the budget.
                share = (args.budget - (time.monotonic() - started)) / (len(scopes) - i)
                say(f"fuzzing with the {scope} key ({share:.0f} s at most)")
                t0 = time.monotonic()
                report[scope] = fuzz_scope(schema, scope, keys[scope], args.examples, args.seed,
                                           time.monotonic() + share)
                report[scope]["seconds"] = round(time.monotonic() - t0, 1)
                still = httpx.get(f"{url}/api/v1/metrics", timeout=30,
                                  headers={"Authorization": f"Bearer {keys[scope]}"})
                report[scope]["key_still_valid"] = still.status_code != 401
                say(f"  {report[scope]['cases']} cases, {report[scope]['server_errors']} server "
                    f"errors, {report[scope]['schema_violations']} schema violations")
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        logged = (home / "serve.log").read_text()
    print(json.dumps({
        "command": "python bench/fuzz_api.py " + " ".join(sys.argv[1:]),
        "examples_per_operation": args.examples, "budget_s": args.budget,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "load_at_end": os.getloadavg()[0]},
        "schemathesis": schemathesis.__version__,
        "total_cases": sum(r["cases"] for r in report.values()),
        "wall_s": round(time.monotonic() - started, 1),
        "server_tracebacks": len(re.findall(r"^Traceback", logged, re.M)),
        "scopes": report}, indent=2))


if __name__ == "__main__":
    main()
