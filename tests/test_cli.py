"""The CLI end to end on a hand-written fixture project, and its handling of bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory

TEMPLATE_HEADINGS = [
    "# Code Review Report: ",
    "## Executive Summary",
    "## Detailed Assessment",
    "### 1. Requirement Implementation (",
    "#### ✅ Successfully Implemented:",
    "#### ❌ Missing/Incomplete:",
    "### 2. Test Coverage & Quality (",
    "#### Coverage Metrics:",
    "#### ✅ Test Strengths:",
    "#### ❌ Test Gaps:",
    "### 3. Code Quality & Best Practices (",
    "#### ✅ Best Practices Followed:",
    "#### ❌ Quality Issues:",
    "## Critical Issues Summary",
    "| Issue | Type | Criticality | Impact | Recommendation |",
    "## Recommendations",
    "### Immediate Actions (BLOCKER/CRITICAL):",
    "### Before Merge (HIGH):",
    "### Future Improvements (MEDIUM/LOW):",
    "## Python/FastAPI Specific Findings",
    "### Async Patterns Review:",
    "### Pydantic Models Review:",
    "### Kafka Integration Review:",
    "### Type Hints Review:",
    "## Files Reviewed",
    "**Reviewer**: ",
    "**Review Guidelines**: ",
]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fastapi_review", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
        check=False,
    )


@pytest.fixture
def shop(make_project: ProjectFactory) -> Path:
    # HEAD holds the scaffold and the design; the API, services and tests are the change
    return make_project("shop", base=["pyproject.toml", "tech-design.md", "src/shop/main.py"])


def test_review_writes_markdown_and_json(shop: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "review.json"
    proc = run_cli(str(shop), "--json", str(out_json), "--no-tests")
    assert proc.returncode == 0, proc.stderr
    md = (shop / "code-review.md").read_text("utf-8")
    positions = [md.find(h) for h in TEMPLATE_HEADINGS]
    assert all(p >= 0 for p in positions), [
        h for h, p in zip(TEMPLATE_HEADINGS, positions, strict=True) if p < 0
    ]
    assert positions == sorted(positions), "template sections out of order"
    assert "# Code Review Report: shop" in md
    assert "not measured: " in md  # tests were not run: coverage says why

    report = json.loads(out_json.read_text("utf-8"))
    assert report["schema_version"] == 1
    assert set(report["scores"]) >= {"requirements", "tests", "quality", "overall"}
    coverage = report["metrics"]["coverage"]
    assert coverage["measured"] is False and "--no-tests" in coverage["reason"]
    changed = set(report["project"]["changed_files"])
    assert "src/shop/api/carts.py" in changed and "src/shop/main.py" not in changed

    found = {(f["category"], f["path"], f["line"]) for f in report["findings"]}
    # the GET route declares no response model
    assert ("api.missing-response-model", "src/shop/api/carts.py", 23) in found
    # time.sleep three calls and two modules away from the async route
    assert ("async.blocking-io", "src/shop/utils/pricing.py", 9) in found
    # a DSN with a password as a settings default
    assert ("security.hardcoded-secret", "src/shop/core/config.py", 7) in found

    reqs = {r["key"]: r["status"] for r in report["requirements"]}
    assert reqs["POST /api/v1/carts"] == "implemented"
    assert reqs["GET /api/v1/carts/{cart_id}"] == "implemented"
    assert reqs["DELETE /api/v1/carts/{cart_id}"] == "missing"
    # a missing requirement and a blocking call are both BLOCKERs: REJECT
    assert report["recommendation"] == "REJECT"
    for f in report["findings"]:
        assert f["rule"] and f["category"] and f["severity"] and f["message"]
        # the change is whole untracked files: a finding is in it exactly when its file is
        assert f["in_change"] is (f["path"] in changed), f


def test_review_without_git_says_so(make_project: ProjectFactory, tmp_path: Path) -> None:
    proj = make_project("shop", use_git=False)
    out_json = tmp_path / "r.json"
    proc = run_cli(str(proj), "--json", str(out_json), "--no-tests", "--quiet")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(out_json.read_text("utf-8"))
    assert report["project"]["git"] is False
    assert "not a git repository" in report["project"]["change_note"]
    assert all(f["in_change"] for f in report["findings"])
    assert "not a git repository" in (proj / "code-review.md").read_text("utf-8")


def _assert_usage_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert text in lines[0]


def test_missing_project(tmp_path: Path) -> None:
    _assert_usage_error(run_cli(str(tmp_path / "nope")), "project path does not exist")


def test_missing_design(shop: Path) -> None:
    proc = run_cli(str(shop), "--design", str(shop / "nope.md"))
    _assert_usage_error(proc, "design file not found")
    assert not (shop / "code-review.md").exists()


def test_empty_design(shop: Path) -> None:
    (shop / "empty.md").write_text("  \n", encoding="utf-8")
    proc = run_cli(str(shop), "--design", str(shop / "empty.md"))
    _assert_usage_error(proc, "design file is empty")
    assert not (shop / "code-review.md").exists()


def test_binary_design(shop: Path) -> None:
    (shop / "bin.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    _assert_usage_error(
        run_cli(str(shop), "--design", str(shop / "bin.md")), "design file is binary"
    )


def test_unreadable_design_is_a_directory(shop: Path) -> None:
    _assert_usage_error(
        run_cli(str(shop), "--design", str(shop / "src")), "design path is not a file"
    )


def test_no_python_code(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "readme.md").write_text("hello", encoding="utf-8")
    (tmp_path / "tech-design.md").write_text("# design\n\nGET /x\n", encoding="utf-8")
    _assert_usage_error(run_cli(str(tmp_path)), "no Python code found")
    assert not (tmp_path / "code-review.md").exists()


def test_unknown_option(shop: Path) -> None:
    _assert_usage_error(run_cli(str(shop), "--bogus"), "No such option")


def test_bad_base(shop: Path) -> None:
    _assert_usage_error(run_cli(str(shop), "--base", "no-such-rev"), "is not a commit")


def test_rules_and_rule() -> None:
    listing = run_cli("rules")
    assert listing.returncode == 0
    assert "API001" in listing.stdout and "api.missing-response-model" in listing.stdout
    from fastapi_review.rules import all_rules

    lines = listing.stdout.splitlines()
    assert [line.split()[0] for line in lines] == list(all_rules())  # one line a rule
    doc = run_cli("rule", "api001")
    assert doc.returncode == 0
    assert (
        "## What it finds" in doc.stdout
        and "## Fix" in doc.stdout
        and "response_model" in doc.stdout
    )
    _assert_usage_error(run_cli("rule", "NOPE999"), "unknown rule")


def test_json_to_stdout(shop: Path) -> None:
    proc = run_cli(str(shop), "--json", "-", "--no-tests")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["schema_version"] == 1


def test_no_cache_writes_no_cache(shop: Path, tmp_path: Path) -> None:
    import os

    cache_home = tmp_path / "cache-home"
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    args = [
        sys.executable,
        "-m",
        "fastapi_review",
        str(shop),
        "--no-tests",
        "--gates",
        "none",
        "-q",
    ]
    subprocess.run([*args, "--no-cache"], env=env, check=True, capture_output=True, timeout=300)
    assert not (cache_home / "fastapi-review").exists()
    subprocess.run(args, env=env, check=True, capture_output=True, timeout=300)
    assert (cache_home / "fastapi-review").exists()
