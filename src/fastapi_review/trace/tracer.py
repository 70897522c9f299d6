"""Requirement -> code -> tests, with a status per requirement and findings for the gaps.

Structural requirements (endpoints, events, tables, schemas) are matched against the
index; prose requirements (FR/AC/rules/NFR) are linked to the endpoints and topics
they mention and to the concerns they state (commit, retry, dead-letter, headers,
error leaks, ...), whose evidence is the code or the findings of the other rules.
When nothing decides, the status is `unverified`, never a guessed `implemented`.
"""

from __future__ import annotations

import ast
import functools
import re
from dataclasses import dataclass, field

from fastapi_review.index.nodes import walk
from fastapi_review.index.symbols import Module, unparse
from fastapi_review.models import (
    CoverageMetrics,
    Finding,
    GateResult,
    Requirement,
    RequirementStatus,
    Severity,
    TracedRequirement,
)
from fastapi_review.rules.base import Context
from fastapi_review.trace.concerns import CONCERNS, Env, handler_dedup
from fastapi_review.trace.evidence import exception_statuses
from fastapi_review.trace.facts import Facts, build_facts
from fastapi_review.trace.structural import (
    Outcome,
    constraint_violations,
    trace_endpoint,
    trace_event,
    trace_model,
)

RULE_OF = {
    "req.missing": "REQ001",
    "req.partial": "REQ002",
    "req.deviation": "REQ003",
    "req.untested": "REQ004",
    "pydantic.weak-validation": "REQ005",
}
FIX_OF = {
    "req.missing": "Implement the requirement as the design states it, or change the design with the team.",
    "req.partial": "Complete the implementation: add the missing part the design states (parameter, rule, field, side effect).",
    "req.deviation": "Align the code with the design (path, method, status code, field or topic name), or update the design.",
    "req.untested": "Add a test that exercises the requirement (an HTTP call for an endpoint, the handler for a consumed event).",
    "pydantic.weak-validation": "Enforce the stated constraint in the schema: Field(min_length=, max_length=, ge=, le=, pattern=) or a validator.",
}
_RANK: dict[str, int] = {
    "implemented": 0,
    "unverified": 0,
    "partial": 1,
    "deviation": 2,
    "missing": 3,
}


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_LT_LTE_GT_GTE = ast.Lt | ast.LtE | ast.Gt | ast.GtE


@dataclass
class TraceResult:
    traced: list[TracedRequirement] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


@dataclass
class _Linked:
    status: RequirementStatus
    about: set[str] = field(default_factory=set)  # words the non-implemented status concerns


def trace_requirements(
    requirements: list[Requirement],
    ctx: Context,
    coverage: CoverageMetrics | None = None,
    gates: dict[str, GateResult] | None = None,
    findings: list[Finding] | None = None,
) -> TraceResult:
    facts = build_facts(ctx.index)
    measured = bool(coverage is not None and coverage.measured and coverage.overall is not None)
    env = Env(
        facts,
        list(findings or []),
        coverage.overall if coverage is not None and measured else None,
        measured,
        metrics=coverage,
        gates=dict(gates or {}),
        requirements=list(requirements),
    )
    out = TraceResult()
    problems: list[tuple[str, str | None, int | None, str, Requirement]] = []
    outcomes: dict[str, Outcome] = {}
    about: dict[str, set[str]] = {}
    dedup = handler_dedup(env)
    claimed = {
        (str(r.details.get("method", "")), str(p))
        for r in requirements
        if r.kind == "endpoint"
        for p in [r.details.get("path", ""), *r.details.get("alt_paths", [])]
    }
    handler_has = dedup if _idempotency_stated(requirements) else {}
    design_topics = {str(r.details.get("topic", r.key)) for r in requirements if r.kind == "event"}

    # 1. structural requirements
    for req in requirements:
        try:
            if req.kind == "endpoint":
                o = trace_endpoint(facts, req, claimed)
                about[req.id] = _words_of_reason(o.reason) if o.status != "implemented" else set()
            elif req.kind == "event":
                o = trace_event(facts, req, handler_has, design_topics)
                about[req.id] = _words_of_reason(o.reason) if o.status == "deviation" else set()
            elif req.kind == "model":
                o = trace_model(facts, req)
            else:
                continue
        except Exception as exc:  # never let one odd project shape sink the trace
            o = Outcome("unverified", f"could not be traced: {exc.__class__.__name__}")
        outcomes[req.id] = o

    env.outcomes = outcomes
    # 2. design constraints not enforced by the schemas
    weak = _weak_validation(facts, requirements, problems)

    # 3. prose: the retry statements first, so dead-letter topics can inherit their gap
    retry_first = sorted(
        requirements, key=lambda r: 0 if re.search(r"\bretr(y|ied)\b", r.text, re.I) else 1
    )
    inherited = False  # once every retry statement is traced (they come first)
    for n, req in enumerate(retry_first):
        if n == 0 or (not inherited and not re.search(r"\bretr(y|ied)\b", req.text, re.I)):
            _dlq_inherits(requirements, outcomes)
            inherited = n > 0 or not re.search(r"\bretr(y|ied)\b", req.text, re.I)
        if req.id in outcomes:
            continue
        try:
            o = _trace_prose(env, req, requirements, outcomes, about, weak)
            whole = req.details.get("sentence")
            if (
                o.status == "unverified"
                and isinstance(whole, str)
                and not any(trigger.search(whole) for trigger, _check in CONCERNS)
            ):
                # a clause cut from a longer sentence: the sentence's context may decide it
                # (`X can be changed through the API; allowed values are a, b and c.`)
                wider = req.model_copy(update={"text": whole})
                w = _trace_prose(env, wider, requirements, outcomes, about, weak)
                if w.status != "unverified":
                    o = w
            outcomes[req.id] = o
        except Exception as exc:
            outcomes[req.id] = Outcome(
                "unverified", f"could not be traced: {exc.__class__.__name__}"
            )

    for req in requirements:
        o = outcomes[req.id]
        # structural requirements whose request schema violates a stated constraint
        if req.kind == "endpoint" and o.status == "implemented":
            schema = req.details.get("request")
            hits = [w for w in weak if w[0] == schema and w[3]]
            if hits:
                o.status = "partial"
                o.reason = f"the request schema does not enforce: {hits[0][2]}"
                o.evidence.append(hits[0][1])
        out.traced.append(
            TracedRequirement(
                requirement=req,
                status=o.status,
                reason=o.reason,
                evidence=list(dict.fromkeys(o.evidence)),
                tests=list(dict.fromkeys(o.tests))[:10],
            )
        )
        for cat, path, line, msg in o.problems:
            problems.append((cat, path, line, msg, req))
        if (
            o.untested_at is not None
            and o.status in {"implemented", "partial"}
            and req.kind == "event"
        ):
            problems.append(
                (
                    "req.untested",
                    o.untested_at[0],
                    o.untested_at[1],
                    f"no test exercises {req.key}",
                    req,
                )
            )
    out.findings = _findings(ctx, problems, env.findings)
    return out


def _dlq_inherits(requirements: list[Requirement], outcomes: dict[str, Outcome]) -> None:
    """A dead-letter topic is partial when the stated retry-then-dead-letter path is missing."""
    retries = [  # the stated retry behaviours (not endpoints, events or models)
        (r, r.text.lower())
        for r in requirements
        if r.id in outcomes
        and r.kind not in {"endpoint", "event", "model"}
        and re.search(r"\bretr(y|ied)\b", r.text, re.I)
    ]
    for req in requirements:
        o = outcomes.get(req.id)
        if (
            req.kind != "event"
            or not req.details.get("dlq")
            or o is None
            or o.status != "implemented"
        ):
            continue
        topic = str(req.details.get("topic", "")).lower()
        retry = [
            outcomes[r.id]
            for r, text in retries
            if topic in text and outcomes[r.id].status == "missing"
        ]
        if retry:
            o.status = "partial"
            o.reason = "only some failures reach the dead-letter topic: " + retry[0].reason


def _idempotency_stated(requirements: list[Requirement]) -> bool:
    pat = re.compile(
        r"more than once|delivered twice|redeliver|deduplicat|already (been )?(handled|processed)|"
        r"\bnever\b[^.;]*\btwice\b[^.;]*\bdelivered\b",
        re.I,
    )
    return any(
        pat.search(r.text) for r in requirements if r.kind not in {"endpoint", "event", "model"}
    )


def _words_of_reason(reason: str) -> set[str]:
    words = set(re.findall(r"'(\w+)'", reason))
    # a status-code gap concerns the statements that name a status code
    words.update(re.findall(r"(?<![\w.])[1-5]\d\d(?![\w.])", reason))
    m = re.search(r"missing:\s*([\w, ]+)", reason)
    if m:
        words.update(w.strip() for w in m.group(1).split(",") if w.strip())
    return {w.lower() for w in words}


# --- prose -----------------------------------------------------------------------------
_ACTIONS: dict[str, tuple[str, ...]] = {
    "create": ("create", "add", "submit", "place", "register", "open"),
    "read": ("read", "get", "fetch", "retrieve", "show", "view", "single"),
    "list": ("list", "page", "browse", "search", "filter", "listing"),
    "update": ("update", "change", "modify", "mark", "set", "assign", "edit", "move"),
    "delete": ("delete", "remove", "cancel"),
}


def _stem(word: str) -> str:
    word = word.lower()
    for suf in ("ing", "ed", "es", "s"):
        if word.endswith(suf) and len(word) - len(suf) >= 3:
            word = word[: -len(suf)]
            break
    return word[:5]


def _endpoint_words(req: Requirement) -> tuple[frozenset[str], str] | None:
    """The action words and the resource an endpoint's method and path name."""
    return _words_of_endpoint(str(req.details.get("method", "")), str(req.details.get("path", "")))


@functools.lru_cache(maxsize=100_000)  # every prose requirement is matched to every endpoint
def _words_of_endpoint(method: str, path: str) -> tuple[frozenset[str], str] | None:
    segs = [s for s in path.strip("/").split("/") if s]
    literal = [s for s in segs if not s.startswith("{") and not re.fullmatch(r"(api|v\d+)", s)]
    if not literal or literal[0] in {"health", "healthz", "metrics"}:
        return None
    last_is_param = bool(segs) and segs[-1].startswith("{")
    # a hyphenated resource is named by its last word: `work-orders` -> order
    literal = [*literal[:-1], literal[-1].split("-")[-1]] if literal else literal
    # `/{id}/work-orders`: a hyphenated plural names a nested collection, not an action
    collection = bool(segs) and re.fullmatch(r"[a-z]+(-[a-z]+)*-[a-z]*[^su]s", segs[-1]) is not None
    if (
        method == "POST"
        and not last_is_param
        and not collection
        and len(literal) >= 2
        and (segs[-2].startswith("{") or "-" in segs[-1])
    ):
        # action endpoint: POST /orders/{id}/cancel, POST /users/{id}/notifications/read-all
        return frozenset(_stem(w) for w in segs[-1].split("-")), _stem(literal[-2])
    if method == "POST":
        return frozenset(_stem(w) for w in _ACTIONS["create"]), _stem(literal[-1])
    if method == "GET":
        kind = "read" if last_is_param else "list"
        return frozenset(_stem(w) for w in _ACTIONS[kind]), _stem(literal[-1])
    if method in {"PUT", "PATCH"}:
        return frozenset(_stem(w) for w in _ACTIONS["update"]), _stem(literal[-1])
    if method == "DELETE":
        return frozenset(_stem(w) for w in _ACTIONS["delete"]), _stem(literal[-1])
    return None


def _links(req: Requirement, requirements: list[Requirement]) -> list[Requirement]:
    text = req.text
    low = text.lower()
    # a negated action names no endpoint: `a nightly job removes nothing`, `never deletes`
    negated = {
        _stem(a or b)
        for a, b in re.findall(
            r"\b(?:never|not|nor)\s+([A-Za-z]+)|\b([A-Za-z]+)\s+(?:nothing|none)\b", text
        )
    }
    words = {_stem(w) for w in re.findall(r"[A-Za-z][A-Za-z-]+", text)} - negated
    # a creating verb after an article is an adjective: `an open order` creates nothing
    verbs = {_stem(w) for w in _ACTIONS["create"]}
    adjectives = {
        _stem(w) for w in re.findall(r"\b(?:a|an|the|its|each|every|any)\s+([A-Za-z]+)", text, re.I)
    } & verbs
    verb_use = {
        _stem(w)
        for w in re.findall(r"[A-Za-z]+", _ADJECTIVAL.sub(" ", text))
        if _stem(w) in adjectives
    }
    words -= adjectives - verb_use
    linked: list[Requirement] = []
    # what the text says is the same for every endpoint: worked out once
    mentioned: dict[str, list[str]] = {}  # by method: the paths the text names with it
    names_an_endpoint = re.search(r"\b(GET|POST|PUT|PATCH|DELETE)\s+/", text) is not None
    for other in requirements:
        if other is req:
            continue
        if other.kind == "endpoint":
            path = str(other.details.get("path", ""))
            method = str(other.details.get("method", ""))
            mentions = mentioned.get(method)
            if mentions is None:
                mentions = mentioned[method] = [
                    re.sub(r"\{[^}]*\}|…|\?.*", "{}", m.lower()).rstrip("/")
                    for m in re.findall(rf"\b{method}\s+(/\S+)", text)
                ]
            if mentions:
                norm = re.sub(r"\{[^}]*\}", "{}", path.lower())
                if any(m.split("?")[0].replace("{}", "") and _same_path(m, norm) for m in mentions):
                    linked.append(other)
                    continue
            ew = _endpoint_words(other)
            if ew is not None and not names_an_endpoint:
                actions, resource = ew
                is_action = (
                    len(actions) <= 3
                    and str(other.details.get("method")) == "POST"
                    and not actions & verbs
                )
                hit = actions <= words if is_action else bool(actions & words)
                if resource in words and hit:
                    linked.append(other)
        elif other.kind == "event":
            topic = str(other.details.get("topic", other.key)).lower()
            if re.search(rf"(?<![\w.]){re.escape(topic)}(?![\w-])", low):
                linked.append(other)
    return linked


_ADJECTIVAL = re.compile(r"\b(?:a|an|the|its|each|every|any)\s+[A-Za-z]+", re.I)


def _same_path(mention: str, norm: str) -> bool:
    m = mention.split("?")[0].rstrip("/").rstrip(".,;")
    m = re.sub(r"\{[^}]*\}", "{}", m)
    return m == norm.rstrip("/")


def _combine(statuses: list[RequirementStatus]) -> RequirementStatus:
    real = [s for s in statuses if s != "unverified"]
    if not real:
        return "unverified"
    if all(s == "implemented" for s in real):
        return "implemented"
    if all(s == "missing" for s in real):
        return "missing"
    if "deviation" in real:
        return "deviation"
    return "partial"


def _trace_prose(
    env: Env,
    req: Requirement,
    requirements: list[Requirement],
    outcomes: dict[str, Outcome],
    about: dict[str, set[str]],
    weak: list[tuple[str | None, str, str, bool, set[str]]],
) -> Outcome:
    parts: list[Outcome] = []
    stated = _without_plans(req.text)
    for trigger, check in CONCERNS:
        if trigger.search(stated):
            try:
                o = check(env, req)
            except Exception:
                o = None
            if o is not None:
                parts.append(o)
    if req.details.get("coverage") is not None:
        parts = [p for p in parts if p.reason.startswith(("coverage", "measured"))] + _test_kinds(
            env.facts, req
        )
    statuses: list[RequirementStatus] = [p.status for p in parts]
    decided = any(s != "unverified" for s in statuses)
    evidence = [e for p in parts for e in p.evidence]
    tests = [t for p in parts for t in p.tests]
    reasons = [p.reason for p in parts if p.reason]
    problems = [x for p in parts for x in p.problems]
    text_words = {w.lower() for w in re.findall(r"\w+", req.text)}
    for link in [] if decided else _links(req, requirements):
        lo = outcomes.get(link.id)
        if lo is None:
            continue
        status = lo.status
        concern = about.get(link.id, set())
        if status in {"partial", "deviation"} and concern and not (concern & text_words):
            status = "implemented"  # the gap is about something this requirement does not state
        statuses.append(status)
        evidence += lo.evidence[:2]
        tests += lo.tests
        if status != "implemented":
            reasons.append(f"{link.key}: {lo.reason}")
    # constraints stated in this requirement's text that the schemas do not enforce
    for _schema, where, msg, conditional, words in weak:
        if conditional and not re.search(
            r"\b(requires?|required|without|missing|must)\b", req.text, re.I
        ):
            continue
        if words and words <= text_words:
            statuses.append("partial")
            evidence.append(where)
            reasons.append(msg)
    if req.kind == "nfr" and not parts and not statuses:
        return Outcome("unverified", "no static evidence decides this non-functional requirement")
    if not statuses:
        rule = _rule_evidence(env.facts, req)
        if rule is not None:
            return rule
        return Outcome("unverified", "no code evidence decides this requirement")
    status = _combine(statuses)
    if status == "implemented":
        # every stated concern must be evidenced, and the topics it names must exist
        undecided = [p.reason for p in parts if p.status == "unverified"]
        absent = _named_topics_absent(req, requirements, outcomes)
        if undecided or absent:
            return Outcome(
                "unverified",
                "; ".join(undecided + [f"topic {t} is not used by the code" for t in absent]),
                list(dict.fromkeys(evidence)),
                tests,
            )
        if not [e for e in evidence if re.search(r"^\S+:\d+$", e) or e.startswith("measured:")]:
            return Outcome("unverified", "no code location evidences this requirement")
    if status == "unverified":
        rule = _rule_evidence(env.facts, req)
        if rule is not None:
            return rule
    return Outcome(
        status,
        "; ".join(dict.fromkeys(reasons)),
        list(dict.fromkeys(evidence)),
        tests,
        problems if status != "implemented" else [],
    )


_PLAN = re.compile(r"\b(planned|later|future|not yet|out of scope|eventually)\b", re.I)


def _without_plans(text: str) -> str:
    """The text without its asides about plans: `(an outbox is planned; ...)` states no concern."""
    return re.sub(r"\([^()]*\)", lambda m: " " if _PLAN.search(m.group(0)) else m.group(0), text)


def _named_topics_absent(
    req: Requirement, requirements: list[Requirement], outcomes: dict[str, Outcome]
) -> list[str]:
    """Topics the requirement names whose own trace found them missing (or renamed)."""
    low = req.text.lower()
    named = [
        r
        for r in requirements
        if r.kind == "event"
        and r.id in outcomes
        and re.search(
            rf"(?<![\w.]){re.escape(str(r.details.get('topic', r.key)).lower())}(?![\w-])", low
        )
    ]
    if named and all(outcomes[r.id].status in {"missing", "deviation"} for r in named):
        return [str(r.details.get("topic", r.key)) for r in named]
    return []


_KINDS: dict[str, tuple[str, ...]] = {
    "consumer": ("consumer", "consum"),
    "producer": ("producer", "publish", "relay", "outbox"),
    "repository": ("repositor", "crud", "database", "db", "dao", "store"),
    "service": ("service",),
    "api": ("api", "router", "route", "endpoint"),
}


def _test_kinds(facts: Facts, req: Requirement) -> list[Outcome]:
    """`tests for the API, the service, ... and the consumer`: every named kind has a test module."""
    low = req.text.lower()
    if not re.search(r"\btests?\b", low):
        return []
    named = [k for k in _KINDS if re.search(rf"\b{k}s?\b", low)]
    if len(named) < 2:
        return []
    test_paths = [m.path.lower() for m in facts.index.test_modules]
    test_src = {m.path.lower(): "\n".join(m.lines).lower() for m in facts.index.test_modules}
    lacking = []
    for k in named:
        keys = _KINDS[k]
        if not any(any(x in p.rsplit("/", 1)[-1] for x in keys) for p in test_paths) and not any(
            re.search(rf"^(from|import)\s+\S*({'|'.join(keys)})", src, re.M)
            for src in test_src.values()
        ):
            lacking.append(k)
    if lacking:
        return [Outcome("partial", "measured: no tests for " + ", ".join(lacking))]
    return []


_RULE_WORDS = re.compile(
    r"\b(reject\w*|conflict|never|cannot|can't|only|at most|at least|must|unique|once|"
    r"not allowed|forbidden|read-only|requires?|[45]\d\d)\b",
    re.I,
)
_CODE_NOISE = {
    "self",
    "cls",
    "none",
    "true",
    "false",
    "len",
    "set",
    "get",
    "list",
    "dict",
    "str",
    "int",
    "isinstance",
    "data",
    "value",
    "result",
    "exc",
    "error",
    "not",
    "and",
    "the",
}


def _parts(identifier: str) -> set[str]:
    words = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", identifier)
    return {_stem(w) for w in words if len(w) >= 3 and w.lower() not in _CODE_NOISE}


def _guard_words(node: ast.If, m: Module) -> tuple[set[str], set[str], str | None]:
    """(exact identifiers, word stems) of an `if` test, and the exception class it raises."""
    exact: set[str] = set()
    for n in walk(node.test, (ast.Name, ast.Attribute, ast.Constant)):
        if isinstance(n, ast.Name):
            exact.add(n.id)
        elif isinstance(n, ast.Attribute):
            exact.add(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and len(n.value) < 40:
            exact.add(n.value)
    raised = next(
        (n.exc for stmt in node.body for n in walk(stmt, ast.Raise) if n.exc is not None),
        None,
    )
    exc_name = None
    if raised is not None:
        target = raised.func if isinstance(raised, ast.Call) else raised
        exc_name = unparse(target).rsplit(".", 1)[-1]
    stems = set().union(*(_parts(x) for x in exact)) if exact else set()
    return exact, stems, exc_name


def _rule_evidence(facts: Facts, req: Requirement) -> Outcome | None:
    """A domain rule (`... rejected with 409`, `at most once`) evidenced by a guarded raise.

    The guard must name the rule's code terms exactly, or two of its nouns between the
    test and the raised exception; a stated status must be the exception's status.
    """
    terms = set(re.findall(r"`([A-Za-z_][\w]*)`", req.text)) or set(
        re.findall(r"\b([a-z]+_[a-z_]+|[A-Z][A-Z_]{2,})\b", req.text)
    )
    sentence = {
        _stem(w)
        for w in re.findall(r"[A-Za-z]{3,}", req.text)
        if w.lower() not in _CODE_NOISE and w.lower() not in _STOP
    }
    clears = _cleared_fields(facts, req, terms, sentence)
    if clears is not None:
        return clears
    if not _RULE_WORDS.search(req.text):
        return None
    statuses = {int(x) for x in re.findall(r"\b([45]\d\d)\b", req.text)}
    mapping = {
        fq.rsplit(".", 1)[-1]: code for fq, (code, _site) in exception_statuses(facts).items()
    }
    best: tuple[int, str, int, str] | None = None  # (score, path, line, exception)
    for m in facts.index.source_modules:
        for node in walk(m.tree, ast.If):
            if not isinstance(node, ast.If):
                continue
            exact, stems, exc = _guard_words(node, m)
            if exc is None:
                continue
            if statuses and exc in mapping and mapping[exc] not in statuses:
                continue
            unique = re.search(
                r"at most once|unique|duplicate|distinct", req.text, re.I
            ) and re.search(r"len\((\w+)\)\s*!=\s*len\(set\(", unparse(node.test))
            nouns = len(sentence & (stems | _parts(exc)))
            in_test = len(sentence & stems)
            score = 0
            if terms and terms & exact:
                score = 100 + len(terms & exact) * 10 + nouns
            elif unique and sentence & stems:
                score = 50 + nouns
            elif in_test >= 2:
                score = nouns
            elif (
                statuses
                and mapping.get(exc or "") in statuses
                and any(len(w) >= 5 for w in sentence & stems)
                and _compares(node.test)
            ):
                # one noun of the rule compared in the guard, and the stated status raised
                score = 1 + nouns
            if score and (best is None or score > best[0]):
                best = (score, m.path, node.lineno, exc)
    if best is None:
        return None
    tests = _tests_for_words(facts, {t.lower() for t in terms} or set())
    return Outcome(
        "implemented",
        f"the rule is enforced by a guarded raise of {best[3]}",
        [f"{best[1]}:{best[2]}"],
        tests,
    )


def _compares(test: ast.expr) -> bool:
    """An ordering comparison (`balance < cost`, `points > limit`) in the guard."""
    return any(
        isinstance(n, ast.Compare) and any(isinstance(op, _LT_LTE_GT_GTE) for op in n.ops)
        for n in walk(test, ast.Compare)
    )


def _cleared_fields(
    facts: Facts, req: Requirement, terms: set[str], sentence: set[str]
) -> Outcome | None:
    """`... clears X and Y`: a branch on the stated condition sets the fields to None."""
    if not re.search(r"\b(clears?|reset\w*|nulls?)\b", req.text, re.I) or not terms:
        return None
    fields = {t for t in terms if "_" in t or t.islower()}
    if not fields:
        return None
    for m in facts.index.source_modules:
        for node in walk(m.tree, ast.If):
            if not isinstance(node, ast.If):
                continue
            cleared = {
                t.attr
                for stmt in node.body
                if isinstance(stmt, ast.Assign)
                and isinstance(stmt.value, ast.Constant)
                and stmt.value.value is None
                for t in stmt.targets
                if isinstance(t, ast.Attribute)
            }
            _exact, stems, _exc = _guard_words(node, m)
            if fields & cleared and sentence & stems:
                return Outcome(
                    "implemented",
                    "the stated fields are cleared on the stated transition",
                    [f"{m.path}:{node.lineno}"],
                )
    return None


_STOP = {
    "the",
    "and",
    "for",
    "with",
    "that",
    "this",
    "are",
    "was",
    "any",
    "other",
    "every",
    "each",
    "can",
    "its",
    "per",
    "has",
    "have",
    "one",
    "same",
    "again",
    "from",
    "into",
    "when",
    "then",
    "than",
    "not",
    "never",
    "only",
    "must",
    "most",
    "least",
    "once",
    "returns",
    "return",
    "rejected",
    "reject",
    "requires",
    "require",
    "conflict",
    "is",
    "status",
    "statuses",
}


def _tests_for_words(facts: Facts, words: set[str]) -> list[str]:
    out: list[str] = []
    for t in facts.index.tests:
        name = t.function.name.lower()
        if sum(1 for w in words if w in name) >= 1:
            out.append(t.id)
    return out[:5]


# --- weak validation ---------------------------------------------------------------------
def _weak_validation(
    facts: Facts,
    requirements: list[Requirement],
    problems: list[tuple[str, str | None, int | None, str, Requirement]],
) -> list[tuple[str | None, str, str, bool, set[str]]]:
    """(schema, "path:line", message, conditional, words) per unenforced design constraint."""
    out: list[tuple[str | None, str, str, bool, set[str]]] = []
    seen: set[tuple[str, int]] = set()
    for req in requirements:
        schema = req.details.get("schema") if isinstance(req.details.get("schema"), str) else None
        for c in req.details.get("constraints", []) or []:
            if not isinstance(c, dict):
                continue
            for pm, line, msg in constraint_violations(facts, c, schema):
                key = (pm.cls.path, line)
                conditional = bool(c.get("required_when"))
                words = {str(c.get("field", "")).lower()}
                if conditional:
                    words.add(str(c["required_when"][1]).lower())
                out.append((pm.cls.name, f"{pm.cls.path}:{line}", msg, conditional, words))
                if key in seen:
                    continue
                seen.add(key)
                problems.append(
                    ("pydantic.weak-validation", pm.cls.path, line, f"{pm.cls.name}.{msg}", req)
                )
                if conditional:
                    problems.append(
                        (
                            "req.partial",
                            pm.cls.path,
                            line,
                            f"the design's rule is not enforced: {pm.cls.name}.{msg}",
                            req,
                        )
                    )
    return out


# --- findings -------------------------------------------------------------------------------
def _findings(
    ctx: Context,
    problems: list[tuple[str, str | None, int | None, str, Requirement]],
    others: list[Finding] | None = None,
) -> list[Finding]:
    from fastapi_review.categories import category

    # another rule's finding at the same place already reports the defect: a requirement
    # finding there restates it for the design and never outranks it
    at_place: dict[tuple[str, int], Finding] = {}
    for f in others or []:
        if f.path and f.line and not f.category.startswith("req.") and not f.suppressed:
            cur = at_place.get((f.path, f.line))
            if cur is None or f.severity.rank > cur.severity.rank:
                at_place[(f.path, f.line)] = f
    out: list[Finding] = []
    seen: set[tuple[str, str | None, int | None, str]] = set()
    for cat, path, line, msg, req in problems:
        # one finding per place; project-level findings (no path) one per requirement
        key = (cat, path, line, req.id if path is None or line is None else "")
        if key in seen:
            continue
        seen.add(key)
        sev: Severity = category(cat).severity
        other = at_place.get((path, line)) if path and line else None
        if other is not None and cat.startswith("req.") and sev.rank > other.severity.rank:
            sev = other.severity
        ref = f"{req.id}" + (f" ({req.key})" if req.key != req.id else "")
        design_line = f"design line {req.line}: " if req.line else ""
        evidence = ctx.line_text(path, line) or f"{design_line}{req.text[:160]}"
        out.append(
            Finding(
                rule=RULE_OF.get(cat, "REQ002"),
                category=cat,
                severity=sev,
                path=path,
                line=line,
                message=f"{ref}: {msg}",
                evidence=evidence,
                fix=FIX_OF.get(cat, ""),
            )
        )
    return out
