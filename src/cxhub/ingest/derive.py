"""Steps that run after a batch is inserted, deriving fields from several rows.

Each step is named in a mapping's `derive:` list (or run by the API after its inserts) and
takes the write connection, the batch id and the source; it runs in the batch's transaction.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb

DeriveStep = Callable[[duckdb.DuckDBPyConnection, int, str], None]


def mention_first_responses(con: duckdb.DuckDBPyConnection, batch_id: int, source: str) -> None:
    """A customer's post gets the time of the brand's first reply to it, and the brand's name.

    Replies may arrive in a later batch than the post, so every unanswered post of the source
    is looked at again."""
    con.execute(
        """
        UPDATE mentions AS m SET
            first_response_at = r.first_at,
            first_response_seconds = greatest(date_diff('second', m.created_at, r.first_at), 0),
            brand = coalesce(m.brand, r.brand)
        FROM (
            SELECT in_reply_to, min(created_at) AS first_at, arg_min(author, created_at) AS brand
            FROM mentions WHERE source = ? AND inbound = false AND in_reply_to IS NOT NULL
            GROUP BY in_reply_to
        ) AS r
        WHERE m.source = ? AND m.inbound AND m.external_id = r.in_reply_to
          AND (m.first_response_at IS NULL OR m.first_response_at > r.first_at)
        """,
        [source, source],
    )


_EVENT_COLUMNS = {
    "queued": "queued_at",
    "answered": "answered_at",
    "first_response": "first_response_at",
    "resolved": "resolved_at",
    "abandoned": "abandoned_at",
}


def apply_contact_events(con: duckdb.DuckDBPyConnection, batch_id: int, source: str) -> None:
    """Lifecycle events fill the contact's lifecycle times (the earliest event of each type
    wins); a transfer records the new team. The events themselves stay in contact_events."""
    for event, column in _EVENT_COLUMNS.items():
        con.execute(
            f"""
            UPDATE contacts AS c SET {column} = e.at,
                agent = coalesce(e.agent, c.agent), team = coalesce(e.team, c.team)
            FROM (SELECT source, contact_external_id, min(occurred_at) AS at,
                         arg_min(agent, occurred_at) AS agent, arg_min(team, occurred_at) AS team
                  FROM contact_events WHERE batch_id = ? AND event_type = ?
                  GROUP BY ALL) AS e
            WHERE c.source = e.source AND c.external_id = e.contact_external_id
              AND (c.{column} IS NULL OR c.{column} > e.at)
            """,
            [batch_id, event],
        )
    con.execute(
        """
        UPDATE contacts AS c SET team = e.team, queue = coalesce(e.queue, c.queue)
        FROM (SELECT source, contact_external_id, arg_max(team, occurred_at) AS team,
                     arg_max(queue, occurred_at) AS queue
              FROM contact_events WHERE batch_id = ? AND event_type = 'transferred'
              GROUP BY ALL) AS e
        WHERE c.source = e.source AND c.external_id = e.contact_external_id
        """,
        [batch_id],
    )
    con.execute(
        """
        UPDATE contacts AS c SET wait_seconds = date_diff('second', c.queued_at,
                coalesce(c.answered_at, c.abandoned_at))
        FROM (SELECT DISTINCT source, contact_external_id FROM contact_events
              WHERE batch_id = ?) AS e
        WHERE c.source = e.source AND c.external_id = e.contact_external_id
          AND c.wait_seconds IS NULL AND c.queued_at IS NOT NULL
          AND coalesce(c.answered_at, c.abandoned_at) IS NOT NULL
        """,
        [batch_id],
    )


STEPS: dict[str, DeriveStep] = {
    "mention_first_responses": mention_first_responses,
    "apply_contact_events": apply_contact_events,
}

# Steps that always follow a load of a kind, whatever the format.
BY_KIND: dict[str, tuple[str, ...]] = {
    "mentions": ("mention_first_responses",),
    "contact_events": ("apply_contact_events",),
}


def run_steps(con: duckdb.DuckDBPyConnection, kind: str, extra: tuple[str, ...],
              batch_id: int, source: str) -> None:
    for name in dict.fromkeys(BY_KIND.get(kind, ()) + extra):
        STEPS[name](con, batch_id, source)
