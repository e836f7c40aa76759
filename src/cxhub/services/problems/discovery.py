"""`cxhub problems discover`, problems made by hand, and new contacts joining open problems.

Discovery reads the listening alerts and each cause's weekly volume, turns each episode of extra
demand into a rule (cxhub.analytics.problems.discovery), and stores one problem per rule with
its contacts linked. Running it again finds the same episodes: a problem already stored (same
causes, overlapping window) keeps its id, its state and its links, and only gains contacts.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import pandas as pd

from cxhub.analytics.problems import discovery as disc
from cxhub.analytics.problems import plans
from cxhub.services.problems import store
from cxhub.services.problems.errors import ProblemInputError
from cxhub.warehouse import Warehouse
from cxhub.warehouse.engines import connect
from cxhub.warehouse.schema import edge_sql, span_sql

OPEN_STATES = ("open", "acknowledged", "fix_planned")
FOLLOW = dt.timedelta(days=30)
MAX_ID = 2**63 - 1  # contact ids are BIGINT


@dataclass
class DiscoverReport:
    episodes: int = 0
    created: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)
    linked: int = 0
    mentions_linked: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "created": self.created, "updated": self.updated,
                "linked": self.linked, "mentions_linked": self.mentions_linked}


def _labels_ready(wh: Warehouse) -> bool:
    """Whether current_labels is up to date with the labels (else they are read directly)."""
    from cxhub.services.metrics import ready_tables

    # Never a refresh from here: on a large warehouse that is the pipeline's minute, not ours.
    return ready_tables.available(wh, refresh_if_quick=False).labels


def _con(wh: Warehouse) -> Any:
    return connect(None, duckdb_connection=wh.new_cursor())


def _frame(expr: Any) -> pd.DataFrame:
    return expr.to_pyarrow().to_pandas(date_as_object=False)


def discover(wh: Warehouse, *, settings: disc.DiscoverySettings | None = None,
             actor: str = "discovery", now: dt.datetime | None = None) -> DiscoverReport:
    st = settings or disc.DiscoverySettings()
    now = now or store.utcnow()
    con = _con(wh)
    ready = _labels_ready(wh)
    alerts = wh.read_dicts(
        "SELECT alert_id, dimension, value, window_start, window_end FROM alerts "
        "WHERE kind = 'contact_spike' AND window_start IS NOT NULL")
    daily = _frame(plans.daily_by_cause(con, ready_labels=ready))
    eps = disc.merge(disc.episodes(alerts, st) + disc.weekly_episodes(daily, st), st)
    report = DiscoverReport(episodes=len(eps))
    last_seen = wh.read_one("SELECT " + edge_sql("contacts", "created_at", "max"))
    data_end = last_seen[0] if last_seen else None
    # Planned events first: their contacts are explained, so the extra demand they bring is
    # not found again as an unexplained episode (the weeks of a campaign run high).
    claimed = _planned(wh, con, st, ready=ready, actor=actor, now=now, report=report)
    for ep in eps:
        end = ep.end + dt.timedelta(hours=1)  # an alert's window_end is its last hour's start
        window = _frame(plans.labelled_contacts(con, start=ep.start, end=end,
                                                ready_labels=ready))
        before = _frame(plans.labelled_contacts(
            con, start=ep.start - st.baseline, end=ep.start, ready_labels=ready,
            columns=("contact_id", "created_at", "cause", "category", "text")))
        if claimed:
            window = window[~window["contact_id"].isin(claimed).to_numpy()]
            before = before[~before["contact_id"].isin(claimed).to_numpy()]
        rule = disc.rule_for(window, before, disc.Episode(ep.start, end), st)
        if rule is None:
            continue
        if rule.terms:
            # A fault's words find its contacts beyond the alerts' hours: from a day before
            # the episode to FOLLOW_DAYS after it (later ones join as they arrive).
            rule.start = ep.start - dt.timedelta(days=1)
            window = _frame(plans.labelled_contacts(
                con, start=rule.start, end=end + FOLLOW, ready_labels=ready,
                causes=sorted({c for c, _ in rule.cells})))
        hits = window[rule.matches(window)]
        ongoing = data_end is not None and data_end - end < dt.timedelta(days=2)
        if not rule.terms and not ongoing:
            rule.end = end  # only a fault's own words keep matching once the episode is over
        elif rule.terms:
            rule.end = None
        pid, created = _store(wh, rule, hits, window, ep, actor=actor, now=now)
        (report.created if created else report.updated).append(pid)
        report.linked += len(hits)
        report.mentions_linked += _link_mentions(
            wh, con, pid, rule, end=end + FOLLOW if rule.terms else end, ready=ready, now=now)
    return report


PLANNED_KINDS = ("campaign", "price_change")  # planned events that bring contacts
CALENDAR = "calendar:"  # the signature of a planned event's problem: calendar:source:id


def _planned(wh: Warehouse, con: Any, st: disc.DiscoverySettings, *, ready: bool, actor: str,
             now: dt.datetime, report: DiscoverReport) -> set[int]:
    """A problem for each planned event in the calendar (table calendar_events) that brought
    clear extra contacts, named as the event; returns the contacts linked to them."""
    claimed: set[int] = set()
    span = wh.read_one(span_sql("contacts", "created_at"))
    if not span or span[0] is None:
        return claimed
    rows = wh.read(
        "SELECT source, external_id, name, starts_at, ends_at FROM calendar_events "
        f"WHERE kind IN ({', '.join('?' for _ in PLANNED_KINDS)}) AND starts_at < ends_at "
        "AND starts_at <= ? AND ends_at > ? ORDER BY starts_at", [*PLANNED_KINDS, *span[::-1]])
    for source, external_id, name, start, end in rows:
        report.episodes += 1
        window = _frame(plans.labelled_contacts(con, start=start, end=end, ready_labels=ready))
        before = _frame(plans.labelled_contacts(
            con, start=start - st.baseline, end=start, ready_labels=ready,
            columns=("contact_id", "created_at", "cause", "category", "text")))
        rule = disc.planned_rule(window, before, start, end, st)
        if rule is None:
            continue
        hits = window[rule.matches(window)]
        if hits.empty:
            continue
        label = name or external_id
        ep = disc.Episode(start, end, [f"calendar {source}/{external_id}: {label}"])
        pid, created = _store(wh, rule, hits, window, ep, actor=actor, now=now,
                              signature=f"{CALENDAR}{source}:{external_id}",
                              title=disc.planned_title(label, rule, start, end))
        (report.created if created else report.updated).append(pid)
        report.linked += len(hits)
        report.mentions_linked += _link_mentions(wh, con, pid, rule, end=end, ready=ready,
                                                 now=now)
        claimed.update(hits["contact_id"].astype("int64").tolist())
    return claimed


def _link_mentions(wh: Warehouse, con: Any, pid: int, rule: disc.Rule, *, end: dt.datetime,
                   ready: bool, now: dt.datetime) -> int:
    """Link the customers' posts that the problem's rule takes (its causes and categories as
    the classifier gave them, its words, its window up to `end`): what people said in public
    about the same problem. Returns how many were new."""
    if not _has_mentions(wh):
        return 0
    posts = _first_posts(_frame(plans.labelled_mentions(
        con, start=rule.start, end=end, ready_labels=ready, causes=_causes(rule))))
    ids = posts["mention_id"][rule.matches(posts)].astype("int64").tolist() if len(posts) else []
    if not ids:
        return 0
    return wh.write(lambda c: store.link_mentions(c, pid, ids, how="discovered", at=now)
                    + store.link_replies(c, pid, how="discovered", at=now))


def _first_posts(posts: pd.DataFrame) -> pd.DataFrame:
    """The posts that start a thread: a reply is linked through its thread (its own words,
    "any update on this?", would match a fault's "update" by chance)."""
    first = posts["thread_id"].isna() | (posts["thread_id"] == posts["external_id"])
    return posts[first.to_numpy()]


def _has_mentions(wh: Warehouse) -> bool:
    """Whether any post has a cause to match (posts are classified with the contacts)."""
    return wh.read_one("SELECT 1 FROM labels WHERE target = 'mentions' LIMIT 1") is not None


def _causes(rule: disc.Rule) -> list[str]:
    return sorted({c for c, _ in rule.cells})


def _store(wh: Warehouse, rule: disc.Rule, hits: pd.DataFrame, window: pd.DataFrame,
           ep: disc.Episode, *, actor: str, now: dt.datetime, signature: str | None = None,
           title: str | None = None) -> tuple[int, bool]:
    causes = _causes(rule)
    if "*" in causes:  # words over every cause: the cause most of its contacts have
        counts = hits["cause"].dropna().value_counts()
        causes = [str(counts.index[0])] if len(counts) else [None]  # type: ignore[list-item]
    planned = signature is not None
    signature = signature or "|".join(causes) + "|" + ",".join(rule.terms)
    title = title or disc.title(rule, hits, window)
    ids = hits["contact_id"].astype("int64").tolist()
    first, last = hits["created_at"].min(), hits["created_at"].max()

    def write(c: Any) -> tuple[int, bool]:
        if planned:  # a planned event's problem: found again by its calendar entry
            found = c.execute("SELECT problem_id FROM problems WHERE origin = 'discovered' "
                              "AND signature = ? ORDER BY problem_id LIMIT 1",
                              [signature]).fetchone()
        else:  # the same problem found again: same causes, windows overlapping
            found = c.execute(
                "SELECT problem_id FROM problems WHERE origin = 'discovered' AND cause = ? "
                f"AND coalesce(signature, '') NOT LIKE '{CALENDAR}%' "
                "AND first_seen <= ? AND last_seen >= ? ORDER BY problem_id LIMIT 1",
                [causes[0], last, first - dt.timedelta(days=1)]).fetchone()
        if found:
            pid = int(found[0])
            # The rule as found now (the words may be more complete); title and state kept.
            c.execute("UPDATE problems SET last_seen = greatest(last_seen, ?), updated_at = ?, "
                      "rule = ?, terms = ? WHERE problem_id = ?",
                      [last, now, json.dumps(rule.to_dict()), rule.terms, pid])
            store.link(c, pid, ids, how="discovered", at=now)
            return pid, False
        pid = store.next_id(c, "problems", "problem_id")
        c.execute(
            "INSERT INTO problems (problem_id, title, description, cause, status, opened_at, "
            "origin, signature, terms, rule, alert_id, first_seen, last_seen, state_at, "
            "updated_at) VALUES (?, ?, ?, ?, 'open', ?, 'discovered', ?, ?, ?, ?, ?, ?, ?, ?)",
            [pid, title, "found from: " + "; ".join(ep.sources), causes[0], now, signature,
             rule.terms, json.dumps(rule.to_dict()),
             ep.alert_ids[0] if ep.alert_ids else None, first, last, now, now])
        store.link(c, pid, ids, how="discovered", at=now)
        store.add_event(c, pid, "state", actor=actor, at=now, state="open",
                        note="found in the contacts", detail={"sources": ep.sources})
        return pid, True

    return wh.write(write)


def create_from_contacts(wh: Warehouse, *, contact_ids: Sequence[int], title: str,
                         actor: str, cause: str | None = None, description: str | None = None,
                         now: dt.datetime | None = None) -> int:
    """A problem made by hand from selected contacts (the dashboard's selection)."""
    now = now or store.utcnow()
    if not title or not title.strip():
        raise ProblemInputError("title", "a problem needs a title")
    ids = sorted({int(i) for i in contact_ids})
    if not ids:
        raise ProblemInputError("contact_ids", "select at least one contact")
    outside = [i for i in ids if not 1 <= i <= MAX_ID]
    if outside:
        raise ProblemInputError("contact_ids", f"no contact with id {outside[0]} (ids are "
                                f"1 to {MAX_ID})")
    con = _con(wh)
    wanted = ibis.memtable(pd.DataFrame({"wanted_id": pd.Series(ids, dtype="int64")}))
    found = _frame(plans.labelled_contacts(con, columns=("contact_id", "created_at", "cause"),
                                           ready_labels=_labels_ready(wh), ids=wanted))
    missing = sorted(set(ids) - set(found["contact_id"].astype(int)))
    if missing:
        shown = ", ".join(map(str, missing[:10]))
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ProblemInputError("contact_ids", f"no contact with id {shown}{more}")
    if cause is None:
        counts = found["cause"].dropna().value_counts()
        cause = str(counts.index[0]) if len(counts) else None
    first, last = found["created_at"].min(), found["created_at"].max()

    def write(c: Any) -> int:
        pid = store.next_id(c, "problems", "problem_id")
        c.execute(
            "INSERT INTO problems (problem_id, title, description, cause, status, opened_at, "
            "origin, first_seen, last_seen, state_at, updated_at) "
            "VALUES (?, ?, ?, ?, 'open', ?, 'manual', ?, ?, ?, ?)",
            [pid, title.strip(), description, cause, now, first, last, now, now])
        store.link(c, pid, ids, how="manual", at=now)
        store.add_event(c, pid, "state", actor=actor, at=now, state="open",
                        note=f"made by hand from {len(ids)} contacts")
        return pid

    pid = wh.write(write)
    from cxhub.services.problems import figures

    figures.refresh(wh, wh.path.parent, [pid])  # its cost and priority from the start
    return pid


def join_new_contacts(wh: Warehouse, *, after_id: int,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """Link the contacts with an id above `after_id` to the open problems whose rule they match
    (the server's background loop calls this after classifying them). History is not re-linked.
    Returns {"newest": highest contact id seen, "linked": {problem_id: n}}."""
    now = now or store.utcnow()
    open_rules = [(r[0], disc.Rule.from_dict(json.loads(r[1]))) for r in wh.read(
        "SELECT problem_id, rule FROM problems WHERE rule IS NOT NULL AND status IN "
        f"({', '.join('?' for _ in OPEN_STATES)})", list(OPEN_STATES))]
    # The labels of new contacts are read directly: current_labels is refreshed later.
    new = _frame(plans.labelled_contacts(_con(wh), after_id=after_id, ready_labels=False,
                                         columns=("contact_id", "created_at", "cause",
                                                  "category", "text")))
    newest = int(new["contact_id"].max()) if len(new) else after_id
    linked: dict[int, list[int]] = {}
    for pid, rule in open_rules:
        hit = new[rule.matches(new)]
        if len(hit):
            linked[pid] = hit["contact_id"].astype("int64").tolist()
    if linked:
        def write(c: Any) -> None:
            for pid, ids in linked.items():
                store.link(c, pid, ids, how="joined", at=now)
                c.execute("UPDATE problems SET last_seen = greatest(last_seen, ?), "
                          "updated_at = ? WHERE problem_id = ?",
                          [new.loc[new.contact_id.isin(ids), "created_at"].max(), now, pid])
        wh.write(write)
    return {"newest": newest, "linked": {p: len(v) for p, v in linked.items()}}


def join_new_mentions(wh: Warehouse, *, after_id: int,
                      now: dt.datetime | None = None) -> dict[str, Any]:
    """Link the customers' posts with an id above `after_id` to the open problems whose rule
    they match, as join_new_contacts does for contacts. A post joins once it is classified:
    call this after the classifier. Returns {"newest": highest post id with a label,
    "linked": {problem_id: n}}."""
    now = now or store.utcnow()
    open_rules = [(r[0], disc.Rule.from_dict(json.loads(r[1]))) for r in wh.read(
        "SELECT problem_id, rule FROM problems WHERE rule IS NOT NULL AND status IN "
        f"({', '.join('?' for _ in OPEN_STATES)})", list(OPEN_STATES))]
    everyone = _frame(plans.labelled_mentions(_con(wh), after_id=after_id, ready_labels=False))
    newest = int(everyone["mention_id"].max()) if len(everyone) else after_id
    if not len(everyone):
        return {"newest": newest, "linked": {}}
    new = _first_posts(everyone)
    linked = {pid: new["mention_id"][rule.matches(new)].astype("int64").tolist()
              for pid, rule in open_rules}

    def write(c: Any) -> dict[int, int]:
        return {pid: store.link_mentions(c, pid, ids, how="joined", at=now)
                + store.link_replies(c, pid, how="joined", at=now, after_id=after_id)
                for pid, ids in linked.items()}
    done = wh.write(write)
    return {"newest": newest, "linked": {p: n for p, n in done.items() if n}}
