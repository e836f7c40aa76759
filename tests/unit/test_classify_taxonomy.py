"""The taxonomy: built-in labels with descriptions, a company's causes from YAML, clear errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cxhub.analytics.classify.taxonomy import (
    TaxonomyError,
    default_taxonomy,
    load_taxonomy,
    taxonomy_for_home,
)
from cxhub.domain.canonical import CATEGORIES, CAUSES

DOCS = Path(__file__).resolve().parents[2] / "docs" / "classification.md"


def test_built_in_labels_are_the_canonical_ones_each_described() -> None:
    tax = default_taxonomy()
    assert tax.names("category") == list(CATEGORIES)
    assert tax.names("cause") == list(CAUSES)
    for spec in (*tax.categories, *tax.causes):
        assert len(spec.description) > 40, spec.name
        assert spec.examples and spec.keywords, spec.name
        assert spec.phrasings()[0].startswith(spec.name)
    with pytest.raises(TaxonomyError, match="unknown dimension"):
        tax.labels("mood")


def test_a_company_file_replaces_the_causes_and_refines_a_category(tmp_path: Path) -> None:
    path = tmp_path / "taxonomy.yaml"
    path.write_text(
        "causes:\n"
        "  - name: network\n"
        "    description: The network itself, coverage and outages.\n"
        "    keywords: [Signal, outage]\n"
        "  - name: billing\n"
        "    description: Bills and payments.\n"
        "categories:\n"
        "  - name: idea\n"
        "    description: A suggestion from a customer.\n")
    tax = load_taxonomy(path)
    assert tax.names("cause") == ["network", "billing"]
    assert tax.causes[0].keywords == ("signal", "outage")
    assert tax.causes[1].examples == ()
    idea = dict((s.name, s) for s in tax.categories)["idea"]
    assert idea.description == "A suggestion from a customer."
    assert idea.examples == default_taxonomy().categories[4].examples  # kept when not given
    assert tax.fingerprint("cause") != default_taxonomy().fingerprint("cause")
    assert tax.fingerprint("category") != default_taxonomy().fingerprint("category")


@pytest.mark.parametrize(("text", "message"), [
    ("causes: [{name: a}, {name: b, description: B}]", "needs a name and a description"),
    ("causes: [{name: a, description: A}]", "at least two entries"),
    ("causes: [{name: a, description: A}, {name: a, description: B}]", "must be unique"),
    ("causes: [{name: a, description: A, colour: red}, {name: b, description: B}]",
     "unknown keys colour"),
    ("categories: [{name: praise, description: P}]", "'praise' is not one of the fixed"),
    ("causes: [{name: a, description: A, keywords: x}, {name: b, description: B}]",
     "keywords must be a list"),
    ("reasons: []", "expected the keys causes and/or categories"),
    ("causes: [a, b", "not valid YAML"),
])
def test_invalid_files_say_what_to_fix(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(TaxonomyError, match=re.escape(message)):
        load_taxonomy(path)


def test_home_file_is_used_unless_another_is_given(tmp_path: Path) -> None:
    assert taxonomy_for_home(tmp_path).source == "built-in"
    (tmp_path / "taxonomy.yaml").write_text(
        "causes: [{name: x, description: X things}, {name: y, description: Y things}]")
    assert taxonomy_for_home(tmp_path).names("cause") == ["x", "y"]
    other = tmp_path / "other.yaml"
    other.write_text("causes: [{name: p, description: P}, {name: q, description: Q}]")
    assert taxonomy_for_home(tmp_path, other).names("cause") == ["p", "q"]
    with pytest.raises(TaxonomyError, match="cannot read"):
        taxonomy_for_home(tmp_path, tmp_path / "missing.yaml")


def test_the_documented_example_loads(tmp_path: Path) -> None:
    block = re.search(r"<!-- taxonomy-example -->\s*```yaml\n(.*?)```", DOCS.read_text(), re.S)
    assert block, "docs/classification.md has no taxonomy example"
    path = tmp_path / "taxonomy.yaml"
    path.write_text(block.group(1))
    assert len(load_taxonomy(path).causes) >= 2
