"""Prose requirements: recognise the concern a sentence states and look for its evidence.

Each concern is keyed on the general vocabulary of the concern (commit, retry,
dead-letter, headers, stack traces, ...), never on one design's wording. A concern
answers with a status only when the code (or another rule's finding) decides it;
otherwise the requirement stays `unverified`.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass

from fastapi_review.models import Finding, Requirement, RequirementStatus
from fastapi_review.trace.facts import Facts, Site, loc
from fastapi_review.trace.structural import Outcome


@dataclass
class Env:
    facts: Facts
    findings: list[Finding]
    coverage: float | None
    coverage_measured: bool

    def findings_of(self, *categories: str) -> list[Finding]:
        return [f for f in self.findings if f.category in categories and not f.suppressed]


Check = Callable[[Env, Requirement], Outcome | None]


def _consumer_functions(env: Env) -> list[ast.AST]:
    out: list[ast.AST] = []
    for path in env.facts.consumer_modules:
        m = env.facts.index.modules.get(path)
        if m is not None:
            out.append(m.tree)
    return out


def _consumer_text(env: Env) -> str:
    parts = []
    for path in sorted(env.facts.consumer_modules):
        m = env.facts.index.modules.get(path)
        if m is not None:
            parts.append("\n".join(m.lines))
    return "\n".join(parts)


def _first(sites: list[Site]) -> list[str]:
    return [loc(s) for s in sites[:2]]


def _contradicted(env: Env, categories: tuple[str, ...], status: str, why: str) -> Outcome | None:
    hits = env.findings_of(*categories)
    if not hits:
        return None
    f = hits[0]
    ev = [f"{f.path}:{f.line}"] if f.path else []
    cat = "req.deviation" if status == "deviation" else "req.partial"
    return Outcome(
        status,  # type: ignore[arg-type]
        f"{why} ({f.category}: {f.message})",
        ev,
        problems=[(cat, f.path, f.line, f"{why}: {f.message}")],
    )


# --- the concerns ----------------------------------------------------------------------
def producer_reliability(env: Env, req: Requirement) -> Outcome | None:
    producers = [c for c in env.facts.index.kafka_clients if c.role == "producer"]
    if not producers:
        return None
    wants_acks = "acks" in req.text.lower()
    wants_idem = "idempot" in req.text.lower()
    ok_acks = ok_idem = False
    for p in producers:
        m = env.facts.index.modules[p.path]
        acks = p.option("acks")
        if acks is not None and (
            env.facts.index.string_value(m, acks) == "all" or ast.unparse(acks) in {"-1", "'all'"}
        ):
            ok_acks = True
        idem = p.option("enable_idempotence", "enable_idempotence")
        if idem is not None and ast.unparse(idem) in {"True", "true", "'true'"}:
            ok_idem = True
    if not ok_acks or not ok_idem:
        # settings-driven producer config: look for the literal values in config modules
        text = "\n".join("\n".join(m.lines) for m in env.facts.index.source_modules)
        ok_acks = ok_acks or bool(re.search(r"acks['\"]?\s*[:=]\s*['\"]all['\"]", text))
        ok_idem = ok_idem or bool(re.search(r"idempotence['\"]?\s*[:=]\s*(True|['\"]?true)", text))
    got = (not wants_acks or ok_acks) and (not wants_idem or ok_idem)
    ev = [f"{p.path}:{p.line}" for p in producers[:2]]
    if got:
        return Outcome("implemented", "producer configured as stated", ev)
    return Outcome(
        "partial",
        "producer lacks "
        + " and ".join(
            x
            for x, ok in (
                ("acks=all", ok_acks or not wants_acks),
                ("idempotence", ok_idem or not wants_idem),
            )
            if not ok
        ),
        ev,
        problems=[
            (
                "req.partial",
                producers[0].path,
                producers[0].line,
                "the producer is not configured as the design states",
            )
        ],
    )


def message_headers(env: Env, req: Requirement) -> Outcome | None:
    names = [c for c in re.findall(r"`([\w-]+)`", req.text)]
    if not names:
        names = re.findall(r"headers? ([a-z_]+(?:_id|_type))\b(?: and ([a-z_]+))?", req.text)
        names = [n for pair in names for n in (pair if isinstance(pair, tuple) else (pair,)) if n]
    if not names:
        words = re.findall(r"\b([a-z]+_[a-z_]+)\b", req.text)
        names = words
    if not names or not env.facts.has_kafka:
        return None
    found = {n: env.facts.strings.get(n, []) for n in names}
    present = [n for n, s in found.items() if s]
    ev = [loc(s[0]) for s in found.values() if s][:3]
    if len(present) == len(names):
        return Outcome("implemented", "header names set in the producing code", ev)
    if present:
        return Outcome(
            "partial", "headers never set: " + ", ".join(n for n in names if n not in present), ev
        )
    return None


def commit_after_processing(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env,
        ("kafka.commit-semantics",),
        "deviation",
        "offsets are not committed as the design states",
    )
    if hit is not None:
        return hit
    consumers = [c for c in env.facts.index.kafka_clients if c.role == "consumer"]
    if not consumers:
        return None
    ev: list[str] = []
    manual = False
    for c in consumers:
        opt = c.option("enable_auto_commit", "enable_auto_commit")
        if opt is not None and ast.unparse(opt) in {"False", "false", "'false'"}:
            manual = True
            ev.append(f"{c.path}:{c.line}")
    text = _consumer_text(env)
    if not manual and re.search(r"auto[._]commit['\"]?\s*[:=]\s*(False|['\"]?false)", text):
        manual = True
    # the commit must follow the processing in the consume loop
    for tree in _consumer_functions(env):
        for node in ast.walk(tree):
            if isinstance(node, ast.For | ast.AsyncFor | ast.While):
                calls = [
                    (n.lineno, ast.unparse(n.func))
                    for stmt in node.body
                    for n in ast.walk(stmt)
                    if isinstance(n, ast.Call)
                ]
                commits = [ln for ln, name in calls if name.endswith(".commit")]
                work = [
                    ln
                    for ln, name in calls
                    if re.search(r"(process|handle|dispatch)", name.rsplit(".", 1)[-1])
                ]
                if commits and work and min(commits) < min(work):
                    path = next(
                        p
                        for p in env.facts.consumer_modules
                        if env.facts.index.modules[p].tree is tree
                    )
                    return Outcome(
                        "deviation",
                        "the offset is committed before the message is processed",
                        [f"{path}:{min(commits)}"],
                        problems=[
                            (
                                "req.deviation",
                                path,
                                min(commits),
                                "the offset is committed before the message is processed",
                            )
                        ],
                    )
    if manual and ".commit(" in text:
        return Outcome("implemented", "auto-commit off, commit after processing", ev)
    return None


def _retry_sites(env: Env, modules: list[str] | None = None) -> list[Site]:
    pat = re.compile(r"\b(retr(y|ies)|attempts?|backoff|tenacity|max_retries)\b", re.I)
    mods = (
        [env.facts.index.modules[p] for p in modules] if modules else env.facts.index.source_modules
    )
    return env.facts.source_lines(pat, mods)


def retry_then_dlq(env: Env, req: Requirement) -> Outcome | None:
    consumers = sorted(env.facts.consumer_modules)
    low = req.text.lower()
    if ("relay" in low or "next" in low) and "outbox" in " ".join(env.facts.strings).lower():
        return Outcome(
            "implemented",
            "the outbox relay retries unpublished rows on each cycle",
            _first(_retry_sites(env)),
        )
    sites = _retry_sites(env, consumers if consumers else None)
    if sites:
        hit = _contradicted(
            env, ("kafka.no-dlq",), "partial", "failing messages are not retried and dead-lettered"
        )
        if hit is not None:
            return hit
        return Outcome("implemented", "retry with backoff in the consumer", _first(sites))
    if not consumers:
        return None
    # no retry at all: where the failure is swallowed
    where: Site | None = None
    for path in consumers:
        m = env.facts.index.modules[path]
        for node in ast.walk(m.tree):
            if isinstance(node, ast.ExceptHandler) and (
                node.type is None or ast.unparse(node.type) in {"Exception", "BaseException"}
            ):
                where = (path, node.lineno)
                break
        if where:
            break
    where = where or (consumers[0], 1)
    return Outcome(
        "missing",
        "no retry of failed messages in the consumer",
        [loc(where)],
        problems=[
            (
                "req.missing",
                where[0],
                where[1],
                "failed messages are not retried as the design states",
            )
        ],
    )


def schema_validation(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env,
        ("kafka.unvalidated-message",),
        "partial",
        "messages are not validated against their schema",
    )
    if hit is not None:
        return hit
    text = _consumer_text(env)
    if not text:
        return None
    if re.search(
        r"model_validate|parse_obj|parse_raw|TypeAdapter|ValidationError|validate_python", text
    ):
        return Outcome(
            "implemented",
            "the consumer validates messages with a schema",
            _first(
                env.facts.source_lines(
                    re.compile(r"model_validate|ValidationError|TypeAdapter"),
                    [env.facts.index.modules[p] for p in env.facts.consumer_modules],
                )
            ),
        )
    loads = env.facts.source_lines(
        re.compile(r"json\.loads"), [env.facts.index.modules[p] for p in env.facts.consumer_modules]
    )
    if loads:
        return Outcome(
            "partial",
            "payloads are decoded but not validated against a schema",
            _first(loads),
            problems=[
                (
                    "req.partial",
                    loads[0][0],
                    loads[0][1],
                    "consumed payloads are not validated against the design's schema",
                )
            ],
        )
    return None


def graceful_shutdown(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env,
        ("kafka.consumer-shutdown",),
        "partial",
        "the consumer does not shut down as the design states",
    )
    if hit is not None:
        return hit
    stops = env.facts.source_lines(
        re.compile(r"\.stop\(\)|\.close\(\)"),
        [env.facts.index.modules[p] for p in env.facts.consumer_modules],
    )
    if not stops:
        return None
    path, line = stops[0]
    fn = env.facts.index.enclosing_function(path, line)
    body = env.facts.function_text(fn) if fn else ""
    low = req.text.lower()
    if re.search(r"in hand|finish|drain", low) and not re.search(
        r"\.set\(\)|await (self\.)?_?\w*task|wait_for|gather|= False|\.cancel\(\)", body
    ):
        return Outcome(
            "partial",
            "stop() ends the consumer without waiting for the message in hand",
            [loc((path, line))],
            problems=[
                (
                    "req.partial",
                    path,
                    line,
                    "the consumer is stopped without finishing the message in hand",
                )
            ],
        )
    return Outcome("implemented", "the consumer is stopped on shutdown", [loc((path, line))])


def _dedup_in(env: Env, fn_list: list[object]) -> bool:
    pat = re.compile(
        r"(exists|processed|already|duplicate|seen|on_conflict|dedup|is_handled|for_event)", re.I
    )
    for fn in fn_list:
        for f in env.facts.callees(fn, 2):  # type: ignore[arg-type]
            if pat.search(env.facts.function_text(f)):
                return True
    return False


def handler_dedup(env: Env) -> dict[str, bool]:
    return {t: _dedup_in(env, list(hs)) for t, hs in env.facts.handlers.items() if hs}


def consumer_idempotency(env: Env, req: Requirement) -> Outcome | None:
    dedup = handler_dedup(env)
    topics = [t for t in dedup if t.lower() in req.text.lower()] or list(dedup)
    if not topics:
        return _contradicted(
            env, ("kafka.consumer-idempotency",), "partial", "redelivered messages are not skipped"
        )
    lacking = [t for t in topics if not dedup[t]]
    if not lacking:
        return Outcome("implemented", "every handler skips events it has already handled")
    h = env.facts.handlers[lacking[0]][0]
    status = "partial"  # the handler exists; the stated rule is not enforced
    return Outcome(
        status,  # type: ignore[arg-type]
        "no duplicate check for " + ", ".join(lacking),
        [f"{h.path}:{h.line}"],
        problems=[
            (
                "req.partial",
                h.path,
                h.line + 1,
                f"the handler of {lacking[0]} repeats its effect on redelivery",
            )
        ],
    )


def error_leaks(env: Env, req: Requirement) -> Outcome | None:
    handlers = env.facts.exception_handlers
    leaks: list[Site] = []
    generic_only = (
        bool(re.search(r"\b(500|unexpected)\b", req.text.lower()))
        and "never" not in req.text.lower()
    )
    chosen = handlers
    if generic_only:
        chosen = [
            h
            for h in handlers
            if re.search(
                r"exception_handler\((Exception|BaseException)\)|\b(Exception|BaseException)\b\)?:?",
                ast.unparse(h.node.args),
            )
            or "Exception" in "".join(ast.unparse(d) for d in h.node.decorator_list)
        ] or handlers
    for h in chosen:
        exc_arg = h.node.args.args[1].arg if len(h.node.args.args) >= 2 else "exc"
        for node in ast.walk(h.node):
            if (
                (
                    isinstance(node, ast.JoinedStr)
                    and any(
                        isinstance(v, ast.FormattedValue) and exc_arg in ast.unparse(v.value)
                        for v in node.values
                    )
                )
                or (
                    isinstance(node, ast.Call)
                    and ast.unparse(node.func) in {"str", "repr"}
                    and node.args
                    and ast.unparse(node.args[0]) == exc_arg
                )
                or (isinstance(node, ast.Call) and ast.unparse(node.func).endswith("format_exc"))
            ):
                leaks.append((h.path, node.lineno))
    finding_hits = env.findings_of("errors.leaks-internals")
    for f in finding_hits:
        if f.path and f.line and (f.path, f.line) not in leaks:
            leaks.append((f.path, f.line))
    if not chosen and not leaks:
        return None
    if leaks:
        leaking = {p for p, _ in leaks}
        all_leak = generic_only or all(
            h.path in leaking
            and any(
                (h.path == p and h.node.lineno <= ln <= (h.node.end_lineno or h.node.lineno))
                for p, ln in leaks
            )
            for h in chosen
        )
        status = "deviation" if all_leak else "partial"
        cat = "req.deviation" if all_leak else "req.partial"
        return Outcome(
            status,  # type: ignore[arg-type]
            "an error response carries exception details",
            [loc(s) for s in leaks[:3]],
            problems=[
                (
                    cat,
                    leaks[0][0],
                    leaks[0][1],
                    "an error response includes the exception text, which the design forbids",
                )
            ],
        )
    return Outcome(
        "implemented",
        "exception handlers answer with fixed messages",
        [f"{h.path}:{h.line}" for h in chosen[:3]],
    )


def error_mapping(env: Env, req: Requirement) -> Outcome | None:
    if env.facts.exception_handlers:
        return Outcome(
            "implemented",
            "exception handlers map errors to statuses",
            [f"{h.path}:{h.line}" for h in env.facts.exception_handlers[:3]],
        )
    raises = env.facts.source_lines(re.compile(r"HTTPException\("))
    if raises:
        return Outcome(
            "implemented", "errors raised as HTTPException with statuses", _first(raises)
        )
    return None


def structured_logging(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env, ("ops.logging",), "partial", "logging is not structured as the design states"
    )
    sites = env.facts.source_lines(
        re.compile(r"\bstructlog\b|JSONRenderer|jsonlogger|JsonFormatter")
    )
    if hit is not None and not sites:
        return hit
    if sites:
        return Outcome("implemented", "structured JSON logging configured", _first(sites))
    return None


def settings_prefix(env: Env, req: Requirement) -> Outcome | None:
    m = re.search(r"prefix\s+`?([A-Za-z][A-Za-z0-9]*_)`?", req.text)
    if m is None:
        return None
    want = m.group(1)
    prefixes = [(s.env_prefix, s) for s in env.facts.index.settings.values()]
    if not prefixes:
        return Outcome(
            "missing",
            "no settings class reads the environment",
            problems=[
                ("req.missing", None, None, "configuration is not read from environment variables")
            ],
        )
    for p, s in prefixes:
        if p is not None and p.upper() == want.upper():
            return Outcome(
                "implemented",
                f"settings use env_prefix {p!r}",
                [f"{s.cls.path}:{s.cls.node.lineno}"],
            )
    other = next(((p, s) for p, s in prefixes if p), None)
    if other is not None:
        s = other[1]
        return Outcome(
            "deviation",
            f"settings use env_prefix {other[0]!r}, the design says {want!r}",
            [f"{s.cls.path}:{s.cls.node.lineno}"],
            problems=[
                (
                    "req.deviation",
                    s.cls.path,
                    s.cls.node.lineno,
                    f"settings prefix {other[0]!r} differs from the design's {want!r}",
                )
            ],
        )
    return None


_STACK = {
    "fastapi": "fastapi",
    "pydantic": "pydantic",
    "sqlalchemy": "sqlalchemy",
    "alembic": "alembic",
    "aiokafka": "aiokafka",
    "confluent-kafka": "confluent-kafka",
    "asyncpg": "asyncpg",
    "structlog": "structlog",
    "pydantic-settings": "pydantic-settings",
    "kafka-python": "kafka-python",
    "uvicorn": "uvicorn",
    "httpx": "httpx",
}


def stack(env: Env, req: Requirement) -> Outcome | None:
    low = req.text.lower()
    named = [pkg for word, pkg in _STACK.items() if re.search(rf"\b{re.escape(word)}\b", low)]
    if len(named) < 2:
        return None
    hit = _contradicted(
        env, ("ops.stack-version",), "deviation", "the stack differs from the design"
    )
    if hit is not None:
        return hit
    index = env.facts.index
    text = index.extra_files.get("pyproject.toml", "")
    for name in ("requirements.txt", "requirements/base.txt"):
        p = index.root / name
        if p.is_file():
            text += p.read_text("utf-8", errors="replace")
    if not text:
        return None
    low_text = text.lower().replace("_", "-")
    missing = [p for p in named if p not in low_text]
    if missing:
        return Outcome(
            "partial", "dependencies not declared: " + ", ".join(missing), ["pyproject.toml"]
        )
    return Outcome(
        "implemented", "the declared dependencies match the stated stack", ["pyproject.toml"]
    )


def health_endpoints(env: Env, req: Requirement) -> Outcome | None:
    routes = [r for r in env.facts.index.routes if re.search(r"live|ready|health", r.path)]
    if not routes:
        return None
    return Outcome("implemented", "health routes exist", [f"{r.file}:{r.line}" for r in routes[:2]])


def correlation(env: Env, req: Requirement) -> Outcome | None:
    headers = re.findall(r"\b(X-[A-Za-z-]+)\b", req.text)
    if not headers:
        return None
    text_lower = {s.lower(): sites for s, sites in env.facts.strings.items()}
    found = [h for h in headers if h.lower() in text_lower]
    if len(found) == len(headers):
        return Outcome(
            "implemented",
            "the header is read and set by the service",
            [loc(text_lower[h.lower()][0]) for h in found][:2],
        )
    return None


def outbox(env: Env, req: Requirement) -> Outcome | None:
    sites = env.facts.source_lines(re.compile(r"outbox", re.I))
    if not sites:
        return None
    return Outcome("implemented", "events written to an outbox table and relayed", _first(sites))


def publish_failure_503(env: Env, req: Requirement) -> Outcome | None:
    sites = env.facts.source_lines(re.compile(r"\b503\b|HTTP_503|SERVICE_UNAVAILABLE"))
    if not sites:
        return None
    return Outcome("implemented", "publish failures answer 503", _first(sites))


def off_event_loop(env: Env, req: Requirement) -> Outcome | None:
    blocking = [
        f
        for f in env.findings_of("async.blocking-io")
        if f.path in env.facts.kafka_modules
        or "kafka" in f.message.lower()
        or "flush" in f.message.lower()
        or "poll" in f.message.lower()
    ]
    offload = env.facts.source_lines(re.compile(r"to_thread|run_in_executor"))
    # without another rule's verdict: a sync producer call reachable from a route, not offloaded
    idx = env.facts.index
    for send in idx.kafka_sends:
        if not send.awaited and not any(
            c.offloaded for c in send.function.calls if c.node is send.node
        ):
            callers = [
                fn
                for fn in idx.functions.values()
                if fn.is_async
                and any(c.target == send.function.fqname and not c.offloaded for c in fn.calls)
            ]
            if callers:
                c = callers[0]
                line = next(x.line for x in c.calls if x.target == send.function.fqname)
                return Outcome(
                    "partial",
                    "a synchronous publish runs on the event loop",
                    [f"{c.path}:{line}"],
                    problems=[
                        (
                            "req.partial",
                            c.path,
                            line,
                            "a synchronous publish runs on the event loop",
                        )
                    ],
                )
    if blocking:
        f = blocking[0]
        where: tuple[str, int] = (f.path or "", f.line or 0)
        fn = (
            idx.enclosing_function(f.path, f.line)
            if f.path and f.line and f.path in idx.modules
            else None
        )
        if fn is not None:
            for caller in idx.functions.values():
                hit = next(
                    (c for c in caller.calls if c.target == fn.fqname and not c.offloaded), None
                )
                if hit is not None and caller.is_async:
                    where = (caller.path, hit.line)
                    break
        status: RequirementStatus = "partial" if offload else "missing"
        return Outcome(
            status,
            "the event loop is blocked waiting for the broker",
            [loc(where)],
            problems=[
                (
                    "req.partial",
                    where[0],
                    where[1],
                    "a request handler blocks the event loop waiting for the broker",
                )
            ],
        )
    if offload:
        return Outcome("implemented", "broker waits run off the event loop", _first(offload))
    return None


def ack_timeout(env: Env, req: Requirement) -> Outcome | None:
    m = re.search(r"within (\d+(?:\.\d+)?)\s*(s|sec|seconds)\b", req.text)
    if m is None:
        return None
    n = m.group(1)
    sites = env.facts.source_lines(
        re.compile(rf"(timeout\w*\s*[:=]\s*(float\()?{re.escape(n)}(\.0)?\b|flush\({re.escape(n)})")
    )
    if sites:
        return Outcome("implemented", f"a {n}s timeout is configured", _first(sites))
    return None


def coverage_target(env: Env, req: Requirement) -> Outcome | None:
    target = req.details.get("coverage")
    if not isinstance(target, int | float):
        return None
    if not env.coverage_measured or env.coverage is None:
        return Outcome("unverified", "coverage was not measured")
    if env.coverage + 1e-9 < float(target):
        return Outcome("partial", f"measured coverage {env.coverage:.1f}% is below {target}%")
    return Outcome("implemented", f"measured coverage {env.coverage:.1f}% meets {target}%")


def latency(env: Env, req: Requirement) -> Outcome | None:
    if req.details.get("latency"):
        return Outcome("unverified", "latency is not measured by a static review")
    return None


# (trigger, check) in order; every matching concern contributes
CONCERNS: list[tuple[re.Pattern[str], Check]] = [
    (re.compile(r"\b(p9\d|latency)\b", re.I), latency),
    (re.compile(r"\bcoverage\b", re.I), coverage_target),
    (
        re.compile(r"acks\s*=\s*all|idempoten\w*\s+(producer|enabled)|idempotence", re.I),
        producer_reliability,
    ),
    (re.compile(r"\bheaders?\b", re.I), message_headers),
    (
        re.compile(r"\bcommit\w*\b.*\bafter\b|\bauto-?commit\b|\boffsets?\b.*\bcommit", re.I),
        commit_after_processing,
    ),
    (re.compile(r"\bretr(y|ied|ies)\b", re.I), retry_then_dlq),
    (
        re.compile(r"validated against|does not match (the|its)? ?schema|schema mismatch", re.I),
        schema_validation,
    ),
    (re.compile(r"\bshut ?down\b|stops? gracefully|graceful", re.I), graceful_shutdown),
    (
        re.compile(
            r"more than once|delivered twice|redeliver\w*|deduplicat\w*|already (been )?(handled|processed|anonymised)|skipped",
            re.I,
        ),
        consumer_idempotency,
    ),
    (re.compile(r"stack traces?|exception text|generic message", re.I), error_leaks),
    (
        re.compile(r"domain errors? map|errors? map to|mapped to (http )?status", re.I),
        error_mapping,
    ),
    (re.compile(r"structured (json )?log|json logs?|structlog", re.I), structured_logging),
    (re.compile(r"\bprefix\s+`?[A-Za-z][A-Za-z0-9]*_", re.I), settings_prefix),
    (re.compile(r"python 3\.\d+", re.I), stack),
    (re.compile(r"liveness|readiness", re.I), health_endpoints),
    (re.compile(r"\bX-[A-Za-z]+-ID\b", re.I), correlation),
    (re.compile(r"\boutbox\b|same transaction", re.I), outbox),
    (re.compile(r"publish\w*\b.*\b503\b|\b503\b.*\bpublish", re.I), publish_failure_503),
    (re.compile(r"off the event loop|blocks? the (event )?loop", re.I), off_event_loop),
    (re.compile(r"within \d+(\.\d+)?\s*(s|sec|seconds)\b", re.I), ack_timeout),
]
