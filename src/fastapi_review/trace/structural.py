"""Endpoints, events and data models of the design against routes, topics and tables."""

from __future__ import annotations

import ast
import difflib
import re
import typing
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fastapi_review.index.data import PydanticModel
from fastapi_review.index.nodes import FUNCTION_NODES, walk
from fastapi_review.index.routes import Route
from fastapi_review.models import Requirement, RequirementStatus
from fastapi_review.trace.facts import (
    Facts,
    PathIndex,
    Site,
    loc,
    norm_path,
    path_matches,
    read_attributes,
)


@dataclass
class Outcome:
    status: RequirementStatus
    reason: str = ""
    evidence: list[str] = field(default_factory=list)
    tests: list[str] = field(default_factory=list)
    # (category, path, line, message) findings the tracer turns into Finding objects
    problems: list[tuple[str, str | None, int | None, str]] = field(default_factory=list)
    untested_at: Site | None = None


_CONSTRAINT_OPTS = {
    "min_length",
    "max_length",
    "ge",
    "gt",
    "le",
    "lt",
    "pattern",
    "regex",
    "min_items",
    "max_items",
    "max_digits",
    "decimal_places",
    "multiple_of",
}


# --- endpoints --------------------------------------------------------------------------
def tests_for_endpoint(facts: Facts, method: str, paths: list[str]) -> list[str]:
    tests = facts.index.tests
    cached = facts.cache.get("test_call_paths")
    if not isinstance(cached, tuple):
        owners = [i for i, t in enumerate(tests) for _ in t.http_calls]
        calls = [(c.method, c.path) for t in tests for c in t.http_calls]
        cached = facts.cache["test_call_paths"] = (owners, PathIndex(calls))
    owners, calls_index = cached
    hit: set[int] = set()
    for p in paths:
        hit.update(owners[i] for i in calls_index.matching(method, p))
    return [tests[i].id for i in sorted(hit)]


def _route_sets_status(facts: Facts, route: Route) -> bool:
    text = facts.function_text(route.function)
    return "status_code" in text or "Response(" in text


def _route_param_names(facts: Facts, route: Route) -> set[str]:
    names = {p.name for p in route.params}
    index = facts.index
    m = index.modules.get(route.file)
    for p in route.params:
        aliases = re.findall(r"alias\s*=\s*['\"](\w+)['\"]", f"{p.default} {p.annotation}")
        names.update(aliases)
        if p.kind in {"depends", "body", "other", "query"}:
            for dep in re.findall(r"([A-Za-z_][\w.]*)", f"{p.default} {p.annotation}"):
                qname = m.imports.get(dep.split(".")[0], dep) if m is not None else dep
                if "." in dep and m is not None and dep.split(".")[0] in m.imports:
                    qname = m.imports[dep.split(".")[0]] + "." + dep.split(".", 1)[1]
                elif (m is not None and dep in {f.name for f in m.functions}) or (
                    m is not None and dep in {c.name for c in m.classes}
                ):
                    qname = f"{m.name}.{dep}"
                hit = index.lookup(qname)
                if hit is None:
                    continue
                if hasattr(hit, "node") and isinstance(hit.node, FUNCTION_NODES):
                    names.update(a.arg for a in hit.node.args.args + hit.node.args.kwonlyargs)
                pm = index.pydantic_models.get(getattr(hit, "fqname", ""))
                if pm is not None:
                    names.update(pm.fields)
                cls_node = getattr(hit, "node", None)
                if isinstance(cls_node, ast.ClassDef):
                    for stmt in cls_node.body:
                        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                            names.add(stmt.target.id)
                        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
                            names.update(a.arg for a in stmt.args.args + stmt.args.kwonlyargs)
    return names


_PAGE_PARAMS = {
    "limit",
    "offset",
    "page",
    "page_size",
    "size",
    "per_page",
    "cursor",
    "after",
    "skip",
    "take",
    "pagination",
    "paging",
}


def trace_endpoint(
    facts: Facts, req: Requirement, claimed: set[tuple[str, str]] | None = None
) -> Outcome:
    d = req.details
    method = str(d.get("method", req.key.split(" ", 1)[0]))
    path = str(d.get("path", req.key.partition(" ")[2]))
    paths = [path, *[str(p) for p in d.get("alt_paths", [])]]
    routes = facts.routes_for(method, paths)
    tests = tests_for_endpoint(facts, method, paths)
    if not routes:
        claimed = claimed or set()
        other_methods = [
            r
            for r in facts.index.routes
            if any(path_matches(r.path, p) for p in paths)
            and not any(m == r.method and path_matches(r.path, cp) for m, cp in claimed)
        ]
        if other_methods:
            r = other_methods[0]
            return Outcome(
                "deviation",
                f"the path exists with {r.method}, the design says {method}",
                [f"{r.file}:{r.line}"],
                tests,
                [
                    (
                        "req.deviation",
                        r.file,
                        r.line,
                        f"{req.key} is implemented as {r.method} {r.path}",
                    )
                ],
            )
        where, line = _router_file_for(facts, path)
        return Outcome(
            "missing",
            "no route with this method and path",
            [],
            [],
            [("req.missing", where, line, f"the design's endpoint {req.key} has no route")],
        )
    route = routes[0]
    evidence = [f"{r.file}:{r.line}" for r in routes]
    problems: list[tuple[str, str | None, int | None, str]] = []
    reasons: list[str] = []
    status: RequirementStatus = "implemented"
    wanted = [int(c) for c in d.get("status", []) if isinstance(c, int)]
    if wanted:
        actual = route.status_code
        if actual is None and not _route_sets_status(facts, route):
            # FastAPI answers 200 unless told otherwise; a DELETE without a body model
            # may be answered by an explicit Response the route builds
            answers_body = bool(route.response_model) or route.return_annotation not in {
                None,
                "None",
                "Response",
            }
            actual = 200 if route.method != "DELETE" or answers_body else None
        if (
            actual is not None
            and actual not in wanted
            and not (actual == 200 and _route_sets_status(facts, route))
        ):
            status = "deviation"
            reasons.append(f"answers {actual}, the design says {wanted[0]}")
            problems.append(
                (
                    "req.deviation",
                    route.file,
                    route.line,
                    f"{req.key} answers {actual}, the design says {wanted[0]}",
                )
            )
    query = [q for q in d.get("query", []) if isinstance(q, str)]
    path_params = set(re.findall(r"\{(\w+)", route.path))
    if query:
        have = _route_param_names(facts, route) | path_params
        missing = [q for q in query if q not in have]
        if missing:
            if status == "implemented":
                status = "partial"
            reasons.append("stated query parameters missing: " + ", ".join(missing))
            problems.append(
                (
                    "req.partial",
                    route.file,
                    route.line,
                    f"{req.key} lacks the query parameter(s) the design states: {', '.join(missing)}",
                )
            )
    if d.get("paginated") and method == "GET":
        have = {n.lower() for n in _route_param_names(facts, route)}
        if not have & _PAGE_PARAMS:
            if status == "implemented":
                status = "partial"
            reasons.append("the design pages this list; the route takes no page parameters")
            problems.append(
                (
                    "req.partial",
                    route.file,
                    route.line,
                    f"{req.key} returns the whole list: the design pages it, the route "
                    "takes no limit/offset (or page) parameters",
                )
            )
    raw = _raw_body(route, facts) if isinstance(d.get("request"), str) else None
    if raw is not None:
        if status == "implemented":
            status = "partial"
        reasons.append(f"the body is read as {raw}, not as the design's schema {d['request']}")
        problems.append(
            (
                "req.partial",
                route.file,
                route.function.node.lineno,
                f"{req.key} reads its body as {raw} instead of the design's schema "
                f"{d['request']}, so its stated constraints are not enforced",
            )
        )
    out = Outcome(status, "; ".join(reasons) or "route found", evidence, tests, problems)
    if not tests and status == "implemented":
        out.untested_at = (route.file, route.line)
    return out


_RAW_BODY = {"dict", "Dict", "Any", "typing.Any", "list", "List", "bytes", "str", "object"}


def _raw_body(route: Route, facts: Facts | None = None) -> str | None:
    """How a route reads a body without a model: `dict[str, str]` or `Request.json()`."""
    bodies = [p for p in route.params if p.kind == "body"]
    if bodies:
        heads = [re.split(r"[\[|\s]", p.annotation.strip(), maxsplit=1)[0] for p in bodies]
        if facts is not None:
            # a parameter typed by a dependency alias (`Members = Annotated[X, Depends()]`)
            # may look like a body: only raw types and request models are bodies
            models = facts.cache.get("model_names")
            if not isinstance(models, set):
                models = {pm.cls.name for pm in facts.index.pydantic_models.values()}
                facts.cache["model_names"] = models
            heads = [h for h in heads if h in _RAW_BODY or h.rsplit(".", 1)[-1] in models]
        if heads and all(h in _RAW_BODY for h in heads):
            raw = next(p for p in bodies if p.annotation.strip().startswith(heads[0]))
            return f"a raw `{raw.annotation}`"
        return None
    if any(p.kind == "request" for p in route.params):
        for node in walk(route.function.node, ast.Call):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"json", "body", "form"}
                and isinstance(node.func.value, ast.Name)
            ):
                return f"raw `{node.func.value.id}.{node.func.attr}()`"
    return None


def _router_file_for(facts: Facts, path: str) -> tuple[str | None, int | None]:
    """The router file whose routes share the longest path prefix with `path`."""
    want = norm_path(path).strip("/").split("/")
    best: tuple[int, Route | None] = (0, None)
    for r in facts.index.routes:
        have = norm_path(r.path).strip("/").split("/")
        n = 0
        for a, b in zip(have, want, strict=False):
            if a != b and "{}" not in (a, b):
                break
            n += 1
        if n > best[0]:
            best = (n, r)
    if best[1] is None:
        return None, None
    return best[1].file, best[1].line


# --- events -----------------------------------------------------------------------------
_TOPIC_SHAPE = re.compile(r"[a-z][a-z0-9_-]*(?:\.[a-z0-9_-]+)+")


def _similar_topic(topic: str, candidates: list[str]) -> str | None:
    head = topic.split(".", 1)[0]
    best = difflib.get_close_matches(topic, candidates, n=1, cutoff=0.75)
    if best and best[0] != topic and best[0].split(".", 1)[0].rstrip("s") == head.rstrip("s"):
        return best[0]
    # a prefix dropped or added (`desk.booking-cancelled` / `bookings.cancelled`): the same
    # event name, all words of one in the other, at least two of them
    want = _words(topic)
    last = re.split(r"[._-]", topic)[-1].lower().rstrip("s")[:6]
    near = [
        c
        for c in candidates
        if c != topic
        and re.split(r"[._-]", c)[-1].lower().rstrip("s")[:6] == last
        and len(want & _words(c)) >= 2
        and (want <= _words(c) or _words(c) <= want)
    ]
    return near[0] if len(near) == 1 else None


_WORDS: dict[str, frozenset[str]] = {}


def _words(name: str) -> frozenset[str]:
    got = _WORDS.get(name)
    if got is None:
        if len(_WORDS) > 100_000:
            _WORDS.clear()
        parts = re.findall(r"[A-Z]?[a-z]+|[a-z]+", re.sub(r"[._-]", " ", name))
        got = _WORDS[name] = frozenset(p.lower().rstrip("s")[:6] for p in parts if len(p) > 2)
    return got


_ModelWords = tuple[PydanticModel, frozenset[str], frozenset[str]]


def _models_by_word(facts: Facts) -> tuple[list[_ModelWords], dict[str, list[int]]]:
    """Every pydantic model with its field names and name words, and the models by name
    word (made once per trace)."""
    got = facts.cache.get("models_by_word")
    if not isinstance(got, tuple):
        models = [
            (pm, frozenset(pm.fields), _words(pm.cls.name))
            for pm in facts.index.pydantic_models.values()
        ]
        by_word: dict[str, list[int]] = {}
        for i, (_, _, words) in enumerate(models):
            for w in words:
                by_word.setdefault(w, []).append(i)
        got = facts.cache["models_by_word"] = (models, by_word)
    return typing.cast(tuple[list[_ModelWords], dict[str, list[int]]], got)


def payload_model(facts: Facts, topic: str, fields: list[str]) -> PydanticModel | None:
    """The pydantic model that best matches the topic's name and stated payload fields."""
    want = set(fields)
    tw = _words(topic)
    best: tuple[float, PydanticModel | None] = (0.0, None)
    models, by_word = _models_by_word(facts)
    # the words each model shares with the topic, counted through the models by word: a
    # model whose name_hit is under one half cannot qualify
    shared: dict[int, int] = {}
    for w in tw:
        for i in by_word.get(w, ()):
            shared[i] = shared.get(i, 0) + 1
    candidates = sorted(i for i, n in shared.items() if n / max(1, len(tw)) >= 0.5)
    for pm, have, words in (models[i] for i in candidates):
        if not have:
            continue
        overlap = len(want & have) / len(want) if want else 0.0
        name_hit = len(tw & words) / max(1, len(tw))
        score = overlap + name_hit
        if overlap >= 0.5 and name_hit >= 0.5 and score > best[0]:
            best = (score, pm)
    return best[1]


def _open_topics(facts: Facts) -> tuple[bool, bool]:
    """Whether some consumer's topics, and some send's topic, could not be resolved
    (worked out once per review)."""
    got = facts.cache.get("open_topics")
    if not isinstance(got, tuple):
        open_consumer = (
            any(c.role == "consumer" and not c.topics for c in facts.index.kafka_clients)
            or bool(facts.handlers and not facts.consumed)
            or facts.opaque_consumer
        )
        open_send = any(s.topic is None for s in facts.index.kafka_sends)
        got = facts.cache["open_topics"] = (open_consumer, open_send)
    return typing.cast(tuple[bool, bool], got)


def trace_event(
    facts: Facts,
    req: Requirement,
    handler_has: dict[str, bool],
    design_topics: set[str] | None = None,
) -> Outcome:
    d = req.details
    topic = str(d.get("topic", req.key))
    direction = d.get("direction")
    produced = facts.produced.get(topic, [])
    consumed = facts.consumed.get(topic, [])
    # a settings default only counts when the code reads that setting
    read = read_attributes(facts)
    literal = [
        x
        for x in facts.strings.get(topic, [])
        if x not in facts.settings_fields or facts.settings_fields[x] in read
    ]
    tests = _tests_mentioning(facts, topic)
    # a literal of the topic counts only when the code does not use the topic the other way
    # (and only when some consumer's topics, or some send's topic, could not be resolved)
    open_consumer, open_send = _open_topics(facts)
    if direction == "consumed":
        sites = consumed or (
            literal if facts.consumer_modules and open_consumer and not produced else []
        )
    elif direction == "produced":
        sites = produced or (literal if facts.has_kafka and open_send and not consumed else [])
    else:
        sites = produced or consumed or (literal if facts.has_kafka else [])
    if not sites:
        # a topic the design names itself is not a misspelling of this one
        used = {*facts.produced, *facts.consumed}
        if (direction != "consumed" and open_send) or (direction != "produced" and open_consumer):
            # topics passed through a wrapper (`self._send(TOPIC, ...)`) are only literals
            used |= {t for t in facts.strings if _TOPIC_SHAPE.fullmatch(t)}
        known = sorted(used - (design_topics or set()))
        near = _similar_topic(topic, known)
        if near is not None:
            near_sites = (
                facts.produced.get(near)
                or facts.consumed.get(near)
                or facts.strings.get(near)
                or []
            )
            path, line = near_sites[0] if near_sites else (None, None)
            return Outcome(
                "deviation",
                f"the code uses topic {near!r}, the design says {topic!r}",
                [f"{path}:{line}"] if path else [],
                tests,
                [
                    (
                        "req.deviation",
                        path,
                        line,
                        f"topic {near!r} is used where the design says {topic!r}",
                    )
                ],
            )
        if direction != "produced" and facts.opaque_consumer:
            return Outcome(
                "unverified",
                "a consumer is built in a way whose topics cannot be read statically",
                tests=tests,
            )
        if not facts.has_kafka and not literal:
            return Outcome(
                "missing",
                "the project has no Kafka producer or consumer",
                problems=[
                    (
                        "req.missing",
                        None,
                        None,
                        f"the design's topic {topic} is neither produced nor consumed",
                    )
                ],
            )
        what = "consumed" if direction == "consumed" else "produced"
        where: tuple[str | None, int | None] = (None, None)
        if direction == "produced":
            where = _action_of(facts, topic)
        return Outcome(
            "missing",
            f"topic not {what} anywhere",
            [f"{where[0]}:{where[1]}"] if where[0] else [],
            problems=[
                (
                    "req.missing",
                    *where,
                    f"the design's topic {topic} is not {what} by the code",
                )
            ],
        )
    evidence = [loc(s) for s in sites[:3]]
    status: RequirementStatus = "implemented"
    reasons: list[str] = []
    problems: list[tuple[str, str | None, int | None, str]] = []
    fields = [f for f in d.get("fields", []) if isinstance(f, str)]
    if direction == "produced" and fields and not d.get("dlq"):
        pm = payload_model(facts, topic, fields)
        if pm is not None:
            evidence.append(f"{pm.cls.path}:{pm.cls.node.lineno}")
            missing = [f for f in fields if f not in pm.fields]
            extra = [h for h in pm.fields if h not in fields]
            for f in missing:
                renamed = next((h for h in extra if _renamed(f, h)), None)
                if (
                    renamed is None
                    and len(missing) == 1
                    and len(extra) == 1
                    and len(fields) >= 3
                    and "_" in f
                    and f.rsplit("_", 1)[-1] == extra[0].rsplit("_", 1)[-1]
                ):
                    # every other stated field is there and one name with the same unit or
                    # role took this one's place: renamed (`odometer_km` sent as `distance_km`)
                    renamed = extra[0]
                if renamed is not None:
                    status = "deviation"
                    line = pm.fields[renamed].line
                    reasons.append(f"payload field {f!r} is named {renamed!r}")
                    problems.append(
                        (
                            "req.deviation",
                            pm.cls.path,
                            line,
                            f"event {topic}: the design's payload field {f!r} is published as {renamed!r}",
                        )
                    )
    handlers = facts.handlers.get(topic, [])
    untested_at: Site | None = None
    if direction == "consumed" and handlers:
        evidence += [f"{h.path}:{h.line}" for h in handlers[:2]]
        names = {h.name for h in handlers}
        tests = sorted(
            {
                *tests,
                *[
                    t.id
                    for t in facts.index.tests
                    if any(c.text.rsplit(".", 1)[-1] in names for c in t.function.calls)
                ],
            }
        )
        if not tests:
            untested_at = (handlers[0].path, handlers[0].line)
        if handler_has.get(topic) is False and status == "implemented":
            status = "partial"
            reasons.append("the handler does not skip redelivered events")
    out = Outcome(
        status,
        "; ".join(reasons) or f"topic {direction or 'used'} in code",
        evidence,
        tests,
        problems,
    )
    if not tests and direction == "consumed":
        tests = _tests_of_consumer_modules(facts, sites)
        out.tests = tests
    if not tests and direction == "consumed":
        at = next((x for x in sites if x[0] in facts.consumer_modules), None)
        if at is None and facts.consumer_modules:
            at = sites[0]
        out.untested_at = untested_at or at
    return out


def _action_of(facts: Facts, topic: str) -> tuple[str | None, int | None]:
    """Where the action a produced topic announces is done (`loans.renewed` -> `renew()`).

    The one service-side function named after the event's verb; none when there are more
    or none (route handlers and tests do not count).
    """
    verb = re.split(r"[._-]", topic)[-1].lower()
    stem = re.sub(r"(ed|d)$", "", verb) if verb.endswith("ed") else ""
    if len(stem) < 4:
        return None, None
    route_modules = {r.file for r in facts.index.routes}
    hits = [
        f
        for f in facts.index.functions.values()
        if f.path not in route_modules
        and not facts.index.modules[f.path].is_test
        and re.fullmatch(rf"_?{re.escape(stem)}\w*", f.name) is not None
    ]
    if len({(f.path, f.name) for f in hits}) != 1:
        return None, None
    return hits[0].path, hits[0].node.lineno


def _tests_of_consumer_modules(facts: Facts, sites: list[Site]) -> list[str]:
    """Tests that call into the module consuming the topic (its consumer class or handler).

    A consumer of one topic has no topic dispatch to find handlers by; a test that drives
    its class or functions (`consumer.handle(raw)`) exercises the topic all the same.
    """
    index = facts.index
    # the topic may be resolved from a settings value: the consumer modules drive it
    paths = {p for p, _ in sites} | set(facts.consumer_modules)
    modules = {index.modules[p].name for p in paths if p in index.modules}
    consumers = {index.modules[p].name for p in facts.consumer_modules if p in index.modules}
    if not modules:
        return []
    out: list[str] = []
    for t in index.tests:
        # a test module importing the consumer's module drives it (through helpers too)
        imported = t.module.imports.values()
        if any(q == mod or q.startswith(mod + ".") for q in imported for mod in consumers) and (
            t.asserts or t.mock_asserts
        ):
            out.append(t.id)
            continue
        for c in t.function.calls:
            target = c.target or ""
            owner = target.rsplit(".", 1)[0]
            if any(owner == mod or owner.startswith(mod + ".") for mod in modules):
                fn = index.function(target)
                if fn is not None and not fn.name.startswith("__"):
                    out.append(t.id)
                    break
    return sorted(out)


def _field_words(name: str) -> list[str]:
    return [w[:-1] if w.endswith("s") and len(w) > 3 else w for w in name.split("_") if w]


def _renamed(design: str, code: str) -> bool:
    """`order_id`/`order`, `reason`/`cancel_reason`, `trial_ends_at`/`trial_end`: one field."""
    if code.endswith("_" + design) or code.startswith(design + "_"):
        return True
    if design.startswith(code + "_") or design.endswith("_" + code):
        return True
    dw, cw = _field_words(design), _field_words(code)
    shorter, longer = (dw, cw) if len(dw) <= len(cw) else (cw, dw)
    # the same leading words, one name extends the other (`trial_end` + `at`)
    return len(shorter) >= 2 and longer[: len(shorter)] == shorter


def _tests_mentioning(facts: Facts, text: str) -> list[str]:
    return [tid for tid, src in facts.test_text.items() if text in src]


# --- data model ---------------------------------------------------------------------------
def trace_model(facts: Facts, req: Requirement) -> Outcome:
    d = req.details
    if d.get("schema"):
        return _trace_schema(facts, req)
    table = str(d.get("table", req.key))
    orm = next(
        (o for o in facts.index.orm_models.values() if o.table.lower() == table.lower()), None
    )
    if orm is None:
        in_migration = [
            p
            for p, text in facts.migrations.items()
            if re.search(rf"['\"]{re.escape(table)}['\"]", text)
        ]
        if in_migration:
            text = facts.migrations[in_migration[0]]
            line = next(
                (
                    n
                    for n, ln in enumerate(text.splitlines(), 1)
                    if re.search(rf"['\"]{re.escape(table)}['\"]", ln)
                ),
                1,
            )
            return Outcome(
                "implemented", "table created by a migration", [f"{in_migration[0]}:{line}"]
            )
        if not facts.index.orm_models:
            return Outcome(
                "unverified", "no ORM models in the project; the table may be created elsewhere"
            )
        # the finding belongs where the project's other models live
        paths = Counter(o.cls.path for o in facts.index.orm_models.values())
        where = paths.most_common(1)[0][0] if paths else None
        return Outcome(
            "missing",
            "no ORM model maps this table",
            problems=[("req.missing", where, None, f"the design's table {table} has no model")],
        )
    evidence = [f"{orm.cls.path}:{orm.cls.node.lineno}"]
    columns = [c for c in d.get("columns", []) if isinstance(c, str)]
    have = set(orm.columns) | {c.attr for c in orm.columns.values()} | set(orm.relationships)
    missing = [c for c in columns if c not in have]
    if missing:
        return Outcome(
            "partial",
            "columns missing: " + ", ".join(missing),
            evidence,
            problems=[
                (
                    "req.partial",
                    orm.cls.path,
                    orm.cls.node.lineno,
                    f"table {table} lacks the column(s) the design states: {', '.join(missing)}",
                )
            ],
        )
    # the migrations must create what the model maps
    mig_for_table = {
        p: t
        for p, t in facts.migrations.items()
        if re.search(rf"['\"]{re.escape(orm.table)}['\"]", t)
    }
    if mig_for_table:
        all_text = "\n".join(mig_for_table.values())
        unmigrated = [
            c
            for c in orm.columns.values()
            if not re.search(rf"['\"]{re.escape(c.name)}['\"]", all_text)
        ]
        if unmigrated:
            c = unmigrated[0]
            names = ", ".join(x.name for x in unmigrated)
            return Outcome(
                "partial",
                f"no migration creates the column(s) {names}",
                evidence,
                problems=[
                    (
                        "req.partial",
                        orm.cls.path,
                        c.line,
                        f"table {table}: the model maps {names}, but no migration creates it",
                    )
                ],
            )
    return Outcome("implemented", "ORM model found", evidence)


_GENERIC_SCHEMA_WORDS = {
    w[:6]
    for w in (
        "page",
        "list",
        "request",
        "response",
        "create",
        "update",
        "read",
        "out",
        "in",
        "schema",
        "model",
        "event",
        "payload",
        "body",
        "result",
        "item",
        "detail",
        "summary",
        "base",
        "patch",
        "public",
    )
}


def find_schema(facts: Facts, name: str, fields: list[str]) -> PydanticModel | None:
    for pm in facts.index.pydantic_models.values():
        if pm.cls.name == name:
            return pm
    want = set(fields)
    best: tuple[float, PydanticModel | None] = (0.0, None)
    # the domain words of the name must match, not the generic ones (TicketPage ≠ UserPage)
    nw = _words(name) - _GENERIC_SCHEMA_WORDS
    for pm in facts.index.pydantic_models.values():
        if not want or not nw:
            break
        overlap = len(want & set(pm.fields)) / len(want)
        if overlap >= 0.8 and nw & _words(pm.cls.name) and overlap > best[0]:
            best = (overlap, pm)
    return best[1]


def _trace_schema(facts: Facts, req: Requirement) -> Outcome:
    fields = [f for f in req.details.get("fields", []) if isinstance(f, str)]
    pm = find_schema(facts, str(req.details.get("schema")), fields)
    if pm is None:
        return Outcome("unverified", "no pydantic model with this name or these fields")
    missing = [f for f in fields if f not in pm.fields]
    ev = [f"{pm.cls.path}:{pm.cls.node.lineno}"]
    if missing:
        return Outcome("partial", "fields missing: " + ", ".join(missing), ev)
    return Outcome("implemented", f"pydantic model {pm.cls.name}", ev)


def field_constrained(pm: PydanticModel, name: str) -> bool:
    f = pm.fields.get(name)
    if f is None:
        return True
    if _CONSTRAINT_OPTS & set(f.options):
        return True
    ann = f.annotation
    if re.search(
        r"\b(con(str|int|float|list|decimal)|Literal|StringConstraints|Email|Field\(|Annotated)",
        ann,
    ):
        return True
    if name in pm.validators or "*" in pm.validators:
        return True
    # an enum or a nested model type constrains by itself
    base = re.sub(r"\s*\|\s*None|Optional\[|\]", "", ann).strip()
    return base not in {"str", "int", "float", "Decimal", "list", "List[str]", "list[str]"}


def constraint_violations(
    facts: Facts, constraint: dict[str, Any], schema: str | None
) -> list[tuple[PydanticModel, int, str]]:
    """Request models with the constrained field that enforce nothing (or not the condition)."""
    name = str(constraint.get("field", ""))
    bodies = _request_models(facts)
    out: list[tuple[PydanticModel, int, str]] = []
    for pm in facts.index.pydantic_models.values():
        if name not in pm.fields:
            continue
        if schema is not None and pm.cls.name != schema and pm.cls.fqname not in bodies:
            continue
        if schema is None and pm.cls.fqname not in bodies:
            continue
        f = pm.fields[name]
        when = constraint.get("required_when")
        if when:
            optional = "None" in f.annotation or "Optional" in f.annotation
            if optional and "*" not in pm.validators and name not in pm.validators:
                out.append(
                    (
                        pm,
                        f.line,
                        f"{name} is optional and no validator requires it when {when[0]} is {when[1]}",
                    )
                )
            continue
        if constraint.get("unit") in {
            "length",
            "value",
            "items",
            "pattern",
        } and not field_constrained(pm, name):
            rng = (
                f"{constraint.get('min')}-{constraint.get('max')}"
                if constraint.get("unit") != "pattern"
                else str(constraint.get("pattern"))
            )
            out.append((pm, f.line, f"{name} has no constraint, the design states {rng}"))
    return out


def _request_models(facts: Facts) -> set[str]:
    out: set[str] = set()
    index = facts.index
    names = {pm.cls.name: fq for fq, pm in index.pydantic_models.items()}
    for r in index.routes:
        for p in r.params:
            if p.kind != "body":
                continue
            for word in re.findall(r"[A-Za-z_]\w*", p.annotation):
                if word in names:
                    out.add(names[word])
    # nested models of request bodies
    changed = True
    while changed:
        changed = False
        for fq in list(out):
            for f in index.pydantic_models[fq].fields.values():
                for word in re.findall(r"[A-Za-z_]\w*", f.annotation):
                    if word in names and names[word] not in out:
                        out.add(names[word])
                        changed = True
    return out
