"""The pre-commit hook and the GitHub Action, run for real on temporary git repositories.

The hook: its `entry` from .pre-commit-hooks.yaml, with the staged files appended the way
pre-commit passes them. The action: the shell of its Review step, run with the environment
GitHub would give it (inputs as variables, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import git

REPO = Path(__file__).resolve().parent.parent
ORDERS = Path(__file__).parent / "fixtures" / "ecosystem" / "orders"

BLOCKING = '''"""Extra routes."""

import time

from fastapi import APIRouter

router = APIRouter()


@router.get("/extra")
async def extra() -> dict[str, int]:
    time.sleep(2)
    return {"n": 1}
'''

CLEAN = '''"""Helpers."""


def total(prices: list[int]) -> int:
    """The sum of the prices."""
    return sum(prices)
'''


@pytest.fixture
def tool_bin(tmp_path: Path) -> Path:
    """A bin folder with `fastapi-review` and `python` of this interpreter, as the action has."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "fastapi-review"
    script.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m fastapi_review "$@"\n', "utf-8")
    script.chmod(0o755)
    (bin_dir / "python").symlink_to(sys.executable)
    return bin_dir


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    shutil.copytree(ORDERS, root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "base")
    return root


def hook() -> dict[str, Any]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text("utf-8"))
    assert isinstance(hooks, list) and len(hooks) == 1
    h: dict[str, Any] = hooks[0]
    assert h["id"] == "fastapi-review" and h["language"] == "python"
    assert h["types"] == ["python"]
    return h


def staged(root: Path) -> list[str]:
    out = git(root, "diff", "--cached", "--name-only", "--diff-filter=ACMR")
    return [n for n in out.splitlines() if n.endswith(".py")]


def run_hook(root: Path, tool_bin: Path) -> subprocess.CompletedProcess[str]:
    entry = shlex.split(hook()["entry"])
    assert entry[0] == "fastapi-review"
    cmd = [str(tool_bin / entry[0]), *entry[1:], *staged(root)]
    return subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=300, check=False)


def test_hook_fails_on_a_staged_blocking_call(repo: Path, tool_bin: Path) -> None:
    (repo / "src/orders/extra.py").write_text(BLOCKING, encoding="utf-8")
    git(repo, "add", "src/orders/extra.py")
    proc = run_hook(repo, tool_bin)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "src/orders/extra.py:12" in proc.stdout
    assert "gate failed: 2 finding(s) at HIGH or above in changed lines" in proc.stdout
    assert "TST001       src/orders/extra.py:10" in proc.stdout  # a route and no router test
    # findings of files that were not staged are not reported (main.py has its own blocker)
    assert "src/orders/main.py" not in proc.stdout
    assert "REJECT" not in proc.stdout  # no project verdict for a few files
    assert not (repo / "code-review.md").exists()
    assert git(repo, "status", "--porcelain") == "A  src/orders/extra.py\n"


def test_hook_passes_on_clean_staged_files(repo: Path, tool_bin: Path) -> None:
    (repo / "src/orders/util.py").write_text(CLEAN, encoding="utf-8")
    git(repo, "add", "src/orders/util.py")
    proc = run_hook(repo, tool_bin)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "gate passed (--fail-on high)" in proc.stdout


def test_hook_ignores_old_findings_in_a_touched_file(repo: Path, tool_bin: Path) -> None:
    main = repo / "src/orders/main.py"
    main.write_text(main.read_text("utf-8") + "\n\nVERSION = 2\n", encoding="utf-8")
    git(repo, "add", "src/orders/main.py")
    proc = run_hook(repo, tool_bin)
    # main.py holds a blocking call, but not on the changed lines
    assert proc.returncode == 0, proc.stdout + proc.stderr


def cli_options() -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "fastapi_review", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return set(re.findall(r"--[a-z][a-z-]+", proc.stdout))


def action() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "action.yml").read_text("utf-8"))
    return data


def step(action_data: dict[str, Any], step_id: str) -> dict[str, Any]:
    for s in action_data["runs"]["steps"]:
        if s.get("id") == step_id:
            return dict(s)
    raise AssertionError(f"no step {step_id}")


def test_action_shape_and_options() -> None:
    a = action()
    assert a["runs"]["using"] == "composite"
    uses = [s.get("uses", "") for s in a["runs"]["steps"]]
    assert any(u.startswith("github/codeql-action/upload-sarif@") for u in uses)
    review = step(a, "review")
    assert "GITHUB_STEP_SUMMARY" in review["run"]
    assert "${{" not in review["run"]  # inputs reach the script as variables only
    known = cli_options()
    arg_lines = [ln for ln in review["run"].splitlines() if "args=(" in ln or "args+=(" in ln]
    used = set(re.findall(r"(--[a-z][a-z-]+)", "\n".join(arg_lines))) | {
        o for o in shlex.split(hook()["entry"]) if o.startswith("--")
    }
    assert used <= known, used - known
    for name, spec in a["inputs"].items():
        assert spec.get("description"), name


def run_action_review(
    repo: Path, tool_bin: Path, tmp_path: Path, **inputs: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str], str]:
    review = step(action(), "review")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
    for key in review["env"]:
        env[key] = ""
    out_file = tmp_path / "github_output"
    summary = tmp_path / "step_summary"
    out_file.write_text("", "utf-8")
    summary.write_text("", "utf-8")
    env.update(
        {
            "FASTAPI_REVIEW": str(tool_bin / "fastapi-review"),
            "OUT_DIR": str(tmp_path / "out"),
            "INPUT_PROJECT": str(repo),
            "INPUT_FAIL_ON": "reject",
            "INPUT_NEW_CODE_ONLY": "false",
            "INPUT_RUN_TESTS": "false",
            "INPUT_ARGS": "--gates none",
            "GITHUB_OUTPUT": str(out_file),
            "GITHUB_STEP_SUMMARY": str(summary),
        }
    )
    env.update({f"INPUT_{k.upper()}": v for k, v in inputs.items()})
    proc = subprocess.run(
        ["bash", "-e", "-c", review["run"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = dict(
        line.split("=", 1) for line in out_file.read_text("utf-8").splitlines() if "=" in line
    )
    return proc, outputs, summary.read_text("utf-8")


def test_action_review_step(repo: Path, tool_bin: Path, tmp_path: Path) -> None:
    (repo / "src/orders/extra.py").write_text(BLOCKING, encoding="utf-8")
    proc, outputs, summary = run_action_review(repo, tool_bin, tmp_path, fail_on="blocker")
    # the step itself succeeds so that SARIF is uploaded; the Gate step fails the job
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert outputs["exit-code"] == "1"
    assert outputs["recommendation"] == "REJECT"
    assert summary.startswith("# Code Review Report: repo")
    sarif = json.loads(Path(outputs["sarif"]).read_text("utf-8"))
    assert sarif["version"] == "2.1.0"
    assert any(r["ruleId"] == "ASY001" for r in sarif["runs"][0]["results"])
    assert Path(outputs["json"]).is_file() and Path(outputs["report"]).is_file()
    assert not (repo / "code-review.md").exists()  # outputs stay out of the checkout


def test_action_review_step_usage_error(repo: Path, tool_bin: Path, tmp_path: Path) -> None:
    proc, outputs, _ = run_action_review(repo, tool_bin, tmp_path, design="nope.md")
    assert proc.returncode == 2
    assert outputs["exit-code"] == "2"
    assert "design file not found" in proc.stderr
    assert "::error title=fastapi-review::" in proc.stdout
