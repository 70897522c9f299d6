"""Shared by the tracing tests: write a fixture project, read a design, trace it."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastapi_review.design.reader import parse_design
from fastapi_review.index.project import build_index
from fastapi_review.models import CoverageMetrics, Finding, GateResult
from fastapi_review.rules.base import Context
from fastapi_review.trace import TraceResult, trace_requirements


def trace(
    tmp_path: Path,
    design: str,
    files: dict[str, str],
    findings: list[Finding] | None = None,
    *,
    coverage: CoverageMetrics | None = None,
    gates: dict[str, GateResult] | None = None,
) -> TraceResult:
    for rel, text in files.items():
        target = tmp_path / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    doc = parse_design(textwrap.dedent(design).lstrip("\n"))
    ctx = Context(index=build_index(tmp_path), requirements=doc.requirements)
    return trace_requirements(
        doc.requirements, ctx, coverage=coverage, gates=gates, findings=findings
    )


def status(result: TraceResult) -> dict[str, str]:
    """Requirement key -> status."""
    return {t.requirement.key: t.status for t in result.traced}


def status_of(result: TraceResult, start: str) -> str:
    """The status of the requirement whose text starts with `start`."""
    return next(t.status for t in result.traced if t.requirement.text.startswith(start))


def found(result: TraceResult) -> set[tuple[str, str | None, int | None]]:
    """(category, path, line) of every finding the tracer reported."""
    return {(f.category, f.path, f.line) for f in result.findings}
