"""The tests gate: pytest + coverage in the project's environment, time limit, --no-tests."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastapi_review.index.project import build_index
from fastapi_review.probes import run_gates
from fastapi_review.workspace import Change
from tests.probes.conftest import snapshot, workspace


def test_coverage_overall_layers_and_thresholds(project: Callable[[str], Path]) -> None:
    root = project("tiny")
    before = snapshot(root)
    # the change touches pricing.py lines 8-11 (discount): 4 executable lines, the raise not run
    change = Change(git=True, files={"app/services/pricing.py": [(8, 11)]})
    ws = workspace(root, change=change)
    run = run_gates(ws, build_index(root), only=["tests"])

    gate = run.gates["tests"]
    assert gate.measured and gate.passed
    assert gate.details["tests"] == 2 and gate.details["failed"] == 0
    cov = run.coverage
    assert cov.measured
    # pricing.py: 9 statements, the raise not run; settings.py: 3 statements, none run
    assert (cov.covered_lines, cov.total_lines) == (8, 12)
    assert cov.overall == 66.67
    assert cov.layer_lines == {"service": (8, 9), "core": (0, 3)}
    assert sum(c for c, _ in cov.layer_lines.values()) == cov.covered_lines
    assert sum(t for _, t in cov.layer_lines.values()) == cov.total_lines
    assert cov.layers == {"service": 88.89, "core": 0.0}
    assert cov.diff_coverage == 75.0
    got = {(f.rule, f.category, f.severity.value) for f in run.findings}
    assert got == {
        ("coverage:overall", "tests.coverage", "HIGH"),
        ("coverage:service", "tests.coverage", "HIGH"),
    }
    overall = next(f for f in run.findings if f.rule == "coverage:overall")
    assert "66.7%" in overall.message and "85%" in overall.message
    # read-only: nothing written into the reviewed tree (.coverage, caches, bytecode)
    assert snapshot(root) == before


def test_coverage_equals_pytest_cov_by_hand(project: Callable[[str], Path], tmp_path: Path) -> None:
    root = project("tiny")
    report = tmp_path / "by-hand.json"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--cov-report=json:{report}",
        ],
        cwd=root,
        env={**os.environ, "COVERAGE_FILE": str(tmp_path / ".cov")},
        capture_output=True,
        check=False,
    )
    import json

    by_hand = json.loads(report.read_text())["totals"]["percent_covered"]
    run = run_gates(workspace(root), build_index(root), only=["tests"])
    assert run.coverage.overall is not None
    assert abs(run.coverage.overall - by_hand) <= 0.5


def test_hanging_suite_is_stopped_at_the_limit(project: Callable[[str], Path]) -> None:
    root = project("hang")
    started = time.monotonic()
    run = run_gates(workspace(root, tests_timeout=2), build_index(root), only=["tests"])
    elapsed = time.monotonic() - started
    gate = run.gates["tests"]
    assert not gate.measured
    assert gate.reason == "tests: timed out after 2 s"
    assert gate.passed is False
    assert run.coverage.measured is False and run.coverage.reason == gate.reason
    assert elapsed < 20
    # the whole process group is gone, including the grandchild sleeping 60 s
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=False).stdout
    assert "time.sleep(60)" not in out


def test_no_tests_flag(project: Callable[[str], Path]) -> None:
    root = project("tiny")
    run = run_gates(workspace(root, run_tests=False), build_index(root), only=["tests"])
    gate = run.gates["tests"]
    assert (gate.measured, gate.reason) == (False, "not run (--no-tests)")
    assert run.coverage.measured is False


def test_missing_pytest_is_named(project: Callable[[str], Path], tmp_path: Path) -> None:
    root = project("tiny")
    venv = tmp_path / "bare"
    base = Path(getattr(sys, "_base_executable", sys.executable))
    subprocess.run([str(base), "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    run = run_gates(workspace(root, python=python), build_index(root), only=["tests"])
    gate = run.gates["tests"]
    assert not gate.measured
    assert gate.reason == f"tests not run: pytest is not installed in {python}"
