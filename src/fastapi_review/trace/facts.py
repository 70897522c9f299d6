"""What the project offers to trace against, computed once from the index.

Routes, produced and consumed topics, consumer handlers, ORM tables, migrations,
string literals and their places, exception handlers, tests and what they touch.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from fastapi_review.index.nodes import walk
from fastapi_review.index.project import ProjectIndex, contains_any
from fastapi_review.index.routes import Route, exception_handlers
from fastapi_review.index.symbols import Function, Module, unparse

Site = tuple[str, int]  # (path, line)


def loc(site: Site) -> str:
    return f"{site[0]}:{site[1]}"


def norm_path(path: str) -> str:
    path = re.sub(r"\{[^}]*\}", "{}", path.lower())
    return path.rstrip("/") or "/"


_SEGMENTS: dict[str, tuple[str, ...]] = {}


def segments(path: str) -> tuple[str, ...]:
    """The normalised segments of a path (`/Orders/{id}/` -> ("orders", "{}")), kept."""
    got = _SEGMENTS.get(path)
    if got is None:
        if len(_SEGMENTS) > 100_000:
            _SEGMENTS.clear()
        got = _SEGMENTS[path] = tuple(norm_path(path).strip("/").split("/"))
    return got


def segments_match(a: tuple[str, ...], w: tuple[str, ...]) -> bool:
    if len(a) != len(w):
        return False
    return all(x == y or x == "{}" or y == "{}" for x, y in zip(a, w, strict=True))


class PathIndex:
    """Paths (with an HTTP method) by position, to find the ones a wanted path matches
    (`segments_match`) with set intersections instead of comparing against every path."""

    def __init__(self, entries: list[tuple[str, str]]) -> None:  # (method, path)
        self._all: dict[tuple[str, int], set[int]] = {}
        self._at: dict[tuple[str, int], list[dict[str, set[int]]]] = {}
        for i, (method, path) in enumerate(entries):
            segs = segments(path)
            key = (method, len(segs))
            self._all.setdefault(key, set()).add(i)
            per = self._at.setdefault(key, [{} for _ in segs])
            for pos, seg in enumerate(segs):
                per[pos].setdefault(seg, set()).add(i)

    def matching(self, method: str, path: str) -> set[int]:
        """Positions of the entries with this method whose path matches `path`."""
        wanted = segments(path)
        key = (method, len(wanted))
        found = self._all.get(key)
        if not found:
            return set()
        for pos, seg in enumerate(self._at[key]):
            if wanted[pos] == "{}":
                continue
            found = found & (seg.get(wanted[pos], set()) | seg.get("{}", set()))
            if not found:
                break
        return found


def path_matches(actual: str, wanted: str) -> bool:
    """Segment-wise match; `{}` in either side matches any one segment."""
    return segments_match(segments(actual), segments(wanted))


@dataclass
class Facts:
    index: ProjectIndex
    strings: dict[str, list[Site]] = field(default_factory=dict)  # string literal -> places
    produced: dict[str, list[Site]] = field(default_factory=dict)  # topic -> send sites
    consumed: dict[str, list[Site]] = field(default_factory=dict)  # topic -> consumer sites
    handlers: dict[str, list[Function]] = field(default_factory=dict)  # topic -> handler functions
    consumer_modules: set[str] = field(default_factory=set)
    # a module builds a consumer the index could not read (`functools.partial(KafkaConsumer,
    # *topics)`, a factory): the topics it consumes are unknown
    opaque_consumer: bool = False
    kafka_modules: set[str] = field(default_factory=set)
    migrations: dict[str, str] = field(default_factory=dict)  # path -> text
    exception_handlers: list[Function] = field(default_factory=list)
    # a settings default (`topic_renewed: str = "loans.renewed"`) -> the field's name
    settings_fields: dict[Site, str] = field(default_factory=dict)
    # handler (path, line) -> whether every exception it is registered for is a project class
    project_error_handlers: set[tuple[str, int]] = field(default_factory=set)
    test_text: dict[str, str] = field(default_factory=dict)  # test id -> source of the test
    cache: dict[str, object] = field(default_factory=dict)  # evidence computed on demand

    @property
    def has_kafka(self) -> bool:
        return bool(self.index.kafka_clients or self.index.kafka_sends)

    def routes_for(self, method: str, paths: list[str]) -> list[Route]:
        routes = self.index.routes
        paths_index = self.cache.get("route_paths")
        if not isinstance(paths_index, PathIndex):
            paths_index = PathIndex([(r.method, r.path) for r in routes])
            self.cache["route_paths"] = paths_index
        found: set[int] = set()
        for p in paths:
            found |= paths_index.matching(method, p)
        return [routes[i] for i in sorted(found)]

    def function_text(self, fn: Function) -> str:
        m = self.index.modules.get(fn.path)
        if m is None:
            return ""
        end = fn.node.end_lineno or fn.node.lineno
        return "\n".join(m.lines[fn.node.lineno - 1 : end])

    def callees(self, fn: Function, depth: int = 2) -> list[Function]:
        """The function and the project functions it calls, `depth` levels deep."""
        out: list[Function] = [fn]
        frontier = [fn]
        for _ in range(depth):
            nxt: list[Function] = []
            for f in frontier:
                for c in f.calls:
                    callee = self.index.function(c.target)
                    if callee is not None and callee not in out:
                        out.append(callee)
                        nxt.append(callee)
            frontier = nxt
        return out


def build_facts(index: ProjectIndex) -> Facts:
    # the index's table of string literals (gathered as it read each module), copied: the
    # settings' defaults join it here, in new lists, and the index's own stay as they are
    facts = Facts(index=index, strings=dict(index.strings))
    for m in index.source_modules:
        if "/versions/" in f"/{m.path}" or m.path.startswith(("migrations/", "alembic/")):
            facts.migrations[m.path] = "\n".join(m.lines)
    for s in index.settings.values():
        for name, value in s.fields.items():
            if isinstance(value, str):
                site = (s.cls.path, s.field_lines.get(name, s.cls.node.lineno))
                facts.strings[value] = [*facts.strings.get(value, []), site]
                facts.settings_fields[site] = name
    for send in index.kafka_sends:
        facts.kafka_modules.add(send.path)
        if send.topic:
            facts.produced.setdefault(send.topic, []).append((send.path, send.line))
    for client in index.kafka_clients:
        facts.kafka_modules.add(client.path)
        if client.role == "consumer":
            facts.consumer_modules.add(client.path)
            for t in client.topics:
                facts.consumed.setdefault(t, []).append((client.path, client.line))
    _opaque_consumers(facts)
    _consumer_dispatch(facts)
    _exception_handlers(facts)
    for test in index.tests:
        end = test.function.node.end_lineno or test.function.node.lineno
        facts.test_text[test.id] = "\n".join(test.module.lines[test.function.node.lineno - 1 : end])
    return facts


_CONSUMER_CLASSES = (
    "kafka.KafkaConsumer",
    "kafka.consumer.KafkaConsumer",
    "aiokafka.AIOKafkaConsumer",
    "aiokafka.consumer.AIOKafkaConsumer",
    "confluent_kafka.Consumer",
    "confluent_kafka.DeserializingConsumer",
)


def read_attributes(facts: Facts) -> set[str]:
    """Attribute names the source code reads (`settings.topic_x` -> topic_x)."""
    got = facts.cache.get("read_attributes")
    if isinstance(got, set):
        return got
    out = set(facts.index.attributes_read)  # (read off each module's nodes by the index)
    for m in facts.index.source_modules:
        if not facts.index.mentions(m, "getattr"):
            continue
        for node in m.calls_named(("getattr",)):
            if isinstance(node.func, ast.Name) and node.func.id == "getattr":
                out.update(
                    a.value
                    for a in node.args[1:2]
                    if isinstance(a, ast.Constant) and isinstance(a.value, str)
                )
    facts.cache["read_attributes"] = out
    return out


def _opaque_consumers(facts: Facts) -> None:
    """Modules that use a Kafka consumer class without a consumer client the index read."""
    index = facts.index
    known = {c.path for c in index.kafka_clients if c.role == "consumer"}
    if any(c.role == "consumer" and not c.topics for c in index.kafka_clients):
        # a consumer the index read whose topics it could not (`*topics`, settings lists,
        # a subscribe() with computed names): what it consumes is unknown, not absent
        facts.opaque_consumer = True
    for m in index.source_modules:
        if m.path in known:
            continue
        local = [name for name, q in m.imports.items() if q in _CONSUMER_CLASSES]
        if not local:
            continue
        used = any(
            isinstance(node, ast.Name) and node.id in local and isinstance(node.ctx, ast.Load)
            for node in walk(m.tree, ast.Name)
        )
        if used:
            facts.consumer_modules.add(m.path)
            facts.kafka_modules.add(m.path)
            facts.opaque_consumer = True


def _consumer_dispatch(facts: Facts) -> None:
    """`if msg.topic == TOPIC: await handle(...)` / `{TOPIC: handler}` in consumer code."""
    index = facts.index
    words = ("getmany", "async for", ".poll(", "consume(")
    for m in index.source_modules:
        if m.path not in facts.consumer_modules and not (
            # (the lower-case text holds every word the text does: a test made once)
            index.mentions(m, *words) and contains_any("\n".join(m.lines), words)
        ):
            continue
        for fn in m.functions:
            for node in walk(fn.node, (ast.If, ast.Dict)):
                if isinstance(node, ast.If):
                    topics = _topics_in_test(index, m, node.test)
                    if not topics:
                        continue
                    for sub in node.body:
                        for call in walk(sub, ast.Call):
                            if isinstance(call, ast.Call):
                                record = fn.call_at(call)
                                target = record.target if record is not None else None
                                callee = index.function(target)
                                if callee is not None:
                                    for t in topics:
                                        facts.handlers.setdefault(t, []).append(callee)
                                        facts.consumer_modules.add(m.path)
                elif isinstance(node, ast.Dict):
                    for k, v in zip(node.keys, node.values, strict=True):
                        key = index.string_value(m, k) if k is not None else None
                        if not key or "." not in key:
                            continue
                        name = unparse(v)
                        for f in index.functions.values():
                            if name.endswith(f.name) and not index.modules[f.path].is_test:
                                facts.handlers.setdefault(key, []).append(f)
                                break


def _topics_in_test(index: ProjectIndex, m: Module, test: ast.expr) -> list[str]:
    out: list[str] = []
    for node in walk(test, ast.Compare):
        if isinstance(node, ast.Compare):
            for side in [node.left, *node.comparators]:
                v = index.string_value(m, side)
                if v and "." in v and " " not in v:
                    out.append(v)
    return out


def _exception_handlers(facts: Facts) -> None:
    index = facts.index
    for reg in exception_handlers(index):
        fn = reg.function
        if fn is None:
            continue
        if all(known is not fn for known in facts.exception_handlers):
            facts.exception_handlers.append(fn)
        if reg.exc is not None and _project_class(index, reg.module, reg.exc):
            facts.project_error_handlers.add((fn.path, fn.node.lineno))


def _project_class(index: ProjectIndex, m: Module, expr: ast.expr) -> bool:
    """`NotFoundError` / `errors.NotFoundError`: an exception class the project defines."""
    name = unparse(expr)
    head, _, rest = name.partition(".")
    imported = m.imports.get(head)
    qname = f"{m.name}.{name}" if imported is None else ".".join(x for x in (imported, rest) if x)
    return index.class_(qname) is not None
