"""The DuckDB warehouse: schema and migrations, the single writer, engine connections."""

from cxhub.warehouse.database import Warehouse

__all__ = ["Warehouse"]
