"""What identity resolution compares, how it blocks and trains, and how the golden record is
chosen: one typed object with sensible defaults, overridable by a user's YAML file.

The YAML names comparisons by kind (`name`, `email`, `levenshtein` ...) over the standardised
columns listed in `COLUMNS`; `linker.py` turns them into Splink comparisons. Every list given in
the YAML replaces the default list as a whole, so a file says exactly what it means.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cxhub.domain.errors import CxhubError

# The standardised columns the linker sees (see prepare.py); comparisons and blocking rules
# may use only these.
COLUMNS = (
    "first_name", "last_name", "date_of_birth", "email", "phone", "address", "address_2",
    "city", "postcode", "region", "country", "national_id",
)  # fmt: skip

COMPARISON_KINDS = (
    "name", "exact", "levenshtein", "damerau_levenshtein", "jaro_winkler", "date_of_birth",
    "email",
)  # fmt: skip
CONFLICT_CHECKS = ("first_name", "date_of_birth")
SURVIVORSHIP_RULES = ("most_recent", "most_trusted", "most_frequent", "earliest")
# Fields of the golden record; the location fields are chosen together, from one record,
# so that a street is never paired with another record's town.
GOLDEN_FIELDS = (
    "first_name", "last_name", "email", "phone", "date_of_birth", "national_id",
    "customer_since", "location",
)  # fmt: skip
LOCATION_FIELDS = ("address", "address_2", "city", "postcode", "region", "country")


class IdentitySettingsError(CxhubError):
    """An identity settings file is invalid; the message names the key."""


@dataclass(frozen=True)
class Comparison:
    column: str
    kind: str
    thresholds: tuple[float, ...] = ()
    term_frequencies: bool = False
    # For a name: the other name column, to recognise first and last names swapped.
    reversed_with: str | None = None


@dataclass(frozen=True)
class Training:
    seed: int = 42
    # Pairs sampled at random to learn how often non-matching records agree (u).
    u_max_pairs: float = 2e6
    # Each EM session blocks on some columns and learns the m of every other comparison.
    # Neither rule puts two members of one household (same address, often the same email)
    # together, so EM cannot mistake a household for a person.
    em_blocking: tuple[tuple[str, ...], ...] = (
        ("first_name", "last_name"),
        ("date_of_birth",),
    )
    em_max_pairs: float = 2e6
    # Rules that admit almost no false matches; their count estimates the share of matches.
    deterministic: tuple[tuple[str, ...], ...] = (
        ("first_name", "last_name", "date_of_birth"),
        ("email", "first_name"),
        ("national_id",),
    )
    deterministic_recall: float = 0.7


@dataclass(frozen=True)
class Survivorship:
    # Sources in order of trust, most trusted first; unknown sources rank last.
    trust: tuple[str, ...] = ("crm", "billing", "sales", "marketing")
    rules: dict[str, str] = field(
        default_factory=lambda: {
            "first_name": "most_frequent",
            "last_name": "most_frequent",
            "email": "most_recent",
            "phone": "most_recent",
            "date_of_birth": "most_trusted",
            "national_id": "most_trusted",
            "customer_since": "earliest",
            # The CRM and billing keep the address people live at; sales keeps the one a
            # contract was signed at and marketing often an old one, however recently touched.
            "location": "most_trusted",
        }
    )


DEFAULT_COMPARISONS = (
    Comparison("first_name", "name", (0.92, 0.88, 0.7), True, "last_name"),
    # The swap is counted once, in the first name: a second reversed level in the last name
    # would count the same evidence twice.
    Comparison("last_name", "name", (0.92, 0.88, 0.7), True),
    Comparison("date_of_birth", "date_of_birth"),
    Comparison("email", "email"),
    Comparison("phone", "levenshtein", (1,)),
    Comparison("address", "jaro_winkler", (0.94, 0.8)),
    Comparison("city", "jaro_winkler", (0.9,), True),
    Comparison("postcode", "levenshtein", (1,), True),
    Comparison("national_id", "levenshtein", (1, 2)),
)

# Every rule joins on whole values, so each block stays small even at millions of records.
# Names alone are not a rule: in a large population the common names (John Smith) make blocks
# of thousands of records, and a pair that shares nothing else would not be linked anyway.
DEFAULT_BLOCKING = (
    ("first_name", "last_name", "city"),
    ("l.first_name = r.last_name AND l.last_name = r.first_name",),
    ("last_name", "date_of_birth"),
    ("first_name", "date_of_birth"),
    ("email",),
    ("phone",),
    ("national_id",),
    ("postcode", "date_of_birth"),
    ("postcode", "address"),
    ("last_name", "postcode"),
    ("date_of_birth", "city"),
    ("address", "city"),
)


@dataclass(frozen=True)
class IdentitySettings:
    """Everything `cxhub resolve` needs to know besides the data."""

    threshold: float = 0.9
    # Pairs scored in [review_low, review_high) are uncertain and go to the review queue.
    review_low: float = 0.5
    review_high: float = 0.99
    comparisons: tuple[Comparison, ...] = DEFAULT_COMPARISONS
    blocking: tuple[tuple[str, ...], ...] = DEFAULT_BLOCKING
    training: Training = field(default_factory=Training)
    survivorship: Survivorship = field(default_factory=Survivorship)
    # Share of non-empty values below which a column is left out of comparisons and rules.
    min_filled: float = 0.01
    # Contradictions that keep two records apart whatever their score (conflicts.py), each
    # used only where the trained model says true matches show it at most this often.
    conflicts: tuple[str, ...] = ("first_name", "date_of_birth")
    conflict_max_m: float = 0.03

    def with_threshold(self, threshold: float | None) -> IdentitySettings:
        if threshold is None:
            return self
        return _replace(self, threshold=_probability(threshold, "threshold"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _replace(s: IdentitySettings, **changes: Any) -> IdentitySettings:
    values = {k: getattr(s, k) for k in s.__dataclass_fields__}
    values.update(changes)
    out = IdentitySettings(**values)
    validate(out)
    return out


def load_settings(path: Path | str | None = None) -> IdentitySettings:
    """The defaults, with the keys of the YAML file at `path` (if any) put over them."""
    if path is None:
        return IdentitySettings()
    p = Path(path)
    if not p.is_file():
        raise IdentitySettingsError(f"identity settings file {p} does not exist")
    doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    if not isinstance(doc, dict):
        raise IdentitySettingsError(f"{p}: expected a YAML object at the top")
    return settings_from_dict(doc, where=str(p))


def settings_from_dict(doc: dict[str, Any], *, where: str = "settings") -> IdentitySettings:
    known = {"threshold", "review", "comparisons", "blocking", "training", "survivorship",
             "min_filled", "conflicts"}  # fmt: skip
    conflicts = doc.get("conflicts") or {}
    _no_unknown(conflicts, {"checks", "max_m"}, f"{where}: conflicts")
    _no_unknown(doc, known, where)
    base = IdentitySettings()
    review = doc.get("review") or {}
    _no_unknown(review, {"low", "high"}, f"{where}: review")
    s = IdentitySettings(
        threshold=_probability(doc.get("threshold", base.threshold), f"{where}: threshold"),
        review_low=_probability(review.get("low", base.review_low), f"{where}: review.low"),
        review_high=_probability(review.get("high", base.review_high), f"{where}: review.high"),
        comparisons=_comparisons(doc["comparisons"], where)
        if "comparisons" in doc else base.comparisons,
        blocking=_rules(doc["blocking"], f"{where}: blocking")
        if "blocking" in doc else base.blocking,
        training=_training(doc.get("training") or {}, where),
        survivorship=_survivorship(doc.get("survivorship") or {}, where),
        min_filled=float(doc.get("min_filled", base.min_filled)),
        conflicts=_conflicts(conflicts.get("checks", list(base.conflicts)), where),
        conflict_max_m=_probability(conflicts.get("max_m", base.conflict_max_m),
                                    f"{where}: conflicts.max_m"),
    )
    validate(s, where)
    return s


def validate(s: IdentitySettings, where: str = "settings") -> None:
    if not s.review_low <= s.threshold <= s.review_high:
        raise IdentitySettingsError(
            f"{where}: need review.low <= threshold <= review.high; got "
            f"{s.review_low} <= {s.threshold} <= {s.review_high}"
        )
    if not s.comparisons:
        raise IdentitySettingsError(f"{where}: comparisons must not be empty")
    if not s.blocking:
        raise IdentitySettingsError(f"{where}: blocking must not be empty")


def rule_columns(rule: tuple[str, ...]) -> set[str]:
    """The standardised columns a blocking rule refers to (in plain names or expressions)."""
    words = set(re.findall(r"[a-z_][a-z0-9_]*", " ".join(rule).lower()))
    return words & set(COLUMNS)


def _comparisons(items: Any, where: str) -> tuple[Comparison, ...]:
    if not isinstance(items, list):
        raise IdentitySettingsError(f"{where}: comparisons must be a list")
    out = []
    for i, item in enumerate(items):
        at = f"{where}: comparisons[{i}]"
        if not isinstance(item, dict):
            raise IdentitySettingsError(f"{at}: expected an object with column and kind")
        _no_unknown(item, {"column", "kind", "thresholds", "term_frequencies", "reversed_with"},
                    at)
        column, kind = item.get("column"), item.get("kind")
        if column not in COLUMNS:
            raise IdentitySettingsError(f"{at}: column must be one of {', '.join(COLUMNS)}")
        if kind not in COMPARISON_KINDS:
            raise IdentitySettingsError(
                f"{at}: kind must be one of {', '.join(COMPARISON_KINDS)}, not {kind!r}"
            )
        thresholds = item.get("thresholds", [])
        if not isinstance(thresholds, list):
            thresholds = [thresholds]
        other = item.get("reversed_with")
        if other is not None and (kind != "name" or other not in COLUMNS):
            raise IdentitySettingsError(f"{at}: reversed_with names another name column")
        out.append(Comparison(column, kind, tuple(float(t) for t in thresholds),
                              bool(item.get("term_frequencies", False)), other))
    return tuple(out)


def _rules(items: Any, where: str) -> tuple[tuple[str, ...], ...]:
    """A rule is a list of columns or expressions that must be equal, or one SQL string."""
    if not isinstance(items, list) or not items:
        raise IdentitySettingsError(f"{where}: expected a non-empty list of rules")
    out = []
    for i, item in enumerate(items):
        rule = (item,) if isinstance(item, str) else tuple(str(c) for c in item)
        if not rule_columns(rule):
            raise IdentitySettingsError(
                f"{where}[{i}]: {item!r} names none of the columns {', '.join(COLUMNS)}"
            )
        out.append(rule)
    return tuple(out)


def _training(doc: dict[str, Any], where: str) -> Training:
    at = f"{where}: training"
    _no_unknown(doc, set(Training.__dataclass_fields__), at)
    base = Training()
    recall = float(doc.get("deterministic_recall", base.deterministic_recall))
    if not 0 < recall <= 1:
        raise IdentitySettingsError(f"{at}.deterministic_recall must be in (0, 1]")
    return Training(
        seed=int(doc.get("seed", base.seed)),
        u_max_pairs=float(doc.get("u_max_pairs", base.u_max_pairs)),
        em_blocking=_rules(doc["em_blocking"], f"{at}.em_blocking")
        if "em_blocking" in doc else base.em_blocking,
        em_max_pairs=float(doc.get("em_max_pairs", base.em_max_pairs)),
        deterministic=_rules(doc["deterministic"], f"{at}.deterministic")
        if "deterministic" in doc else base.deterministic,
        deterministic_recall=recall,
    )


def _survivorship(doc: dict[str, Any], where: str) -> Survivorship:
    at = f"{where}: survivorship"
    _no_unknown(doc, {"trust", "rules"}, at)
    base = Survivorship()
    rules = dict(base.rules)
    for name, rule in (doc.get("rules") or {}).items():
        if name not in GOLDEN_FIELDS:
            raise IdentitySettingsError(f"{at}.rules: {name!r} is not one of {GOLDEN_FIELDS}")
        if rule not in SURVIVORSHIP_RULES:
            raise IdentitySettingsError(
                f"{at}.rules.{name}: {rule!r} is not one of {', '.join(SURVIVORSHIP_RULES)}"
            )
        rules[name] = rule
    trust = doc.get("trust", list(base.trust))
    if not isinstance(trust, list):
        raise IdentitySettingsError(f"{at}.trust must be a list of source names")
    return Survivorship(trust=tuple(str(t) for t in trust), rules=rules)


def _conflicts(items: Any, where: str) -> tuple[str, ...]:
    if not isinstance(items, list) or not set(items) <= set(CONFLICT_CHECKS):
        raise IdentitySettingsError(
            f"{where}: conflicts.checks must be a list of {', '.join(CONFLICT_CHECKS)} "
            "(or empty)"
        )
    return tuple(items)


def _probability(value: Any, where: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise IdentitySettingsError(f"{where} must be a number between 0 and 1") from None
    if not 0 < p < 1:
        raise IdentitySettingsError(f"{where} must be between 0 and 1 (exclusive), not {p}")
    return p


def _no_unknown(doc: Any, known: set[str], where: str) -> None:
    if not isinstance(doc, dict):
        raise IdentitySettingsError(f"{where}: expected an object")
    unknown = set(doc) - known
    if unknown:
        raise IdentitySettingsError(
            f"{where}: unknown keys {sorted(unknown)}; known: {', '.join(sorted(known))}"
        )
