"""The hand-computed metric tests again, on PySpark in local mode.

The tests are those of tests/warehouse/test_metrics_hand.py, imported here so that they run
with this module's `metric` fixture: each test still inserts its rows into a fresh DuckDB
warehouse with SQL, and the first metric it asks for copies the tables the metrics read into
Spark (through Arrow) and computes the metric with the same catalogue on the PySpark backend.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from tests.warehouse import test_metrics_coverage as coverage_tests
from tests.warehouse import test_metrics_hand as hand
from tests.warehouse import test_metrics_segments as segment_tests

from cxhub.metrics import compute
from cxhub.warehouse import Warehouse

pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore:fetch_arrow_table\\(\\) is deprecated:DeprecationWarning"),
]

# The tables the facts read; each test's rows are copied from DuckDB before its first metric.
TABLES = ("contacts", "labels", "customer_links", "customer_segments", "holdings", "surveys",
          "mentions")

globals().update({name: test for name, test in vars(hand).items() if name.startswith("test_")})
for _more in (coverage_tests, segment_tests):  # comparisons' coverage, segment dimensions
    globals().update({n: t for n, t in vars(_more).items() if n.startswith("test_")})


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra")
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 (`make install` sets it up)")
    from cxhub.warehouse.engines import spark_session

    session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    for table in TABLES:
        session.catalog.dropTempView(table)


def _select_list(wh: Warehouse, table: str) -> str:
    """Every column, JSON as text (Spark has no JSON type); list columns left out."""
    cols = wh.read("SELECT column_name, data_type FROM information_schema.columns "
                   "WHERE table_name = ? ORDER BY ordinal_position", [table])
    return ", ".join(f'"{c}"::VARCHAR AS "{c}"' if t == "JSON" else f'"{c}"'
                     for c, t in cols if not t.endswith("[]"))


def copy_to_spark(wh: Warehouse, session: Any, copied: dict[str, Any]) -> None:
    """Copy each table whose rows changed since the last copy into a Spark temporary view."""
    cur = wh.cursor()
    for table in TABLES:
        count = cur.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
        stamp = (str(wh.path), count)
        if copied.get(table) == stamp or (count == 0 and copied.get(table, (0, -1))[1] == 0):
            continue
        arrow = cur.sql(f"SELECT {_select_list(wh, table)} FROM {table}").to_arrow_table()
        session.createDataFrame(arrow).createOrReplaceTempView(table)
        copied[table] = stamp


_COPIED: dict[str, Any] = {}  # what the Spark views hold now, shared by the module's tests


@pytest.fixture
def metric(warehouse: Warehouse, spark: Any) -> hand.Metric:
    import ibis

    backend = ibis.pyspark.connect(spark)

    def run(name: str, **kwargs: Any) -> list[dict[str, Any]]:
        copy_to_spark(warehouse, spark, _COPIED)
        return compute(backend, name, **{**hand.WEEK, **kwargs})

    return run
