"""Ibis connections for the analytics: DuckDB (the warehouse file) by default, PySpark by URL.

The analytics are written once as Ibis expressions and run on either engine. PySpark is
imported only here, only when asked for, so the core install does not need Java or Spark.

URLs: `duckdb` or `duckdb:///path/to/file.duckdb` (read-only view of the warehouse file),
`pyspark://local[2]` (a local Spark session; a cluster master URL works the same way).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ibis
from ibis.backends import BaseBackend

from cxhub.domain.errors import CxhubError

# Settings checked on this machine: a small local Spark that starts in seconds and stays
# on loopback.
SPARK_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.ui.enabled": "false",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


def connect(url: str | None = None, *, warehouse_path: Path | None = None,
            duckdb_connection: Any = None) -> BaseBackend:
    """An Ibis backend. With no URL: DuckDB over the given connection or warehouse file."""
    if not url or url == "duckdb":
        if duckdb_connection is not None:
            return ibis.duckdb.from_connection(duckdb_connection)
        if warehouse_path is None:
            return ibis.duckdb.connect()
        return ibis.duckdb.connect(str(warehouse_path), read_only=True)
    if url.startswith("duckdb://"):
        return ibis.duckdb.connect(url.removeprefix("duckdb://"), read_only=True)
    if url.startswith("pyspark://"):
        return ibis.pyspark.connect(spark_session(url.removeprefix("pyspark://")))
    raise CxhubError(f"unknown engine URL {url!r}; use duckdb or pyspark://local[2]")


def spark_session(master: str = "local[2]", *, app: str = "cxhub",
                  conf: dict[str, str] | None = None) -> Any:
    """The SparkSession with cxhub's settings, plus `conf` (needs the `spark` extra and Java 17).
    Spark keeps one session per process: when one is running, that one is returned as it is."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise CxhubError("the Spark engine needs `pip install cxhub[spark]` and Java 17") from None
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(master).appName(app)
    for key, value in {**SPARK_CONF, **(conf or {})}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()
