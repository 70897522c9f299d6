"""Renderers on a hand-built review: the template's layout, 'not measured' wording, the JSON contract."""

from __future__ import annotations

import json

from fastapi_review.models import (
    ChangeInfo,
    CoverageMetrics,
    Finding,
    GateResult,
    Requirement,
    Review,
    Scores,
    Severity,
    SkippedFile,
    TracedRequirement,
)
from fastapi_review.render import render_json, render_markdown


def review(measured: bool = True) -> Review:
    coverage = (
        CoverageMetrics(
            measured=True,
            overall=88.4,
            layers={"service": 96.0, "router": 90.0},
            layer_lines={"service": (96, 100), "router": (90, 100)},
            diff_coverage=75.0,
        )
        if measured
        else CoverageMetrics(measured=False, reason="not run (--no-tests)")
    )
    return Review(
        tool_version="9.9",
        project_name="demo",
        root="/x/demo",
        design="tech-design.md",
        date="2026-01-02",
        change=ChangeInfo(git=True, base="HEAD", changed_files=["app/api.py"]),
        requirements=[
            TracedRequirement(
                requirement=Requirement(
                    id="EP-1", kind="endpoint", key="GET /items", text="GET /items"
                ),
                status="implemented",
                evidence=["app/api.py:10"],
                tests=["tests/test_api.py::test_items"],
            ),
            TracedRequirement(
                requirement=Requirement(
                    id="EP-2", kind="endpoint", key="DELETE /items/{id}", text="x"
                ),
                status="missing",
                reason="no route with this method and path",
            ),
        ],
        findings=[
            Finding(
                rule="ASY001",
                category="async.blocking-io",
                severity=Severity.BLOCKER,
                path="app/api.py",
                line=12,
                message="time.sleep() blocks the event loop",
                evidence="time.sleep(1)",
                fix="await asyncio.sleep(1)",
                in_change=True,
            ),
            Finding(
                rule="SUP",
                category="ops.logging",
                severity=Severity.MEDIUM,
                path="app/x.py",
                line=3,
                message="print() in source",
                suppressed=True,
                suppression_reason="CLI entry point",
            ),
        ],
        gates={
            "ruff": GateResult(name="ruff", measured=True, passed=True, count=0, duration_s=0.4),
            "dependencies": GateResult(
                name="dependencies", measured=False, reason="not audited: offline"
            ),
        },
        coverage=coverage,
        scores=Scores(
            requirements=3,
            tests=4,
            quality=2,
            overall=3.0,
            justification={
                "requirements": "1/2 implemented",
                "tests": "overall coverage 88.4%",
                "quality": "1 BLOCKER",
            },
        ),
        recommendation="REJECT",
        files_reviewed=["app/api.py", "app/x.py"],
        skipped=[SkippedFile(path="app/bad.py", reason="syntax error at line 1")],
    )


def test_markdown_sections_and_measured_values() -> None:
    md = render_markdown(review())
    assert md.startswith("# Code Review Report: demo\n")
    assert "- **Overall Score**: 3.0/5" in md
    assert "- **Recommendation**: REJECT" in md
    assert "- **Critical Issues**: 1" in md
    assert "- **Review Date**: 2026-01-02" in md
    assert "- **Overall Coverage**: 88.4%" in md
    assert "- **Service Layer**: 96.0% (96/100 lines)" in md
    assert "- **Repository Layer**: not measured: no files in this layer" in md
    assert "- DELETE /items/{id} (missing) - **Criticality**: BLOCKER" in md
    assert (
        "| GET /items | endpoint | implemented | app/api.py:10 | tests/test_api.py::test_items |"
        in md
    )
    assert "| dependencies | not measured | not audited: offline | - |" in md
    assert "(`app/api.py:12`, ASY001) - **Criticality**: BLOCKER" in md
    assert "print() in source" not in md  # suppressed findings stay out of the markdown
    assert "- app/bad.py — not analysed: syntax error at line 1" in md
    assert "- app/api.py (changed)" in md


def test_markdown_says_what_was_not_measured() -> None:
    md = render_markdown(review(measured=False))
    assert "- **Overall Coverage**: not measured: not run (--no-tests)" in md
    assert "- **Service Layer**: not measured: not run (--no-tests)" in md


def test_json_contract() -> None:
    data = json.loads(render_json(review()))
    assert data["schema_version"] == 1
    assert data["tool"] == {"name": "fastapi-review", "version": "9.9"}
    assert data["project"]["design"] == "tech-design.md"
    assert data["project"]["changed_files"] == ["app/api.py"]
    assert data["scores"]["overall"] == 3.0 and data["recommendation"] == "REJECT"
    first = data["findings"][0]
    for key in (
        "rule",
        "category",
        "severity",
        "path",
        "line",
        "message",
        "evidence",
        "fix",
        "in_change",
    ):
        assert key in first
    assert first["severity"] == "BLOCKER"
    suppressed = [f for f in data["findings"] if f.get("suppressed")]
    assert suppressed and suppressed[0]["suppression_reason"] == "CLI entry point"
    req = data["requirements"][1]
    assert (req["id"], req["kind"], req["key"], req["status"]) == (
        "EP-2",
        "endpoint",
        "DELETE /items/{id}",
        "missing",
    )
    assert data["metrics"]["coverage"]["overall"] == 88.4
    assert data["metrics"]["coverage"]["layers"]["service"] == 96.0
    assert data["metrics"]["gates"]["dependencies"] == {
        "measured": False,
        "reason": "not audited: offline",
        "duration_s": None,
    }
    unmeasured = json.loads(render_json(review(measured=False)))
    assert unmeasured["metrics"]["coverage"] == {
        "measured": False,
        "reason": "not run (--no-tests)",
    }
