"""Every relative link in the README, BENCHMARKS.md and docs/ leads somewhere: the file exists
and, for a link to a heading (`metrics.md#speed`), the heading does too. A renamed module or
doc then fails here instead of leaving a reader at a dead end."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", ROOT / "BENCHMARKS.md", *sorted((ROOT / "docs").glob("*.md"))]


def anchor(heading: str) -> str:
    """GitHub's id of a heading: lower case, punctuation dropped, spaces as hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def links(text: str) -> list[str]:
    """The link targets of a Markdown text, code blocks left out."""
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    return re.findall(r"\]\(([^)\s]+)\)", prose)


def broken(doc: Path) -> list[str]:
    out = []
    for target in links(doc.read_text()):
        if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
            continue
        path, _, heading = target.partition("#")
        found = (doc.parent / path).resolve() if path else doc
        if not found.exists():
            out.append(f"{doc.name}: {target} (no such file)")
        elif heading and found.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", found.read_text(), re.M)
            if heading not in {anchor(h) for h in headings}:
                out.append(f"{doc.name}: {target} (no such heading)")
    return out


def test_every_relative_link_leads_somewhere() -> None:
    dead = [b for doc in DOCS for b in broken(doc)]
    assert not dead, "dead links:\n" + "\n".join(dead)


def test_a_dead_link_is_found(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# Speed up\n[ok](a.md#speed-up) [gone](b.md) [x](a.md#no)\n"
                                   "```\n[in code](c.md)\n```\n")
    assert broken(tmp_path / "a.md") == ["a.md: b.md (no such file)",
                                         "a.md: a.md#no (no such heading)"]
