"""Scores and recommendation, exactly by the scoring rules of the review standard.

- REJECT: any BLOCKER finding, or any dimension scored 2 or lower.
- APPROVE: zero BLOCKER and zero CRITICAL findings, and every dimension scored 4 or 5.
- CONDITIONAL_APPROVE: everything in between.
Overall score: the mean of the three, to one decimal.
Each score comes with a justification naming the numbers and findings that set it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from fastapi_review.config import Config
from fastapi_review.models import (
    CoverageMetrics,
    Finding,
    GateResult,
    Recommendation,
    Scores,
    Severity,
    TracedRequirement,
)

CODE_GATES = ("ruff", "format", "mypy", "bandit", "dependencies")
ASYNC_BLOCKING = {"async.blocking-io", "db.sync-driver"}


@dataclass
class Dimension:
    score: int
    why: str


def _group(f: Finding) -> str:
    return f.category.split(".", 1)[0]


def _counts(findings: list[Finding]) -> str:
    c = Counter(f.severity for f in findings)
    parts = [f"{c[s]} {s.value}" for s in Severity if c[s]]
    return ", ".join(parts) if parts else "no findings"


def score_requirements(traced: list[TracedRequirement], findings: list[Finding]) -> Dimension:
    if not traced:
        return Dimension(3, "not measured: no requirement could be read from the tech design")
    status = Counter(t.status for t in traced)
    decided = [t for t in traced if t.status != "unverified"]
    n = len(decided)
    if n == 0:
        return Dimension(
            3, f"not measured: none of the {len(traced)} requirements could be verified statically"
        )
    impl, part, dev, miss = (
        status["implemented"],
        status["partial"],
        status["deviation"],
        status["missing"],
    )
    untested = sum(1 for f in findings if f.category == "req.untested" and not f.suppressed)
    gaps = part + dev + miss
    facts = (
        f"{impl}/{n} verified requirements implemented, {part} partial, {dev} deviating, "
        f"{miss} missing ({status['unverified']} unverified); {untested} implemented but untested"
    )
    if impl / n < 0.5:
        return Dimension(1, f"{facts}: most requirements are not implemented")
    if (miss and miss / n > 0.1) or gaps / n > 0.3:
        return Dimension(2, f"{facts}: major requirements missing or wrong")
    if miss or gaps / n > 0.1:
        return Dimension(
            3, f"{facts}: core requirements met, secondary features or error handling missing"
        )
    if gaps or untested:
        return Dimension(4, f"{facts}: all implemented with minor gaps")
    return Dimension(5, f"{facts}: every requirement implemented")


def score_tests(
    coverage: CoverageMetrics,
    gates: dict[str, GateResult],
    findings: list[Finding],
    config: Config,
    test_count: int | None = None,
) -> Dimension:
    tests_gate = gates.get("tests")
    test_findings = [f for f in findings if _group(f) == "tests" and not f.suppressed]
    serious = [f for f in test_findings if f.severity.rank >= Severity.HIGH.rank]
    if test_count == 0:
        return Dimension(1, "tests missing: the project has no test function")
    if tests_gate is not None and tests_gate.measured and tests_gate.details.get("tests") == 0:
        return Dimension(1, "tests missing: pytest collected no test")
    if not coverage.measured or coverage.overall is None:
        reason = coverage.reason or (tests_gate.reason if tests_gate else None) or "tests not run"
        if tests_gate is not None and tests_gate.details.get("tests") == 0:
            return Dimension(1, "tests missing")
        return Dimension(
            3, f"not measured: {reason}; {_counts(test_findings)} from static test analysis"
        )
    cov = coverage.overall
    if cov >= 90:
        score = 5
    elif cov >= 85:
        score = 4
    elif cov >= 75:
        score = 3
    elif cov >= 60:
        score = 2
    else:
        score = 1
    notes = [f"overall coverage {cov:.1f}%"]
    service = coverage.layers.get("service")
    if service is not None:
        notes.append(f"service layer {service:.1f}%")
    failed = (
        int(
            (tests_gate.details.get("failed", 0) or 0) + (tests_gate.details.get("errored", 0) or 0)
        )
        if tests_gate
        else 0
    )
    if failed:
        notes.append(f"{failed} failing tests")
        score = min(score, 3)
    if score == 5 and (
        serious or (service is not None and service < config.thresholds.coverage_service)
    ):
        score = 4
        notes.append("gaps in test kinds or service coverage")
    notes.append(f"test findings: {_counts(test_findings)}")
    return Dimension(score, "; ".join(notes))


def score_quality(gates: dict[str, GateResult], findings: list[Finding]) -> Dimension:
    code = [
        f
        for f in findings
        if _group(f) not in {"requirements", "tests", "req"} and not f.suppressed
    ]
    code = [f for f in code if not f.category.startswith("req.")]
    blocking = [f for f in code if f.category in ASYNC_BLOCKING and f.severity == Severity.BLOCKER]
    failing = [
        g for name, g in gates.items() if name in CODE_GATES and g.measured and g.passed is False
    ]
    # a gate that did not run (--gates, --no-tests) is not measured either: never a silent pass
    unmeasured = [
        gates.get(name) or GateResult(name=name, measured=False, reason="not run")
        for name in CODE_GATES
        if name not in gates or not gates[name].measured
    ]
    high = [f for f in code if f.severity.rank >= Severity.HIGH.rank]
    above_low = [f for f in code if f.severity.rank > Severity.LOW.rank]
    gate_text = (
        "failing gates: " + ", ".join(g.name for g in failing) if failing else "no failing gate"
    )
    if unmeasured:
        gate_text += "; not measured: " + ", ".join(g.name for g in unmeasured)
    facts = f"code findings: {_counts(code)}; {gate_text}"
    if len(blocking) >= 3:
        return Dimension(
            1, f"{facts}: blocking operations throughout the async code ({len(blocking)} sites)"
        )
    if blocking:
        return Dimension(2, f"{facts}: blocking operations in async code")
    if len(high) >= 10:
        return Dimension(2, f"{facts}: many serious violations")
    if high or failing:
        return Dimension(3, facts)
    if above_low or unmeasured:
        return Dimension(4, facts)
    return Dimension(5, f"{facts}: all gates pass, nothing above LOW")


def decide(
    traced: list[TracedRequirement],
    findings: list[Finding],
    gates: dict[str, GateResult],
    coverage: CoverageMetrics,
    config: Config,
    test_count: int | None = None,
) -> tuple[Scores, Recommendation]:
    active = [f for f in findings if not f.suppressed]
    req = score_requirements(traced, active)
    tests = score_tests(coverage, gates, active, config, test_count)
    quality = score_quality(gates, active)
    overall = round((req.score + tests.score + quality.score) / 3, 1)
    scores = Scores(
        requirements=req.score,
        tests=tests.score,
        quality=quality.score,
        overall=overall,
        justification={"requirements": req.why, "tests": tests.why, "quality": quality.why},
    )
    return scores, recommend(scores, active)


def recommend(scores: Scores, findings: list[Finding]) -> Recommendation:
    blockers = sum(1 for f in findings if f.severity == Severity.BLOCKER)
    criticals = sum(1 for f in findings if f.severity == Severity.CRITICAL)
    dims = (scores.requirements, scores.tests, scores.quality)
    if blockers or min(dims) <= 2:
        return "REJECT"
    if not criticals and min(dims) >= 4:
        return "APPROVE"
    return "CONDITIONAL_APPROVE"
