"""Prose requirements: recognise the concern a sentence states and look for its evidence.

Each concern is keyed on the general vocabulary of the concern (commit, retry,
dead-letter, headers, stack traces, ...), never on one design's wording. A concern
decides from the code's structure (calls and their resolved targets, keyword and
settings values, handler and decorator registrations, settings classes, declared
dependencies) or from another rule's finding, with the places that prove it.
A concern that applies but finds no deciding evidence answers `unverified`; one
that does not apply answers None.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi_review.index.kafka import KafkaClient
from fastapi_review.index.nodes import LOOP_NODES, NAME_OR_ATTRIBUTE, walk
from fastapi_review.index.symbols import Function, dotted, unparse
from fastapi_review.models import (
    CoverageMetrics,
    Finding,
    GateResult,
    Requirement,
    RequirementStatus,
)
from fastapi_review.trace import evidence as ev
from fastapi_review.trace.facts import Facts, Site, loc
from fastapi_review.trace.structural import Outcome

# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_ATTRIBUTE_NAME_CONSTANT = ast.Attribute | ast.Name | ast.Constant
_EQ_IS_IN = ast.Eq | ast.Is | ast.In


@dataclass
class Env:
    facts: Facts
    findings: list[Finding]
    coverage: float | None
    coverage_measured: bool
    metrics: CoverageMetrics | None = None
    gates: dict[str, GateResult] = field(default_factory=dict)
    requirements: list[Requirement] = field(default_factory=list)
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # structural, by requirement id

    def findings_of(self, *categories: str) -> list[Finding]:
        return [f for f in self.findings if f.category in categories and not f.suppressed]


Check = Callable[[Env, Requirement], Outcome | None]


def _unverified(why: str) -> Outcome:
    return Outcome("unverified", why)


def _locs(sites: list[Site], n: int = 3) -> list[str]:
    return [loc(s) for s in list(dict.fromkeys(sites))[:n] if s[0]]


def _contradicted(
    env: Env,
    categories: tuple[str, ...],
    status: str,
    why: str,
    paths: set[str] | None = None,
) -> Outcome | None:
    hits = [f for f in env.findings_of(*categories) if paths is None or f.path in paths]
    if not hits:
        return None
    f = hits[0]
    evidence = [f"{f.path}:{f.line}"] if f.path else []
    cat = "req.deviation" if status == "deviation" else "req.partial"
    return Outcome(
        status,  # type: ignore[arg-type]
        f"{why} ({f.category}: {f.message})",
        evidence,
        problems=[(cat, f.path, f.line, f"{why}: {f.message}")],
    )


def _consumer_paths(env: Env) -> set[str]:
    """Modules of consumer clients, their consume loops and the handlers they dispatch to."""
    paths = set(env.facts.consumer_modules)
    for hs in env.facts.handlers.values():
        paths.update(h.path for h in hs)
    return paths


def _consumer_functions(env: Env) -> list[Function]:
    """Functions of the consumer modules and the project functions they call (2 levels)."""
    graph = ev.Graph.of(env.facts)
    out: dict[str, Function] = {}
    frontier = [
        f for f in env.facts.index.functions.values() if f.path in env.facts.consumer_modules
    ]
    for hs in env.facts.handlers.values():
        frontier += hs
    for _ in range(3):
        nxt: list[Function] = []
        for f in frontier:
            if f.fqname in out:
                continue
            out[f.fqname] = f
            nxt += [c for c, _ in graph.callees(f)]
        frontier = nxt
    return list(out.values())


def _context_topics_missing(env: Env, req: Requirement, direction: str) -> bool:
    """The topics of the requirement's own text (or section) are all absent from the code."""
    text = req.text.lower()
    events = [
        r
        for r in env.requirements
        if r.kind == "event"
        and r.details.get("direction") in {direction, None}
        and not r.details.get("dlq")
        and r.id in env.outcomes
    ]
    named = [
        r
        for r in env.requirements
        if r.kind == "event"
        and r.id in env.outcomes
        and (r.details.get("direction") in {direction, None} or r.details.get("dlq"))
        and str(r.details.get("topic", r.key)).lower() in text
    ]
    # the topics named, else those of the same section, else all the design's topics
    context = named or [r for r in events if req.section and r.section == req.section] or events
    if not context:
        return False
    return all(env.outcomes[r.id].status in {"missing", "deviation"} for r in context)


# --- producer -------------------------------------------------------------------------------
def _client_options(env: Env, client: KafkaClient) -> tuple[dict[str, ast.expr], bool]:
    """The client's options; False when some are hidden (`**conf`, an unresolved dict)."""
    options = dict(client.options)
    complete = not any(k.arg is None for k in client.node.keywords)
    for a in client.node.args:
        if isinstance(a, ast.Dict):
            continue
        if isinstance(a, ast.Name) and client.function is not None:
            bound = [
                n.value
                for n in walk(client.function.node, ast.Assign)
                if any(isinstance(t, ast.Name) and t.id == a.id for t in n.targets)
                and isinstance(n.value, ast.Dict)
            ]
            if bound:
                for k, v in zip(bound[0].keys, bound[0].values, strict=True):
                    if isinstance(k, ast.Constant) and isinstance(k.value, str):
                        options[k.value.replace(".", "_")] = v
                    elif k is None:
                        complete = False
                continue
        if client.library == "confluent-kafka":
            complete = False
    return options, complete


def _value(env: Env, client: KafkaClient, expr: ast.expr) -> str | None:
    m = env.facts.index.modules[client.path]
    if isinstance(expr, ast.Constant) and isinstance(expr.value, bool | int):
        return str(expr.value).lower()
    text = env.facts.index.string_value(m, expr)
    if text is not None:
        return text.lower()
    num = ev.number(env.facts.index, m, expr)
    if num is not None:
        return str(int(num))
    if isinstance(expr, ast.Attribute):
        vals = {
            str(v).lower()
            for s in env.facts.index.settings.values()
            for n, v in s.fields.items()
            if n == expr.attr and isinstance(v, bool)
        }
        if len(vals) == 1:
            return next(iter(vals))
    return None


def producer_reliability(env: Env, req: Requirement) -> Outcome | None:
    producers = [c for c in env.facts.index.kafka_clients if c.role == "producer"]
    if not producers:
        return _unverified("no Kafka producer client found in the code")
    if _context_topics_missing(env, req, "produced"):
        return _unverified("the topics this statement is about are not produced by the code")
    low = req.text.lower()
    wants_acks = "acks" in low
    wants_idem = "idempot" in low
    evidence: list[str] = []
    bad: list[tuple[KafkaClient, str]] = []
    for p in producers:
        options, complete = _client_options(env, p)
        checks: list[tuple[str, tuple[str, ...], set[str], str]] = []
        if wants_acks:
            default = "all" if p.library == "confluent-kafka" else "1"
            checks.append(("acks=all", ("acks",), {"all", "-1"}, default))
        if wants_idem:
            checks.append(("idempotence", ("enable_idempotence",), {"true", "1"}, "false"))
        for label, names, good, default in checks:
            expr = next((options[n] for n in names if n in options), None)
            value: str | None = default
            if expr is None:
                if not complete:
                    return _unverified(f"the producer's {label} setting is not visible statically")
            else:
                value = _value(env, p, expr)
                if value is None:
                    return _unverified(f"the producer's {label} value is not known statically")
                evidence.append(f"{p.path}:{expr.lineno}")
            if value not in good:
                bad.append((p, label))
        evidence.append(f"{p.path}:{p.line}")
    if not bad:
        return Outcome("implemented", "producer configured as stated", evidence[:4])
    p = bad[0][0]
    lacking = ", ".join(dict.fromkeys(label for _, label in bad))
    return Outcome(
        "partial",
        f"producer lacks {lacking}",
        [f"{p.path}:{p.line}"],
        problems=[
            (
                "req.partial",
                p.path,
                p.line,
                f"the producer is not configured as the design states ({lacking})",
            )
        ],
    )


def message_headers(env: Env, req: Requirement) -> Outcome | None:
    text = req.text
    names = [c for c in re.findall(r"`([\w-]+)`", text) if not c.lower().startswith("x-")]
    if not names:
        pairs = re.findall(r"headers? ([a-z_]+(?:_id|_type))\b(?: and ([a-z_]+))?", text)
        names = [n for pair in pairs for n in pair if n]
    if not names:
        names = re.findall(r"(?<![\w-])([a-z]+_[a-z_]+)\b", text)
    names = list(dict.fromkeys(names))
    if not names:
        return None
    if not env.facts.has_kafka:
        return _unverified("the project produces no Kafka messages")
    if _context_topics_missing(env, req, "produced"):
        return _unverified("the topics this statement is about are not produced by the code")
    sends = env.facts.index.kafka_sends
    got = ev.kafka_header_names(env.facts)
    present = [n for n in names if n.lower() in got]
    evidence = _locs([got[n.lower()] for n in present])
    if len(present) == len(names):
        return Outcome("implemented", "header names set on the produced messages", evidence)
    if sends and not any(ev.kw(s.node, "headers") is not None for s in sends):
        s = sends[0]
        return Outcome(
            "partial",
            "produced messages carry no headers",
            [f"{s.path}:{s.line}"],
            problems=[
                (
                    "req.partial",
                    s.path,
                    s.line,
                    "messages are produced without the headers the design states",
                )
            ],
        )
    return _unverified(
        "headers not found on the produced messages: "
        + ", ".join(n for n in names if n not in present)
    )


# --- consumer ------------------------------------------------------------------------------
def _consumer_commits(env: Env) -> list[Site]:
    out: list[Site] = []
    for f in _consumer_functions(env):
        for name, expr, line in ev.function_refs(f):
            if name != "commit":
                continue
            recv = unparse(expr.value).lower() if isinstance(expr, ast.Attribute) else ""
            target = next(
                (c.target for c in f.calls if c.line == line and c.text.endswith("commit")), ""
            )
            if "consumer" in recv or "consumer" in (target or "").lower():
                out.append((f.path, line))
    return out


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
        return _unverified("no Kafka consumer client found in the code")
    if _context_topics_missing(env, req, "consumed"):
        return _unverified("the topics this statement is about are not consumed by the code")
    evidence: list[str] = []
    for c in consumers:
        options, complete = _client_options(env, c)
        opt = options.get("enable_auto_commit")
        value = _value(env, c, opt) if opt is not None else None
        if value in {"false", "0"}:
            evidence.append(f"{c.path}:{opt.lineno if opt is not None else c.line}")
        elif opt is None and complete:
            return Outcome(
                "partial",
                "the consumer keeps the default auto-commit",
                [f"{c.path}:{c.line}"],
                problems=[
                    (
                        "req.partial",
                        c.path,
                        c.line,
                        "auto-commit is left on, so offsets are committed before processing",
                    )
                ],
            )
        else:
            return _unverified("the consumer's auto-commit setting is not known statically")
    # the commit must follow the processing in the consume loop
    for f in _consumer_functions(env):
        for node in walk(f.node, LOOP_NODES):
            if not isinstance(node, LOOP_NODES):
                continue
            calls = [
                (n.lineno, unparse(n.func)) for stmt in node.body for n in walk(stmt, ast.Call)
            ]
            commits = [ln for ln, name in calls if name.endswith(".commit")]
            work = [
                ln
                for ln, name in calls
                if re.search(r"(process|handle|dispatch)", name.rsplit(".", 1)[-1])
            ]
            if commits and work and min(commits) < min(work):
                return Outcome(
                    "deviation",
                    "the offset is committed before the message is processed",
                    [f"{f.path}:{min(commits)}"],
                    problems=[
                        (
                            "req.deviation",
                            f.path,
                            min(commits),
                            "the offset is committed before the message is processed",
                        )
                    ],
                )
    commit_sites = _consumer_commits(env)
    if commit_sites:
        return Outcome(
            "implemented",
            "auto-commit off, offsets committed by the consumer",
            evidence + _locs(commit_sites, 2),
        )
    return _unverified("auto-commit is off but no explicit commit was found")


def _dead_letter_topics(env: Env) -> set[str]:
    return {
        str(r.details.get("topic", r.key))
        for r in env.requirements
        if r.kind == "event" and r.details.get("dlq")
    }


def _sends_to(env: Env, fn: Function, topics: set[str]) -> list[int]:
    """Lines of the calls in `fn` with an argument that resolves to one of `topics`."""
    m = env.facts.index.modules.get(fn.path)
    if m is None:
        return []
    out: list[int] = []
    for node in walk(fn.node, ast.Call):
        if isinstance(node, ast.Call):
            args = [*node.args, *(k.value for k in node.keywords)]
            if any(env.facts.index.string_value(m, a) in topics for a in args):
                out.append(node.lineno)
    return out


def _dead_letter_calls(env: Env, fns: list[Function]) -> list[Site]:
    """Calls that send the failed message to a dead-letter topic.

    Followed by destination: a call whose argument resolves to a dead-letter topic of the
    design (a constant, a setting default), directly or through a helper of the project
    that sends there. When no destination can be followed, by the names of the calls
    (`send_to_dlq`, `dead_letter(...)`).
    """
    topics = _dead_letter_topics(env)
    out: list[Site] = []
    if topics:
        idx = env.facts.index
        senders = {
            f.fqname: f
            for f in idx.functions.values()
            if not idx.modules[f.path].is_test and _sends_to(env, f, topics)
        }
        for f in fns:
            out += [(f.path, line) for line in _sends_to(env, f, topics)]
            out += [(f.path, c.line) for c in f.calls if c.target and c.target in senders]
        if out:
            return list(dict.fromkeys(out))
    for f in fns:
        for name, _expr, line in ev.function_refs(f):
            if re.search(r"dead|dlq|_failed|quarantine", name, re.I):
                out.append((f.path, line))
    return out


def _relay_sites(env: Env) -> list[Site]:
    """Functions that read an outbox model and reach a Kafka send."""
    outbox = [o for o in env.facts.index.orm_models.values() if "outbox" in o.table.lower()]
    if not outbox:
        return []
    graph = ev.Graph.of(env.facts)
    sends = ev.send_functions(env.facts)
    names = {o.cls.name for o in outbox} | {o.cls.fqname for o in outbox}
    out: list[Site] = []
    for f in env.facts.index.functions.values():
        if env.facts.index.modules[f.path].is_test:
            continue
        uses = any(
            isinstance(n, ast.Name) and n.id in names for n in walk(f.node, ast.Name)
        ) or any(
            (c.target or "").rsplit(".", 1)[0] in names or "outbox" in (c.target or "").lower()
            for c in f.calls
        )
        if not uses:
            continue
        line = graph.reaches(f, sends, depth=2)
        if line is not None:
            out.append((f.path, line))
    return out


def _backoff_bases(env: Env, loops: list[Site]) -> set[float]:
    """Known first pauses of the retry loops: the numbers in their `sleep(...)` arguments."""
    out: set[float] = set()
    idx = env.facts.index
    for path, line in loops:
        m = idx.modules.get(path)
        if m is None:
            continue
        for node in walk(m.tree, LOOP_NODES):
            if getattr(node, "lineno", None) != line or not isinstance(node, LOOP_NODES):
                continue
            for call in walk(node, ast.Call):
                if isinstance(call, ast.Call) and (dotted(call.func) or "").endswith("sleep"):
                    for a in call.args[:1]:
                        nums = [
                            ev.number(idx, m, x)
                            for x in walk(a, _ATTRIBUTE_NAME_CONSTANT)
                            if isinstance(x, _ATTRIBUTE_NAME_CONSTANT)
                        ]
                        known = [n for n in nums if n is not None and n > 0]
                        if known:
                            out.add(known[0])
    return out


def _loops_at(env: Env, loops: list[Site]) -> list[tuple[Site, ast.AST]]:
    out: list[tuple[Site, ast.AST]] = []
    for path, line in loops:
        m = env.facts.index.modules.get(path)
        if m is None:
            continue
        for node in walk(m.tree, LOOP_NODES):
            if getattr(node, "lineno", None) == line and isinstance(node, LOOP_NODES):
                out.append(((path, line), node))
    return out


def _unawaited_pauses(env: Env, loops: list[Site]) -> list[Site]:
    """`asyncio.sleep(...)` in a retry loop whose coroutine is never awaited: no pause at all.

    Only when every pause of the loop is such a call (a loop that also awaits one pauses).
    """
    out: list[Site] = []
    for (path, _line), loop in _loops_at(env, loops):
        awaited = {id(n.value) for n in walk(loop, ast.Await)}
        pauses = [c for c in walk(loop, ast.Call) if (dotted(c.func) or "").endswith("sleep")]
        idle = [
            c
            for c in pauses
            if id(c) not in awaited and (dotted(c.func) or "") in {"asyncio.sleep", "anyio.sleep"}
        ]
        if pauses and len(idle) == len(pauses):
            out.append((path, idle[0].lineno))
    return out


def retry_then_dlq(env: Env, req: Requirement) -> Outcome | None:
    low = req.text.lower()
    if "relay" in low:
        relays = _relay_sites(env)
        if relays:
            return Outcome(
                "implemented",
                "the outbox relay publishes the unpublished rows on every cycle",
                _locs(relays, 2),
            )
        return _unverified("no outbox relay found")
    paths = _consumer_paths(env)
    if not paths:
        return _unverified("no Kafka consumer found in the code")
    if _context_topics_missing(env, req, "consumed"):
        return _unverified("the topics this statement is about are not consumed by the code")
    fns = _consumer_functions(env)
    fn_paths = {f.path for f in fns} | paths
    sites = ev.retry_loops(env.facts, fn_paths)
    if sites:
        hit = _contradicted(
            env,
            ("kafka.no-dlq",),
            "partial",
            "failing messages are not retried and dead-lettered",
            paths,
        )
        if hit is not None:
            return hit
        evidence = _locs(sites, 2)
        idle = _unawaited_pauses(env, sites)
        if idle:
            return Outcome(
                "partial",
                "the pause between retries is never awaited: the retries run back to back",
                evidence + _locs(idle, 1),
                problems=[
                    (
                        "req.partial",
                        idle[0][0],
                        idle[0][1],
                        "failed messages are retried without the stated pause "
                        "(the sleep coroutine is never awaited)",
                    )
                ],
            )
        stated = re.search(r"\((\d+(?:\.\d+)?)\s*s\b", req.text)
        if stated is not None:
            bases = _backoff_bases(env, sites)
            if bases and float(stated.group(1)) not in bases:
                return _unverified(
                    f"the retry pause starts at {min(bases):g} s, the design says {stated.group(1)} s"
                )
        if re.search(r"dead|dlq|\.failed\b|then .*topic", low):
            dl = _dead_letter_calls(env, fns)
            if not dl:
                return _unverified("messages are retried, but no dead-letter publish was found")
            evidence += _locs(dl, 1)
        return Outcome("implemented", "failed messages are retried with a pause", evidence)
    # no retry at all: where the failure is swallowed
    where: Site | None = None
    for f in fns:
        for node in walk(f.node, ast.ExceptHandler):
            if isinstance(node, ast.ExceptHandler) and (
                node.type is None or unparse(node.type) in {"Exception", "BaseException"}
            ):
                where = (f.path, node.lineno)
                break
        if where:
            break
    where = where or (sorted(env.facts.consumer_modules or paths)[0], 1)
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


_VALIDATORS = {
    "model_validate",
    "model_validate_json",
    "parse_obj",
    "parse_raw",
    "validate_python",
    "validate_json",
}


def schema_validation(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env,
        ("kafka.unvalidated-message",),
        "partial",
        "messages are not validated against their schema",
    )
    if hit is not None:
        return hit
    if not _consumer_paths(env):
        return _unverified("no Kafka consumer found in the code")
    if _context_topics_missing(env, req, "consumed"):
        return _unverified("the topics this statement is about are not consumed by the code")
    fns = _consumer_functions(env)
    models = {pm.cls.fqname for pm in env.facts.index.pydantic_models.values()}
    validated: list[Site] = []
    loads: list[Site] = []
    for f in fns:
        for c in f.calls:
            attr = c.text.rsplit(".", 1)[-1]
            if attr in _VALIDATORS or (
                c.target in models
                and any(isinstance(k, ast.keyword) and k.arg is None for k in c.node.keywords)
            ):
                validated.append((f.path, c.line))
            elif c.target in {"json.loads", "orjson.loads"}:
                loads.append((f.path, c.line))
    if not validated:
        if loads:
            return Outcome(
                "partial",
                "payloads are decoded but not validated against a schema",
                _locs(loads, 2),
                problems=[
                    (
                        "req.partial",
                        loads[0][0],
                        loads[0][1],
                        "consumed payloads are not validated against the design's schema",
                    )
                ],
            )
        return _unverified("no schema validation of consumed payloads found")
    evidence = _locs(validated, 2)
    if re.search(r"at once|straight|immediately|directly|without retr", req.text, re.I):
        rejected: list[Site] = []
        for f in fns:
            for node in walk(f.node, ast.ExceptHandler):
                if (
                    isinstance(node, ast.ExceptHandler)
                    and node.type is not None
                    and re.search(r"ValidationError|ValueError|DecodeError", unparse(node.type))
                ):
                    inner = [n for s in node.body for n in walk(s, ast.Call)]
                    refs = [unparse(n.func) for n in inner] + [
                        unparse(a) for n in inner for a in n.args
                    ]
                    if any(re.search(r"dead|dlq|_failed|quarantine", r, re.I) for r in refs):
                        rejected.append((f.path, node.lineno))
        if not rejected:
            return _unverified(
                "payloads are validated; no dead-letter on a schema mismatch was found"
            )
        evidence += _locs(rejected, 1)
    return Outcome("implemented", "the consumer validates messages with a schema", evidence)


def _awaits_task(fn: ast.AST) -> bool:
    for n in walk(fn, (ast.Await, ast.Call)):
        if isinstance(n, ast.Await) and isinstance(n.value, NAME_OR_ATTRIBUTE):
            return True
        if isinstance(n, ast.Call) and (dotted(n.func) or "").rsplit(".", 1)[-1] in {
            "gather",
            "wait",
            "wait_for",
            "join",
            "shield",
        }:
            return True
    return False


def _cancels(fn: ast.AST) -> bool:
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "cancel"
        for n in walk(fn, ast.Call)
    )


def _stop_methods(env: Env) -> list[Function]:
    """`stop`/`close`/`shutdown` methods the consumer modules define (a shutdown path)."""
    return [
        f
        for f in env.facts.index.functions.values()
        if f.path in env.facts.consumer_modules
        and f.name in {"stop", "close", "shutdown", "aclose", "stop_consuming"}
    ]


def graceful_shutdown(env: Env, req: Requirement) -> Outcome | None:
    low = req.text.lower()
    hit = _contradicted(
        env,
        ("kafka.consumer-shutdown",),
        "partial",
        "the consumer does not shut down as the design states",
    )
    stops: list[tuple[Function, int]] = []
    for f in env.facts.index.functions.values():
        if f.path not in env.facts.consumer_modules:
            continue
        for name, expr, line in ev.function_refs(f):
            if name in {"stop", "close", "unsubscribe"} and isinstance(expr, ast.Attribute):
                recv = unparse(expr.value).lower()
                if "consumer" in recv:
                    stops.append((f, line))
    if hit is not None:
        if (
            not stops
            and not _stop_methods(env)
            and env.facts.consumer_modules
            and not re.search(r"\bproducers?\b", low)
        ):
            # nothing ever stops or closes the consumer: none of the stated shutdown exists
            hit.status = "missing"
            hit.problems = [("req.missing", *x[1:]) for x in hit.problems]
        else:
            # a shutdown exists but falls short: the rule's finding at that place reports it
            hit.problems = []
        return hit
    if not env.facts.consumer_modules:
        return _unverified("no Kafka consumer found in the code")
    if _context_topics_missing(env, req, "consumed"):
        return _unverified("the topics this statement is about are not consumed by the code")
    if not stops:
        return _unverified("no stop or close of the consumer found")
    fn, line = stops[0]
    if re.search(r"in hand|finish|drain|complete", low):
        if _cancels(fn.node) or not _awaits_task(fn.node):
            return Outcome(
                "partial",
                "the consumer is stopped without waiting for the message in hand",
                [f"{fn.path}:{line}"],
                problems=[
                    (
                        "req.partial",
                        fn.path,
                        line,
                        "the consumer is stopped without finishing the message in hand",
                    )
                ],
            )
        return Outcome(
            "implemented",
            "the consumer waits for its running task, then stops",
            [f"{fn.path}:{fn.line}", f"{fn.path}:{line}"],
        )
    return Outcome("implemented", "the consumer is stopped on shutdown", [f"{fn.path}:{line}"])


_DEDUP = re.compile(
    r"(exists|processed|already|duplicate|seen|on_conflict|dedup|is_handled|for_event)",
    re.I,
)


def _identifiers(fn: Function) -> list[tuple[str, int]]:
    """Names, attributes and called names of the function (not its strings or comments)."""
    out: list[tuple[str, int]] = []
    for n in walk(fn.node, (ast.Name, ast.Attribute, ast.keyword)):
        if isinstance(n, ast.Name):
            out.append((n.id, n.lineno))
        elif isinstance(n, ast.Attribute):
            out.append((n.attr, n.lineno))
        elif isinstance(n, ast.keyword) and n.arg:
            out.append((n.arg, n.value.lineno))
    return out


def _early_return_guard(fn: Function) -> int | None:
    """`if row.x == x: return ...` (no raise): the stored state already holds the input."""
    args = fn.node.args
    params = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs} - {"self", "cls"}
    for node in walk(fn.node, ast.If):
        if not isinstance(node, ast.If) or not node.body:
            continue
        if not isinstance(node.body[-1], ast.Return) or any(
            isinstance(n, ast.Raise) for s in node.body for n in walk(s)
        ):
            continue
        for cmp in walk(node.test, ast.Compare):
            if (
                isinstance(cmp, ast.Compare)
                and len(cmp.ops) == 1
                and isinstance(cmp.ops[0], _EQ_IS_IN)
            ):
                sides = [cmp.left, *cmp.comparators]
                if any(isinstance(x, ast.Attribute) for x in sides) and any(
                    isinstance(x, ast.Name) and x.id in params for x in sides
                ):
                    return node.lineno
    return None


def _dedup_site(env: Env, fn_list: list[Function]) -> Site | None:
    graph = ev.Graph.of(env.facts)
    seen: set[str] = set()
    frontier = list(fn_list)
    for _ in range(3):
        nxt: list[Function] = []
        for f in frontier:
            if f.fqname in seen:
                continue
            seen.add(f.fqname)
            for name, line in _identifiers(f):
                if _DEDUP.search(name):
                    return (f.path, line)
            guard = _early_return_guard(f)
            if guard is not None:
                return (f.path, guard)
            nxt += [c for c, _ in graph.callees(f)]
        frontier = nxt
    return None


def _named_table_guard(env: Env, req: Requirement) -> Site | None:
    """`its event_id is recorded in processed_events ... a redelivered event is skipped`: a
    function returning early on a look-up in the table the statement names.

    The consumer may reach its handler through an injected callable the call graph cannot
    follow; the guard on the named table is the duplicate check all the same.
    """
    low = req.text.lower()
    tables = [
        str(r.details.get("table", r.key)).lower()
        for r in env.requirements
        if r.kind == "model" and not r.details.get("schema")
    ]
    words = {t.split("_")[0] for t in tables if len(t) > 4 and t in low}
    words = {w for w in words if len(w) >= 5}
    if not words:
        return None
    index = env.facts.index
    for f in index.functions.values():
        m = index.modules.get(f.path)
        if m is None or m.is_test:
            continue
        for node in walk(f.node, ast.If):
            if (
                not isinstance(node, ast.If)
                or not node.body
                or not isinstance(node.body[-1], ast.Return)
                or any(isinstance(n, ast.Raise) for x in node.body for n in walk(x))
            ):
                continue
            test = unparse(node.test).lower()
            if _DEDUP.search(test) and any(w in test for w in words):
                return (f.path, node.lineno)
    return None


def handler_dedup(env: Env) -> dict[str, bool]:
    return {t: _dedup_site(env, list(hs)) is not None for t, hs in env.facts.handlers.items() if hs}


def consumer_idempotency(env: Env, req: Requirement) -> Outcome | None:
    if _context_topics_missing(env, req, "consumed"):
        return _unverified("the topics this statement is about are not consumed by the code")
    handlers = {t: hs for t, hs in env.facts.handlers.items() if hs}
    topics = [t for t in handlers if t.lower() in req.text.lower()] or list(handlers)
    if not topics:
        hit = _contradicted(
            env, ("kafka.consumer-idempotency",), "partial", "redelivered messages are not skipped"
        )
        if hit is not None:
            return hit
        fns = _consumer_functions(env)
        site = _dedup_site(env, fns) if fns else None
        if site is None:
            site = _named_table_guard(env, req)
        if site is None:
            return _unverified("no duplicate check found in the consumer code")
        return Outcome(
            "implemented", "the consumer skips events it has already handled", [loc(site)]
        )
    sites = {t: _dedup_site(env, handlers[t]) for t in topics}
    lacking = [t for t in topics if sites[t] is None]
    if not lacking:
        return Outcome(
            "implemented",
            "every handler skips events it has already handled",
            _locs([s for s in sites.values() if s is not None], 3),
        )
    h = handlers[lacking[0]][0]
    return Outcome(
        "partial",
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


def _plain_text_of(node: ast.AST, exc_arg: str) -> bool:
    """`str(exc)` / `f"{exc}"`: the exception's own message, nothing of its cause or trace."""
    if isinstance(node, ast.Call) and unparse(node.func) == "str" and len(node.args) == 1:
        return unparse(node.args[0]) == exc_arg
    if isinstance(node, ast.JoinedStr):
        values = [v for v in node.values if isinstance(v, ast.FormattedValue)]
        return bool(values) and all(
            unparse(v.value) == exc_arg and v.conversion in (-1, 115) for v in values
        )
    return False


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
                unparse(h.node.args),
            )
            or "Exception" in "".join(unparse(d) for d in h.node.decorator_list)
        ] or handlers
    excused: set[Site] = set()
    for h in chosen:
        exc_arg = h.node.args.args[1].arg if len(h.node.args.args) >= 2 else "exc"
        # the text of the project's own exceptions is written for the client
        domain = (h.path, h.node.lineno) in env.facts.project_error_handlers
        for node in walk(h.node):
            if domain and _plain_text_of(node, exc_arg):
                excused.add((h.path, getattr(node, "lineno", h.node.lineno)))
                continue
            if (
                (
                    isinstance(node, ast.JoinedStr)
                    and any(
                        isinstance(v, ast.FormattedValue) and exc_arg in unparse(v.value)
                        for v in node.values
                    )
                )
                or (
                    isinstance(node, ast.Call)
                    and unparse(node.func) in {"str", "repr"}
                    and node.args
                    and unparse(node.args[0]) == exc_arg
                )
                or (isinstance(node, ast.Call) and unparse(node.func).endswith("format_exc"))
            ):
                leaks.append((h.path, node.lineno))
    finding_hits = env.findings_of("errors.leaks-internals")
    for f in finding_hits:
        if f.path and f.line and (f.path, f.line) not in leaks and (f.path, f.line) not in excused:
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
    evidence = [f"{h.path}:{h.line}" for h in chosen[:3]]
    # "a database failure answers 503": a database exception mapped to that status
    db = re.search(
        r"database (failure|error|outage|unavailable)\w*[^.;]*?\b([45]\d\d)\b", req.text, re.I
    )
    if db is not None:
        want = int(db.group(2))
        mapped = [
            site
            for fq, (code, site) in ev.exception_statuses(env.facts).items()
            if code == want and re.search(r"sqlalchemy|asyncpg|psycopg|database|db", fq, re.I)
        ]
        if not mapped:
            return _unverified(f"no database error is mapped to {want}")
        evidence += _locs(mapped, 1)
    return Outcome("implemented", "exception handlers answer with fixed messages", evidence)


# --- errors --------------------------------------------------------------------------------
def _resource_nouns(env: Env, text: str) -> set[str]:
    """Resource nouns of the design's endpoints (`/tickets/{id}` -> ticket) named in `text`,
    or all of them when the text names none."""
    nouns: set[str] = set()
    for r in env.requirements:
        if r.kind != "endpoint":
            continue
        for seg in str(r.details.get("path", "")).strip("/").split("/"):
            if seg and not seg.startswith("{") and not re.fullmatch(r"api|v\d+|health\w*", seg):
                nouns.add(re.sub(r"(ies)$", "y", seg.lower()).rstrip("s").split("-")[0])
    named = {n for n in nouns if re.search(rf"\b{re.escape(n)}", text.lower())}
    return named or nouns


def _camel_words(name: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Z][a-z]+|[a-z]+", name)}


def error_mapping(env: Env, req: Requirement) -> Outcome | None:
    mapping = ev.exception_statuses(env.facts)
    project = {
        fq: v
        for fq, v in mapping.items()
        if v[1][0] and not fq.startswith(("fastapi.", "starlette.", "sqlalchemy.", "pydantic."))
    }
    if not project:
        return _unverified("no project exception is mapped to an HTTP status")
    wanted = {int(x) for x in re.findall(r"\b([45]\d\d)\b", req.text)}
    if not wanted:
        wanted = {
            int(s)
            for r in env.requirements
            if r.kind == "endpoint"
            and not re.search(r"health|live|ready", str(r.details.get("path", "")))
            for s in [*r.details.get("status", []), *r.details.get("errors", [])]
            if isinstance(s, int) and 400 <= s < 600 and s != 422
        }
    nouns = _resource_nouns(env, req.text)
    by_status: dict[int, list[tuple[str, Site]]] = {}
    for fq, (code, site) in project.items():
        by_status.setdefault(code, []).append((fq, site))
    if nouns and not any(
        nouns & {w.rstrip("s") for w in _camel_words(fq.rsplit(".", 1)[-1])} for fq in project
    ):
        return _unverified("no mapped exception names the design's resources")
    lacking = sorted(s for s in wanted if s not in by_status)
    if not wanted:
        return _unverified("the design names no error statuses to check")
    if lacking:
        return _unverified("no exception is mapped to " + ", ".join(map(str, lacking)))
    sites = [by_status[s][0][1] for s in sorted(wanted)]
    return Outcome(
        "implemented", "domain exceptions are mapped to the stated statuses", _locs(sites, 4)
    )


# --- logging, configuration, stack ------------------------------------------------------------
def structured_logging(env: Env, req: Requirement) -> Outcome | None:
    hit = _contradicted(
        env, ("ops.logging",), "partial", "logging is not structured as the design states"
    )
    sites = ev.json_logging_sites(env.facts)
    if hit is not None and not sites:
        return hit
    if not sites:
        return _unverified("no JSON log renderer configured")
    if re.search(r"\bprint", req.text, re.I):
        prints = ev.print_calls(env.facts)
        if prints:
            return Outcome(
                "partial",
                "print() is used besides the structured logger",
                _locs(prints, 2),
                problems=[
                    (
                        "req.partial",
                        prints[0][0],
                        prints[0][1],
                        "print() bypasses the structured logs",
                    )
                ],
            )
    return Outcome("implemented", "a JSON log renderer is configured", _locs(sites, 2))


def settings_prefix(env: Env, req: Requirement) -> Outcome | None:
    m = re.search(
        r"prefix(?:ed)?\s+(?:(?:with|by)\s+)?`?([A-Za-z][A-Za-z0-9]*_)`?", req.text
    ) or re.search(r"\b([A-Z][A-Z0-9]*_)\*?\s+environment variables", req.text)
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
            # settings exist, but configuration the code hard-codes bypasses them
            hard = _contradicted(
                env,
                ("config.not-env-based",),
                "partial",
                "some configuration is hard-coded instead of read from the settings",
            )
            if hard is not None:
                return hard
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
    return _unverified("the settings classes declare no env_prefix")


# design word -> (distribution name, import name or None when it need not be imported)
_STACK: dict[str, tuple[str, str | None]] = {
    "fastapi": ("fastapi", "fastapi"),
    "pydantic": ("pydantic", "pydantic"),
    "sqlalchemy": ("sqlalchemy", "sqlalchemy"),
    "alembic": ("alembic", None),
    "aiokafka": ("aiokafka", "aiokafka"),
    "confluent-kafka": ("confluent-kafka", "confluent_kafka"),
    "asyncpg": ("asyncpg", None),
    "structlog": ("structlog", "structlog"),
    "pydantic-settings": ("pydantic-settings", "pydantic_settings"),
    "kafka-python": ("kafka-python", "kafka"),
    "uvicorn": ("uvicorn", None),
    "httpx": ("httpx", "httpx"),
}


def stack(env: Env, req: Requirement) -> Outcome | None:
    low = req.text.lower()
    named = [
        v for word, v in _STACK.items() if re.search(rf"(?<![\w-]){re.escape(word)}(?![\w-])", low)
    ]
    if len(named) < 2:
        return None
    hit = _contradicted(
        env, ("ops.stack-version",), "deviation", "the stack differs from the design"
    )
    if hit is not None:
        return hit
    if re.search(r"sqlalchemy[^,;]*\basync|\basync\w*\s+sqlalchemy", low):
        # a synchronous engine or session beside the stated async SQLAlchemy
        sync = _contradicted(
            env, ("db.sync-driver",), "partial", "the database access is not async as stated"
        )
        if sync is not None:
            return sync
    deps = ev.declared_dependencies(env.facts)
    if not deps:
        return _unverified("no declared dependencies found (pyproject.toml, requirements.txt)")
    imports = ev.imported_packages(env.facts)
    missing = [dist for dist, _ in named if dist not in deps]
    unused = [dist for dist, mod in named if dist in deps and mod and mod not in imports]
    sites = [deps[dist][1] for dist, _ in named if dist in deps]
    if missing:
        return Outcome(
            "partial",
            "dependencies not declared: " + ", ".join(missing),
            _locs(sites, 2),
        )
    if unused:
        return _unverified("declared but never imported: " + ", ".join(unused))
    return Outcome(
        "implemented",
        "the declared and imported dependencies match the stated stack",
        _locs(sites, 4),
    )


# --- operations --------------------------------------------------------------------------------
_CHECKS = {
    "database": r"session|engine|execute|connect|db|database|sql|ping",
    "broker": r"kafka|producer|broker|bootstrap|list_topics|partitions_for|cluster|metadata",
    "consumer": r"consumer",
}


def health_endpoints(env: Env, req: Requirement) -> Outcome | None:
    low = req.text.lower()
    routes = env.facts.index.routes
    live = [r for r in routes if r.method == "GET" and re.search(r"live", r.path)] or [
        r for r in routes if r.method == "GET" and re.search(r"health", r.path)
    ]
    ready = [r for r in routes if r.method == "GET" and re.search(r"ready", r.path)] or [
        r for r in routes if r.method == "GET" and re.search(r"health", r.path)
    ]
    need = []
    if "liveness" in low or "live" in low:
        need.append(("liveness", live))
    if "readiness" in low or "ready" in low:
        need.append(("readiness", ready))
    if not need or any(not rs for _, rs in need):
        return _unverified("no health route found for " + ", ".join(n for n, rs in need if not rs))
    evidence = [f"{rs[0].file}:{rs[0].line}" for _, rs in need]
    wanted = [
        k
        for k, words in (
            ("database", r"database|postgres\w*|db\b|sql"),
            ("broker", r"kafka|broker"),
            ("consumer", r"consumer"),
        )
        if re.search(words, low)
    ]
    if wanted and ready:
        fn = ready[0].function
        names = " ".join(
            f"{c.text} {c.target or ''}" for f in env.facts.callees(fn, 3) for c in f.calls
        )
        names += " " + " ".join(n for f in env.facts.callees(fn, 1) for n, _ in _identifiers(f))
        names += " " + " ".join(unparse(a) for a in fn.node.args.args)
        names += " " + " ".join(_unresolved_method_calls(env, fn))
        names = names.lower()
        lacking = [k for k in wanted if not re.search(_CHECKS[k], names)]
        if lacking:
            return _unverified("the readiness route does not visibly check " + ", ".join(lacking))
    return Outcome("implemented", "health routes exist and check what the design names", evidence)


def _unresolved_method_calls(env: Env, fn: Function) -> list[str]:
    """Calls of project methods reached through an unresolved receiver (`app.state.x.ping()`).

    The method is looked up by name; when one or two project functions bear it, what they
    call is what the route checks.
    """
    out: list[str] = []
    by_name: dict[str, list[Function]] = env.facts.index.memo.setdefault(  # type: ignore[assignment]
        "trace.functions_by_name", {}
    )
    if not by_name:
        for f in env.facts.index.functions.values():
            by_name.setdefault(f.name, []).append(f)
    for c in fn.calls:
        if "." not in c.text or (c.target and env.facts.index.function(c.target) is not None):
            continue
        owners = by_name.get(c.text.rsplit(".", 1)[-1], [])
        if 0 < len(owners) <= 2:
            for f in owners:
                out += [f"{x.text} {x.target or ''}" for x in f.calls]
    return out


def correlation(env: Env, req: Requirement) -> Outcome | None:
    headers = re.findall(r"\b(X-[A-Za-z-]+)\b", req.text)
    if not headers:
        return None
    low = req.text.lower()
    evidence: list[Site] = []
    missing: list[str] = []
    for h in dict.fromkeys(headers):
        reads, writes = ev.http_header_uses(env.facts, h)
        if not reads:
            missing.append(f"{h} is never read from the request")
            continue
        evidence += reads[:1]
        if re.search(r"echo|returned|same header|response|back", low):
            if not writes:
                missing.append(f"{h} is never set on the response")
            evidence += writes[:1]
        stem = {w for w in re.findall(r"[a-z]+", h.lower()) if w not in {"x", "id"}}
        if re.search(r"\blog", low):
            binds = [
                site
                for site, keys in ev.log_context_bindings(env.facts)
                if any(stem & set(k.lower().split("_")) for k in keys)
            ]
            if not binds:
                missing.append(f"{h} is not bound to the log context")
            evidence += binds[:1]
        if re.search(r"kafka|event|message", low):
            got = ev.kafka_header_names(env.facts)
            hits = [site for name, site in got.items() if stem & set(re.split(r"[_-]", name))]
            if not hits:
                missing.append(f"{h} is not sent as a message header")
            evidence += hits[:1]
    if missing:
        return _unverified("; ".join(missing))
    return Outcome(
        "implemented", "the header is read, echoed and propagated as stated", _locs(evidence, 4)
    )


def outbox(env: Env, req: Requirement) -> Outcome | None:
    index = env.facts.index
    models = [
        o
        for o in index.orm_models.values()
        if "outbox" in o.table.lower() or "outbox" in o.cls.name.lower()
    ]
    if not models:
        if index.orm_models and index.kafka_sends:
            s = index.kafka_sends[0]
            return Outcome(
                "missing",
                "no outbox table: events are published directly",
                [f"{s.path}:{s.line}"],
                problems=[
                    (
                        "req.missing",
                        s.path,
                        s.line,
                        "events are published directly, not through the outbox the design states",
                    )
                ],
            )
        return _unverified("no outbox table found")
    model = models[0]
    writes = [
        (f.path, c.line)
        for f in index.functions.values()
        if not index.modules[f.path].is_test
        for c in f.calls
        if c.target == model.cls.fqname
    ]
    relays = _relay_sites(env)
    if not writes or not relays:
        return _unverified(
            "outbox table found, but "
            + ("no code writes it" if not writes else "no relay publishes it")
        )
    return Outcome(
        "implemented",
        "events are written to an outbox table and relayed to Kafka",
        _locs([(model.cls.path, model.cls.node.lineno), writes[0], relays[0]]),
    )


def publish_failure_503(env: Env, req: Requirement) -> Outcome | None:
    if not env.facts.index.kafka_sends:
        return _unverified("the code publishes no Kafka messages")
    errors = ev.publish_error_classes(env.facts)
    mapping = ev.exception_statuses(env.facts)
    answered = [(fq, mapping[fq]) for fq in errors if fq in mapping]
    if not answered:
        return _unverified("no HTTP status is mapped to a publish failure")
    fq, (code, site) = answered[0]
    raise_site = errors[fq]
    if code != 503:
        return Outcome(
            "deviation",
            f"a publish failure answers {code}, the design says 503",
            _locs([site, raise_site]),
            problems=[
                (
                    "req.deviation",
                    site[0],
                    site[1],
                    f"a publish failure answers {code}, the design says 503",
                )
            ],
        )
    evidence = [site, raise_site]
    if re.search(r"roll|not stored|nothing (is )?stored|change is not", req.text, re.I):
        before = ev.publish_before_commit(env.facts)
        if not before:
            return _unverified(
                "publish failures answer 503; no publish inside the transaction was found"
            )
        evidence += before[:1]
    return Outcome("implemented", "publish failures answer 503", _locs(evidence, 3))


def _chain_place(env: Env, f: Finding) -> tuple[str, int] | None:
    """The call in the last async function of a finding's call chain (`path:line name` hops)."""
    idx = env.facts.index
    best: tuple[str, int] | None = None
    for hop in f.chain:
        m = re.match(r"([^:\s]+):(\d+)", hop)
        if m is None:
            continue
        path, line = m.group(1), int(m.group(2))
        if path not in idx.modules:
            continue
        fn = idx.enclosing_function(path, line)
        if fn is not None and fn.is_async:
            best = (path, line)
    return best


def off_event_loop(env: Env, req: Requirement) -> Outcome | None:
    idx = env.facts.index
    graph = ev.Graph.of(env.facts)
    sends = ev.send_functions(env.facts)
    blocking = [
        f
        for f in env.findings_of("async.blocking-io")
        if f.path in env.facts.kafka_modules
        or "kafka" in f.message.lower()
        or "flush" in f.message.lower()
        or "poll" in f.message.lower()
    ]
    # publishes handed to a worker thread
    offload: list[Site] = []
    for fn in idx.functions.values():
        if idx.modules[fn.path].is_test:
            continue
        for c in fn.calls:
            if not (c.target or "").endswith(ev.OFFLOADERS):
                continue
            for a in c.node.args:
                name = (
                    a.attr
                    if isinstance(a, ast.Attribute)
                    else a.id
                    if isinstance(a, ast.Name)
                    else ""
                )
                if any(
                    graph.reaches(t, sends, depth=3) is not None
                    for t in graph.by_name.get(name, [])
                ):
                    offload.append((fn.path, c.line))
    # without another rule's verdict: a sync producer call reachable from a route, not offloaded
    for send in idx.kafka_sends:
        record = send.function.call_at(send.node)
        if not send.awaited and not (record is not None and record.offloaded):
            callers = [
                fn
                for fn in idx.functions.values()
                if fn.is_async
                and any(c.target == send.function.fqname and not c.offloaded for c in fn.calls)
            ]
            if callers:
                caller = callers[0]
                line = next(x.line for x in caller.calls if x.target == send.function.fqname)
                return Outcome(
                    "partial",
                    "a synchronous publish runs on the event loop",
                    [f"{caller.path}:{line}"],
                    problems=[
                        (
                            "req.partial",
                            caller.path,
                            line,
                            "a synchronous publish runs on the event loop",
                        )
                    ],
                )
    if blocking:
        f = blocking[0]
        where = _chain_place(env, f) or (f.path or "", f.line or 0)
        status: RequirementStatus = "partial" if offload else "missing"
        return Outcome(
            status,
            "the event loop is blocked waiting for the broker",
            [loc(where), f"{f.path}:{f.line}"],
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
        return Outcome("implemented", "broker waits run off the event loop", _locs(offload, 2))
    return _unverified("no offloading of broker waits found")


def ack_timeout(env: Env, req: Requirement) -> Outcome | None:
    m = re.search(r"within (\d+(?:\.\d+)?)\s*(s|sec|seconds)\b", req.text)
    if m is None:
        return None
    want = float(m.group(1))
    idx = env.facts.index
    sites: list[Site] = []
    for path in sorted(env.facts.kafka_modules):
        mod = idx.modules.get(path)
        if mod is None:
            continue
        for node in walk(mod.tree, ast.Call):
            if not isinstance(node, ast.Call):
                continue
            name = (dotted(node.func) or "").rsplit(".", 1)[-1]
            values: list[ast.expr] = [
                k.value for k in node.keywords if k.arg and "timeout" in k.arg
            ]
            if name in {"flush", "wait_for", "poll"}:
                values += node.args[1:] if name == "wait_for" else node.args[:1]
            for d in node.args:
                if isinstance(d, ast.Dict):
                    values += [
                        v
                        for k, v in zip(d.keys, d.values, strict=True)
                        if isinstance(k, ast.Constant) and "timeout" in str(k.value)
                    ]
            for v in values:
                for sub in walk(v, ast.expr):
                    if isinstance(sub, ast.expr):
                        num = ev.number(idx, mod, sub)
                        if (num is not None and abs(num - want) < 1e-9) or (
                            num is not None and abs(num - want * 1000) < 1e-6
                        ):
                            sites.append((path, node.lineno))
                            break
    if sites:
        return Outcome(
            "implemented", f"a {m.group(1)} s broker timeout is configured", _locs(sites, 2)
        )
    return _unverified(f"no {m.group(1)} s timeout found on the broker calls")


# --- measured ----------------------------------------------------------------------------------
_LAYER_WORDS = {
    "service": "service",
    "services": "service",
    "router": "router",
    "routers": "router",
    "api": "router",
    "repository": "repository",
    "repositories": "repository",
    "crud": "repository",
    "kafka": "kafka",
    "consumer": "kafka",
    "models": "models",
}


def coverage_target(env: Env, req: Requirement) -> Outcome | None:
    target = req.details.get("coverage")
    if not isinstance(target, int | float):
        return None
    if not env.coverage_measured or env.coverage is None:
        return Outcome("unverified", "coverage was not measured")
    reasons = [f"measured coverage {env.coverage:.1f}% against {target}%"]
    below = env.coverage + 1e-9 < float(target)
    # per-layer targets: "95 % for the service layer"
    layers = env.metrics.layers if env.metrics is not None else {}
    for pct, word in re.findall(
        r"(\d+(?:\.\d+)?)\s*%[^.;%]*?\b(?:for|in|of)\s+(?:the\s+)?([a-z]+)", req.text.lower()
    ):
        layer = _LAYER_WORDS.get(word)
        if layer is None or float(pct) == float(target):
            continue
        got = layers.get(layer)
        if got is None:
            reasons.append(f"{layer} layer coverage not measured")
            continue
        reasons.append(f"{layer} layer {got:.1f}% against {pct}%")
        if got + 1e-9 < float(pct):
            below = True
    if below:
        return Outcome(
            "partial", "; ".join(reasons) + " (below target)", [f"measured: {reasons[0]}"]
        )
    if any("not measured" in r for r in reasons):
        return Outcome("unverified", "; ".join(reasons))
    return Outcome(
        "implemented", "; ".join(reasons) + " (target met)", [f"measured: {r}" for r in reasons]
    )


_GATES = [
    (re.compile(r"\bmypy\b|type[- ]check", re.I), "mypy"),
    (re.compile(r"\bruff\b|\blint", re.I), "ruff"),
    (re.compile(r"\bformatt", re.I), "format"),
    (re.compile(r"\bbandit\b", re.I), "bandit"),
    (re.compile(r"pip-audit|vulnerab", re.I), "pip-audit"),
    (re.compile(r"\btests? (suite )?(pass|green)|all tests pass", re.I), "tests"),
]


def gate_passes(env: Env, req: Requirement) -> Outcome | None:
    named = [g for pat, g in _GATES if pat.search(req.text)]
    if not named:
        return None
    parts: list[str] = []
    status: RequirementStatus = "implemented"
    for g in named:
        res = env.gates.get(g)
        if res is None or not res.measured or res.passed is None:
            return _unverified(f"the {g} gate was not measured")
        if res.passed:
            parts.append(f"{g} passed")
        else:
            status = "partial"
            parts.append(f"{g} failed" + (f" ({res.count} problems)" if res.count else ""))
    return Outcome(status, "; ".join(parts), [f"measured: {p}" for p in parts])


def latency(env: Env, req: Requirement) -> Outcome | None:
    if req.details.get("latency"):
        return Outcome("unverified", "latency is not measured by a static review")
    return None


def tables_from_migrations(env: Env, req: Requirement) -> Outcome | None:
    """`The tables come from Alembic migrations`: every design table is created by one."""
    tables = [
        str(r.details.get("table", r.key))
        for r in env.requirements
        if r.kind == "model" and not r.details.get("schema")
    ]
    if not tables:
        return None
    migrations = env.facts.migrations
    if not migrations:
        return Outcome(
            "missing",
            "no migration creates the tables",
            problems=[("req.missing", None, None, "the design's tables have no migrations")],
        )
    found: list[str] = []
    lacking: list[str] = []
    for t in tables:
        pattern = re.compile(
            rf"create_table\(\s*['\"]{re.escape(t)}['\"]|"
            rf"create\s+table\s+(if\s+not\s+exists\s+)?['\"`]?{re.escape(t)}\b",
            re.I,
        )
        hit = next(
            (
                (path, text.count("\n", 0, m.start()) + 1)
                for path, text in sorted(migrations.items())
                if (m := pattern.search(text)) is not None
            ),
            None,
        )
        if hit is None:
            lacking.append(t)
        else:
            found.append(f"{hit[0]}:{hit[1]}")
    if lacking and not found:
        return _unverified("the migrations do not visibly create " + ", ".join(lacking))
    if lacking:
        return Outcome("partial", "no migration creates " + ", ".join(lacking), found[:3])
    return Outcome("implemented", "a migration creates every design table", found[:4])


def compose_health(env: Env, req: Requirement) -> Outcome | None:
    """`docker compose ... waits until both are healthy`: healthchecks and conditions."""
    if not re.search(r"\bhealthy\b|\bhealthchecks?\b", req.text, re.I):
        return None
    hit = _contradicted(
        env, ("ops.compose",), "partial", "the compose file does not wait as the design states"
    )
    if hit is not None:
        return hit
    files = {p: t for p, t in env.facts.index.extra_files.items() if "compose" in p.lower()}
    if not files:
        return Outcome(
            "missing",
            "no compose file",
            problems=[("req.missing", None, None, "the design's compose setup is missing")],
        )
    path, text = sorted(files.items())[0]
    if "service_healthy" in text and "healthcheck" in text:
        line = next(n + 1 for n, x in enumerate(text.splitlines()) if "service_healthy" in x)
        return Outcome("implemented", "dependencies wait for healthy services", [f"{path}:{line}"])
    return _unverified("the compose file's health conditions are not visible")


# (trigger, check) in order; every matching concern contributes
def schema_by_migrations(env: Env, req: Requirement) -> Outcome | None:
    """`Schema changes are made with Alembic only`: migrations exist, nothing creates tables."""
    migrations = sorted(env.facts.migrations)
    if not migrations:
        return None
    for m in env.facts.index.source_modules:
        if m.path in env.facts.migrations:
            continue
        for node in m.nodes(ast.Call):
            if isinstance(node, ast.Call) and unparse(node.func).endswith("create_all"):
                return None  # tables also made at startup: not decided here
    return Outcome(
        "implemented", "the schema is changed by migrations only", [f"{migrations[-1]}:1"]
    )


_GROUP = re.compile(r"\bconsumer group(?: id)?(?: is|:|=)?\s+`?([a-z0-9][\w.-]*[a-z0-9])", re.I)


def consumer_group(env: Env, req: Requirement) -> Outcome | None:
    """`The consumer group is loans-service`: the code names that group."""
    m = _GROUP.search(req.text)
    if m is None:
        return None
    name = m.group(1)
    if not re.search(r"[-_.]", name):
        return None  # a plain word (`the`, `per`) is no group name
    groups = [c for c in env.facts.index.kafka_clients if c.role == "consumer" and c.group_id]
    hit = next((c for c in groups if c.group_id == name), None)
    if hit is not None:
        return Outcome(
            "implemented", f"the consumer joins group {name}", [f"{hit.path}:{hit.line}"]
        )
    sites = env.facts.strings.get(name, [])
    if sites and not groups:
        return Outcome("implemented", f"the group {name} is configured", [loc(sites[0])])
    return None


def _content_keys(fn: Function) -> list[tuple[set[str], int]]:
    """The keys of the dict bodies a handler answers with (`JSONResponse(content={...})`)."""
    out: list[tuple[set[str], int]] = []
    for node in walk(fn.node, ast.Call):
        if not isinstance(node, ast.Call):
            continue
        body = next((k.value for k in node.keywords if k.arg == "content"), None)
        if body is None and unparse(node.func).endswith("JSONResponse") and node.args:
            body = node.args[0]
        if isinstance(body, ast.Dict):
            keys = {k.value for k in body.keys if isinstance(k, ast.Constant)}
            out.append(({str(k) for k in keys}, node.lineno))
    return out


def detail_body(env: Env, req: Requirement) -> Outcome | None:
    """`errors use {"detail": "..."}`: every handler's body carries the `detail` key."""
    bodies = [
        (fn, keys, line) for fn in env.facts.exception_handlers for keys, line in _content_keys(fn)
    ]
    if not bodies:
        return None
    if all("detail" in keys for _fn, keys, _line in bodies):
        fn, _keys, line = bodies[0]
        return Outcome(
            "implemented", "the error handlers answer with a detail body", [f"{fn.path}:{line}"]
        )
    return None


def no_credentials(env: Env, req: Requirement) -> Outcome | None:
    """`no credentials live in the repository`: a secret written into the code contradicts it."""
    hits = env.findings_of("security.hardcoded-secret")
    if not hits:
        return None  # no secret found; what is outside the code is not checked
    f = hits[0]
    # the secret's own finding reports the place; the requirement only records the deviation
    return Outcome(
        "deviation",
        f"a credential is written into the code ({f.path}:{f.line})",
        [f"{f.path}:{f.line}"] if f.path else [],
    )


CONCERNS: list[tuple[re.Pattern[str], Check]] = [
    (re.compile(r"\b(p9\d|latency)\b", re.I), latency),
    (re.compile(r"\bcoverage\b", re.I), coverage_target),
    (
        re.compile(
            r"\b(mypy|ruff|lint\w*|bandit|pip-audit|type[- ]check\w*)\b|tests? (suite )?pass", re.I
        ),
        gate_passes,
    ),
    (
        re.compile(r"acks\s*=\s*all|idempoten\w*\s+(producer|enabled)|idempotence", re.I),
        producer_reliability,
    ),
    (re.compile(r"\bheaders?\b", re.I), message_headers),
    (
        re.compile(
            r"\boffsets?\b[^.;]*\bcommit|\bcommit\w*\b[^.;]*\boffsets?\b|\bauto-?commit\b", re.I
        ),
        commit_after_processing,
    ),
    (re.compile(r"\bretr(y|ied|ies)\b", re.I), retry_then_dlq),
    (
        re.compile(
            r"validated against|does not match (the|its)? ?schema|schema mismatch|"
            r"fails? (schema )?validation|invalid (messages?|payloads?|events?)",
            re.I,
        ),
        schema_validation,
    ),
    (re.compile(r"\bshut ?down\b|stops? gracefully|graceful", re.I), graceful_shutdown),
    (
        re.compile(
            r"more than once|delivered twice|redeliver\w*|deduplicat\w*|already (been )?(handled|processed)|"
            r"\bnever\b[^.;]*\btwice\b[^.;]*\bdelivered\b|"
            r"\bskipped\b[^.;]*\b(already|again|twice|duplicat\w*)\b|"
            r"\b(already|again|twice|duplicat\w*)\b[^.;]*\bskipped\b",
            re.I,
        ),
        consumer_idempotency,
    ),
    (re.compile(r"stack traces?|exception text|generic message", re.I), error_leaks),
    (
        re.compile(r"domain errors? map|errors? map to|mapped to (http )?status", re.I),
        error_mapping,
    ),
    (
        re.compile(
            r"structured (json )?log|json logs?|structlog|\blogs?\b[^.;]*\b(are|is) structured",
            re.I,
        ),
        structured_logging,
    ),
    (
        re.compile(
            r"\bprefix(ed)?\s+((with|by)\s+)?`?[A-Za-z][A-Za-z0-9]*_|"
            r"\b[A-Z][A-Z0-9]*_\*?\s+environment variables",
        ),
        settings_prefix,
    ),
    (
        re.compile(r"\btables?\b[^.;]*\bmigrations?\b|\bmigrations?\b[^.;]*\btables?\b", re.I),
        tables_from_migrations,
    ),
    (re.compile(r"\b(docker[- ])?compose\b", re.I), compose_health),
    (re.compile(r"python 3\.\d+", re.I), stack),
    (re.compile(r"liveness|readiness", re.I), health_endpoints),
    (re.compile(r"\bX-[A-Za-z]+-ID\b", re.I), correlation),
    (re.compile(r"\boutbox\b", re.I), outbox),
    (re.compile(r"\berrors?\b[^.;]*\{\s*\"detail\"", re.I), detail_body),
    (
        re.compile(r"\bschema changes?\b[^.;]*\balembic\b|\balembic\b[^.;]*\bonly\b", re.I),
        schema_by_migrations,
    ),
    (re.compile(r"\bconsumer group\b", re.I), consumer_group),
    (
        re.compile(
            r"\b(no|never)\b[^.;]*\b(credentials?|secrets?|passwords?)\b[^.;]*\b(repo\w*|code|source)",
            re.I,
        ),
        no_credentials,
    ),
    (
        re.compile(
            r"publish\w*\b.*\b503\b|\b503\b.*\bpublish|broker does not ack\w*.*\b503\b", re.I
        ),
        publish_failure_503,
    ),
    (
        re.compile(
            r"(off|never on|not on|outside) the (event )?loop|blocks? the (event )?loop|"
            r"worker threads?",
            re.I,
        ),
        off_event_loop,
    ),
    (re.compile(r"within \d+(\.\d+)?\s*(s|sec|seconds)\b", re.I), ack_timeout),
]
