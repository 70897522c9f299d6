"""Runs the gates concurrently, each in its own process group with its own time limit."""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi_review.index.project import ProjectIndex
from fastapi_review.models import CoverageMetrics, Finding, GateResult
from fastapi_review.probes import env as envmod
from fastapi_review.probes.context import GateContext, GateOutcome
from fastapi_review.probes.gates import (
    bandit_gate,
    dependencies_gate,
    format_gate,
    metadata_gate,
    mypy_gate,
    precommit_gate,
    ruff_gate,
)
from fastapi_review.probes.projectconf import read_project_conf
from fastapi_review.probes.testgate import tests_gate
from fastapi_review.workspace import Workspace

GateFn = Callable[[GateContext], GateOutcome]

# the slowest first, so they start first
GATE_FUNCS: dict[str, GateFn] = {
    "tests": tests_gate,
    "mypy": mypy_gate,
    "dependencies": dependencies_gate,
    "bandit": bandit_gate,
    "ruff": ruff_gate,
    "format": format_gate,
    "precommit": precommit_gate,
    "metadata": metadata_gate,
}
GATES = ("ruff", "format", "mypy", "bandit", "dependencies", "tests", "precommit", "metadata")


@dataclass
class GateRun:
    gates: dict[str, GateResult] = field(default_factory=dict)
    coverage: CoverageMetrics = field(default_factory=CoverageMetrics)
    findings: list[Finding] = field(default_factory=list)
    test_inventory: dict[str, object] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    python: str | None = None  # the interpreter the project was run with
    wall_s: float = 0.0  # the whole gates phase


def _cache_dir(ws: Workspace) -> Path | None:
    if not ws.config.cache_dir:
        return None
    p = Path(ws.config.cache_dir).expanduser()
    return p if p.is_absolute() else ws.root / p


def _run_one(name: str, fn: GateFn, ctx: GateContext) -> GateOutcome:
    started = time.monotonic()
    try:
        out = fn(ctx)
    except Exception as exc:  # a gate must never take the review down
        out = GateOutcome(
            GateResult(
                name=name,
                measured=False,
                reason=f"{name}: gate failed ({exc.__class__.__name__}: {exc})",
            )
        )
    if out.result.duration_s is None:
        out.result.duration_s = round(time.monotonic() - started, 2)
    return out


def run_gates(
    ws: Workspace,
    index: ProjectIndex | None,
    only: Iterable[str] | None = None,
    progress: Callable[[str, str], None] | None = None,
) -> GateRun:
    """Every gate, concurrently; each appears in `gates`, measured or with the reason why not.

    No gate reads the index; with one, the run also carries the test inventory (the
    pipeline starts the gates before the index is built and adds it itself)."""
    started = time.monotonic()
    run = GateRun()
    names = [n for n in GATE_FUNCS if only is None or n in set(only)]
    conf = read_project_conf(ws.root)
    env = envmod.find_python(ws.root, ws.python)
    envmod.inspect(env, ws.root)
    run.python = str(env.python)
    if env.note:
        run.notes.append(env.note)
    if env.error:
        run.notes.append(env.error)
    with tempfile.TemporaryDirectory(prefix="fastapi-review-gates-") as tmp:
        base = GateContext(
            root=ws.root,
            env=env,
            conf=conf,
            config=ws.config,
            change=ws.change,
            scratch=Path(tmp),
            run_tests=ws.run_tests,
            cache_dir=_cache_dir(ws),
        )
        contexts: dict[str, GateContext] = {}
        for name in names:
            (Path(tmp) / name).mkdir()
            contexts[name] = dataclasses.replace(base, scratch=Path(tmp) / name)
        with ThreadPoolExecutor(max_workers=max(1, len(names)), thread_name_prefix="gate") as pool:
            futures = {
                n: pool.submit(_run_with_progress, n, GATE_FUNCS[n], contexts[n], progress)
                for n in names
            }
            outcomes = {n: f.result() for n, f in futures.items()}
    for name in GATES:
        if name not in outcomes:
            continue
        out = outcomes[name]
        run.gates[name] = out.result
        run.findings.extend(out.findings)
    tests = outcomes.get("tests")
    if tests is not None and tests.coverage is not None:
        run.coverage = tests.coverage
    else:
        run.coverage = CoverageMetrics(measured=False, reason="tests gate not run")
    run.findings.sort(key=lambda f: f.sort_key())
    if index is not None:
        run.test_inventory = test_inventory_of(index, ws)
    run.wall_s = round(time.monotonic() - started, 2)
    return run


def _run_with_progress(
    name: str,
    fn: GateFn,
    ctx: GateContext,
    progress: Callable[[str, str], None] | None,
) -> GateOutcome:
    if progress is not None:
        progress(f"gate:{name}", "start")
    try:
        return _run_one(name, fn, ctx)
    finally:
        if progress is not None:
            progress(f"gate:{name}", "done")


def test_inventory_of(index: ProjectIndex, ws: Workspace) -> dict[str, Any]:
    """The test inventory for the report (kinds of tests found and needed), never raising."""
    from fastapi_review.rules.tests_rules import test_inventory

    try:
        return test_inventory(index, ws.config)
    except Exception as exc:  # static analysis must not crash the review
        return {"error": f"{exc.__class__.__name__}: {exc}"}
