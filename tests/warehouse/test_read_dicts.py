"""Rows as dicts: named by the query's own columns, and the thread's cursor left clean."""

from __future__ import annotations

from cxhub.warehouse import Warehouse


def test_rows_are_named_by_the_query_and_empty_results_are_empty(warehouse: Warehouse) -> None:
    rows = warehouse.read_dicts(
        "SELECT x AS number, x * 2 AS twice FROM range(3) t(x) WHERE x >= ? ORDER BY x", [1])
    assert rows == [{"number": 1, "twice": 2}, {"number": 2, "twice": 4}]
    assert warehouse.read_dicts("SELECT 1 AS one WHERE false") == []
    assert warehouse.read_dict("SELECT 1 AS one WHERE false") is None


def test_one_row_is_the_first_of_the_result_and_the_cursor_serves_the_next_query(
        warehouse: Warehouse) -> None:
    first = warehouse.read_dict("SELECT x AS n FROM range(5) t(x) ORDER BY x DESC")
    assert first == {"n": 4}
    assert warehouse.read("SELECT count(*) FROM range(7)") == [(7,)]
    assert warehouse.read_dict("SELECT 'a' AS letter") == {"letter": "a"}
