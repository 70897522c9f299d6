"""One pipeline, data flowing one way:

workspace -> (probes || index -> rules) -> trace -> verdict -> Review (rendered by render/*)

The gates (probes) run the project's tools in their own processes and read no index, so
they start first and the index is built and the rules run while they work.
"""

from __future__ import annotations

import ast
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

from fastapi_review import __version__
from fastapi_review.cache import cache_dir_for, cached_run_rules
from fastapi_review.design import DesignDoc, read_design
from fastapi_review.errors import UsageError
from fastapi_review.index.project import ProjectIndex, build_index
from fastapi_review.index.source import discover
from fastapi_review.models import ChangeInfo, GateResult, Review, TracedRequirement
from fastapi_review.probes import GATES, GateRun, dedupe, run_gates
from fastapi_review.probes.runner import test_inventory_of
from fastapi_review.rules.base import Context
from fastapi_review.runtime import gc_paused
from fastapi_review.suppressions import apply_suppressions
from fastapi_review.trace import TraceResult, trace_requirements
from fastapi_review.verdict import decide
from fastapi_review.workspace import Workspace

# progress(stage, state): state is "start" or "done"
Progress = Callable[[str, str], None]


def _noop(stage: str, state: str) -> None:
    return None


def _failure(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    at = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return f"{exc.__class__.__name__}: {exc}{at}"


def stats(index: ProjectIndex) -> dict[str, int]:
    public = [
        fn
        for m in index.source_modules
        for fn in m.functions
        if not fn.name.startswith("_")
        and "." not in fn.qualname.replace(f"{fn.class_name}.", "", 1)
    ]

    def annotated(fn_node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        args = [
            a
            for a in [*fn_node.args.args, *fn_node.args.kwonlyargs]
            if a.arg not in {"self", "cls"}
        ]
        return fn_node.returns is not None and all(a.annotation is not None for a in args)

    return {
        "modules": len(index.modules),
        "source_modules": len(index.source_modules),
        "test_modules": len(index.test_modules),
        "functions": sum(len(m.functions) for m in index.source_modules),
        "async_functions": sum(
            1 for m in index.source_modules for fn in m.functions if fn.is_async
        ),
        "routes": len(index.routes),
        "pydantic_models": len(index.pydantic_models),
        "orm_models": len(index.orm_models),
        "settings_classes": len(index.settings),
        "kafka_producers": sum(1 for k in index.kafka_clients if k.role == "producer"),
        "kafka_consumers": sum(1 for k in index.kafka_clients if k.role == "consumer"),
        "tests": len(index.tests),
        "public_functions": len(public),
        "annotated_functions": sum(1 for fn in public if annotated(fn.node)),
    }


def run_review(
    ws: Workspace,
    progress: Progress = _noop,
    gates: Iterable[str] | None = None,
    one_shot: bool = False,
) -> Review:
    """`gates`: the names of the gates to run (None: every gate). `one_shot`: the process
    ends after this review (the command line; see `runtime.gc_paused`)."""
    with gc_paused(one_shot):
        return _run_review(ws, progress, gates)


def _run_review(ws: Workspace, progress: Progress, gates: Iterable[str] | None) -> Review:
    timings: dict[str, float] = {}
    notes: list[str] = []

    def timed(stage: str, start: float) -> None:
        timings[stage] = round(time.perf_counter() - start, 3)
        progress(stage, "done")

    paths, skipped = discover(ws.root, ws.config.include, ws.config.exclude)
    if not paths and not any(s.path.endswith(".py") for s in skipped):
        raise UsageError(f"no Python code found in {ws.root}")

    # the gates read no index: they run (in their own processes) while it is built
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="gates") as pool:
        progress("gates", "start")
        t_gates = time.perf_counter()
        gates_future = pool.submit(run_gates, ws, None, gates, progress)

        t = time.perf_counter()
        progress("index", "start")
        index = build_index(ws.root, ws.config.include, ws.config.exclude, found=(paths, skipped))
        timed("index", t)

        doc: DesignDoc | None = None
        design_problems: list[str] = []
        if ws.design is not None:
            t = time.perf_counter()
            progress("design", "start")
            try:
                doc = read_design(ws.design)
                design_problems = list(doc.problems)
            except Exception as exc:  # a defect in the reader must not sink the review
                design_problems.append(f"the design could not be read: {_failure(exc)}")
            timed("design", t)
        else:
            design_problems.append(
                "no tech design found (tech-design.md, docs/tech-design.md or --design)"
            )

        ctx = Context(
            index=index,
            config=ws.config,
            change=ws.change,
            requirements=doc.requirements if doc else [],
            design_text=doc.text if doc else "",
        )
        t = time.perf_counter()
        progress("rules", "start")
        rule_run, rules_cached = cached_run_rules(ctx, cache_dir_for(ws))
        timed("rules", t)
        gate_run: GateRun = gates_future.result()
        timed("gates", t_gates)
    gate_run.test_inventory = test_inventory_of(index, ws)
    if rules_cached:
        notes.append("rules: results reused from the cache (nothing they read has changed)")
    notes.extend(index.errors)
    for err in rule_run.errors:
        notes.append(f"rule failed and was skipped: {err}")
    notes.extend(gate_run.notes)
    for name in GATES:  # every gate appears in the report, run or not
        if name not in gate_run.gates:
            gate_run.gates[name] = GateResult(
                name=name, measured=False, reason="not run (not selected with --gates)"
            )

    own = rule_run.findings
    tool = dedupe(gate_run.findings, own)
    t = time.perf_counter()
    progress("trace", "start")
    try:
        traced = trace_requirements(
            ctx.requirements, ctx, gate_run.coverage, gate_run.gates, own + tool
        )
    except Exception as exc:  # every requirement stays unverified, and the report says why
        notes.append(f"requirement tracing failed: {_failure(exc)}")
        traced = TraceResult(
            traced=[
                TracedRequirement(requirement=r, status="unverified", reason="tracing failed")
                for r in ctx.requirements
            ]
        )
    timed("trace", t)
    findings = own + tool + traced.findings
    # inline `# fastapi-review: ignore[RULE] reason` comments; reports unused ones too
    findings = apply_suppressions(findings, index, ws.config, gate_run.gates)
    for f in findings:
        f.in_change = ws.change.touches(f.path, f.line)
    findings.sort(key=lambda f: f.sort_key())

    scores, recommendation = decide(
        traced.traced,
        findings,
        gate_run.gates,
        gate_run.coverage,
        ws.config,
        test_count=len(index.tests),
    )
    if not ws.change.git:
        notes.append(f"change: {ws.change.reason}")
    changed = sorted(ws.change.files) if ws.change.git else []
    design_rel: str | None = None
    if ws.design is not None:
        try:
            design_rel = ws.design.resolve().relative_to(ws.root).as_posix()
        except ValueError:
            design_rel = str(ws.design)
    return Review(
        tool_version=__version__,
        project_name=ws.root.name,
        root=str(ws.root),
        design=design_rel,
        date=date.today().isoformat(),
        change=ChangeInfo(
            git=ws.change.git,
            reason=ws.change.reason,
            base=ws.change.base,
            head=ws.change.head,
            changed_files=changed,
        ),
        requirements=traced.traced,
        design_problems=design_problems,
        findings=findings,
        gates=gate_run.gates,
        coverage=gate_run.coverage,
        test_inventory=dict(gate_run.test_inventory),
        scores=scores,
        recommendation=recommendation,
        files_reviewed=sorted(index.modules),
        skipped=index.skipped,
        notes=notes,
        stats=stats(index),
        timings=timings,
    )
