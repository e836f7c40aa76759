"""One Ibis query, two engines: the warehouse's DuckDB and a local PySpark give the same answer.

The query is the shape the analytics use most: contacts per channel and hour of the day, with
the mean wait. The contacts are written to the warehouse; Spark reads the same rows from a
Parquet export of the table, as a cluster would read an exported warehouse.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ibis
import pandas as pd
import pytest

from cxhub.warehouse import Warehouse, engines

# Ibis 12 fetches DuckDB results with fetch_arrow_table(), which DuckDB 2.0 deprecates.
DUCKDB_ARROW = pytest.mark.filterwarnings(
    r"ignore:fetch_arrow_table\(\) is deprecated:DeprecationWarning:ibis.backends.duckdb"
)

# (external_id, channel, created_at, wait_seconds); hour 9 phone: waits 30 and 90 -> mean 60.
CONTACTS = [
    ("c1", "phone", "2024-03-04 09:05:00", 30.0),
    ("c2", "phone", "2024-03-04 09:55:00", 90.0),
    ("c3", "phone", "2024-03-05 10:00:00", 12.0),
    ("c4", "email", "2024-03-04 09:15:00", None),
    ("c5", "email", "2024-03-06 09:45:00", 7200.0),
    ("c6", "chat", "2024-03-04 23:59:59", 4.0),
    ("c7", "chat", "2024-03-05 00:00:00", 6.0),
    ("c8", "chat", "2024-03-05 00:30:00", 8.0),
]
# Worked out by hand from CONTACTS: (channel, hour) -> (contacts, mean wait).
EXPECTED = {
    ("chat", 0): (2, 7.0),
    ("chat", 23): (1, 4.0),
    ("email", 9): (2, 7200.0),
    ("phone", 9): (2, 60.0),
    ("phone", 10): (1, 12.0),
}


def contacts_per_channel_hour(contacts: ibis.Table) -> ibis.Table:
    return (
        contacts.group_by(channel=contacts.channel, hour=contacts.created_at.hour())
        .aggregate(contacts=contacts.count(), mean_wait=contacts.wait_seconds.mean())
        .order_by(["channel", "hour"])
    )


def as_dict(df: pd.DataFrame) -> dict[tuple[str, int], tuple[int, float]]:
    return {(r.channel, int(r.hour)): (int(r.contacts), float(r.mean_wait))
            for r in df.itertuples()}


@pytest.fixture(scope="module")
def contacts_parquet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The contacts, written through the warehouse's writer, exported to Parquet for Spark."""
    folder = tmp_path_factory.mktemp("engines")
    with Warehouse.open(folder / "cxhub.duckdb") as wh:
        wh.write(_insert_contacts)
        out = folder / "contacts.parquet"
        wh.cursor().execute(f"COPY contacts TO '{out}' (FORMAT parquet)")
    yield out


def _insert_contacts(con: Any) -> None:
    con.executemany(
        "INSERT INTO contacts (contact_id, source, external_id, channel, created_at, "
        "wait_seconds) VALUES (?, 'test', ?, ?, ?::TIMESTAMP, ?)",
        [[i, *row] for i, row in enumerate(CONTACTS, start=1)],
    )


@DUCKDB_ARROW
def test_duckdb_engine_over_the_warehouse(warehouse: Warehouse) -> None:
    warehouse.write(_insert_contacts)
    con = engines.connect(duckdb_connection=warehouse.cursor())
    result = contacts_per_channel_hour(con.table("contacts")).to_pandas()
    assert as_dict(result) == EXPECTED


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    if shutil.which("java") is None:
        pytest.skip("the Spark engine needs Java 17 (apt-get install openjdk-17-jre-headless)")
    pytest.importorskip("pyspark", reason="the Spark engine needs the `spark` extra")
    con = engines.connect("pyspark://local[2]")
    try:
        yield con
    finally:
        engines.spark_session().stop()  # the same session: frees the JVM's memory for others


@pytest.mark.spark
@DUCKDB_ARROW
def test_same_query_on_duckdb_and_pyspark(spark: Any, contacts_parquet: Path) -> None:
    duck = engines.connect(warehouse_path=contacts_parquet.parent / "cxhub.duckdb")
    on_duckdb = contacts_per_channel_hour(duck.table("contacts")).to_pandas()
    duck.disconnect()

    spark_contacts = spark.read_parquet(str(contacts_parquet), table_name="contacts")
    on_spark = contacts_per_channel_hour(spark_contacts).to_pandas()

    assert list(on_spark.columns) == list(on_duckdb.columns)
    assert as_dict(on_spark) == as_dict(on_duckdb) == EXPECTED
