"""The tests gate: the project's suite under pytest with coverage, in the project's environment.

The run honours the project's own pytest and coverage configuration (addopts, testpaths,
[tool.coverage] source/omit/branch); it only adds machine-readable reports written to a
temporary directory, and keeps the reviewed tree untouched: no cache provider, COVERAGE_FILE
and the reports in the temp dir, no bytecode files.
"""

from __future__ import annotations

import json
import os
import shlex
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from fastapi_review.models import CoverageMetrics, GateResult
from fastapi_review.probes import proc
from fastapi_review.probes.context import GateContext, GateOutcome
from fastapi_review.probes.coverage import metrics_from_json, threshold_findings

NO_TESTS = "not run (--no-tests)"


def _junit_counts(path: Path) -> dict[str, Any] | None:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError):
        return None
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    counts: dict[str, Any] = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for s in suites:
        for key in ("tests", "failures", "errors", "skipped"):
            counts[key] += int(s.get(key, "0") or 0)
        counts["time"] += float(s.get("time", "0") or 0)
    failed: list[str] = []
    for case in root.iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    counts["failed_tests"] = failed[:50]
    return counts


def _strip_cov(opts: list[str]) -> list[str]:
    out: list[str] = []
    skip = False
    for o in opts:
        if skip:
            skip = False
            continue
        if o.startswith("--cov") or o == "--no-cov":
            skip = o in {"--cov-report", "--cov-config", "--cov-fail-under"}
            continue
        out.append(o)
    return out


def build_command(ctx: GateContext, with_cov: bool) -> tuple[list[str], dict[str, str]]:
    tmp = ctx.scratch
    cmd = [
        str(ctx.env.python),
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        f"--junitxml={tmp / 'junit.xml'}",
    ]
    if with_cov:
        if not ctx.conf.addopts_has_cov:
            if ctx.conf.coverage_source:
                cmd.append("--cov")  # the project's [coverage:run] source decides
            else:
                cmd += [f"--cov={d}" for d in ctx.conf.source_dirs] or ["--cov=."]
        cmd.append(f"--cov-report=json:{tmp / 'coverage.json'}")
    elif ctx.conf.addopts_has_cov:
        # pytest-cov is missing: keep the project's other options, drop the --cov ones
        cmd += ["-o", f"addopts={shlex.join(_strip_cov(ctx.conf.pytest_addopts))}"]
    env = {"COVERAGE_FILE": str(tmp / ".coverage"), "PYTHONDONTWRITEBYTECODE": "1"}
    if (ctx.root / "src").is_dir() and "pythonpath" not in ctx.conf.pytest_ini:
        # a src layout that may not be installed in the environment: what an editable install gives
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(ctx.root / "src"), os.environ.get("PYTHONPATH", "")) if p
        )
    return cmd, env


def tests_gate(ctx: GateContext) -> GateOutcome:
    if not ctx.run_tests:
        return GateOutcome(
            GateResult(name="tests", measured=False, reason=NO_TESTS),
            coverage=CoverageMetrics(measured=False, reason=NO_TESTS),
        )
    python = ctx.env.python
    if ctx.env.error:
        reason = f"tests not run: {ctx.env.error}"
        return GateOutcome(
            GateResult(name="tests", measured=False, reason=reason),
            coverage=CoverageMetrics(measured=False, reason=reason),
        )
    if not ctx.env.has("pytest"):
        reason = f"tests not run: pytest is not installed in {python}"
        if ctx.env.note:
            reason += f" ({ctx.env.note})"
        return GateOutcome(
            GateResult(name="tests", measured=False, reason=reason),
            coverage=CoverageMetrics(measured=False, reason=reason),
        )
    with_cov = ctx.env.has("pytest-cov")
    cov_reason = (
        None if with_cov else f"coverage not measured: pytest-cov is not installed in {python}"
    )
    cmd, env = build_command(ctx, with_cov)
    limit = ctx.timeout("tests")
    res = proc.run(cmd, ctx.root, limit, env=env)
    details: dict[str, Any] = {
        "command": shlex.join(cmd),
        "pythonpath": env.get("PYTHONPATH"),
        "python": str(python),
        "environment": ctx.env.source,
    }
    if ctx.env.note:
        details["note"] = ctx.env.note
    if res.error is not None or res.timed_out:
        reason = (
            f"tests: timed out after {limit:g} s"
            if res.timed_out
            else f"tests: could not start pytest: {res.error}"
        )
        details["output_tail"] = (res.stdout + res.stderr)[-2000:]
        return GateOutcome(
            GateResult(
                name="tests",
                measured=False,
                passed=False if res.timed_out else None,
                reason=reason,
                duration_s=round(res.duration_s, 2),
                details=details,
            ),
            coverage=CoverageMetrics(measured=False, reason=reason),
        )
    counts = _junit_counts(ctx.scratch / "junit.xml")
    details["exit_code"] = res.returncode
    tail = [ln for ln in (res.stdout + res.stderr).strip().splitlines() if ln.strip()]
    details["summary"] = tail[-1][:300] if tail else ""
    if counts is None or (counts["tests"] == 0 and res.returncode not in (0, 5)):
        reason = f"tests: pytest could not run the suite (exit code {res.returncode}): {details['summary']}"
        details["output_tail"] = "\n".join(tail[-30:])
        return GateOutcome(
            GateResult(
                name="tests",
                measured=False,
                passed=False,
                reason=reason,
                duration_s=round(res.duration_s, 2),
                details=details,
            ),
            coverage=CoverageMetrics(measured=False, reason=reason),
        )
    run = counts["tests"] - counts["skipped"]
    failed, errored = counts["failures"], counts["errors"]
    details.update(
        {
            "tests": counts["tests"],
            "run": run,
            "passed": run - failed - errored,
            "failed": failed,
            "errored": errored,
            "skipped": counts["skipped"],
            "test_time_s": round(counts["time"], 2),
            "failed_tests": counts["failed_tests"],
        }
    )
    if counts["tests"] == 0:
        details["note_tests"] = "no tests collected"
    result = GateResult(
        name="tests",
        measured=True,
        passed=counts["tests"] > 0 and failed == 0 and errored == 0,
        count=counts["tests"],
        duration_s=round(res.duration_s, 2),
        details=details,
    )
    if cov_reason:
        return GateOutcome(result, coverage=CoverageMetrics(measured=False, reason=cov_reason))
    try:
        data = json.loads((ctx.scratch / "coverage.json").read_text("utf-8"))
    except (OSError, ValueError):
        reason = "coverage not measured: pytest-cov wrote no JSON report"
        return GateOutcome(result, coverage=CoverageMetrics(measured=False, reason=reason))
    metrics = metrics_from_json(data, ctx.rel, ctx.config, ctx.change)
    details["coverage_branch"] = bool((data.get("meta") or {}).get("branch_coverage"))
    return GateOutcome(result, threshold_findings(metrics, ctx.config), coverage=metrics)
