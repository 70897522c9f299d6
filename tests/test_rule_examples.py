"""Every rule's embedded examples: bad ones fire (at the marked lines), good ones stay quiet."""

from __future__ import annotations

import pytest

from fastapi_review.categories import categories
from fastapi_review.rules import all_rules
from fastapi_review.rules.base import Rule
from fastapi_review.rules.examples import expected_lines, run_example

RULES = all_rules()
BAD = [(rid, i) for rid, r in RULES.items() for i in range(len(r.bad))]
GOOD = [(rid, i) for rid, r in RULES.items() for i in range(len(r.good))]


@pytest.mark.parametrize(("rule_id", "i"), BAD, ids=[f"{r}-bad{i}" for r, i in BAD])
def test_bad_example_fires(rule_id: str, i: int) -> None:
    rule = RULES[rule_id]
    example = rule.bad[i]
    findings = [f for f in run_example(rule, example) if f.rule == rule_id]
    assert findings, f"{rule_id}: bad example {i} produced no finding"
    marked = expected_lines(example)
    if marked:
        got = {(f.path, f.line) for f in findings}
        assert marked <= got, f"{rule_id}: expected findings at {sorted(marked)}, got {sorted(got)}"
    for f in findings:
        assert f.category in categories()  # a rule may report under a neighbouring category
        assert f.message and f.fix


@pytest.mark.parametrize(("rule_id", "i"), GOOD, ids=[f"{r}-good{i}" for r, i in GOOD])
def test_good_example_is_quiet(rule_id: str, i: int) -> None:
    rule = RULES[rule_id]
    findings = [f for f in run_example(rule, rule.good[i]) if f.rule == rule_id]
    assert not findings, (
        f"{rule_id}: good example {i} fired: {[(f.line, f.message) for f in findings]}"
    )


@pytest.mark.parametrize("rule_id", list(RULES))
def test_rule_is_documented(rule_id: str) -> None:
    rule: type[Rule] = RULES[rule_id]
    assert rule.name and rule.name == rule.name.lower() and " " not in rule.name
    assert rule.category in categories()
    assert rule.what.strip() and rule.why.strip() and rule.fix.strip()
    assert rule.bad, f"{rule_id} has no bad example"
    assert rule.good, f"{rule_id} has no good example"
    doc = rule.doc()
    assert rule.id in doc and "## Why it matters" in doc
