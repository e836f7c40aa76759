"""How long the API's next write waits after another writer of records (listening's routing,
offers' triggers) added a few contacts, with many contacts stored.

    python bench/bench_write_after_other_writer.py [--rows 1000000] [--rounds 3] [--before REV]

A warehouse of `--rows` contacts (DuckDB SQL, in a temporary folder), the API's record sink made
on it (its key index built, as at a server's start), one warm-up write; then `--rounds` times:
another writer adds 10 contacts with `write_rows` in a writer job of its own (as routing does),
and one contact is written through the sink, timed. With `--before REV`, the same in a child
process running cxhub as at git revision REV (`git archive` of its `src/`), interleaved: before
the one write path, such a write rebuilt the sink's key index (a scan of every key).
Prints one JSON document with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import sys, time, tempfile
from pathlib import Path
from datetime import datetime
from cxhub.domain.canonical import CONTACTS
from cxhub.warehouse import Warehouse
from cxhub.services.records.api import RecordSink, write_rows
rows, rounds = int(sys.argv[1]), int(sys.argv[2])
with tempfile.TemporaryDirectory() as tmp:
    wh = Warehouse.open(Path(tmp) / "cxhub.duckdb")
    wh.write(lambda con: con.execute(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, batch_id) "
        f"SELECT i + 1, 'pre', 'p' || i, 'phone', TIMESTAMP '2024-01-01', 1 "
        f"FROM range({rows}) t(i)"),
        groupable=False)
    sink = RecordSink(wh)
    def c(k):
        return {"source": "api", "external_id": k, "channel": "phone",
                "created_at": datetime(2024, 5, 1)}
    sink.submit("contacts", [c("warm")]).result()
    out = []
    for r in range(rounds):
        wh.write(lambda con: write_rows(con, CONTACTS, [[c(f"other-{r}-{i}") for i in range(10)]]))
        t = time.perf_counter()
        sink.submit("contacts", [c(f"next-{r}")]).result()
        out.append(round((time.perf_counter() - t) * 1000, 1))
    wh.close()
print(" ".join(map(str, out)))
"""


def source_at(rev: str, work: Path) -> Path:
    root = Path(__file__).resolve().parent.parent
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(work)], input=archive, check=True)
    return work / "src"


def measure(rows: int, rounds: int, src: Path | None) -> list[float]:
    env = {**os.environ, **({"PYTHONPATH": str(src)} if src else {})}
    out = subprocess.run([sys.executable, "-c", _CHILD, str(rows), str(rounds)], env=env,
                         capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", metavar="REV", help="also run cxhub as at this git revision")
    args = ap.parse_args()
    result: dict[str, object] = {"benchmark": "write_after_other_writer", "rows": args.rows,
                                 "rounds": args.rounds, "before": args.before}
    with tempfile.TemporaryDirectory() as tmp:
        old = source_at(args.before, Path(tmp)) if args.before else None
        for name, src in (("before", old), ("now", None)):
            if name == "before" and src is None:
                continue
            ms = measure(args.rows, args.rounds, src)
            result[name] = {"median_ms": statistics.median(ms), "runs_ms": ms}
            print(f"{name}: {ms} ms; load {os.getloadavg()[0]:.1f}", file=sys.stderr)
    result["load_average"] = round(os.getloadavg()[0], 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
