"""The golden record: one value per field, chosen among a customer's source records by a rule,
and where each value came from.

Rules (per field, configurable in the identity settings):
- `most_recent`: the value of the record updated last (ties: the more trusted source);
- `most_trusted`: the value from the most trusted source holding one (ties: the newer record);
- `most_frequent`: the value most records agree on, compared without case and spacing
  (ties: the more trusted source, then the newer record);
- `earliest`: the smallest value (a `customer_since` date gives the customer's tenure).
Empty values never win. The location fields (address, address_2, city, postcode, region,
country) are chosen together from one record, so a street never gets another record's town.

Everything is one SQL statement over the warehouse, run in the writer's transaction, so a
million customers never pass through Python.
"""

from __future__ import annotations

from cxhub.analytics.identity.settings import LOCATION_FIELDS, Survivorship

# Golden field -> the source_records columns it is built from.
FIELD_COLUMNS: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "email": ("email",),
    "phone": ("phone",),
    "date_of_birth": ("date_of_birth",),
    "national_id": ("national_id",),
    "customer_since": ("customer_since",),
    "location": LOCATION_FIELDS,
}
# Golden fields that have a column of their own in `customers` (the rest live in `profile`).
CUSTOMER_COLUMNS = (
    "first_name", "last_name", "email", "phone", "date_of_birth", "address", "city",
    "postcode", "region", "country", "customer_since",
)  # fmt: skip


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _trust_sql(trust: tuple[str, ...]) -> str:
    if not trust:
        return "0"
    whens = " ".join(f"WHEN {_lit(s)} THEN {i}" for i, s in enumerate(trust))
    return f"CASE s.source {whens} ELSE {len(trust)} END"


# A UK postcode without its space (`SW1A1AA`, as marketing keeps them) is given its standard
# form `SW1A 1AA`: outward code, one space, inward code (three characters).
_UK_POSTCODE = "^[A-Z]{1,2}[0-9][A-Z0-9]?[0-9][A-Z]{2}$"
_POSTCODE_SQL = (
    "CASE WHEN regexp_full_match(upper(regexp_replace(s.postcode, '\\s+', '', 'g')), "
    f"'{_UK_POSTCODE}') THEN "
    "left(upper(regexp_replace(s.postcode, '\\s+', '', 'g')), -3) || ' ' || "
    "right(upper(regexp_replace(s.postcode, '\\s+', '', 'g')), 3) "
    "ELSE nullif(trim(s.postcode), '') END"
)


def _col(c: str) -> str:
    """A source column as the golden record keeps it: postcodes in their standard form."""
    return _POSTCODE_SQL if c == "postcode" else f"s.{c}"


def _value_sql(name: str) -> str:
    cols = FIELD_COLUMNS[name]
    if len(cols) == 1:
        return _col(cols[0])
    return "struct_pack(" + ", ".join(f"{c} := {_col(c)}" for c in cols) + ")"


def _present_sql(name: str) -> str:
    cols = FIELD_COLUMNS[name]
    if name == "location":
        cols = ("address", "city", "postcode")
    return "(" + " OR ".join(f"{c} IS NOT NULL" for c in cols) + ")"


def _same_value_sql(name: str, prefix: str = "s.") -> str:
    """What counts as the same value when counting agreement."""
    parts = ", ".join(
        f"lower(regexp_replace(CAST({prefix}{c} AS VARCHAR), '\\s+', '', 'g'))"
        for c in FIELD_COLUMNS[name]
    )
    return f"concat_ws('|', {parts})"


def _choose_sql(name: str, rule: str) -> str:
    picked = (
        f"struct_pack(value := v_{name}, source := source, external_id := external_id, "
        f"seen_at := seen_at)"
    )
    keys = {
        "most_recent": "struct_pack(a := seen_at, b := -trust, c := record_id)",
        "most_trusted": "struct_pack(a := -trust, b := seen_at, c := record_id)",
        "most_frequent": f"struct_pack(a := n_{name}, b := -trust, c := seen_at, d := record_id)",
    }
    where = f"FILTER (WHERE {_present_sql(name)})"
    if rule == "earliest":
        return (
            f"arg_min({picked}, struct_pack(a := v_{name}, b := trust, c := record_id)) {where}"
        )
    key = keys[rule]
    if name == "location":
        # A whole location beats a part of one: a record with a street address wins over one
        # with only a town and postcode (marketing often has no street), whatever the rule.
        key = f"struct_pack(w := (address IS NOT NULL), k := {key})"
    return f"arg_max({picked}, {key}) {where}"


def golden_sql(links_table: str, survivorship: Survivorship) -> str:
    """SELECT one row per customer of `links_table` (record_id, customer_id): the customers
    table's columns plus `profile`, a JSON object with each field's value and provenance."""
    rules = survivorship.rules
    member_cols = []
    for name, cols in FIELD_COLUMNS.items():
        member_cols.append(f"{_value_sql(name)} AS v_{name}")
        member_cols += [f"{_col(c)} AS {c}" for c in cols]
        if rules[name] == "most_frequent":
            member_cols.append(
                f"count(*) OVER (PARTITION BY l.customer_id, {_same_value_sql(name)}) AS n_{name}"
            )
    member_cols = list(dict.fromkeys(member_cols))
    chosen = ",\n    ".join(f"{_choose_sql(n, rules[n])} AS g_{n}" for n in FIELD_COLUMNS)
    distinct = ",\n    ".join(
        f"count(DISTINCT {_same_value_sql(n, '')}) FILTER (WHERE {_present_sql(n)}) AS d_{n}"
        for n in FIELD_COLUMNS
    )
    columns = []
    for c in CUSTOMER_COLUMNS:
        if c in LOCATION_FIELDS:
            columns.append(f"g_location.value.{c} AS {c}")
        else:
            columns.append(f"g_{c}.value AS {c}")
    provenance = ", ".join(
        f"{n} := CASE WHEN g_{n} IS NULL THEN NULL ELSE struct_insert(g_{n}, "
        f"rule := {_lit(rules[n])}, distinct_values := d_{n}) END"
        for n in FIELD_COLUMNS
    )
    return f"""
WITH members AS (
  SELECT l.customer_id, s.record_id, s.source, s.external_id,
    coalesce(s.updated_at, s.loaded_at) AS seen_at,
    {_trust_sql(survivorship.trust)} AS trust,
    {", ".join(member_cols)}
  FROM {links_table} l JOIN source_records s ON s.record_id = l.record_id
),
chosen AS (
  SELECT customer_id,
    {chosen},
    {distinct},
    count(*) AS record_count,
    list(DISTINCT source ORDER BY source) AS sources
  FROM members GROUP BY customer_id
)
SELECT customer_id,
  {", ".join(columns)},
  to_json(struct_pack(
    fields := struct_pack({provenance}),
    record_count := record_count,
    sources := sources,
    trust := {_trust_list(survivorship.trust)}
  )) AS profile
FROM chosen
"""


def _trust_list(trust: tuple[str, ...]) -> str:
    return "[" + ", ".join(_lit(s) for s in trust) + "]::VARCHAR[]"
