"""Evidence from the code's structure for prose requirements.

Every helper answers from the parsed code (calls and their resolved targets,
keyword values, class attributes, decorator and handler registrations, settings
defaults, declared dependencies), never from a text search over raw lines, and
returns the places ("path", line) that prove what it found.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass

from fastapi_review.index.nodes import (
    ASSIGN_NODES,
    DEF_NODES,
    FUNCTION_NODES,
    LOOP_NODES,
    WITH_NODES,
    walk,
)
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.routes import exception_handlers
from fastapi_review.index.symbols import Function, Module, dotted, unparse
from fastapi_review.trace.facts import Facts, Site

OFFLOADERS = ("to_thread", "run_in_executor", "run_in_threadpool", "run_sync")


# --- small helpers ------------------------------------------------------------------------
def kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def number(index: ProjectIndex, m: Module, expr: ast.expr | None) -> float | None:
    """A numeric value known statically: literal, module constant, settings default."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int | float):
        return None if isinstance(expr.value, bool) else float(expr.value)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, ast.USub):
        inner = number(index, m, expr.operand)
        return -inner if inner is not None else None
    if isinstance(expr, ast.Call) and unparse(expr.func) in {"float", "int"} and expr.args:
        return number(index, m, expr.args[0])
    if isinstance(expr, ast.Name):
        for node in m.tree.body:
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == expr.id for t in node.targets)
            ) or (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id == expr.id
            ):
                return number(index, m, node.value)
        return None
    if isinstance(expr, ast.Attribute):
        values = {
            float(v)
            for s in index.settings.values()
            for name, v in s.fields.items()
            if name == expr.attr and isinstance(v, int | float) and not isinstance(v, bool)
        }
        if len(values) == 1:
            return next(iter(values))
    return None


def status_code(expr: ast.expr | None) -> int | None:
    """`503`, `status.HTTP_503_SERVICE_UNAVAILABLE`, `HTTPStatus.SERVICE_UNAVAILABLE`."""
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int) and 100 <= expr.value < 600:
        return int(expr.value)
    text = unparse(expr)
    m = re.search(r"HTTP_(\d{3})(?!\d)", text)
    if m:
        return int(m.group(1))
    names = {
        "NOT_FOUND": 404,
        "CONFLICT": 409,
        "BAD_REQUEST": 400,
        "UNPROCESSABLE_ENTITY": 422,
        "UNPROCESSABLE_CONTENT": 422,
        "SERVICE_UNAVAILABLE": 503,
        "INTERNAL_SERVER_ERROR": 500,
        "FORBIDDEN": 403,
        "UNAUTHORIZED": 401,
        "GATEWAY_TIMEOUT": 504,
        "BAD_GATEWAY": 502,
    }
    last = text.rsplit(".", 1)[-1]
    return names.get(last)


def function_refs(fn: Function) -> Iterator[tuple[str, ast.expr, int]]:
    """(callee attribute/name, callee expression, line) of every call of the function,
    and of every function reference handed to an offloader (`asyncio.to_thread(f, ...)`)."""
    for c in fn.calls:
        func = c.node.func
        name = func.attr if isinstance(func, ast.Attribute) else unparse(func)
        yield name, func, c.line
        if name.endswith(OFFLOADERS) or (c.target or "").endswith(OFFLOADERS):
            for a in c.node.args:
                if isinstance(a, ast.Attribute):
                    yield a.attr, a, c.line
                elif isinstance(a, ast.Name):
                    yield a.id, a, c.line


def _own_nodes(fn: Function) -> Iterator[ast.AST]:
    """The nodes of the function body, nested functions included."""
    for stmt in fn.node.body:
        yield from walk(stmt)


@dataclass
class Graph:
    """The project's call graph by resolved target, with function references resolved by name."""

    index: ProjectIndex
    by_name: dict[str, list[Function]]

    @classmethod
    def of(cls, facts: Facts) -> Graph:
        got = facts.cache.get("graph")
        if isinstance(got, Graph):
            return got
        by_name: dict[str, list[Function]] = {}
        for f in facts.index.functions.values():
            if not facts.index.modules[f.path].is_test:
                by_name.setdefault(f.name, []).append(f)
        g = cls(facts.index, by_name)
        facts.cache["graph"] = g
        return g

    def callees(self, fn: Function) -> list[tuple[Function, int]]:
        out: list[tuple[Function, int]] = []
        seen: set[str] = set()
        for c in fn.calls:
            callee = self.index.function(c.target)
            if callee is None and isinstance(c.node.func, ast.Attribute):
                # an unresolved receiver: a project method of that name, when it is unique
                same = self.by_name.get(c.node.func.attr, [])
                callee = same[0] if len(same) == 1 and not same[0].name.startswith("__") else None
            if callee is not None and callee.fqname not in seen:
                seen.add(callee.fqname)
                out.append((callee, c.line))
        for name, _expr, line in function_refs(fn):
            for callee in self.by_name.get(name, [])[:3] if name not in seen else []:
                if callee.fqname not in seen and callee is not fn:
                    seen.add(callee.fqname)
                    out.append((callee, line))
        return out

    def reaches(self, fn: Function, wanted: set[str], depth: int = 4) -> int | None:
        """Line in `fn` of the call through which a function in `wanted` is reached."""
        if fn.fqname in wanted:
            return fn.line
        frontier: list[tuple[Function, int]] = [(c, line) for c, line in self.callees(fn)]
        seen = {fn.fqname}
        for _ in range(depth):
            nxt: list[tuple[Function, int]] = []
            for f, first_line in frontier:
                if f.fqname in seen:
                    continue
                seen.add(f.fqname)
                if f.fqname in wanted:
                    return first_line
                nxt += [(c, first_line) for c, _ in self.callees(f)]
            frontier = nxt
        return None

    def callers(self, fn: Function) -> list[tuple[Function, ast.Call]]:
        out: list[tuple[Function, ast.Call]] = []
        for f in self.index.functions.values():
            for c in f.calls:
                if c.target == fn.fqname:
                    out.append((f, c.node))
        return out


def send_functions(facts: Facts) -> set[str]:
    return {s.function.fqname for s in facts.index.kafka_sends}


# --- Kafka message headers -----------------------------------------------------------------
def _header_items(index: ProjectIndex, m: Module, expr: ast.AST) -> list[tuple[str, int]]:
    """Header names in a display: [("name", v), ...] or {"name": v}."""
    out: list[tuple[str, int]] = []
    for node in walk(expr, (ast.Tuple, ast.Dict)):
        if isinstance(node, ast.Tuple) and len(node.elts) == 2:
            name = _str_of(index, m, node.elts[0])
            if name:
                out.append((name, node.lineno))
        elif isinstance(node, ast.Dict):
            for k in node.keys:
                name = _str_of(index, m, k) if k is not None else None
                if name:
                    out.append((name, k.lineno if k is not None else node.lineno))
    return out


def _str_of(index: ProjectIndex, m: Module, expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Constant) and isinstance(expr.value, bytes):
        return expr.value.decode("utf-8", "replace")
    return index.string_value(m, expr)


def _collect_headers(
    facts: Facts,
    graph: Graph,
    fn: Function,
    expr: ast.expr,
    out: dict[str, Site],
    depth: int,
) -> None:
    index = facts.index
    m = index.modules.get(fn.path)
    if m is None:
        return
    for name, line in _header_items(index, m, expr):
        out.setdefault(name, (fn.path, line))
    names = {n.id for n in walk(expr, ast.Name)}
    # `headers=row.headers` of an ORM row: the headers stored on that row elsewhere
    if isinstance(expr, ast.Attribute):
        for orm in index.orm_models.values():
            if expr.attr in orm.columns or any(c.attr == expr.attr for c in orm.columns.values()):
                for f in index.functions.values():
                    if index.modules[f.path].is_test:
                        continue
                    fm = index.modules[f.path]
                    for c in f.calls:
                        if c.target == orm.cls.fqname:
                            v = kw(c.node, expr.attr)
                            if v is not None:
                                for hn, hl in _header_items(index, fm, v):
                                    out.setdefault(hn, (f.path, hl))
    changed = True
    while changed:
        changed = False
        for node in _own_nodes(fn):
            value: ast.expr | None = None
            if (
                isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id in names for t in node.targets)
            ) or (
                isinstance(node, ast.AnnAssign)
                and isinstance(node.target, ast.Name)
                and node.target.id in names
            ):
                value = node.value
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"append", "extend", "insert", "update", "setdefault"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in names
            ):
                for a in node.args:
                    for hn, hl in _header_items(index, m, ast.Tuple(elts=[a], ctx=ast.Load())):
                        out.setdefault(hn, (fn.path, hl))
                    for hn, hl in _header_items(index, m, a):
                        out.setdefault(hn, (fn.path, hl))
                if node.func.attr in {"insert", "setdefault"} and len(node.args) >= 2:
                    key = _str_of(index, m, node.args[0 if node.func.attr == "setdefault" else 1])
                    if key:
                        out.setdefault(key, (fn.path, node.lineno))
            if value is None:
                continue
            for hn, hl in _header_items(index, m, value):
                out.setdefault(hn, (fn.path, hl))
            new = {n.id for n in walk(value, ast.Name)} - names
            if new:
                names |= new
                changed = True
    if depth >= 3:
        return
    args = fn.node.args
    params = [a.arg for a in args.posonlyargs + args.args]
    offset = 1 if fn.class_name and params and params[0] in {"self", "cls"} else 0
    for pname in names & {*params, *(a.arg for a in args.kwonlyargs)}:
        pos = params.index(pname) - offset if pname in params else None
        for caller, call in graph.callers(fn):
            arg = kw(call, pname)
            if arg is None and pos is not None and 0 <= pos < len(call.args):
                arg = call.args[pos]
            if arg is not None:
                _collect_headers(facts, graph, caller, arg, out, depth + 1)


def kafka_header_names(facts: Facts) -> dict[str, Site]:
    """Header name -> where it is put on a produced message (lower-cased names)."""
    got = facts.cache.get("kafka_headers")
    if isinstance(got, dict):
        return got
    out: dict[str, Site] = {}
    graph = Graph.of(facts)
    for send in facts.index.kafka_sends:
        expr = kw(send.node, "headers")
        if expr is None:
            continue
        try:
            _collect_headers(facts, graph, send.function, expr, out, 0)
        except RecursionError:  # pragma: no cover - odd code
            continue
    lowered = {k.lower(): v for k, v in out.items()}
    facts.cache["kafka_headers"] = lowered
    return lowered


# --- HTTP headers ---------------------------------------------------------------------------
def http_header_uses(facts: Facts, header: str) -> tuple[list[Site], list[Site]]:
    """(reads, writes) of an HTTP header by name (case-insensitive)."""
    want = header.lower()
    index = facts.index
    reads: list[Site] = []
    writes: list[Site] = []
    for m in index.source_modules:
        for node in walk(m.tree, (ast.Call, ast.Subscript, ast.keyword)):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                recv = unparse(node.func.value).lower()
                name = _str_of(index, m, node.args[0])
                if name is None or name.lower() != want:
                    # Header(alias="X-Request-ID")
                    if unparse(node.func).endswith("Header"):
                        alias = kw(node, "alias")
                        if (
                            alias is not None
                            and (index.string_value(m, alias) or "").lower() == want
                        ):
                            reads.append((m.path, node.lineno))
                    continue
                if "header" not in recv and "scope" not in recv:
                    continue
                if node.func.attr in {"get", "getlist", "__getitem__"}:
                    reads.append((m.path, node.lineno))
                elif node.func.attr in {"append", "setdefault", "__setitem__", "update"}:
                    writes.append((m.path, node.lineno))
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                if node.func.id == "Header":
                    alias = kw(node, "alias")
                    if alias is not None and (index.string_value(m, alias) or "").lower() == want:
                        reads.append((m.path, node.lineno))
            elif isinstance(node, ast.Subscript) and "header" in unparse(node.value).lower():
                name = _str_of(index, m, node.slice)
                if name is None or name.lower() != want:
                    continue
                if isinstance(node.ctx, ast.Store):
                    writes.append((m.path, node.lineno))
                else:
                    reads.append((m.path, node.lineno))
            elif isinstance(node, ast.keyword) and node.arg == "headers":
                for hn, hl in _header_items(index, m, node.value):
                    if hn.lower() == want:
                        writes.append((m.path, hl))
    return reads, writes


_BIND_METHODS = frozenset({"bind_contextvars", "bound_contextvars", "bind"})


def log_context_bindings(facts: Facts) -> list[tuple[Site, set[str]]]:
    """`structlog.contextvars.bind_contextvars(x=...)` / `logger.bind(x=...)` and their keys."""
    out: list[tuple[Site, set[str]]] = []
    for m in facts.index.source_modules:
        for node in m.calls_named(_BIND_METHODS):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _BIND_METHODS
            ):
                keys = {k.arg for k in node.keywords if k.arg}
                if keys:
                    out.append(((m.path, node.lineno), keys))
    return out


# --- logging ----------------------------------------------------------------------------------
_JSON_RENDERERS = ("JSONRenderer", "JsonFormatter", "JSONFormatter")
_LOG_CONFIG = {"configure", "dictConfig", "setFormatter", "basicConfig", "ProcessorFormatter"}


def json_logging_sites(facts: Facts) -> list[Site]:
    """A JSON renderer/formatter built in a function that configures logging."""
    out: list[Site] = []
    for m in facts.index.source_modules:
        top = [n for stmt in m.tree.body if not isinstance(stmt, DEF_NODES) for n in walk(stmt)]
        scopes: list[list[ast.AST]] = [list(walk(f.node)) for f in m.functions] + [top]
        for nodes in scopes:
            renderer = next(
                (
                    n
                    for n in nodes
                    if isinstance(n, ast.Call)
                    and (dotted(n.func) or "").rsplit(".", 1)[-1] in _JSON_RENDERERS
                ),
                None,
            )
            config = next(
                (
                    n
                    for n in nodes
                    if isinstance(n, ast.Call)
                    and (dotted(n.func) or "").rsplit(".", 1)[-1] in _LOG_CONFIG
                ),
                None,
            )
            if renderer is not None and config is not None:
                out += [(m.path, renderer.lineno), (m.path, config.lineno)]
    return list(dict.fromkeys(out))


def print_calls(facts: Facts) -> list[Site]:
    out: list[Site] = []
    for f in facts.index.functions.values():
        if facts.index.modules[f.path].is_test:
            continue
        out += [(f.path, c.line) for c in f.calls if c.target == "print" or c.text == "print"]
    return out


# --- exceptions and statuses ---------------------------------------------------------------------
def exception_statuses(facts: Facts) -> dict[str, tuple[int, Site]]:
    """Project exception class (fq name) -> the HTTP status it is answered with."""
    got = facts.cache.get("exc_status")
    if isinstance(got, dict):
        return got
    index = facts.index
    out: dict[str, tuple[int, Site]] = {}
    excs = (
        {
            c.fqname: c
            for c in index.subclasses_of("Exception", "builtins.Exception", "BaseException")
            if not index.modules[c.path].is_test
        }
        if hasattr(index, "subclasses_of")
        else {}
    )
    # class attribute `status_code = 503`, inherited
    for fq, cls in excs.items():
        for stmt in cls.node.body:
            targets = (
                [t for t in stmt.targets if isinstance(t, ast.Name)]
                if isinstance(stmt, ast.Assign)
                else [stmt.target]
                if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)
                else []
            )
            value = stmt.value if isinstance(stmt, ASSIGN_NODES) else None
            if any(t.id in {"status_code", "status", "http_status"} for t in targets):
                code = status_code(value)
                if code is not None:
                    out[fq] = (code, (cls.path, stmt.lineno))
    for fq, cls in excs.items():
        if fq in out:
            continue
        for base in cls.bases:
            if base in out:
                out[fq] = (out[base][0], (cls.path, cls.node.lineno))
                break
    # {ExcClass: status} mappings and handlers answering with a fixed status
    for m in index.source_modules:
        for node in walk(m.tree, ast.Dict):
            if isinstance(node, ast.Dict):
                for k, v in zip(node.keys, node.values, strict=True):
                    if k is None:
                        continue
                    key = _resolve_class(index, m, dotted(k))
                    code = status_code(v)
                    if key is not None and key in excs and code is not None:
                        out.setdefault(key, (code, (m.path, k.lineno)))
    for h, exc_fq in exception_handler_classes(facts):
        codes = {
            status_code(kw(n, "status_code"))
            for n in walk(h.node, ast.Call)
            if kw(n, "status_code") is not None
        } - {None}
        if exc_fq and len(codes) == 1 and exc_fq not in out:
            code = next(iter(codes))
            if code is not None:
                out[exc_fq] = (code, (h.path, h.line))
    # except E: raise HTTPException(status_code=N)
    for m in index.source_modules:
        for handler in walk(m.tree, ast.ExceptHandler):
            if isinstance(handler, ast.ExceptHandler) and handler.type is not None:
                for r in (n for s in handler.body for n in walk(s)):
                    if isinstance(r, ast.Raise) and isinstance(r.exc, ast.Call):
                        code = status_code(kw(r.exc, "status_code")) or (
                            status_code(r.exc.args[0]) if r.exc.args else None
                        )
                        if code is None:
                            continue
                        types = (
                            handler.type.elts
                            if isinstance(handler.type, ast.Tuple)
                            else [handler.type]
                        )
                        for t in types:
                            fq = _resolve_class(index, m, dotted(t)) or dotted(t) or ""
                            out.setdefault(fq, (code, (m.path, r.lineno)))
    facts.cache["exc_status"] = out
    return out


def _resolve_class(index: ProjectIndex, m: Module, name: str | None) -> str | None:
    if not name:
        return None
    head, _, rest = name.partition(".")
    if head in m.imports:
        return m.imports[head] + (f".{rest}" if rest else "")
    if any(c.name == head for c in m.classes):
        return f"{m.name}.{name}"
    return name


def exception_handler_classes(facts: Facts) -> list[tuple[Function, str | None]]:
    """(handler function, exception class fq name) of registered exception handlers."""
    index = facts.index
    return [
        (reg.function, _resolve_class(index, reg.module, dotted(reg.exc)))
        for reg in exception_handlers(index)
        if reg.function is not None and reg.exc is not None
    ]


def publish_error_classes(facts: Facts) -> dict[str, Site]:
    """Exception classes raised where a produced message fails (around or after a send)."""
    out: dict[str, Site] = {}
    index = facts.index
    for fq in send_functions(facts):
        fn = index.function(fq)
        if fn is None:
            continue
        m = index.modules[fn.path]
        for node in _own_nodes(fn):
            if isinstance(node, ast.Raise) and node.exc is not None:
                target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                cls = _resolve_class(index, m, dotted(target))
                if cls:
                    out.setdefault(cls, (fn.path, node.lineno))
    # the Kafka libraries' own errors, when they propagate
    for lib in (
        "aiokafka.errors.KafkaError",
        "kafka.errors.KafkaError",
        "confluent_kafka.KafkaException",
    ):
        out.setdefault(lib, ("", 0))
    return out


# --- transactions ----------------------------------------------------------------------------------
def publish_before_commit(facts: Facts) -> list[Site]:
    """Places where a publish runs inside a transaction that commits after it."""
    graph = Graph.of(facts)
    sends = send_functions(facts)
    out: list[Site] = []
    for fn in facts.index.functions.values():
        if facts.index.modules[fn.path].is_test:
            continue
        publish_lines = []
        for callee, line in graph.callees(fn):
            if graph.reaches(callee, sends, depth=3) is not None:
                publish_lines.append(line)
        if not publish_lines:
            continue
        commits = [
            c.line
            for c in fn.calls
            if c.text.endswith(".commit")
            and re.search(r"session|conn|db|transaction|uow|tx", c.text.lower())
            and "kafka" not in (c.target or "").lower()
        ]
        first = min(publish_lines)
        if any(ln > first for ln in commits):
            out.append((fn.path, first))
            continue
        # async with session.begin() / self._transaction(): the commit is at the block's end
        for node in _own_nodes(fn):
            if isinstance(node, WITH_NODES):
                ctx = " ".join(unparse(i.context_expr) for i in node.items).lower()
                start, end = node.lineno, node.end_lineno or node.lineno
                if re.search(r"begin|transaction|atomic", ctx) and any(
                    start <= ln <= end for ln in publish_lines
                ):
                    out.append((fn.path, first))
                    break
    return out


# --- retries ---------------------------------------------------------------------------------------
def retry_loops(facts: Facts, paths: set[str] | None = None) -> list[Site]:
    """Loops that retry a failing step with a pause (sleep in the except), or tenacity retries."""
    out: list[Site] = []
    for m in facts.index.source_modules:
        if paths is not None and m.path not in paths:
            continue
        pauses = _pausing_calls(facts, m)
        for node in walk(m.tree, (LOOP_NODES, FUNCTION_NODES)):
            if isinstance(node, LOOP_NODES):
                for t in (n for s in node.body for n in walk(s)):
                    if isinstance(t, ast.Try) and any(
                        isinstance(c, ast.Call)
                        and ((dotted(c.func) or "").endswith("sleep") or id(c) in pauses)
                        for h in t.handlers
                        for s in h.body
                        for c in walk(s)
                    ):
                        out.append((m.path, node.lineno))
                        break
                    if (
                        isinstance(t, ast.Try)
                        and any(
                            isinstance(c, ast.Call) and (dotted(c.func) or "").endswith("sleep")
                            for s in node.body
                            for c in walk(s)
                        )
                        and t.handlers
                    ):
                        out.append((m.path, node.lineno))
                        break
            elif isinstance(node, FUNCTION_NODES):
                for dec in node.decorator_list:
                    d = dec.func if isinstance(dec, ast.Call) else dec
                    target = m.imports.get((dotted(d) or "").split(".")[0], "")
                    if target.startswith(("tenacity", "backoff")):
                        out.append((m.path, node.lineno))
    return list(dict.fromkeys(out))


def _pausing_calls(facts: Facts, m: Module) -> set[int]:
    """Calls in `m` of project functions that sleep (`wait_before_retry(attempt)` -> sleep)."""
    fns = list(m.functions)
    for cls in m.classes:
        fns.extend(f for f in cls.methods.values() if f not in fns)
    out: set[int] = set()
    for fn in fns:
        for c in fn.calls:
            callee = facts.index.function(c.target)
            if callee is None or callee is fn:
                continue
            if any(
                (x.target or x.text).rsplit(".", 1)[-1] == "sleep"
                for f in facts.callees(callee, depth=1)
                for x in f.calls
            ):
                out.add(id(c.node))
    return out


# --- dependencies -----------------------------------------------------------------------------------
def _norm_pkg(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def declared_dependencies(facts: Facts) -> dict[str, tuple[str, Site]]:
    """Package -> (version spec, where declared) from pyproject.toml / requirements files."""
    got = facts.cache.get("deps")
    if isinstance(got, dict):
        return got
    index = facts.index
    out: dict[str, tuple[str, Site]] = {}
    text = index.extra_files.get("pyproject.toml")
    if text is None and (index.root / "pyproject.toml").is_file():
        text = (index.root / "pyproject.toml").read_text("utf-8", errors="replace")
    if text:
        lines = text.splitlines()

        def line_of(name: str) -> int:
            pat = re.compile(rf"^\s*['\"]?{re.escape(name)}\b", re.I)
            return next((i for i, ln in enumerate(lines, 1) if pat.search(ln)), 1)

        try:
            data = tomllib.loads(text)
        except (tomllib.TOMLDecodeError, ValueError):
            data = {}
        project = data.get("project", {}) if isinstance(data.get("project"), dict) else {}
        specs: list[str] = [s for s in project.get("dependencies", []) if isinstance(s, str)]
        if isinstance(project.get("requires-python"), str):
            out["python"] = (
                project["requires-python"],
                ("pyproject.toml", line_of("requires-python")),
            )
        for spec in specs:
            mm = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*(.*)", spec)
            if mm:
                out[_norm_pkg(mm.group(1))] = (
                    mm.group(3),
                    ("pyproject.toml", line_of(mm.group(1))),
                )
        poetry = (
            data.get("tool", {}).get("poetry", {}) if isinstance(data.get("tool"), dict) else {}
        )
        deps = poetry.get("dependencies", {}) if isinstance(poetry, dict) else {}
        if isinstance(deps, dict):
            for name, spec in deps.items():
                version = (
                    spec
                    if isinstance(spec, str)
                    else str(spec.get("version", ""))
                    if isinstance(spec, dict)
                    else ""
                )
                key = "python" if name.lower() == "python" else _norm_pkg(name)
                out.setdefault(key, (version, ("pyproject.toml", line_of(name))))
    for name in ("requirements.txt", "requirements/base.txt", "requirements/prod.txt"):
        p = index.root / name
        if not p.is_file():
            continue
        for no, ln in enumerate(p.read_text("utf-8", errors="replace").splitlines(), 1):
            mm = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?\s*([^#;]*)", ln)
            if mm and not ln.lstrip().startswith(("#", "-")):
                out.setdefault(_norm_pkg(mm.group(1)), (mm.group(3).strip(), (name, no)))
    facts.cache["deps"] = out
    return out


def imported_packages(facts: Facts) -> dict[str, Site]:
    """Top-level import name -> first import site in the project's source."""
    out: dict[str, Site] = {}
    for m in facts.index.source_modules:
        for qname, line in m.import_lines.items():
            out.setdefault(qname.split(".")[0], (m.path, line))
    return out
