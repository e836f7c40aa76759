"""The layers of docs/architecture.md hold and no module imports itself back in a circle.

Read from the source with `ast`, imports inside functions included (they hide circles from
Python, not from a reader). An arrow is "may import":

    cli, web -> services -> analytics, ingest -> warehouse -> domain
    services, analytics -> metrics -> domain only
    simulate -> domain;  services (the demo) -> simulate

so a new import that runs back up, or across, fails here with the line that does it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"
PACKAGE = SRC / "cxhub"

# What each top-level part of cxhub may import besides itself. The package's own
# `__init__`/`__main__`/`settings` are shared by all (settings is plain configuration).
SHARED = {"cxhub", "cxhub.settings", "cxhub.__main__"}
MAY_IMPORT: dict[str, set[str]] = {
    "domain": set(),
    "warehouse": {"domain"},
    "metrics": {"domain"},
    "ingest": {"warehouse", "domain"},
    # The problems read contacts with the metrics' own label rule (facts.best_labels).
    "analytics": {"metrics", "warehouse", "domain"},
    "simulate": {"domain"},
    # The demo runs the simulator and feeds its contacts live (services/demo).
    "services": {"analytics", "metrics", "ingest", "warehouse", "domain", "simulate"},
    "web": {"services", "analytics", "metrics", "ingest", "warehouse", "domain"},
    "cli": {"web", "services", "analytics", "metrics", "ingest", "warehouse", "domain",
            "simulate"},
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, modules: set[str]) -> Iterator[tuple[str, int]]:
    """(module of cxhub imported, line) for every import in the file, at any depth."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                # `from cxhub.metrics import sums` imports the module cxhub.metrics.sums.
                sub = f"{base}.{alias.name}"
                yield (sub if sub in modules else base), node.lineno


def graph() -> dict[str, dict[str, int]]:
    """Module -> {cxhub module it imports: first line doing so}."""
    files = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(p) for p in files}
    out: dict[str, dict[str, int]] = {}
    for path in files:
        edges = out.setdefault(module_name(path), {})
        for target, line in imports(path, modules):
            while target and target not in modules:  # an attribute: `from m import f`
                target = target.rpartition(".")[0]
            if target.startswith("cxhub") and target != module_name(path):
                edges.setdefault(target, line)
    return out


def circles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def layer(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def test_no_module_imports_itself_back_in_a_circle() -> None:
    edges = graph()
    found = circles(edges)
    detail = []
    for component in found:
        inside = set(component)
        detail += [f"  {a} -> {b} (line {line})" for a in component
                   for b, line in sorted(edges[a].items()) if b in inside]
    assert not found, "import circles:\n" + "\n".join(detail)


def test_every_import_follows_the_layers() -> None:
    wrong = []
    for module, targets in sorted(graph().items()):
        own = layer(module)
        if module in SHARED:
            continue
        allowed = MAY_IMPORT.get(own)
        assert allowed is not None, f"{module}: add its part of cxhub to MAY_IMPORT (and docs)"
        for target, line in sorted(targets.items()):
            other = layer(target)
            if other == own or target in SHARED or other in allowed:
                continue
            wrong.append(f"  {module} (line {line}) imports {target}")
    assert not wrong, "imports against docs/architecture.md's layers:\n" + "\n".join(wrong)


def test_the_check_finds_a_circle_and_a_wrong_layer() -> None:
    """The checks themselves can fail: a made-up graph with a circle through three modules."""
    edges = {"a": {"b": 1}, "b": {"c": 2}, "c": {"a": 3}, "d": {"a": 4}}
    assert circles(edges) == [["a", "b", "c"]]
    assert circles({"a": {"b": 1}, "b": {}}) == []
