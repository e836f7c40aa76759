"""Load the metric catalogue (YAML) into checked, immutable definitions.

Everything wrong with a definition is found when the catalogue is loaded, and the message
names the metric and the field: an unknown key, a formula that reads a column the fact does
not have, a kind without what it needs.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from cxhub.domain.errors import CxhubError, NotFoundError
from cxhub.metrics.facts import BUSINESS_CLOCKS, FACTS, TIME_DIMENSIONS
from cxhub.metrics.formula import Formula, parse

KINDS = ("count", "share", "mean", "quantile", "backlog", "per_customer", "ratio")
UNITS = ("contacts", "mentions", "share", "seconds", "points", "score", "per_1000_customers",
         "revenue")
BETTER = ("higher", "lower", "neither")

_COMMON = {"label", "description", "fact", "kind", "unit", "better", "time", "where", "params",
           "target", "business_hours"}
_BY_KIND = {
    "count": set(),
    "share": {"numerator", "denominator"},
    "mean": {"value"},
    "quantile": {"value", "q"},
    "backlog": {"opened", "closed"},
    "per_customer": {"per"},
    "ratio": {"value", "over"},
}
_REQUIRED = {"share": {"numerator"}, "mean": {"value"}, "quantile": {"value", "q"},
             "backlog": {"opened", "closed"}, "per_customer": {"per"},
             "ratio": {"value", "over"}}


class CatalogueError(CxhubError):
    """The catalogue file is invalid."""


class UnknownMetricError(NotFoundError):
    def __init__(self, name: str, known: list[str]) -> None:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown metric {name!r}.{hint} The catalogue has: {', '.join(known)}")
        self.name = name


@dataclass(frozen=True)
class Metric:
    name: str
    label: str
    description: str
    fact: str
    kind: str
    unit: str
    better: str
    time: str
    where: Formula | None = None
    numerator: Formula | None = None
    denominator: Formula | None = None
    value: Formula | None = None
    over: Formula | None = None  # a ratio's denominator, summed as `value` is
    q: float | None = None
    opened: str | None = None
    closed: str | None = None
    per: int | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    target: float | Mapping[str, float] | None = None
    # "business": the times count only while the channel is open (`business_hours: true` on
    # the definition named `business_of` made this one); "clock": every second counts.
    clock: str = "clock"
    business_of: str | None = None

    @property
    def dimensions(self) -> tuple[str, ...]:
        dims = FACTS[self.fact].dimensions
        if self.kind in ("backlog", "per_customer"):  # running counts have no time of day
            dims = tuple(d for d in dims if d not in TIME_DIMENSIONS)
        return dims

    @property
    def formulas(self) -> dict[str, Formula]:
        return {k: f for k in ("where", "numerator", "denominator", "value", "over")
                if (f := getattr(self, k)) is not None}

    def columns(self) -> set[str]:
        """The fact columns the definition reads."""
        cols = {self.time} if self.kind not in ("backlog",) else set()
        cols |= {c for c in (self.opened, self.closed) if c}
        for f in self.formulas.values():
            cols |= f.columns
        return cols

    def target_for(self, channel: str | None = None) -> float | None:
        if self.target is None or not isinstance(self.target, Mapping):
            return self.target
        if channel is not None and channel in self.target:
            return self.target[channel]
        return self.target.get("default")

    def format(self, value: float | None) -> str:
        """The value as a person reads it: 83.3%, 4 min 10 s, +12.0, 1,234."""
        if value is None:
            return "–"
        if self.unit in ("contacts", "mentions"):
            return f"{value:,.0f}"
        if self.unit == "share":
            return f"{value * 100:.1f}%"
        if self.unit == "seconds":
            return format_duration(value)
        if self.unit == "points":
            return f"{value:+.1f}"
        if self.unit == "score":
            return f"{value:.2f}"
        if self.unit == "revenue":
            return f"{value:,.2f}"
        return f"{value:,.1f}"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name, "label": self.label, "description": self.description,
            "fact": self.fact, "kind": self.kind, "unit": self.unit, "better": self.better,
            "time": self.time, "dimensions": list(self.dimensions),
        }
        out |= {k: str(f) for k, f in self.formulas.items()}
        for key in ("q", "opened", "closed", "per"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.params:
            out["params"] = dict(self.params)
        out["target"] = dict(self.target) if isinstance(self.target, Mapping) else self.target
        if self.clock != "clock":  # left out otherwise: the clock metrics keep their fingerprint
            out |= {"clock": self.clock, "business_of": self.business_of}
        return out


def format_duration(seconds: float) -> str:
    """45 s, 4 min 10 s, 66 min, 5.2 h, 3.1 d: seconds only while they matter (a report said
    "65 min 58 s" beside "5.5 h")."""
    s = float(seconds)
    if abs(s) < 120:
        return f"{s:.0f} s"
    if abs(s) < 600:
        whole = round(s)  # 179.6 s is 3 min 00 s, not 2 min 60 s
        return f"{whole // 60} min {whole % 60:02d} s"
    if abs(s) < 2 * 3600:
        return f"{s / 60:.0f} min"
    if abs(s) < 48 * 3600:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} d"


@dataclass(frozen=True)
class Catalogue:
    metrics: Mapping[str, Metric]

    @property
    def names(self) -> list[str]:
        return list(self.metrics)

    def get(self, name: str) -> Metric:
        try:
            return self.metrics[name]
        except KeyError:
            raise UnknownMetricError(name, self.names) from None

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.metrics.values())

    def __len__(self) -> int:
        return len(self.metrics)


DEFAULT_PATH = "catalogue.yaml"


@lru_cache(maxsize=1)
def default_catalogue() -> Catalogue:
    text = resources.files("cxhub.metrics").joinpath(DEFAULT_PATH).read_text(encoding="utf-8")
    return loads(text, origin="cxhub/metrics/catalogue.yaml")


def load(path: Path | str) -> Catalogue:
    """A catalogue file of a company's own, in the same format as the default one."""
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), origin=str(path))


def loads(text: str, *, origin: str = "catalogue") -> Catalogue:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise CatalogueError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(data, dict) or not data:
        raise CatalogueError(f"{origin}: expected a mapping of metric names to definitions")
    metrics: dict[str, Metric] = {}
    for name, spec in data.items():
        m = metrics[str(name)] = _metric(str(name), spec, origin)
        if spec.get("business_hours"):
            twin = business_twin(m, spec, origin)
            if twin.name in data:
                raise CatalogueError(f"{origin}: metric {name!r}: business_hours makes "
                                     f"{twin.name!r}, which the catalogue defines as well")
            metrics[twin.name] = twin
    return Catalogue(metrics)


def business_twin(m: Metric, spec: Mapping[str, Any], origin: str) -> Metric:
    """The metric `business_hours: true` adds beside `m`: the same definition with each time
    it reads (first_response_seconds, resolution_seconds) counted in business hours."""
    where = f"{origin}: metric {m.name!r}, business_hours"
    if spec["business_hours"] is not True:
        raise CatalogueError(f"{where}: must be true (or left out); got "
                             f"{spec['business_hours']!r}")
    clocks = BUSINESS_CLOCKS.get(m.fact, {})
    if not any(c in clocks for c in m.columns()):
        raise CatalogueError(f"{where}: the metric reads no time a business clock can count "
                             f"({', '.join(clocks) or 'none on fact ' + m.fact})")
    columns = set(FACTS[m.fact].columns)
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, clocks)) + r")\b")
    swapped = {k: pattern.sub(lambda x: clocks[x.group(1)], f.text)
               for k, f in m.formulas.items()}
    formulas: dict[str, Any] = {
        k: parse(text, params=m.params, columns=columns, where=f"{where}, {k}")
        for k, text in swapped.items()}
    return replace(m, name=f"{m.name}_business", label=f"{m.label}, business hours",
                   description=f"{m.description} Counted in business hours: only while the "
                   "channel is open by its opening hours and holidays (a channel with no hours "
                   "of its own or borrowed counts every hour).",
                   clock="business", business_of=m.name, **formulas)


def _metric(name: str, spec: Any, origin: str) -> Metric:
    where = f"{origin}: metric {name!r}"
    if not isinstance(spec, dict):
        raise CatalogueError(f"{where}: expected a mapping of fields")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise CatalogueError(f"{where}: kind must be one of {', '.join(KINDS)}; got {kind!r}")
    allowed = _COMMON | _BY_KIND[kind]
    unknown = sorted(set(spec) - allowed)
    if unknown:
        raise CatalogueError(f"{where}: unknown field(s) {', '.join(unknown)} for kind {kind}; "
                             f"fields: {', '.join(sorted(allowed))}")
    missing = sorted((_REQUIRED.get(kind, set()) | {"label", "description", "fact", "unit",
                                                      "better"}) - set(spec))
    if missing:
        raise CatalogueError(f"{where}: missing field(s) {', '.join(missing)}")
    fact = spec["fact"]
    if fact not in FACTS:
        raise CatalogueError(f"{where}: fact must be one of {', '.join(FACTS)}; got {fact!r}")
    for key, choices in (("unit", UNITS), ("better", BETTER)):
        if spec[key] not in choices:
            raise CatalogueError(
                f"{where}: {key} must be one of {', '.join(choices)}; got {spec[key]!r}")
    columns = set(FACTS[fact].columns)
    params = spec.get("params") or {}
    if not isinstance(params, dict):
        raise CatalogueError(f"{where}: params must be a mapping")
    time = spec.get("time", "created_at")
    for key in ("time", "opened", "closed"):
        value = time if key == "time" else spec.get(key)
        if value is not None and value not in columns:
            raise CatalogueError(f"{where}: {key} {value!r} is not a column of {fact}")
    formulas = {k: parse(spec[k], params=params, columns=columns, where=f"{where}, {k}")
                for k in ("where", "numerator", "denominator", "value", "over")
                if spec.get(k) is not None}
    q = spec.get("q")
    if q is not None and not (isinstance(q, int | float) and 0 < q < 1):
        raise CatalogueError(f"{where}: q must be a number between 0 and 1; got {q!r}")
    per = spec.get("per")
    if per is not None and not (isinstance(per, int) and per > 0):
        raise CatalogueError(f"{where}: per must be a positive whole number; got {per!r}")
    return Metric(
        name=name, label=str(spec["label"]), description=" ".join(str(spec["description"]).split()),
        fact=fact, kind=kind, unit=spec["unit"], better=spec["better"], time=time,
        q=float(q) if q is not None else None, opened=spec.get("opened"),
        closed=spec.get("closed"), per=per, params=params,
        target=_target(spec.get("target"), where), where=formulas.get("where"),
        numerator=formulas.get("numerator"), denominator=formulas.get("denominator"),
        value=formulas.get("value"), over=formulas.get("over"),
    )


def _target(value: Any, where: str) -> float | Mapping[str, float] | None:
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, dict) and all(isinstance(v, int | float) for v in value.values()):
        return {str(k): float(v) for k, v in value.items()}
    raise CatalogueError(f"{where}: target must be a number or a mapping of channel to number")
