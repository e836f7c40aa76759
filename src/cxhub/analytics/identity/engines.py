"""Where Splink runs: an in-memory DuckDB (default) or a Spark session. Thin adapters.

Each adapter makes Splink's database API and reads a Splink table back as Arrow, so the rest of
identity resolution never sees the engine. pyspark is imported only inside the Spark adapter.
"""

from __future__ import annotations

import os
from typing import Any, Protocol

import pyarrow as pa

from cxhub.domain.errors import CxhubError

ENGINES = ("duckdb", "spark")


class LinkEngine(Protocol):
    name: str

    def db_api(self) -> Any: ...

    def to_arrow(self, physical_name: str, columns: list[str]) -> pa.Table: ...

    def close(self) -> None: ...


class DuckDBEngine:
    """Splink on its own in-memory DuckDB, so the warehouse's writer is never held by it."""

    name = "duckdb"

    def __init__(self, threads: int | None = None, memory_limit: str | None = None) -> None:
        import duckdb
        from splink import DuckDBAPI

        self._con = duckdb.connect(":memory:")
        self._con.execute("SET enable_progress_bar = false")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self._con.execute("SET memory_limit = ?", [memory_limit])
        self._api = DuckDBAPI(self._con)

    def db_api(self) -> Any:
        return self._api

    def to_arrow(self, physical_name: str, columns: list[str]) -> pa.Table:
        cols = ", ".join(columns)
        return self._con.sql(f"SELECT {cols} FROM {physical_name}").to_arrow_table()

    def close(self) -> None:
        self._con.close()


class SparkEngine:
    """Splink on Spark (local mode here, a cluster in production), with Splink's similarity
    functions (jaro_winkler ...) loaded from the jar that ships inside the splink wheel."""

    name = "spark"

    def __init__(self, master: str = "local[2]", session: Any = None) -> None:
        try:
            from splink import SparkAPI
            from splink.backends.spark import similarity_jar_location
        except ImportError:
            raise CxhubError(
                "the Spark engine needs `pip install cxhub[spark]` and Java 17"
            ) from None
        from cxhub.warehouse.engines import spark_session

        jar = similarity_jar_location()
        if session is None:
            session = spark_session(master, app="cxhub-identity", conf={
                "spark.ui.showConsoleProgress": "false", "spark.jars": jar})
        # A session made elsewhere (the Ibis engine) started without the jar: add it now.
        if jar not in (session.conf.get("spark.jars", "") or ""):
            session.sql(f"ADD JAR '{jar}'")
        # Splink's wide CASE expressions exceed Spark's code generation limits; Spark falls
        # back to interpreting them and logs each fallback with a stack trace as a warning.
        session.sparkContext.setLogLevel("ERROR")
        session.conf.set("spark.sql.codegen.wholeStage", "false")
        session.sparkContext.setCheckpointDir(os.path.join(_tmp(), "cxhub-spark-checkpoints"))
        self._spark = session
        self._api = SparkAPI(spark_session=session, break_lineage_method="persist")

    def db_api(self) -> Any:
        return self._api

    def to_arrow(self, physical_name: str, columns: list[str]) -> pa.Table:
        df = self._spark.sql(f"SELECT {', '.join(columns)} FROM {physical_name}")
        return df.toArrow()

    def close(self) -> None:
        # The session may be shared with other work in this process; Splink's tables are
        # temporary views that go with it.
        self._spark.catalog.clearCache()


def make_engine(name: str, **options: Any) -> LinkEngine:
    if name == "duckdb":
        return DuckDBEngine(**options)
    if name == "spark":
        return SparkEngine(**options)
    raise CxhubError(f"unknown identity engine {name!r}; use one of {', '.join(ENGINES)}")


def _tmp() -> str:
    import tempfile

    return tempfile.gettempdir()
