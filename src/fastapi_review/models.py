"""Typed values that cross the pipeline's stages.

cli -> workspace -> index -> (probes || rules) -> trace -> verdict -> render
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """Criticality levels of the review standard, highest first."""

    BLOCKER = "BLOCKER"
    CRITICAL = "CRITICAL"
    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __str__(self) -> str:
        return self.value


_RANK = {
    Severity.LOW: 1,
    Severity.MEDIUM: 2,
    Severity.HIGH: 3,
    Severity.CRITICAL: 4,
    Severity.BLOCKER: 5,
}


class Finding(BaseModel):
    """One problem, with its rule, place, evidence and fix."""

    model_config = ConfigDict(frozen=False)

    rule: str
    category: str
    severity: Severity
    path: str | None = None
    line: int | None = None
    message: str
    evidence: str = ""
    fix: str = ""
    in_change: bool = False
    source: str = "fastapi-review"
    chain: list[str] = Field(default_factory=list)
    suppressed: bool = False
    suppression_reason: str | None = None

    def sort_key(self) -> tuple[int, str, int, str]:
        return (-self.severity.rank, self.path or "", self.line or 0, self.rule)


RequirementKind = Literal["endpoint", "event", "model", "acceptance", "nfr", "other"]
RequirementStatus = Literal["implemented", "partial", "missing", "deviation", "unverified"]


class Requirement(BaseModel):
    """A checkable requirement read from the tech design."""

    id: str
    kind: RequirementKind
    key: str
    text: str
    line: int | None = None
    section: str = ""
    # structured details the reader could extract (method, path, status codes, fields, ...)
    details: dict[str, Any] = Field(default_factory=dict)


class TracedRequirement(BaseModel):
    """A requirement with its status, the code that implements it and the tests that prove it."""

    requirement: Requirement
    status: RequirementStatus
    reason: str = ""
    evidence: list[str] = Field(default_factory=list)
    tests: list[str] = Field(default_factory=list)


class GateResult(BaseModel):
    """One external quality gate (ruff, mypy, pytest, ...)."""

    name: str
    measured: bool
    passed: bool | None = None
    reason: str | None = None
    count: int | None = None
    duration_s: float | None = None
    details: dict[str, Any] = Field(default_factory=dict)


class CoverageMetrics(BaseModel):
    measured: bool = False
    reason: str | None = None
    overall: float | None = None
    covered_lines: int | None = None
    total_lines: int | None = None
    layers: dict[str, float | None] = Field(default_factory=dict)
    layer_lines: dict[str, tuple[int, int]] = Field(default_factory=dict)
    diff_coverage: float | None = None
    files: dict[str, float] = Field(default_factory=dict)


class SkippedFile(BaseModel):
    path: str
    reason: str


class Scores(BaseModel):
    requirements: int
    tests: int
    quality: int
    overall: float
    justification: dict[str, str] = Field(default_factory=dict)


Recommendation = Literal["APPROVE", "CONDITIONAL_APPROVE", "REJECT"]


class ChangeInfo(BaseModel):
    git: bool
    reason: str = ""
    base: str = "HEAD"
    head: str | None = None
    changed_files: list[str] = Field(default_factory=list)


class Review(BaseModel):
    """The whole review: what every renderer reads."""

    tool_version: str
    project_name: str
    root: str
    design: str | None
    date: str
    change: ChangeInfo
    requirements: list[TracedRequirement] = Field(default_factory=list)
    design_problems: list[str] = Field(default_factory=list)
    findings: list[Finding] = Field(default_factory=list)
    gates: dict[str, GateResult] = Field(default_factory=dict)
    coverage: CoverageMetrics = Field(default_factory=CoverageMetrics)
    test_inventory: dict[str, Any] = Field(default_factory=dict)
    scores: Scores
    recommendation: Recommendation
    files_reviewed: list[str] = Field(default_factory=list)
    skipped: list[SkippedFile] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    stats: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)

    @property
    def active_findings(self) -> list[Finding]:
        return [f for f in self.findings if not f.suppressed]
