"""Exit status: 0 when the --fail-on gate passes, 1 when it fails, 2 for bad usage."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fastapi_review.cli import gate_failures
from fastapi_review.models import ChangeInfo, Finding, Recommendation, Review, Scores, Severity
from tests.conftest import git

ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"

EXTRA_OK = '''"""Extra routes."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/extra")
async def extra() -> dict[str, int]:
    return {"n": 1}
'''

EXTRA_BLOCKING = '''"""Extra routes."""

import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/extra")
async def extra() -> dict[str, int]:
    time.sleep(2)
    return {"n": 1}
'''


def finding(sev: Severity, in_change: bool = True, suppressed: bool = False) -> Finding:
    return Finding(
        rule="X001",
        category="quality.lint",
        severity=sev,
        path="a.py",
        line=1,
        message="m",
        in_change=in_change,
        suppressed=suppressed,
        suppression_reason="why" if suppressed else None,
    )


def review(findings: list[Finding], rec: Recommendation = "APPROVE", score: int = 4) -> Review:
    return Review(
        tool_version="0",
        project_name="p",
        root="/p",
        design=None,
        date="2024-01-01",
        change=ChangeInfo(git=True),
        findings=findings,
        scores=Scores(requirements=score, tests=score, quality=score, overall=float(score)),
        recommendation=rec,
    )


def test_no_fail_on_never_fails() -> None:
    assert gate_failures(review([finding(Severity.BLOCKER)], "REJECT"), None) is None


@pytest.mark.parametrize(
    ("fail_on", "hits"),
    [("blocker", 0), ("critical", 0), ("HIGH", 1), ("medium", 1), ("low", 2)],
)
def test_severity_threshold(fail_on: str, hits: int) -> None:
    r = review([finding(Severity.HIGH), finding(Severity.LOW)])
    why = gate_failures(r, fail_on)
    if hits == 0:
        assert why is None
    else:
        assert why == (
            f"{hits} finding(s) at {fail_on.upper()} or above (--fail-on {fail_on.lower()})"
        )


def test_suppressed_findings_do_not_fail_the_gate() -> None:
    r = review([finding(Severity.BLOCKER, suppressed=True), finding(Severity.LOW)])
    assert gate_failures(r, "high") is None


def test_new_code_only_counts_changed_lines() -> None:
    r = review([finding(Severity.BLOCKER, in_change=False), finding(Severity.MEDIUM)])
    assert gate_failures(r, "blocker") is not None
    assert gate_failures(r, "blocker", new_code_only=True) is None
    assert gate_failures(r, "medium", new_code_only=True) == (
        "1 finding(s) at MEDIUM or above in changed lines (--fail-on medium)"
    )


def test_recommendation_gates() -> None:
    assert gate_failures(review([], "APPROVE"), "conditional") is None
    assert gate_failures(review([], "CONDITIONAL_APPROVE"), "reject") is None
    assert gate_failures(review([], "CONDITIONAL_APPROVE"), "conditional") == (
        "recommendation is CONDITIONAL_APPROVE (--fail-on conditional)"
    )
    assert gate_failures(review([], "REJECT"), "reject") == (
        "recommendation is REJECT (--fail-on reject)"
    )
    # with --new-code-only a blocker outside the change does not reject
    old_blocker = review([finding(Severity.BLOCKER, in_change=False)], "REJECT")
    assert gate_failures(old_blocker, "reject", new_code_only=True) is None


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The orders fixture committed as the base; tests add their change on top."""
    proj = tmp_path / "orders"
    shutil.copytree(ORDERS, proj)
    git(proj, "init", "-q", "-b", "main")
    git(proj, "add", ".")
    git(proj, "commit", "-q", "-m", "base")
    return proj


STATIC = ("--no-tests", "--gates", "none", "-q")


def test_cli_exit_codes(project: Path) -> None:
    (project / "src/orders/extra.py").write_text(EXTRA_OK, encoding="utf-8")
    # the base has a blocking call in an async route (BLOCKER) and a REJECT
    assert run_cli(str(project), *STATIC).returncode == 0
    assert run_cli(str(project), *STATIC, "--fail-on", "blocker").returncode == 1
    assert run_cli(str(project), *STATIC, "--fail-on", "REJECT").returncode == 1
    assert run_cli(str(project), *STATIC, "--fail-on", "conditional").returncode == 1
    # the change itself is clean of blockers
    proc = run_cli(str(project), *STATIC, "--fail-on", "blocker", "--new-code-only")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_cli_new_code_only_fails_on_a_new_blocker(project: Path) -> None:
    (project / "src/orders/extra.py").write_text(EXTRA_BLOCKING, encoding="utf-8")
    proc = run_cli(
        str(project), "--no-tests", "--gates", "none", "--fail-on", "blocker", "--new-code-only"
    )
    assert proc.returncode == 1
    assert "gate failed: 1 finding(s) at BLOCKER or above in changed lines" in proc.stdout
    assert "src/orders/extra.py:12" in proc.stdout


def test_cli_gate_passed_message(project: Path) -> None:
    proc = run_cli(
        str(project), "--no-tests", "--gates", "none", "--fail-on", "blocker", "--new-code-only"
    )
    assert proc.returncode == 0
    assert proc.stdout.strip().endswith("gate passed (--fail-on blocker)")


def _assert_usage(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], proc.stderr


def test_usage_errors_exit_2_and_write_nothing(project: Path, tmp_path: Path) -> None:
    _assert_usage(run_cli(str(project), "--fail-on", "severe"), "'severe' is not one of")
    _assert_usage(run_cli(str(project), "--gates", "ruff,pylint"), "unknown gate 'pylint'")
    _assert_usage(run_cli(str(project), str(tmp_path)), "expected one PROJECT, got 2 paths")
    _assert_usage(
        run_cli(str(project), "--sarif", str(project / "src")), "output path is a directory"
    )
    assert not (project / "code-review.md").exists()
