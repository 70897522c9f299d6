"""code-review.md in the exact layout of the review standard's report template."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, StrictUndefined

from fastapi_review.categories import categories
from fastapi_review.models import Finding, Review, Severity

TYPE_OF_GROUP = {
    "requirements": "Requirement",
    "tests": "Test",
    "async": "Async",
    "kafka": "Kafka",
    "db": "Code",
}

# "what was checked" per area, for the lists of practices followed: an area is listed
# as followed when rules of it ran and none of its categories produced a finding.
AREAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "async": (
        "No blocking calls reachable from async code",
        ("async.blocking-io", "db.sync-driver"),
    ),
    "tasks": (
        "Background tasks kept and supervised",
        ("async.fire-and-forget-task", "async.unawaited-coroutine"),
    ),
    "sessions": (
        "Database sessions managed by context managers or yield dependencies",
        ("async.session-lifecycle",),
    ),
    "n1": ("No queries inside loops (N+1)", ("db.n-plus-one", "db.lazy-load-async")),
    "migrations": ("Alembic migrations match the ORM models", ("db.migrations",)),
    "tx": ("Transactions and event publishing coordinated", ("db.transactions",)),
    "pagination": ("List queries bounded / paginated", ("db.unbounded-query",)),
    "injection": (
        "No SQL or commands built from input with string formatting",
        ("security.injection",),
    ),
    "secrets": ("No hard-coded secrets", ("security.hardcoded-secret",)),
    "insecure": ("No insecure configuration (CORS, debug)", ("security.insecure-config",)),
    "config": ("Environment-based configuration", ("config.not-env-based",)),
    "response": ("Routes declare response models", ("api.missing-response-model",)),
    "input": ("Inputs validated with Pydantic models", ("api.unvalidated-input",)),
    "status": ("HTTP status codes fit the operations", ("api.status-code",)),
    "pyd": ("Pydantic v2 APIs used consistently", ("pydantic.v1-api",)),
    "errors": ("Custom exceptions with registered handlers", ("errors.no-handlers",)),
    "leak": ("Error responses do not leak internals", ("errors.leaks-internals",)),
    "swallow": ("Exceptions are not swallowed", ("errors.swallowed", "errors.not-logged")),
    "health": ("Health endpoints present", ("ops.no-health-check",)),
    "logging": ("Structured logging, no print()", ("ops.logging",)),
    "layers": ("Router -> service -> repository layering respected", ("arch.layer-violation",)),
    "types": ("Public functions annotated", ("types.missing-annotations",)),
    "kproducer": (
        "Kafka producer reliability (acks, idempotence, errors)",
        ("kafka.producer-reliability",),
    ),
    "kshutdown": ("Kafka consumers shut down gracefully", ("kafka.consumer-shutdown",)),
    "kdlq": ("Failed messages retried or dead-lettered", ("kafka.no-dlq",)),
    "kidem": ("Idempotent message handling", ("kafka.consumer-idempotency",)),
    "kcommit": ("Offsets committed after processing", ("kafka.commit-semantics",)),
    "kvalid": ("Message payloads validated with Pydantic", ("kafka.unvalidated-message",)),
    "kcorr": ("Correlation ids carried into events", ("kafka.no-correlation-id",)),
}


# areas that only apply when the project has a database / routes (Kafka areas start with "k")
DB_AREAS = {"sessions", "n1", "migrations", "tx", "pagination"}
API_AREAS = {"response", "input", "status", "health", "leak"}


@dataclass
class Row:
    issue: str
    type: str
    level: str
    impact: str
    action: str


def _loc(f: Finding) -> str:
    if f.path is None:
        return "project"
    return f"{f.path}:{f.line}" if f.line else f.path


def _one_line(text: str, limit: int = 180) -> str:
    text = " ".join(text.split())
    text = text.replace("|", "\\|")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type(f: Finding) -> str:
    group = categories()[f.category].group if f.category in categories() else "code"
    return TYPE_OF_GROUP.get(group, "Code")


def _pct(value: float | None, reason: str) -> str:
    return f"{value:.1f}%" if value is not None else f"not measured: {reason}"


def build_view(review: Review) -> dict[str, object]:
    active = sorted(review.active_findings, key=lambda f: f.sort_key())
    sev = Counter(f.severity for f in active)
    req_findings = [f for f in active if f.category.startswith("req.")]
    test_findings = [f for f in active if f.category.startswith("tests.")]
    code_findings = [f for f in active if f not in req_findings and f not in test_findings]

    cov = review.coverage
    cov_reason = cov.reason or "tests not run"
    layers = cov.layers if cov.measured else {}

    def layer(name: str) -> str:
        if not cov.measured:
            return f"not measured: {cov_reason}"
        value = layers.get(name)
        if value is None:
            return "not measured: no files in this layer"
        lines = cov.layer_lines.get(name)
        detail = f" ({lines[0]}/{lines[1]} lines)" if lines else ""
        return f"{value:.1f}%{detail}"

    fired = {f.category for f in active}
    followed = [label for label, cats in AREAS.values() if not any(c in fired for c in cats)]
    gate_rows = []
    for name, g in review.gates.items():
        if g.measured:
            state = "passed" if g.passed else "failed"
            detail = f"{g.count} issue(s)" if g.count is not None else ""
        else:
            state = "not measured"
            detail = g.reason or ""
        duration = f"{g.duration_s:.1f}s" if g.duration_s is not None else "-"
        gate_rows.append((name, state, _one_line(detail, 140), duration))
    passed_gates = [n for n, s, _, _ in gate_rows if s == "passed"]

    rows = [
        Row(
            issue=f"{_one_line(f.message, 140)} ({_loc(f)})",
            type=_type(f),
            level=f.severity.value,
            impact=_one_line(
                categories()[f.category].what if f.category in categories() else "", 120
            ),
            action=_one_line(f.fix, 160),
        )
        for f in active
        if f.severity.rank >= Severity.HIGH.rank
    ]

    implemented = [t for t in review.requirements if t.status == "implemented"]
    incomplete = [t for t in review.requirements if t.status in {"partial", "missing", "deviation"}]
    unverified = [t for t in review.requirements if t.status == "unverified"]
    req_sev: dict[str, str] = {}
    for t in incomplete:
        cat = {"missing": "req.missing", "partial": "req.partial", "deviation": "req.deviation"}[
            t.status
        ]
        req_sev[t.requirement.id] = categories()[cat].severity.value

    inventory = review.test_inventory or {}
    strengths: list[str] = []
    tg = review.gates.get("tests")
    if tg is not None and tg.measured:
        d = tg.details
        strengths.append(
            f"{d.get('passed', 0)} of {d.get('tests', 0)} tests pass "
            f"({d.get('failed', 0)} failed, {d.get('errored', 0)} errors, {d.get('skipped', 0)} skipped)"
        )
    kinds = inventory.get("kinds") if isinstance(inventory, dict) else None
    if isinstance(kinds, dict):
        present = [f"{k}: {v}" for k, v in kinds.items() if v]
        if present:
            strengths.append("Test kinds present — " + ", ".join(present))
    if cov.measured and cov.overall is not None and cov.overall >= 85:
        strengths.append(f"Overall coverage {cov.overall:.1f}% meets the 85% threshold")
    tested_reqs = [t for t in review.requirements if t.tests]
    if tested_reqs:
        strengths.append(
            f"{len(tested_reqs)} of {len(review.requirements)} requirements are exercised by tests"
        )

    by_group: dict[str, list[Finding]] = defaultdict(list)
    for f in active:
        by_group[f.category.split(".", 1)[0]].append(f)

    changed = set(review.change.changed_files)
    return {
        "r": review,
        "sev": {s.value: sev[s] for s in Severity},
        "critical_count": sev[Severity.BLOCKER] + sev[Severity.CRITICAL],
        "req_findings": req_findings,
        "test_findings": test_findings,
        "code_findings": code_findings,
        "implemented": implemented,
        "incomplete": incomplete,
        "unverified": unverified,
        "req_sev": req_sev,
        "overall_cov": _pct(cov.overall if cov.measured else None, cov_reason),
        "layer": layer,
        "diff_cov": (
            _pct(cov.diff_coverage, "no changed executable lines")
            if cov.measured
            else f"not measured: {cov_reason}"
        ),
        "strengths": strengths,
        "followed": followed,
        "passed_gates": passed_gates,
        "gate_rows": gate_rows,
        "rows": rows,
        "immediate": [f for f in active if f.severity.rank >= Severity.CRITICAL.rank],
        "before_merge": [f for f in active if f.severity == Severity.HIGH],
        "future": [f for f in active if f.severity.rank <= Severity.MEDIUM.rank],
        "async_f": by_group["async"]
        + [f for f in by_group["db"] if f.category == "db.sync-driver"],
        "pyd_f": by_group["pydantic"]
        + [f for f in active if f.category == "api.unvalidated-input"],
        "kafka_f": by_group["kafka"],
        "types_f": by_group["types"],
        "loc": _loc,
        "one": _one_line,
        "changed": changed,
    }


_ENV = Environment(
    loader=PackageLoader("fastapi_review", "render/templates"),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    autoescape=False,  # markdown, not HTML
)


def render_markdown(review: Review) -> str:
    return _ENV.get_template("code-review.md.j2").render(**build_view(review))
