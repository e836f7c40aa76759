"""Table definitions and versioned migrations. The only module that writes DDL.

Tables that hold records from outside are generated from `cxhub.domain.canonical`, so the field
lists live in one place. Each migration runs once, in order, inside one transaction; a file made
by an older cxhub is brought up to date when it is opened.

(source, external_id) is unique in every record table, but it is enforced by the single writer
(an anti-join on insert) rather than by a DuckDB index: on this machine a primary key made bulk
loads seven times slower and did not speed up key look-ups.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import duckdb

from cxhub.domain.canonical import RECORD_KINDS, FieldType, RecordKind

SQL_TYPES = {
    FieldType.TEXT: "VARCHAR",
    FieldType.INT: "BIGINT",
    FieldType.FLOAT: "DOUBLE",
    FieldType.BOOL: "BOOLEAN",
    FieldType.DATE: "DATE",
    FieldType.TIMESTAMP: "TIMESTAMP",
    FieldType.DURATION: "DOUBLE",
    FieldType.JSON: "JSON",
}


def quote(identifier: str) -> str:
    """Quote an SQL identifier (column or table names come from YAML files and headers)."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(value: object) -> str:
    """An SQL string literal of `value` (a path, a setting), where a parameter cannot go."""
    return "'" + str(value).replace("'", "''") + "'"


def edge_sql(table: str, column: str, which: Literal["min", "max"], where: str = "") -> str:
    """A subquery for the smallest or largest value of `column` in `table` (rows matching
    `where`, which may hold parameters), NULL when there is none, as `min()` or `max()` would
    answer, that reads only the row groups that can hold it. `min()` and `max()` read every
    block of the column whenever rows were appended since the last checkpoint, as in a running
    server they always are (27 MB of `created_at` at 5.5 million contacts), and DuckDB keeps
    what it read until its instance closes: a server asking every few seconds held more of the
    file with every contact. The first row of an ordered scan skips row groups by their minimum
    and maximum (0.2 MB, 2 ms against 17). The soak (docs/reliability.md)."""
    order = "DESC" if which == "max" else "ASC"
    filtered = f" WHERE {where}" if where else ""
    return (f"(SELECT {column} FROM {table}{filtered} ORDER BY {column} {order} NULLS LAST "
            "LIMIT 1)")


def span_sql(table: str, column: str) -> str:
    """A query for the smallest and the largest value of `column` (see `edge_sql`)."""
    return f"SELECT {edge_sql(table, column, 'min')}, {edge_sql(table, column, 'max')}"


def largest_sql(table: str, column: str) -> str:
    """The largest value of `column` in `table`, 0 when there is none (the newest id; see
    `edge_sql`)."""
    return f"coalesce({edge_sql(table, column, 'max')}, 0)"


def record_table_ddl(kind: RecordKind) -> str:
    cols = [f"{kind.id_column} BIGINT NOT NULL"]
    for f in kind.fields:
        null = " NOT NULL" if f.name in ("source", "external_id") else ""
        cols.append(f"{quote(f.name)} {SQL_TYPES[f.type]}{null}")
    cols += ["batch_id BIGINT", "loaded_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP"]
    return f"CREATE TABLE {kind.table} (\n  " + ",\n  ".join(cols) + "\n)"


_V1_SUPPORT = [
    """CREATE TABLE ingest_batches (
        batch_id BIGINT PRIMARY KEY, format VARCHAR, kind VARCHAR, source VARCHAR,
        path VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP, status VARCHAR,
        rows_read BIGINT, rows_loaded BIGINT, rows_existing BIGINT, rows_quarantined BIGINT)""",
    """CREATE TABLE quarantine (
        batch_id BIGINT, kind VARCHAR, source VARCHAR, file VARCHAR, line BIGINT,
        field VARCHAR, value VARCHAR, reason VARCHAR, record JSON,
        quarantined_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP)""",
    """CREATE TABLE customers (
        customer_id BIGINT PRIMARY KEY, created_at TIMESTAMP, updated_at TIMESTAMP,
        first_name VARCHAR, last_name VARCHAR, email VARCHAR, phone VARCHAR,
        date_of_birth DATE, address VARCHAR, city VARCHAR, postcode VARCHAR, region VARCHAR,
        country VARCHAR, customer_since DATE, profile JSON)""",
    """CREATE TABLE customer_links (
        source VARCHAR NOT NULL, external_id VARCHAR NOT NULL, customer_id BIGINT NOT NULL,
        match_probability DOUBLE, linked_at TIMESTAMP, run_id BIGINT)""",
    """CREATE TABLE labels (
        target VARCHAR NOT NULL, target_id BIGINT NOT NULL, dimension VARCHAR NOT NULL,
        label VARCHAR, score DOUBLE, model VARCHAR, model_version VARCHAR,
        is_human BOOLEAN DEFAULT false, labelled_by VARCHAR,
        labelled_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP)""",
    """CREATE TABLE problems (
        problem_id BIGINT PRIMARY KEY, title VARCHAR, description VARCHAR, cause VARCHAR,
        owner VARCHAR, status VARCHAR, opened_at TIMESTAMP, closed_at TIMESTAMP, origin VARCHAR)""",
    """CREATE TABLE problem_contacts (problem_id BIGINT NOT NULL, contact_id BIGINT NOT NULL)""",
    """CREATE TABLE actions (
        action_id BIGINT PRIMARY KEY, problem_id BIGINT, title VARCHAR, owner VARCHAR,
        due_at DATE, done_at TIMESTAMP, status VARCHAR, note VARCHAR)""",
    """CREATE TABLE offers (
        offer_code VARCHAR PRIMARY KEY, title VARCHAR, description VARCHAR, eligibility VARCHAR,
        value DOUBLE, active BOOLEAN DEFAULT true)""",
]

_V2_ACCESS = [
    """CREATE TABLE api_keys (
        key_id BIGINT PRIMARY KEY, name VARCHAR, prefix VARCHAR NOT NULL,
        key_hash VARCHAR NOT NULL, scopes VARCHAR[] NOT NULL,
        created_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP, revoked_at TIMESTAMP)""",
]


_V3_PUBLISHING_AND_CUSTOMERS = [
    """CREATE TABLE reports (
        report_date DATE NOT NULL, revision INTEGER NOT NULL, published_at TIMESTAMP,
        note VARCHAR, figures JSON, PRIMARY KEY (report_date, revision))""",
    """CREATE TABLE users (
        user_id BIGINT PRIMARY KEY, username VARCHAR NOT NULL UNIQUE, password_hash VARCHAR,
        role VARCHAR NOT NULL, created_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP,
        disabled_at TIMESTAMP)""",
    """CREATE TABLE user_sessions (
        session_hash VARCHAR PRIMARY KEY, user_id BIGINT NOT NULL, created_at TIMESTAMP,
        expires_at TIMESTAMP)""",
    """CREATE TABLE customer_segments (
        customer_id BIGINT NOT NULL, computed_at TIMESTAMP, recency_days DOUBLE,
        frequency DOUBLE, monetary DOUBLE, rfm_score VARCHAR, rfm_segment VARCHAR,
        expected_purchases DOUBLE, p_alive DOUBLE, clv DOUBLE, portfolio VARCHAR,
        contact_intensity VARCHAR, persona VARCHAR, segment VARCHAR)""",
    """CREATE TABLE identity_runs (
        run_id BIGINT PRIMARY KEY, started_at TIMESTAMP, finished_at TIMESTAMP,
        records BIGINT, customers BIGINT, merges BIGINT, splits BIGINT, settings JSON)""",
    """CREATE TABLE identity_changes (
        run_id BIGINT, change VARCHAR, customer_id BIGINT, other_customer_id BIGINT,
        detail VARCHAR)""",
    """CREATE TABLE identity_reviews (
        source_l VARCHAR, external_id_l VARCHAR, source_r VARCHAR, external_id_r VARCHAR,
        match_probability DOUBLE, status VARCHAR DEFAULT 'open', decided_by VARCHAR,
        decided_at TIMESTAMP)""",
]


def _v1(con: duckdb.DuckDBPyConnection) -> None:
    for kind in RECORD_KINDS.values():
        con.execute(record_table_ddl(kind))
    for ddl in _V1_SUPPORT:
        con.execute(ddl)


def _v2(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V2_ACCESS:
        con.execute(ddl)


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    apply: Callable[[duckdb.DuckDBPyConnection], None]


def _v3(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V3_PUBLISHING_AND_CUSTOMERS:
        con.execute(ddl)


# Review decisions are addressed by a short id (`cxhub review decide 12 --match`), and an open
# pair remembers the run that last scored it.
_V4_IDENTITY_REVIEWS = [
    "ALTER TABLE identity_reviews ADD COLUMN review_id BIGINT",
    "ALTER TABLE identity_reviews ADD COLUMN run_id BIGINT",
    "ALTER TABLE identity_reviews ADD COLUMN created_at TIMESTAMP",
    "ALTER TABLE identity_runs ADD COLUMN links BIGINT",
    "ALTER TABLE identity_runs ADD COLUMN reviews BIGINT",
]


def _v4(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V4_IDENTITY_REVIEWS:
        con.execute(ddl)


# Classification and listening: the trained models (the files live under $CXHUB_HOME/models),
# spike alerts with their webhook deliveries, and mentions turned into contacts.
_V5_LISTENING_AND_MODELS = [
    """CREATE TABLE classifier_models (
        model_id BIGINT PRIMARY KEY, dimension VARCHAR NOT NULL, name VARCHAR NOT NULL,
        version VARCHAR NOT NULL, kind VARCHAR, path VARCHAR, trained_at TIMESTAMP,
        n_train BIGINT, classes VARCHAR[], evaluation JSON, active BOOLEAN DEFAULT false)""",
    """CREATE TABLE alerts (
        alert_id BIGINT PRIMARY KEY, kind VARCHAR NOT NULL, dimension VARCHAR, value VARCHAR,
        window_start TIMESTAMP, window_end TIMESTAMP, observed DOUBLE, expected DOUBLE,
        threshold DOUBLE, score DOUBLE, status VARCHAR DEFAULT 'open',
        created_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP, detail JSON,
        webhook_url VARCHAR, webhook_status VARCHAR, webhook_attempts INTEGER DEFAULT 0,
        delivered_at TIMESTAMP)""",
    """CREATE TABLE mention_contacts (
        mention_id BIGINT NOT NULL, contact_id BIGINT NOT NULL, reason VARCHAR,
        created_at TIMESTAMP DEFAULT current_timestamp::TIMESTAMP)""",
]


def _v5(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V5_LISTENING_AND_MODELS:
        con.execute(ddl)


# Figures kept ready for the metrics (cxhub.metrics.ready_sql, kept by
# services.metrics.ready_tables): winning label per record and dimension; each resolved contact's
# customer key and the gap to that customer's next contact on the same cause; each customer's
# first and last holding; the additive metrics summed per hour (by channel) and per day (by
# channel, category, cause, team, product), each row under the day its records belong to
# (`part`: the contact's creation day, the survey's answer day) so that late or changed
# records re-sum only their days; for the quantiles, every value with its day, channel and
# size class (`bucket`), and how many values each class holds per day; and what each of these
# was computed from. `version` marks
# the refresh that last changed a row, so the tables made from it know what to redo.
_V6_DERIVED = [
    """CREATE TABLE current_labels (
        target VARCHAR NOT NULL, target_id BIGINT NOT NULL, category VARCHAR, cause VARCHAR,
        sentiment VARCHAR, version BIGINT NOT NULL)""",
    """CREATE TABLE contact_repeats (
        contact_id BIGINT NOT NULL, customer_key VARCHAR NOT NULL, repeat_gap_seconds BIGINT,
        version BIGINT NOT NULL)""",
    """CREATE TABLE customer_tenures (
        customer_key VARCHAR NOT NULL, segment VARCHAR, first_at TIMESTAMP, last_at TIMESTAMP)""",
    """CREATE TABLE metric_hours (
        metric VARCHAR NOT NULL, part DATE NOT NULL, starts_at TIMESTAMP NOT NULL,
        channel VARCHAR, total DOUBLE, n BIGINT NOT NULL)""",
    """CREATE TABLE metric_days (
        metric VARCHAR NOT NULL, part DATE NOT NULL, starts_at TIMESTAMP NOT NULL,
        channel VARCHAR, category VARCHAR, cause VARCHAR, team VARCHAR, product VARCHAR,
        total DOUBLE, n BIGINT NOT NULL)""",
    """CREATE TABLE metric_values (
        metric VARCHAR NOT NULL, part DATE NOT NULL, starts_at TIMESTAMP NOT NULL,
        channel VARCHAR, bucket INTEGER NOT NULL, value DOUBLE NOT NULL)""",
    """CREATE TABLE metric_value_counts (
        metric VARCHAR NOT NULL, part DATE NOT NULL, starts_at TIMESTAMP NOT NULL,
        channel VARCHAR, bucket INTEGER, n BIGINT NOT NULL)""",
    """CREATE TABLE derived_state (
        name VARCHAR NOT NULL, state JSON, refreshed_at TIMESTAMP)""",
]


def _v6(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V6_DERIVED:
        con.execute(ddl)


def _v7(con: duckdb.DuckDBPyConnection) -> None:
    # The campaign calendar is a record kind, so v1 already makes it in a new file; a file
    # made before it existed gets it here.
    ddl = record_table_ddl(RECORD_KINDS["calendar_events"])
    con.execute(ddl.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))


# Problems and actions (issue 13): what a problem is about and how it was found (`rule`: the
# cause, product and terms that new contacts are matched on), its figures when last computed,
# its owner and deadlines; every change of state or owner (problem_events, the audit trail);
# reminders and escalations sent (problem_notices); actions with their kind, cause, date and
# measured impact.
_V8_PROBLEMS = [
    "ALTER TABLE problems ADD COLUMN signature VARCHAR",
    "ALTER TABLE problems ADD COLUMN product VARCHAR",
    "ALTER TABLE problems ADD COLUMN region VARCHAR",
    "ALTER TABLE problems ADD COLUMN terms VARCHAR[]",
    "ALTER TABLE problems ADD COLUMN rule JSON",
    "ALTER TABLE problems ADD COLUMN alert_id BIGINT",
    "ALTER TABLE problems ADD COLUMN first_seen TIMESTAMP",
    "ALTER TABLE problems ADD COLUMN last_seen TIMESTAMP",
    "ALTER TABLE problems ADD COLUMN figures JSON",
    "ALTER TABLE problems ADD COLUMN priority VARCHAR",
    "ALTER TABLE problems ADD COLUMN priority_score DOUBLE",
    "ALTER TABLE problems ADD COLUMN department VARCHAR",
    "ALTER TABLE problems ADD COLUMN manager VARCHAR",
    "ALTER TABLE problems ADD COLUMN due_at DATE",
    "ALTER TABLE problems ADD COLUMN reason VARCHAR",
    "ALTER TABLE problems ADD COLUMN state_at TIMESTAMP",
    "ALTER TABLE problems ADD COLUMN updated_at TIMESTAMP",
    "ALTER TABLE problem_contacts ADD COLUMN linked_at TIMESTAMP",
    "ALTER TABLE problem_contacts ADD COLUMN how VARCHAR",
    """CREATE TABLE problem_events (
        event_id BIGINT PRIMARY KEY, problem_id BIGINT NOT NULL, happened_at TIMESTAMP NOT NULL,
        actor VARCHAR, kind VARCHAR NOT NULL, state VARCHAR, note VARCHAR, detail JSON)""",
    """CREATE TABLE problem_notices (
        notice_id BIGINT PRIMARY KEY, problem_id BIGINT NOT NULL, deadline VARCHAR NOT NULL,
        kind VARCHAR NOT NULL, level INTEGER NOT NULL, channel VARCHAR NOT NULL,
        recipient VARCHAR, created_at TIMESTAMP NOT NULL, status VARCHAR, attempts INTEGER,
        sent_at TIMESTAMP, error VARCHAR)""",
    "ALTER TABLE actions ADD COLUMN kind VARCHAR",
    "ALTER TABLE actions ADD COLUMN cause VARCHAR",
    "ALTER TABLE actions ADD COLUMN action_date DATE",
    "ALTER TABLE actions ADD COLUMN recorded_by VARCHAR",
    "ALTER TABLE actions ADD COLUMN recorded_at TIMESTAMP",
    "ALTER TABLE actions ADD COLUMN origin VARCHAR",
    "ALTER TABLE actions ADD COLUMN impact JSON",
    "ALTER TABLE actions ADD COLUMN impact_at TIMESTAMP",
]


def _v8(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V8_PROBLEMS:
        con.execute(ddl)


# Offers and the next best action (issue 14): the catalogue's offers and service actions with
# their rules and control share, and the uplift models learned per offer with their report.
# Decisions themselves are `offer_decisions` records (context, rank, reasons in `attributes`).
_V10_OFFERS = [
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS kind VARCHAR",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS product VARCHAR",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS valid_from DATE",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS valid_to DATE",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS control_share DOUBLE",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS min_uplift DOUBLE",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS prior_uplift DOUBLE",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS max_per_customer_30d INTEGER",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS rules JSON",
    "ALTER TABLE offers ADD COLUMN IF NOT EXISTS updated_at TIMESTAMP",
    """CREATE TABLE IF NOT EXISTS offer_models (
        model_id BIGINT PRIMARY KEY, offer_code VARCHAR NOT NULL, trained_at TIMESTAMP,
        n_train BIGINT, n_test BIGINT, features VARCHAR[], path VARCHAR, qini DOUBLE,
        uplift_at_30 DOUBLE, report JSON, active BOOLEAN DEFAULT false)""",
]


def _v10(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V10_OFFERS:
        con.execute(ddl)


# Segments and value models (issue 11): whether a customer is a subscriber, their days as a
# paying customer, the sBG's 12-month retention and expected further months, and the two parts
# of the CLV (subscription DERL, purchases BG/NBD + Gamma-Gamma).
_V11_SEGMENTS = [
    "ALTER TABLE customer_segments ADD COLUMN subscriber BOOLEAN",
    "ALTER TABLE customer_segments ADD COLUMN paying_days DOUBLE",
    "ALTER TABLE customer_segments ADD COLUMN retention_12m DOUBLE",
    "ALTER TABLE customer_segments ADD COLUMN expected_months DOUBLE",
    "ALTER TABLE customer_segments ADD COLUMN subscription_value DOUBLE",
    "ALTER TABLE customer_segments ADD COLUMN purchase_value DOUBLE",
]


def _v11(con: duckdb.DuckDBPyConnection) -> None:
    for ddl in _V11_SEGMENTS:
        con.execute(ddl)


# Forecasts and staffing (issue 15): each forecast run, its forecasts per series and interval
# (the point and the prediction interval; `horizon` is the day ahead, 1 = the day after the
# origin), the roster (a record kind: v1 makes it in a new file) and the opening hours and
# holidays the forecast, the plan and the public page share.
_V9_FORECASTS = [
    """CREATE TABLE forecast_runs (
        run_id BIGINT PRIMARY KEY, created_at TIMESTAMP, origin TIMESTAMP,
        interval_minutes INTEGER, horizon_days INTEGER, timezone VARCHAR, settings JSON,
        report JSON)""",
    """CREATE TABLE forecasts (
        run_id BIGINT NOT NULL, series VARCHAR NOT NULL, channel VARCHAR, team VARCHAR,
        model VARCHAR NOT NULL, interval_start TIMESTAMP NOT NULL, interval_minutes INTEGER,
        horizon INTEGER, point DOUBLE, lo DOUBLE, hi DOUBLE, level DOUBLE)""",
    """CREATE TABLE opening_hours (
        channel VARCHAR NOT NULL, weekday INTEGER NOT NULL, opens TIME, closes TIME,
        timezone VARCHAR)""",
    """CREATE TABLE holidays (day DATE NOT NULL, name VARCHAR)""",
]


def _v9(con: duckdb.DuckDBPyConnection) -> None:
    ddl = record_table_ddl(RECORD_KINDS["rosters"])
    con.execute(ddl.replace("CREATE TABLE ", "CREATE TABLE IF NOT EXISTS ", 1))
    for ddl in _V9_FORECASTS:
        con.execute(ddl)


# Problems gather customers' posts as well as contacts (issue 13): a mention joins a problem
# whose rule it matches, as a contact does.
def _v12(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("""CREATE TABLE IF NOT EXISTS problem_mentions (
        problem_id BIGINT NOT NULL, mention_id BIGINT NOT NULL, linked_at TIMESTAMP,
        how VARCHAR)""")


# Offers managed one entry at a time (issue 14): who changed the catalogue last, and every
# change (created, updated, retired) with its author, time and the entry as it became.
def _v13(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("ALTER TABLE offers ADD COLUMN IF NOT EXISTS updated_by VARCHAR")
    con.execute("""CREATE TABLE IF NOT EXISTS offer_events (
        event_id BIGINT PRIMARY KEY, offer_code VARCHAR NOT NULL, kind VARCHAR NOT NULL,
        change VARCHAR NOT NULL, actor VARCHAR, happened_at TIMESTAMP NOT NULL, detail JSON)""")


# Business-hour clocks (issue 15): each channel's open span of every day and its open seconds
# before the day, made from the opening hours and holidays (cxhub.warehouse.business_days), so
# that the metrics count response and resolution times in business hours by two look-ups.
def _v14(con: duckdb.DuckDBPyConnection) -> None:
    from cxhub.warehouse import business_days

    con.execute("""CREATE TABLE IF NOT EXISTS business_days (
        channel VARCHAR NOT NULL, day DATE NOT NULL, calendar VARCHAR NOT NULL,
        open_start_s INTEGER NOT NULL, open_end_s INTEGER NOT NULL,
        open_before_s BIGINT NOT NULL)""")
    business_days.rebuild(con)


# The metric sums of recent days kept per 10 minutes (cxhub.metrics.sums): rows made before
# hold whole days, which a missing slot means.
def _v15(con: duckdb.DuckDBPyConnection) -> None:
    for table in ("metric_hours", "metric_days", "metric_values", "metric_value_counts"):
        con.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS slot SMALLINT")


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "canonical record tables, quarantine, batches, customers, labels, problems", _v1),
    Migration(2, "API keys", _v2),
    Migration(3, "daily reports, users and sessions, customer segments, identity runs", _v3),
    Migration(4, "identity review ids, runs' link and review counts", _v4),
    Migration(5, "classifier models, listening alerts, mentions routed to contacts", _v5),
    Migration(6, "current labels, repeat contacts, tenures, metric sums and values", _v6),
    Migration(7, "campaign calendar (demand known in advance)", _v7),
    Migration(8, "problems: rules, figures, owners, deadlines, events, notices; actions' impact",
              _v8),
    Migration(9, "forecasts and their runs, rosters, opening hours and holidays", _v9),
    Migration(10, "offers: catalogue rules and control shares, uplift models", _v10),
    Migration(11, "segments: subscribers, retention and the parts of lifetime value", _v11),
    Migration(12, "problems: customers' posts (mentions) linked as contacts are", _v12),
    Migration(13, "offers: who changed the catalogue, and each change (offer_events)", _v13),
    Migration(14, "business calendar: open seconds per channel and day (business_days)", _v14),
    Migration(15, "metric sums of recent days per 10 minutes (slot)", _v15),
)
LATEST = MIGRATIONS[-1].version


def current_version(con: duckdb.DuckDBPyConnection) -> int:
    # Reads only: a read-only connection may not even run CREATE TABLE IF NOT EXISTS.
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables "
        "WHERE table_name = 'schema_migrations' AND table_catalog = current_database()"
    ).fetchone()
    if not found or not found[0]:
        return 0
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    return int(row[0]) if row else 0


def migrate(con: duckdb.DuckDBPyConnection, target: int = LATEST) -> list[int]:
    """Apply every migration above the file's version up to `target`; return those applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        "version INTEGER PRIMARY KEY, name VARCHAR, applied_at TIMESTAMP)"
    )
    applied = []
    # Each missing version, not only those above the highest: migrations were numbered in
    # advance and landed out of order (v11 before v10), so a file may have a gap to fill.
    done = {int(r[0]) for r in con.execute("SELECT version FROM schema_migrations").fetchall()}
    for m in MIGRATIONS:
        if m.version not in done and m.version <= target:
            con.execute("BEGIN TRANSACTION")
            try:
                m.apply(con)
                con.execute(
                    "INSERT INTO schema_migrations VALUES (?, ?, current_timestamp::TIMESTAMP)",
                    [m.version, m.name],
                )
                con.execute("COMMIT")
            except Exception:
                con.execute("ROLLBACK")
                raise
            applied.append(m.version)
    return applied
