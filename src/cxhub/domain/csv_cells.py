"""Cells of a CSV file that a person opens in a spreadsheet. Pure, no I/O.

One rule for every CSV cxhub writes (the public report, the dashboard's downloads): free text
from customers or the API may start like a formula, and a spreadsheet would run it.
"""

from __future__ import annotations

from typing import Any

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A text cell that a spreadsheet would run as a formula (it starts with = + - @, a tab or
    a carriage return) gets a leading apostrophe; numbers are left as numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_frame(frame: Any) -> Any:
    """A copy of a pandas frame whose text columns went through `csv_cell`, for `to_csv`."""
    out = frame.copy()
    for name in out.columns:
        if out[name].dtype == object:
            out[name] = out[name].map(csv_cell)
    return out
