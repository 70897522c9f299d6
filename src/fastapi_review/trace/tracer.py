"""Requirement -> code -> tests (first version: endpoints by method and path)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi_review.models import CoverageMetrics, Finding, Requirement, TracedRequirement
from fastapi_review.rules.base import Context


@dataclass
class TraceResult:
    traced: list[TracedRequirement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _norm(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path).rstrip("/") or "/"


def trace_requirements(
    requirements: list[Requirement], ctx: Context, coverage: CoverageMetrics | None = None
) -> TraceResult:
    out = TraceResult()
    for req in requirements:
        if req.kind != "endpoint":
            out.traced.append(TracedRequirement(requirement=req, status="unverified", reason="not traced"))
            continue
        method, _, path = req.key.partition(" ")
        routes = [r for r in ctx.index.routes if r.method == method and _norm(r.path) == _norm(path)]
        if routes:
            out.traced.append(
                TracedRequirement(
                    requirement=req,
                    status="implemented",
                    evidence=[f"{r.file}:{r.line}" for r in routes],
                )
            )
        else:
            out.traced.append(TracedRequirement(requirement=req, status="missing", reason="no route"))
    return out
