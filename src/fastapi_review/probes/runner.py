"""Runs the gates concurrently (first version: none wired yet, each says so)."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi_review.index.project import ProjectIndex
from fastapi_review.models import CoverageMetrics, Finding, GateResult
from fastapi_review.workspace import Workspace

GATES = ("ruff", "format", "mypy", "bandit", "dependencies", "tests", "precommit", "metadata")


@dataclass
class GateRun:
    gates: dict[str, GateResult] = field(default_factory=dict)
    coverage: CoverageMetrics = field(default_factory=CoverageMetrics)
    findings: list[Finding] = field(default_factory=list)
    test_inventory: dict[str, object] = field(default_factory=dict)


def run_gates(ws: Workspace, index: ProjectIndex) -> GateRun:
    run = GateRun()
    for name in GATES:
        run.gates[name] = GateResult(name=name, measured=False, reason="gate not implemented yet")
    run.coverage = CoverageMetrics(measured=False, reason="tests not run")
    return run
