"""Standardise source records before they are compared: one spelling per value.

Systems write the same value differently (`+44 7700 900123` and `07700900123`, `Mill Road` and
`mill rd`, `SW1A 1AA` and `sw1a1aa`). Comparing raw values would count those as disagreements,
so each column is reduced to a canonical form here, in DuckDB, on the warehouse's read cursor.
The linker then works on the result whatever its engine (DuckDB or Spark).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from cxhub.analytics.identity.nicknames import pairs as nickname_pairs
from cxhub.domain.canonical import SOURCE_RECORDS

# Street-type words folded to one spelling; the long and the short forms both occur.
STREET_WORDS = {
    "street": "st", "road": "rd", "lane": "ln", "avenue": "ave", "close": "cl", "drive": "dr",
    "crescent": "cres", "gardens": "gdns", "place": "pl", "court": "ct", "terrace": "tce",
    "square": "sq", "circuit": "cct", "parade": "pde", "highway": "hwy",
}  # fmt: skip


def _letters(col: str) -> str:
    """Lower case, no accents, letters and single spaces only."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(strip_accents(lower({col})), "
        f"'[^a-z '']+', ' ', 'g'), '\\s+', ' ', 'g')), '')"
    )


def _words(col: str) -> str:
    """Lower case, no accents, letters, digits and single spaces."""
    return (
        f"nullif(trim(regexp_replace(regexp_replace(strip_accents(lower({col})), "
        f"'[^a-z0-9]+', ' ', 'g'), '\\s+', ' ', 'g')), '')"
    )


def _street(col: str) -> str:
    expr = f"(' ' || {_words(col)} || ' ')"
    for long, short in STREET_WORDS.items():
        expr = f"replace({expr}, ' {long} ', ' {short} ')"
    return f"nullif(trim({expr}), '')"


def _alnum_upper(col: str) -> str:
    return f"nullif(upper(regexp_replace({col}, '[^A-Za-z0-9]+', '', 'g')), '')"


# Phone numbers keep their last nine digits: enough to tell people apart, and the same
# whether or not the country code or the trunk zero was written.
_PHONE = (
    "CASE WHEN length(regexp_replace(phone, '[^0-9]', '', 'g')) >= 7 "
    "THEN right(regexp_replace(phone, '[^0-9]', '', 'g'), 9) END"
)
_EMAIL = "CASE WHEN contains(trim(email), '@') THEN lower(trim(email)) END"

STANDARD_COLUMNS = {
    "first_name": _letters("first_name"),
    "last_name": _letters("last_name"),
    "date_of_birth": "date_of_birth",
    "email": _EMAIL,
    "phone": _PHONE,
    "address": _street("address"),
    "address_2": _words("address_2"),
    "city": _letters("city"),
    "postcode": _alnum_upper("postcode"),
    "region": _letters("region"),
    "country": _alnum_upper("country"),
    "national_id": _alnum_upper("national_id"),
}


def _nickname_values() -> str:
    groups: dict[str, list[str]] = {}
    for name, group in nickname_pairs():
        groups.setdefault(name, []).append(group)
    rows = ", ".join(
        f"('{name}', [{', '.join(repr(g) for g in gs)}])" for name, gs in sorted(groups.items())
    )
    return f"(VALUES {rows}) AS n(name, groups)"


def standardised_sql(table: str = SOURCE_RECORDS.table) -> str:
    """One row per record: the standardised columns, and the nickname groups of the first
    name (`first_name_nicknames`: Bill and William share one), in record_id order."""
    cols = ",\n  ".join(f"{expr} AS {name}" for name, expr in STANDARD_COLUMNS.items())
    return (
        f"SELECT s.*, n.groups AS first_name_nicknames FROM (\n"
        f"SELECT record_id, source, external_id,\n  {cols}\nFROM {table}) s\n"
        f"LEFT JOIN {_nickname_values()} ON n.name = split_part(s.first_name, ' ', 1)\n"
        "ORDER BY record_id"
    )


def standardised_records(cur: duckdb.DuckDBPyConnection) -> pa.Table:
    """Every source record, standardised, as an Arrow table (one row per record_id)."""
    return cur.sql(standardised_sql()).to_arrow_table()


def filled_shares(records: pa.Table) -> dict[str, float]:
    """The share of non-empty values per standardised column."""
    n = max(records.num_rows, 1)
    return {c: 1 - records.column(c).null_count / n for c in STANDARD_COLUMNS}
