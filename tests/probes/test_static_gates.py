"""The static gates on a hand-written project with known defects, and the de-duplication."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from fastapi_review.index.project import build_index
from fastapi_review.models import Finding, Severity
from fastapi_review.probes import dedupe, run_gates
from fastapi_review.probes import proc as procmod
from fastapi_review.probes.context import GateContext
from fastapi_review.probes.env import find_python, inspect
from fastapi_review.probes.gates import dependencies_gate
from fastapi_review.probes.projectconf import read_project_conf
from fastapi_review.workspace import Change
from tests.probes.conftest import snapshot, workspace

STATIC = ["ruff", "format", "mypy", "bandit", "precommit", "metadata"]


def test_static_gates_report_exact_findings(project: Callable[[str], Path]) -> None:
    root = project("lint")
    before = snapshot(root)
    run = run_gates(workspace(root), build_index(root), only=STATIC)
    got = {(f.rule, f.category, f.path, f.line, f.severity) for f in run.findings}
    assert got == {
        ("ruff:F401", "quality.lint", "app/repo.py", 1, Severity.MEDIUM),
        ("ruff:format", "quality.format", "app/style.py", None, Severity.LOW),
        ("mypy:return-value", "types.mypy", "app/repo.py", 12, Severity.HIGH),
        ("bandit:B602", "security.insecure-config", "app/repo.py", 16, Severity.HIGH),
        ("bandit:B105", "security.hardcoded-secret", "app/repo.py", 20, Severity.CRITICAL),
        ("precommit:missing", "quality.precommit", None, None, Severity.LOW),
    }
    for name in STATIC:
        g = run.gates[name]
        assert g.measured, (name, g.reason)
        assert g.duration_s is not None
    assert run.gates["ruff"].count == 1 and run.gates["ruff"].passed is False
    assert run.gates["format"].details["formatter"] == "ruff format"
    assert run.gates["mypy"].count == 1  # no mypy config: not strict, unannotated code is fine
    assert run.gates["mypy"].details["python_executable"] == sys.executable
    # B608 (low confidence) and B404 (low severity) are in the details, not findings
    assert {i["test_id"] for i in run.gates["bandit"].details["issues"]} == {
        "B602",
        "B105",
        "B608",
        "B404",
    }
    assert run.gates["metadata"].details["problems"] == ["no [build-system] table"]
    assert snapshot(root) == before


def test_gates_that_were_not_asked_are_absent_and_all_appear_otherwise(
    project: Callable[[str], Path],
) -> None:
    root = project("tiny")
    run = run_gates(workspace(root, run_tests=False), build_index(root))
    assert set(run.gates) == {
        "ruff",
        "format",
        "mypy",
        "bandit",
        "dependencies",
        "tests",
        "precommit",
        "metadata",
    }
    for g in run.gates.values():
        assert g.measured or g.reason
        if not g.measured:
            assert g.passed is not True
    assert run.gates["metadata"].details["versions"]["python"]["from"] == "environment"
    assert run.test_inventory["tests"] == 2


def test_dependencies_never_pass_unaudited(project: Callable[[str], Path], tmp_path: Path) -> None:
    """A real pip-audit run: with no network it reads 'not audited: ...', never passed."""
    root = project("tiny")
    run = run_gates(workspace(root, run_tests=False), build_index(root), only=["dependencies"])
    g = run.gates["dependencies"]
    if not g.measured:
        assert g.reason and g.reason.startswith("not audited: ")
        assert g.passed is not True


def _ctx(root: Path, tmp: Path) -> GateContext:
    ws = workspace(root)
    env = inspect(find_python(root, ws.python), root)
    return GateContext(root, env, read_project_conf(root), ws.config, Change(git=False), tmp)


def test_dependencies_skipped_packages_mean_not_audited(
    project: Callable[[str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project("tiny")
    out = (
        '{"dependencies": [{"name": "fastapi", "version": "0.1", "vulns": '
        '[{"id": "PYSEC-1", "fix_versions": ["0.2"]}]}, {"name": "x", "skip_reason": "offline"}], '
        '"fixes": []}'
    )

    def fake_run(
        args: list[str], cwd: Path, timeout: float, env: object = None
    ) -> procmod.ProcResult:
        return procmod.ProcResult(list(args), 1, out, "", 0.1)

    ctx = _ctx(root, tmp_path)
    monkeypatch.setattr(procmod, "run", fake_run)
    result = dependencies_gate(ctx)
    assert not result.result.measured
    assert (
        result.result.reason == "not audited: 1 of 2 packages could not be audited (e.g. offline)"
    )
    assert [(f.rule, f.category) for f in result.findings] == [
        ("pip-audit:PYSEC-1", "security.vulnerable-dependency")
    ]


def test_environment_discovery(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    os.symlink(sys.executable, tmp_path / ".venv" / "bin" / "python")
    env = find_python(tmp_path, None)
    assert env.source == "project venv" and env.note is None
    assert env.python == tmp_path / ".venv" / "bin" / "python"
    bare = tmp_path / "bare"
    bare.mkdir()
    fallback = find_python(bare, None)
    if fallback.source == "tool (fallback)":
        assert fallback.note and "review tool's own interpreter" in fallback.note
    given = find_python(tmp_path, Path("/usr/bin/python3"))
    assert given.source == "given" and given.python == Path("/usr/bin/python3")


def _f(rule: str, category: str, path: str, line: int) -> Finding:
    return Finding(
        rule=rule, category=category, severity=Severity.HIGH, path=path, line=line, message="m"
    )


def test_dedupe_keeps_our_findings_and_drops_tool_repeats() -> None:
    ours = [_f("SEC001", "security.injection", "app/crud.py", 10)]
    tools = [
        _f("bandit:B608", "security.injection", "app/crud.py", 10),  # same as ours
        _f("ruff:S608", "security.injection", "app/crud.py", 12),
        _f("bandit:B608", "security.injection", "app/crud.py", 12),  # same as ruff's
        _f("mypy:arg-type", "types.mypy", "app/crud.py", 10),  # other category
    ]
    kept = dedupe(tools, ours)
    assert [(f.rule, f.line) for f in kept] == [("ruff:S608", 12), ("mypy:arg-type", 10)]
