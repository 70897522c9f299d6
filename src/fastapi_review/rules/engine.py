"""Runs the enabled rules over the index; one rule's crash never stops the review."""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field

from fastapi_review.models import Finding
from fastapi_review.rules import all_rules
from fastapi_review.rules.base import Context


@dataclass
class RuleRun:
    findings: list[Finding] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # "RULE: what went wrong"


def run_rules(ctx: Context, only: list[str] | None = None) -> RuleRun:
    out = RuleRun()
    seen: set[tuple[str, str | None, int | None, str]] = set()
    for rule_id, rule_cls in all_rules().items():
        if only is not None and rule_id not in only:
            continue
        if only is None and (rule_cls.stage != "rules" or not ctx.config.rule_enabled(rule_id)):
            continue
        try:
            produced = list(rule_cls().check(ctx))
        except Exception as exc:  # a defect in one rule must not sink the review
            where = traceback.extract_tb(exc.__traceback__)[-1]
            out.errors.append(
                f"{rule_id}: {exc.__class__.__name__}: {exc} (at {where.filename}:{where.lineno})"
            )
            continue
        for f in produced:
            key = (f.rule, f.path, f.line, f.message)
            if key in seen:
                continue
            seen.add(key)
            override = ctx.config.severity.get(f.rule)
            if override is not None:
                f.severity = override
            f.in_change = ctx.change.touches(f.path, f.line)
            out.findings.append(f)
    return out
