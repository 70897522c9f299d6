"""The machine-readable review report (schema_version 1, see the report-json contract)."""

from __future__ import annotations

import json
from typing import Any

from fastapi_review.models import Review

SCHEMA_VERSION = 1


def _finding(f: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rule": f.rule,
        "category": f.category,
        "severity": f.severity.value,
        "path": f.path,
        "line": f.line,
        "message": f.message,
        "evidence": f.evidence,
        "fix": f.fix,
        "in_change": f.in_change,
        "source": f.source,
    }
    if f.chain:
        out["chain"] = f.chain
    if f.suppressed:
        out["suppressed"] = True
        out["suppression_reason"] = f.suppression_reason
    return out


def to_json_dict(review: Review) -> dict[str, Any]:
    cov = review.coverage
    coverage: dict[str, Any]
    if cov.measured:
        coverage = {
            "measured": True,
            "overall": cov.overall,
            "covered_lines": cov.covered_lines,
            "total_lines": cov.total_lines,
            "layers": cov.layers,
            "layer_lines": {k: list(v) for k, v in cov.layer_lines.items()},
            "diff_coverage": cov.diff_coverage,
        }
    else:
        coverage = {"measured": False, "reason": cov.reason or "not measured"}
    gates: dict[str, Any] = {}
    for name, g in review.gates.items():
        entry: dict[str, Any] = {"measured": g.measured}
        if g.measured:
            entry["passed"] = g.passed
            entry["count"] = g.count
        else:
            entry["reason"] = g.reason
        entry["duration_s"] = g.duration_s
        if g.details:
            entry["details"] = g.details
        gates[name] = entry
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "fastapi-review", "version": review.tool_version},
        "project": {
            "name": review.project_name,
            "root": review.root,
            "design": review.design,
            "changed_files": review.change.changed_files,
            "git": review.change.git,
            "base": review.change.base if review.change.git else None,
            "change_note": review.change.reason or None,
        },
        "date": review.date,
        "recommendation": review.recommendation,
        "scores": {
            "requirements": review.scores.requirements,
            "tests": review.scores.tests,
            "quality": review.scores.quality,
            "overall": review.scores.overall,
            "justification": review.scores.justification,
        },
        "findings": [_finding(f) for f in sorted(review.findings, key=lambda f: f.sort_key())],
        "requirements": [
            {
                "id": t.requirement.id,
                "kind": t.requirement.kind,
                "key": t.requirement.key,
                "text": t.requirement.text,
                "status": t.status,
                "reason": t.reason,
                "design_line": t.requirement.line,
                "evidence": t.evidence,
                "tests": t.tests,
            }
            for t in review.requirements
        ],
        "design_problems": review.design_problems,
        "metrics": {
            "coverage": coverage,
            "gates": gates,
            "tests": review.test_inventory,
        },
        "files_reviewed": review.files_reviewed,
        "not_analysed": [{"path": s.path, "reason": s.reason} for s in review.skipped],
        "notes": review.notes,
        "timings": review.timings,
    }


def render_json(review: Review) -> str:
    return json.dumps(to_json_dict(review), indent=2, ensure_ascii=False) + "\n"
