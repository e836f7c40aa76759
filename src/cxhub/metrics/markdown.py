"""The catalogue as Markdown, for docs/metrics.md (a test keeps the two the same).

    python -m cxhub.metrics.markdown > /tmp/catalogue.md   # then paste between the markers
"""

from __future__ import annotations

import json
from typing import Any

from cxhub.metrics.definitions import Catalogue, Metric, default_catalogue
from cxhub.metrics.facts import FACTS

START = "<!-- catalogue:start -->"
END = "<!-- catalogue:end -->"


def _value(value: Any) -> str:
    if isinstance(value, dict | list):
        return "`" + json.dumps(value) + "`"
    if isinstance(value, float):
        return f"{value:g}"
    return f"`{value}`"


def metric_section(m: Metric) -> str:
    rows = [("fact", _value(m.fact)), ("kind", _value(m.kind)), ("unit", m.unit),
            ("better", m.better)]
    if m.kind != "backlog":
        rows.append(("time", _value(m.time)))
    for key in ("opened", "closed", "where", "numerator", "denominator", "value", "over", "q",
                "per"):
        value = getattr(m, key)
        if value is not None:
            rows.append((key, f"{value:g}" if isinstance(value, int | float) else f"`{value}`"))
    for name, value in m.params.items():
        rows.append((f"param `{name}`", _value(value)))
    if m.target is not None:
        rows.append(("target", _value(m.target)))
    if m.clock != "clock":
        rows.append(("clock", f"{m.clock} hours (`business_hours: true` on `{m.business_of}`)"))
    rows.append(("dimensions", ", ".join(m.dimensions)))
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"### `{m.name}`: {m.label}\n\n{m.description}\n\n| field | |\n|---|---|\n{table}\n"


def facts_section() -> str:
    parts = []
    for fact in FACTS.values():
        lines = "\n".join(f"| `{c}` | {d} |" for c, d in fact.columns.items())
        parts.append(f"### Fact `{fact.name}`\n\n{fact.description}.\n\n| column | |\n"
                     f"|---|---|\n{lines}\n")
    return "\n".join(parts)


def render(catalogue: Catalogue | None = None) -> str:
    catalogue = catalogue or default_catalogue()
    metrics = "\n".join(metric_section(m) for m in catalogue)
    return (f"{START}\n## The catalogue\n\n{metrics}\n## Columns formulas can use\n\n"
            f"{facts_section()}{END}\n")


if __name__ == "__main__":
    print(render(), end="")
