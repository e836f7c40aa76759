"""The ownership map: which department, owner and manager take each problem, the deadlines of
each priority, and where escalations go. A YAML file, $CXHUB_HOME/ownership.yaml:

    cx_lead: cx.lead@example.com
    deadlines:            # hours from opening to acknowledge, from acknowledging to plan a fix
      critical: {acknowledge: 4, plan: 24}
      high: {acknowledge: 24, plan: 72}
    reminder_hours: 4     # a reminder to the owner this long before a deadline
    notify: {smtp_host: localhost, smtp_port: 25, sender: cxhub@example.com,
             webhook: https://example.com/hook}
    owners:
      - cause: billing          # or product: ..., or topic: a term of the problem
        department: Billing operations
        owner: ana@example.com
        manager: bo@example.com

Errors name the file, the entry and the field (`owners[2].cause: unknown cause 'biling'`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxhub.domain.canonical import CAUSES
from cxhub.services.problems.errors import ProblemInputError

FILE = "ownership.yaml"
EXAMPLE = """# Who owns each problem (see docs/problems.md). Causes: billing, delivery, other,
# pricing, product, service.
cx_lead: cx.lead@example.com
reminder_hours: 4
deadlines:
  critical: {acknowledge: 4, plan: 24}
  high: {acknowledge: 24, plan: 72}
owners:
  - cause: billing
    department: Billing operations
    owner: billing.owner@example.com
    manager: billing.manager@example.com
"""
_EMAIL = re.compile(r"^[^@\s,;<>]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
DEFAULT_DEADLINES = {"critical": {"acknowledge": 4, "plan": 24},
                     "high": {"acknowledge": 24, "plan": 72},
                     "medium": {"acknowledge": 72, "plan": 168},
                     "low": {"acknowledge": 168, "plan": 720}}


@dataclass(frozen=True)
class Owner:
    department: str
    owner: str
    manager: str | None
    cause: str | None = None
    product: str | None = None
    topic: str | None = None


@dataclass
class Ownership:
    owners: list[Owner] = field(default_factory=list)
    cx_lead: str | None = None
    deadlines: dict[str, dict[str, float]] = field(
        default_factory=lambda: {k: dict(v) for k, v in DEFAULT_DEADLINES.items()})
    reminder_hours: float = 4.0
    notify: dict[str, Any] = field(default_factory=dict)

    def owner_for(self, problem: dict[str, Any]) -> Owner | None:
        """The first entry matching the problem's topic terms, then product, then cause."""
        terms = set(problem.get("terms") or [])
        tests: tuple[Callable[[Owner], object], ...] = (
            lambda o: o.topic and o.topic in terms,
            lambda o: o.product and o.product == problem.get("product"),
            lambda o: o.cause and o.cause == problem.get("cause"))
        for test in tests:
            for o in self.owners:
                if test(o):
                    return o
        return None


def _email(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _EMAIL.match(value.strip()):
        raise ProblemInputError(where, f"{value!r} is not an e-mail address")
    return value.strip()


def parse(data: Any, *, source: str = FILE, known_causes: set[str] | None = None) -> Ownership:
    """Check and read an ownership map; nothing is kept when any part of it is wrong."""
    causes = set(CAUSES) | (known_causes or set())
    if data is None:
        return Ownership()
    if not isinstance(data, dict):
        raise ProblemInputError(source, "expected a mapping with owners, deadlines, cx_lead")
    unknown = set(data) - {"owners", "cx_lead", "deadlines", "reminder_hours", "notify"}
    if unknown:
        raise ProblemInputError(f"{source}: {sorted(unknown)[0]}", "unknown key")
    o = Ownership()
    if data.get("cx_lead") is not None:
        o.cx_lead = _email(data["cx_lead"], f"{source}: cx_lead")
    for i, entry in enumerate(data.get("owners") or []):
        where = f"{source}: owners[{i}]"
        if not isinstance(entry, dict):
            raise ProblemInputError(where, "expected a mapping")
        keys = [k for k in ("cause", "product", "topic") if entry.get(k)]
        if not keys:
            raise ProblemInputError(where, "name a cause, a product or a topic")
        if entry.get("cause") and entry["cause"] not in causes:
            raise ProblemInputError(f"{where}.cause", f"unknown cause {entry['cause']!r}; "
                                    f"causes: {', '.join(sorted(causes))}")
        if not entry.get("department"):
            raise ProblemInputError(f"{where}.department", "missing")
        o.owners.append(Owner(
            department=str(entry["department"]),
            owner=_email(entry.get("owner"), f"{where}.owner"),
            manager=_email(entry["manager"], f"{where}.manager") if entry.get("manager")
            else None,
            cause=entry.get("cause"), product=entry.get("product"), topic=entry.get("topic")))
    for prio, hours in (data.get("deadlines") or {}).items():
        where = f"{source}: deadlines.{prio}"
        if prio not in DEFAULT_DEADLINES:
            raise ProblemInputError(where, f"unknown priority; use {', '.join(DEFAULT_DEADLINES)}")
        for k, v in (hours or {}).items():
            if k not in ("acknowledge", "plan") or not isinstance(v, int | float) or v <= 0:
                raise ProblemInputError(f"{where}.{k}", f"{v!r}: give acknowledge and plan in "
                                        "hours, above zero")
            o.deadlines[prio][k] = float(v)
    if "reminder_hours" in data:
        v = data["reminder_hours"]
        if not isinstance(v, int | float) or v < 0:
            raise ProblemInputError(f"{source}: reminder_hours", f"{v!r} is not hours")
        o.reminder_hours = float(v)
    notify = data.get("notify") or {}
    if not isinstance(notify, dict):
        raise ProblemInputError(f"{source}: notify", "expected a mapping")
    if notify.get("sender"):
        _email(notify["sender"], f"{source}: notify.sender")
    o.notify = dict(notify)
    return o


def load(home: Path | None, *, known_causes: set[str] | None = None) -> Ownership:
    path = home / FILE if home else None
    if path is None or not path.exists():
        return Ownership()
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ProblemInputError(str(path), f"not valid YAML: {exc}") from None
    return parse(data, source=str(path), known_causes=known_causes)


def save(home: Path, text: str, *, known_causes: set[str] | None = None) -> Ownership:
    """Check `text` and, only when it is valid, write it as the map (the dashboard's editor)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ProblemInputError(FILE, f"not valid YAML: {exc}") from None
    found = parse(data, known_causes=known_causes)
    home.mkdir(parents=True, exist_ok=True)
    tmp = home / (FILE + ".tmp")
    tmp.write_text(text)
    tmp.replace(home / FILE)
    return found
