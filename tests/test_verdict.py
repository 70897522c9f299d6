"""Scores and recommendation exactly by the scoring rules."""

from __future__ import annotations

from fastapi_review.config import Config
from fastapi_review.models import (
    CoverageMetrics,
    Finding,
    GateResult,
    Requirement,
    Scores,
    Severity,
    TracedRequirement,
)
from fastapi_review.verdict import decide, recommend, score_quality, score_requirements, score_tests


def f(category: str, severity: Severity) -> Finding:
    return Finding(
        rule="X001", category=category, severity=severity, path="a.py", line=1, message="m"
    )


def traced(*statuses: str) -> list[TracedRequirement]:
    return [
        TracedRequirement(
            requirement=Requirement(id=f"R{i}", kind="endpoint", key=f"GET /r{i}", text="t"),
            status=s,  # type: ignore[arg-type]
        )
        for i, s in enumerate(statuses)
    ]


def gates(passed: bool = True) -> dict[str, GateResult]:
    return {
        n: GateResult(name=n, measured=True, passed=passed, count=0)
        for n in ("ruff", "format", "mypy", "bandit", "dependencies")
    }


def cov(overall: float, service: float | None = None) -> CoverageMetrics:
    layers = {"service": service} if service is not None else {}
    return CoverageMetrics(measured=True, overall=overall, layers=layers)


def test_recommendation_rules() -> None:
    good = Scores(requirements=4, tests=5, quality=4, overall=4.3)
    assert recommend(good, []) == "APPROVE"
    assert recommend(good, [f("kafka.no-dlq", Severity.CRITICAL)]) == "CONDITIONAL_APPROVE"
    assert recommend(good, [f("async.blocking-io", Severity.BLOCKER)]) == "REJECT"
    assert (
        recommend(Scores(requirements=3, tests=5, quality=5, overall=4.3), [])
        == "CONDITIONAL_APPROVE"
    )
    assert recommend(Scores(requirements=2, tests=5, quality=5, overall=4.0), []) == "REJECT"


def test_test_anchors() -> None:
    config = Config()
    assert score_tests(cov(92.0, 97.0), {}, [], config).score == 5
    assert score_tests(cov(92.0, 90.0), {}, [], config).score == 4  # service below 95%
    assert score_tests(cov(87.0), {}, [], config).score == 4
    assert score_tests(cov(80.0), {}, [], config).score == 3
    assert score_tests(cov(65.0), {}, [], config).score == 2
    assert score_tests(cov(40.0), {}, [], config).score == 1
    unmeasured = score_tests(
        CoverageMetrics(measured=False, reason="not run (--no-tests)"), {}, [], config
    )
    assert unmeasured.score == 3 and "not measured: not run (--no-tests)" in unmeasured.why
    failing = {
        "tests": GateResult(name="tests", measured=True, passed=False, details={"failed": 2})
    }
    assert score_tests(cov(95.0, 99.0), failing, [], config).score == 3
    assert "95.0%" in score_tests(cov(95.0, 99.0), failing, [], config).why


def test_quality_anchors() -> None:
    assert score_quality(gates(), []).score == 5
    assert score_quality(gates(), [f("db.pool-config", Severity.LOW)]).score == 5
    assert score_quality(gates(), [f("ops.logging", Severity.MEDIUM)]).score == 4
    assert score_quality(gates(), [f("kafka.commit-semantics", Severity.HIGH)]).score == 3
    assert score_quality(gates(passed=False), []).score == 3
    assert score_quality(gates(), [f("async.blocking-io", Severity.BLOCKER)]).score == 2
    assert score_quality(gates(), [f("async.blocking-io", Severity.BLOCKER)] * 3).score == 1
    # requirement and test findings do not count against code quality
    assert score_quality(gates(), [f("req.missing", Severity.BLOCKER)]).score == 5
    unmeasured = {
        **gates(),
        "ruff": GateResult(name="ruff", measured=False, reason="ruff not found"),
    }
    q = score_quality(unmeasured, [])
    assert q.score == 4 and "not measured: ruff" in q.why
    # gates that did not run at all are not measured either
    none_run = score_quality({}, [])
    assert none_run.score == 4
    assert "not measured: ruff, format, mypy, bandit, dependencies" in none_run.why


def test_requirement_anchors() -> None:
    assert score_requirements(traced(*["implemented"] * 10), []).score == 5
    assert score_requirements(traced(*["implemented"] * 10, "unverified"), []).score == 5
    assert (
        score_requirements(traced(*["implemented"] * 10), [f("req.untested", Severity.HIGH)]).score
        == 4
    )
    assert score_requirements(traced(*["implemented"] * 19, "partial"), []).score == 4
    assert score_requirements(traced(*["implemented"] * 19, "missing"), []).score == 3
    assert (
        score_requirements(
            traced(*["implemented"] * 6, "missing", "missing", "partial", "partial"), []
        ).score
        == 2
    )
    assert score_requirements(traced("implemented", "missing", "missing"), []).score == 1
    assert score_requirements([], []).score == 3
    assert "not measured" in score_requirements([], []).why


def test_decide_overall_and_justification() -> None:
    scores, rec = decide(traced(*["implemented"] * 5), [], gates(), cov(91.0, 96.0), Config())
    assert (scores.requirements, scores.tests, scores.quality, scores.overall) == (5, 5, 5, 5.0)
    assert rec == "APPROVE"
    assert "91.0%" in scores.justification["tests"]
    scores, rec = decide(
        traced(*["implemented"] * 5),
        [f("async.blocking-io", Severity.BLOCKER)],
        gates(),
        cov(80.0),
        Config(),
    )
    assert (scores.quality, scores.tests, scores.overall) == (2, 3, 3.3)
    assert rec == "REJECT"
