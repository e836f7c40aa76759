"""The offer catalogue as data: offers and service actions with their eligibility rules.

A catalogue is a mapping (read from YAML by the service layer) with two lists, `offers` and
`service_actions`. Every entry is checked here, field by field, and an error names the entry
and the field, so a typo in a rule never silently widens an audience: an unknown rule field is
an error, not an ignored key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from cxhub.domain.canonical import CATEGORIES, CAUSES, CHANNELS
from cxhub.domain.errors import CxhubError

SENTIMENTS = ("positive", "neutral", "negative")

# Rules over the golden profile: lists are "one of", min/max are inclusive bounds.
PROFILE_LIST_RULES = ("segments", "personas", "portfolios", "rfm_segments", "regions",
                      "holding", "not_holding")
PROFILE_RANGE_RULES = ("tenure_days", "clv", "age")
# Rules over the contact context.
CONTEXT_LIST_RULES = {"channels": CHANNELS, "categories": CATEGORIES, "causes": CAUSES,
                      "sentiments": SENTIMENTS}
RULE_FIELDS = (PROFILE_LIST_RULES + tuple(CONTEXT_LIST_RULES)
               + tuple(f"{b}_{r}" for r in PROFILE_RANGE_RULES for b in ("min", "max")))
OFFER_FIELDS = ("code", "title", "description", "product", "value", "valid_from", "valid_to",
                "control_share", "min_uplift", "prior_uplift", "max_per_customer_30d",
                "rules", "active")
ACTION_FIELDS = ("code", "title", "description", "rules", "first")


class CatalogueError(CxhubError):
    """A catalogue entry is invalid; names the entry and the field."""

    def __init__(self, entry: str, field_name: str, reason: str) -> None:
        self.entry, self.field, self.reason = entry, field_name, reason
        super().__init__(f"{entry}: {field_name}: {reason}")


@dataclass(frozen=True)
class Rules:
    """Eligibility: each set field must hold. Empty rules admit everyone."""

    lists: dict[str, frozenset[str]] = field(default_factory=dict)
    ranges: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    def needs_profile(self) -> bool:
        return any(k in PROFILE_LIST_RULES for k in self.lists) or bool(self.ranges)

    def failures(self, profile: dict[str, Any] | None, context: dict[str, Any]) -> list[str]:
        """Why the rules do not hold, in words (empty when they do)."""
        out = []
        for name, allowed in self.lists.items():
            if name in CONTEXT_LIST_RULES:
                value = context.get(name[:-1] if name != "categories" else "category")
                if value not in allowed:
                    label = "category" if name == "categories" else name[:-1]
                    out.append(f"the contact's {label} is {value or 'unknown'}, "
                               f"the offer needs {' or '.join(sorted(allowed))}")
                continue
            if profile is None:
                out.append(f"needs a known customer ({name})")
                continue
            if name in ("holding", "not_holding"):
                held = profile.get("products") or frozenset()
                if name == "holding" and not (held & allowed):
                    out.append(f"holds none of {', '.join(sorted(allowed))}")
                if name == "not_holding" and held & allowed:
                    out.append(f"already holds {', '.join(sorted(held & allowed))}")
                continue
            key = {"segments": "segment", "personas": "persona", "portfolios": "portfolio",
                   "rfm_segments": "rfm_segment", "regions": "region"}[name]
            if profile.get(key) not in allowed:
                out.append(f"{key} is {profile.get(key) or 'unknown'}, "
                           f"the offer needs {' or '.join(sorted(allowed))}")
        for name, (lo, hi) in self.ranges.items():
            if profile is None:
                out.append(f"needs a known customer ({name})")
                continue
            value = profile.get(name)
            if value is None:
                out.append(f"{name} is unknown")
            elif lo is not None and value < lo:
                out.append(f"{name} {value:g} is below {lo:g}")
            elif hi is not None and value > hi:
                out.append(f"{name} {value:g} is above {hi:g}")
        return out


@dataclass(frozen=True)
class Offer:
    code: str
    title: str
    product: str | None = None
    description: str = ""
    value: float = 0.0  # revenue to the company when accepted
    valid_from: date | None = None
    valid_to: date | None = None
    control_share: float = 0.10
    min_uplift: float = 0.01  # below this expected incremental acceptance, not offered
    prior_uplift: float = 0.05  # used until the offer has been learned
    max_per_customer_30d: int = 1
    rules: Rules = field(default_factory=Rules)
    active: bool = True

    def valid_on(self, day: date) -> bool:
        return (self.valid_from is None or day >= self.valid_from) and (
            self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ServiceAction:
    """Not a sale: what the agent should do first (explain the bill, book an engineer)."""

    code: str
    title: str
    description: str = ""
    rules: Rules = field(default_factory=Rules)
    first: bool = True  # when it applies, offers wait for the next contact


@dataclass(frozen=True)
class Catalogue:
    offers: tuple[Offer, ...]
    actions: tuple[ServiceAction, ...] = ()

    def offer(self, code: str) -> Offer | None:
        return next((o for o in self.offers if o.code == code), None)


def _strs(entry: str, name: str, value: Any, choices: tuple[str, ...] | None) -> frozenset[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise CatalogueError(entry, f"rules.{name}", "must be a non-empty list of names")
    if choices is not None:
        bad = [v for v in value if v not in choices]
        if bad:
            raise CatalogueError(entry, f"rules.{name}",
                                 f"unknown {', '.join(bad)} (one of {', '.join(choices)})")
    return frozenset(value)


def _number(entry: str, name: str, value: Any, lo: float | None = None,
            hi: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogueError(entry, name, f"must be a number, got {value!r}")
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise CatalogueError(entry, name, f"{value} is outside [{lo}, {hi}]")
    return float(value)


def parse_rules(entry: str, raw: Any) -> Rules:
    if raw is None:
        return Rules()
    if not isinstance(raw, dict):
        raise CatalogueError(entry, "rules", "must be a mapping of rule fields")
    unknown = [k for k in raw if k not in RULE_FIELDS]
    if unknown:
        raise CatalogueError(entry, f"rules.{unknown[0]}",
                             f"unknown rule field (known: {', '.join(RULE_FIELDS)})")
    lists = {}
    for name in PROFILE_LIST_RULES:
        if name in raw:
            lists[name] = _strs(entry, name, raw[name], None)
    for name, choices in CONTEXT_LIST_RULES.items():
        if name in raw:
            lists[name] = _strs(entry, name, raw[name], choices)
    both = lists.get("holding", frozenset()) & lists.get("not_holding", frozenset())
    if both:
        raise CatalogueError(entry, "rules.not_holding",
                             f"contradicts rules.holding: {', '.join(sorted(both))}")
    ranges = {}
    for name in PROFILE_RANGE_RULES:
        lo = raw.get(f"min_{name}")
        hi = raw.get(f"max_{name}")
        lo = None if lo is None else _number(entry, f"rules.min_{name}", lo)
        hi = None if hi is None else _number(entry, f"rules.max_{name}", hi)
        if lo is not None and hi is not None and lo > hi:
            raise CatalogueError(entry, f"rules.min_{name}",
                                 f"{lo:g} is above rules.max_{name} {hi:g}: nobody is eligible")
        if lo is not None or hi is not None:
            ranges[name] = (lo, hi)
    return Rules(lists, ranges)


def _date(entry: str, name: str, value: Any) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise CatalogueError(entry, name, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _entry(raw: Any, i: int, kind: str, allowed: tuple[str, ...]) -> tuple[str, dict[str, Any]]:
    if not isinstance(raw, dict):
        raise CatalogueError(f"{kind}[{i}]", "", "must be a mapping")
    code = raw.get("code")
    if not isinstance(code, str) or not code.strip():
        raise CatalogueError(f"{kind}[{i}]", "code", "required (a short name)")
    unknown = [k for k in raw if k not in allowed]
    if unknown:
        raise CatalogueError(code, unknown[0], f"unknown field (known: {', '.join(allowed)})")
    if not isinstance(raw.get("title", code), str):
        raise CatalogueError(code, "title", "must be text")
    return code, raw


def parse_offer(raw: Any, i: int = 0) -> Offer:
    code, raw = _entry(raw, i, "offers", OFFER_FIELDS)
    valid_from = _date(code, "valid_from", raw.get("valid_from"))
    valid_to = _date(code, "valid_to", raw.get("valid_to"))
    if valid_from and valid_to and valid_from > valid_to:
        raise CatalogueError(code, "valid_to", f"{valid_to} is before valid_from {valid_from}")
    caps = raw.get("max_per_customer_30d", 1)
    if isinstance(caps, bool) or not isinstance(caps, int) or not 0 <= caps <= 1000:
        raise CatalogueError(code, "max_per_customer_30d", "must be a whole number, 0 to 1000")
    product = raw.get("product")
    if product is not None and not isinstance(product, str):
        raise CatalogueError(code, "product", "must be a product code (text)")
    active = raw.get("active", True)
    if not isinstance(active, bool):
        raise CatalogueError(code, "active", "must be true or false")
    return Offer(
        code=code, title=raw.get("title", code), product=product,
        description=str(raw.get("description", "")),
        value=_number(code, "value", raw.get("value", 0.0), 0.0),
        valid_from=valid_from, valid_to=valid_to,
        control_share=_number(code, "control_share", raw.get("control_share", 0.10), 0.0, 0.9),
        min_uplift=_number(code, "min_uplift", raw.get("min_uplift", 0.01), -1.0, 1.0),
        prior_uplift=_number(code, "prior_uplift", raw.get("prior_uplift", 0.05), -1.0, 1.0),
        max_per_customer_30d=caps, rules=parse_rules(code, raw.get("rules")), active=active)


def parse_action(raw: Any, i: int = 0) -> ServiceAction:
    code, raw = _entry(raw, i, "service_actions", ACTION_FIELDS)
    return ServiceAction(code=code, title=raw.get("title", code),
                         description=str(raw.get("description", "")),
                         rules=parse_rules(code, raw.get("rules")),
                         first=bool(raw.get("first", True)))


def parse_catalogue(raw: Any) -> Catalogue:
    if not isinstance(raw, dict):
        raise CatalogueError("catalogue", "", "must be a mapping with `offers`")
    # `triggers` are read by `analytics.offers.triggers` (the same file holds them).
    unknown = [k for k in raw if k not in ("offers", "service_actions", "triggers")]
    if unknown:
        raise CatalogueError("catalogue", unknown[0],
                             "unknown (offers, service_actions, triggers)")
    offers_raw = raw.get("offers") or []
    actions_raw = raw.get("service_actions") or []
    if not isinstance(offers_raw, list) or not isinstance(actions_raw, list):
        raise CatalogueError("catalogue", "offers", "must be a list")
    offers = tuple(parse_offer(o, i) for i, o in enumerate(offers_raw))
    actions = tuple(parse_action(a, i) for i, a in enumerate(actions_raw))
    seen: set[str] = set()
    for code in [o.code for o in offers] + [a.code for a in actions]:
        if code in seen:
            raise CatalogueError(code, "code", "appears twice")
        seen.add(code)
    return Catalogue(offers, actions)
