"""The Rule enumeration is the one list of findings: every Problem is made through it, and
docs/usage.md's rule table is generated from it."""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

from surveybib.rules import Rule, rule_table

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "surveybib"
USAGE = ROOT / "docs" / "usage.md"
_TABLE = re.compile(r"^\| rule \| default \| finds \|\n(?:\|.*\|\n)+", re.M)


def test_docs_rule_table_is_the_rule_list() -> None:
    """`UPDATE_GOLDEN=1 pytest tests/test_rules.py` writes the table into docs/usage.md."""
    text = USAGE.read_text(encoding="utf-8")
    match = _TABLE.search(text)
    assert match is not None, "docs/usage.md has no `| rule | default | finds |` table"
    if os.environ.get("UPDATE_GOLDEN") and match.group(0) != rule_table():
        USAGE.write_text(text[:match.start()] + rule_table() + text[match.end():],
                         encoding="utf-8")
        return
    assert match.group(0) == rule_table()


def test_rules_have_unique_ids_and_known_levels() -> None:
    ids = [rule.id for rule in Rule]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(?:-[a-z]+)*", i) for i in ids)
    assert {rule.level for rule in Rule} <= {"error", "warning"}


def test_every_problem_is_made_through_a_rule() -> None:
    """No `Problem(...)` outside rules.py: a finding's id and level cannot be typed freely."""
    makers = []
    for path in sorted(SRC.rglob("*.py")):
        if path.name == "rules.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "Problem":
                makers.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert makers == []


def test_a_problem_carries_its_rules_id_and_level() -> None:
    problem = Rule.NO_TAXONOMY.at("survey.bib", 3, "k", "no taxonomy", "taxonomy")
    assert (problem.rule, problem.level) == ("no-taxonomy", "warning")
    assert str(problem) == "survey.bib:3: k: warning: no taxonomy"
    raised = Rule.EXPORT_FORMAT.at("survey.bib", None, "k", "left out", "export", "error")
    assert (raised.rule, raised.level, str(raised)) == ("export-format", "error",
                                                       "survey.bib: k: left out")
