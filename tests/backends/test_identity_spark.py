"""Identity resolution on Splink's Spark backend (local mode), against the DuckDB backend.

The same small population is resolved by each engine in a warehouse of its own. Both must find
the planted people (pairwise F1 against the truth), and agree with each other on nearly every
pair: they train on different random samples, so a borderline pair may fall either way.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from collections.abc import Iterator
from itertools import combinations
from pathlib import Path
from typing import Any

import pytest
from tests.warehouse.identity_people import population, write_csv

from cxhub.analytics.identity.settings import settings_from_dict
from cxhub.services.customers import identity
from cxhub.services.records.files import ingest_paths
from cxhub.warehouse import Warehouse

# Fewer random pairs for u than the default: the population is small, and Spark pays for each
# query it plans.
SETTINGS = settings_from_dict({"training": {"u_max_pairs": 200_000}})


@pytest.fixture(scope="module")
def spark_session() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra")
    from cxhub.warehouse.engines import spark_session as make_session

    # The warehouse's own Spark session, made without Splink's jar: the identity engine must
    # add the jar itself, as it would to a session someone else started.
    session = make_session("local[2]")
    try:
        yield session
    finally:
        session.stop()


def _resolve(tmp_path: Path, engine: str, **options: Any) -> dict[tuple[str, str], int]:
    rows = population(150, seed=5)
    with Warehouse.open(tmp_path / engine / "cxhub.duckdb") as wh:
        csv = write_csv(tmp_path / f"{engine}.csv", rows)
        assert not ingest_paths(wh, "generic", [csv], kind="source_records").failed
        report = identity.resolve(wh, settings=SETTINGS, engine=engine, engine_options=options)
        assert report.engine == engine and report.records == len(rows)
        return {(s, e): c for s, e, c in wh.read(
            "SELECT source, external_id, customer_id FROM customer_links")}


def _pairs(links: dict[tuple[str, str], int]) -> set[tuple[str, str]]:
    members: dict[int, list[str]] = defaultdict(list)
    for (source, external_id), customer in links.items():
        members[customer].append(f"{source}:{external_id}")
    return {tuple(sorted(p)) for m in members.values() for p in combinations(m, 2)}


def _f1(predicted: set[tuple[str, str]], truth: set[tuple[str, str]]) -> float:
    hits = len(predicted & truth)
    return 2 * hits / (len(predicted) + len(truth))


@pytest.mark.spark
@pytest.mark.slow
def test_spark_backend_links_like_duckdb(spark_session: Any, tmp_path: Path) -> None:
    on_spark = _resolve(tmp_path, "spark", session=spark_session)
    on_duckdb = _resolve(tmp_path, "duckdb")
    # The generator keys each person's CRM record C<n> and billing record B<n>.
    truth = {(f"billing:B{e[1:]}", f"crm:{e}") for s, e in on_duckdb
             if s == "crm" and ("billing", f"B{e[1:]}") in on_duckdb}
    spark_pairs, duck_pairs = _pairs(on_spark), _pairs(on_duckdb)
    assert _f1(duck_pairs, truth) >= 0.95
    assert _f1(spark_pairs, truth) >= 0.95
    assert len(spark_pairs ^ duck_pairs) <= 0.02 * len(truth)
