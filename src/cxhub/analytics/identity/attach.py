"""How records of other kinds find their customer: through the source keys they carry.

A contact, survey, transaction, touchpoint or holding names the customer as its source system
knows them (`customer_source`, defaulting to the record's own `source`, and
`customer_external_id`). That key is a source record's key, and `customer_links` maps every
source record to its customer, so the join below attaches the record to the resolved customer
whichever system's id it quoted.
"""

from __future__ import annotations

ATTACHABLE = ("contacts", "surveys", "transactions", "touchpoints", "holdings", "mentions",
              "offer_decisions")  # fmt: skip


def attached_sql(table: str, columns: str = "x.*") -> str:
    """SELECT customer_id and `columns` (over alias `x`) for every record of `table` that
    belongs to a resolved customer."""
    if table not in ATTACHABLE:
        raise ValueError(f"{table} has no customer key; attachable: {', '.join(ATTACHABLE)}")
    return (
        f"SELECT l.customer_id, {columns} FROM {table} x "
        "JOIN customer_links l ON l.source = coalesce(x.customer_source, x.source) "
        "AND l.external_id = x.customer_external_id"
    )
