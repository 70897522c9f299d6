"""Shared analysis for the Kafka rules: consume loops, processing paths, library sends.

Nothing here is a rule; `rules/kafka.py` builds its checks on these facts. Everything is
computed from the AST held by the index (never by importing the reviewed code) and every
helper tolerates odd code: unknown names resolve to nothing and are skipped.
"""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi_review.index.callgraph import call_graph, implementations
from fastapi_review.index.kafka import CLIENT_CLASSES, KafkaClient, KafkaSend
from fastapi_review.index.nodes import (
    ASSIGN_NODES,
    FOR_NODES,
    LOOP_NODES,
    NAME_OR_ATTRIBUTE,
    TRY_NODES,
    WITH_NODES,
    children,
    scope_walk,
    walk,
)
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import (
    ClassInfo,
    Function,
    Module,
    call_chain_text,
    callee_name,
    dotted,
    unparse,
)
from fastapi_review.rules.types import LOG_LEVELS

KAFKA_LIBS = ("aiokafka", "kafka", "confluent_kafka")
FETCH_METHODS = {"poll", "getone", "getmany", "consume"}
CONSUMER_API = FETCH_METHODS | {
    "commit",
    "seek",
    "seek_to_committed",
    "stop",
    "close",
    "subscribe",
    "unsubscribe",
    "pause",
    "resume",
    "assign",
    "position",
    "committed",
    "highwater",
    "end_offsets",
    "store_offsets",
    "partitions_for",
    "assignment",
}
OFFLOADERS = {"to_thread", "run_in_executor", "run_sync", "run_in_threadpool"}
LOG_METHODS = LOG_LEVELS | {
    "msg",
    "bind_contextvars",
    "unbind_contextvars",
    "bound_contextvars",
    "clear_contextvars",
}
PARSE_FUNCS = {"json.loads", "orjson.loads", "ujson.loads", "msgpack.unpackb", "pickle.loads"}
VALIDATE_METHODS = {
    "model_validate",
    "model_validate_json",
    "model_validate_strings",
    "parse_obj",
    "parse_raw",
    "validate_python",
    "validate_json",
    "validate_strings",
}
DLQ_WORDS = re.compile(r"dead[_\-. ]?letter|\bdlq\b|_dlq|dlq_|quarantin|parking", re.IGNORECASE)
DLQ_TOPIC_WORDS = re.compile(r"dlq|dead|failed|parking|quarantin|poison", re.IGNORECASE)
RETRY_WORDS = re.compile(r"retry|retries|requeue|redeliver|nack|backoff", re.IGNORECASE)
STOP_EXCEPTIONS = {
    "CancelledError",
    "KeyboardInterrupt",
    "SystemExit",
    "GeneratorExit",
    "StopIteration",
    "StopAsyncIteration",
    "ConsumerStoppedError",
    "TimeoutError",
}

Region = list[ast.stmt]


# --- generic AST walking ------------------------------------------------------------


class Site(typing.NamedTuple):
    """A node with the control context it sits in (inside one function); a named tuple,
    as one is made for every node of every body asked about."""

    node: ast.AST
    tries: tuple[
        ast.Try | ast.TryStar, ...
    ] = ()  # tries whose body (protected part) holds the node
    in_handler: bool = False
    in_finally: bool = False
    loops: tuple[ast.stmt, ...] = ()
    handler: ast.ExceptHandler | None = None


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_ANN_AUG = ast.AnnAssign | ast.AugAssign


def sites(stmts: list[ast.stmt]) -> Iterator[Site]:
    """Every node below `stmts` (not entering nested defs), with its try/loop context.

    Worked out once per statement list (a function or loop body, asked by several rules)
    and kept on its first statement, with the list itself to tell it from another list.
    """
    if not stmts:
        return iter(())
    first = stmts[0].__dict__
    got = first.get("_fr_sites")
    if got is None or got[0] is not stmts:
        found: list[Site] = []
        for s in stmts:
            _sites(s, Site(s), found)
        got = first["_fr_sites"] = (stmts, found)
    return iter(got[1])


def _sites(node: ast.AST, ctx: Site, out: list[Site]) -> None:
    """Append the sites of `node` and below to `out`, in source order."""
    here = Site(node, ctx.tries, ctx.in_handler, ctx.in_finally, ctx.loops, ctx.handler)
    out.append(here)
    if isinstance(node, _SCOPES):
        return
    if isinstance(node, TRY_NODES):
        protected = (*ctx.tries, node) if node.handlers else ctx.tries
        for s in node.body:
            _sites(s, Site(s, protected, ctx.in_handler, ctx.in_finally, ctx.loops), out)
        for h in node.handlers:
            hctx = Site(h, ctx.tries, True, ctx.in_finally, ctx.loops, h)
            if h.type is not None:
                _sites(h.type, hctx, out)
            for s in h.body:
                _sites(s, hctx, out)
        for s in node.orelse:
            _sites(s, Site(s, ctx.tries, ctx.in_handler, ctx.in_finally, ctx.loops), out)
        for s in node.finalbody:
            _sites(s, Site(s, ctx.tries, ctx.in_handler, True, ctx.loops), out)
        return
    if isinstance(node, LOOP_NODES):
        head = [node.iter, node.target] if isinstance(node, FOR_NODES) else [node.test]
        for e in head:
            _sites(e, here, out)
        inner = Site(node, ctx.tries, ctx.in_handler, ctx.in_finally, (*ctx.loops, node))
        for s in node.body:
            _sites(s, inner, out)
        for s in node.orelse:
            _sites(s, here, out)
        return
    for child in children(node):  # operator and context singletons are no sites
        _sites(child, here, out)


def own_walk(stmts: list[ast.stmt], kind: object = None) -> list[ast.AST]:
    """Every node below `stmts`, not entering nested defs, classes or lambdas (kept);
    only `kind`s if given."""
    return scope_walk(stmts, kind)


def names_in(node: ast.AST) -> set[str]:
    return {n.id for n in walk(node, ast.Name)}


def mentions(node: ast.AST, names: set[str]) -> bool:
    return bool(names) and not names.isdisjoint(names_in(node))


def handler_type_names(h: ast.ExceptHandler) -> set[str]:
    if h.type is None:
        return {"BaseException"}
    exprs = h.type.elts if isinstance(h.type, ast.Tuple) else [h.type]
    out: set[str] = set()
    for e in exprs:
        text = dotted(e)
        if text:
            out.add(text.rsplit(".", 1)[-1])
    return out


def is_stop_handler(h: ast.ExceptHandler) -> bool:
    names = handler_type_names(h)
    return bool(names) and names <= STOP_EXCEPTIONS


def func_name(call: ast.Call) -> str:
    """The last name of a callee: `self.repo.create(...)` -> `create` ("" for none)."""
    return callee_name(call.func) or ""


def receiver(call: ast.Call) -> ast.expr | None:
    return call.func.value if isinstance(call.func, ast.Attribute) else None


def is_logging(call: ast.Call) -> bool:
    text = call_chain_text(call.func).lower()
    parts = text.split(".")
    if text == "print" or parts[0] in {"logging", "structlog", "warnings"}:
        return True
    if len(parts) > 1 and parts[-1] in LOG_METHODS:
        return any("log" in p for p in parts[:-1]) or parts[-2] in {"contextvars"}
    return False


def offloaded_ref(call: ast.Call) -> ast.expr | None:
    """The function handed to `asyncio.to_thread(f, ...)` / `loop.run_in_executor(None, f)`."""
    if func_name(call) not in OFFLOADERS:
        return None
    args = call.args[1:] if func_name(call) == "run_in_executor" else call.args
    return args[0] if args else None


# --- consumers ----------------------------------------------------------------------


def imports_kafka(m: Module) -> bool:
    return any(q.split(".")[0] in KAFKA_LIBS for q in m.imports.values())


def consumer_like(ix: ProjectIndex, fn: Function, expr: ast.expr | None) -> bool:
    """Does the expression stand for a Kafka consumer (by type or by name)?"""
    if expr is None:
        return False
    text = dotted(expr)
    if text is None:
        return False
    if "consumer" in text.rsplit(".", 1)[-1].lower():
        return True
    if isinstance(expr, ast.Name):
        kind = CLIENT_CLASSES.get(fn.local_types.get(expr.id, ""))
        return kind is not None and kind[1] == "consumer"
    if isinstance(expr, ast.Attribute) and text.startswith("self.") and fn.class_name:
        cls = ix.classes.get(f"{fn.module}.{fn.qualname.rsplit('.', 1)[0]}")
        if cls is not None:
            kind = CLIENT_CLASSES.get(cls.attr_types.get(expr.attr, ""))
            return kind is not None and kind[1] == "consumer"
    return False


def _offloads_param(callee: Function) -> bool:
    """A project helper that runs its first parameter on a thread or executor:
    `def _call(self, fn, *a): return await loop.run_in_executor(ex, partial(fn, *a))`."""
    params = [*callee.node.args.posonlyargs, *callee.node.args.args]
    if callee.class_name and params and params[0].arg in {"self", "cls"}:
        params = params[1:]
    if not params:
        return False
    name = params[0].arg
    for n in walk(callee.node, ast.Call):
        if not isinstance(n, ast.Call):
            continue
        ref = offloaded_ref(n)
        if ref is None:
            continue
        if isinstance(ref, ast.Name) and ref.id == name:
            return True
        if (
            isinstance(ref, ast.Call)
            and func_name(ref) == "partial"
            and ref.args
            and isinstance(ref.args[0], ast.Name)
            and ref.args[0].id == name
        ):
            return True
    return False


def wrapped_offload_ref(ix: ProjectIndex, fn: Function, call: ast.Call) -> ast.expr | None:
    """The function handed to a project helper that offloads it (`self._call(c.poll)`)."""
    if not call.args or isinstance(call.args[0], ast.Starred):
        return None
    c = fn.call_at(call)
    callee = ix.function(c.target) if c is not None and c.target else None
    if callee is None or callee is fn or not _offloads_param(callee):
        return None
    return call.args[0]


def consumer_api_call(ix: ProjectIndex, fn: Function, call: ast.Call) -> str | None:
    """`commit` / `poll` / ... when the call (or the function it offloads) is a consumer API."""
    ref = offloaded_ref(call)
    if ref is None and isinstance(call.func, ast.Attribute) and call.args:
        ref = wrapped_offload_ref(ix, fn, call)
    f = ref if ref is not None else call.func
    if isinstance(f, ast.Attribute) and f.attr in CONSUMER_API and consumer_like(ix, fn, f.value):
        return f.attr
    return None


@dataclass
class ConsumeLoop:
    fn: Function
    node: ast.For | ast.AsyncFor | ast.While
    messages: set[str]
    fetch: ast.Call | None = None

    @property
    def body(self) -> Region:
        return self.node.body

    @property
    def line(self) -> int:
        return self.node.lineno


def consume_loops(ix: ProjectIndex) -> list[ConsumeLoop]:
    """Loops that take messages from a Kafka consumer, in every source function (found
    once per index)."""
    return list(ix.once("kafka_flow.consume_loops", lambda: _consume_loops(ix)))


def _consume_loops(ix: ProjectIndex) -> list[ConsumeLoop]:
    if not any(c.role == "consumer" for c in ix.kafka_clients) and not any(
        imports_kafka(m) for m in ix.source_modules
    ):
        return []
    out: list[ConsumeLoop] = []
    graph = call_graph(ix)
    for m in ix.source_modules:
        for fn in m.functions:
            loops = graph.own_nodes(fn, _LOOPS)
            if loops:
                out.extend(_loops_of(ix, fn, loops))
    return out


_LOOPS = (ast.For | ast.AsyncFor, ast.While)


def _fetch_call(ix: ProjectIndex, fn: Function, node: ast.AST) -> ast.Call | None:
    if isinstance(node, ast.Await):
        node = node.value
    if isinstance(node, ast.Call) and consumer_api_call(ix, fn, node) in FETCH_METHODS:
        return node
    return None


def _target_names(t: ast.expr) -> set[str]:
    return names_in(t)


def _loops_of(ix: ProjectIndex, fn: Function, loops: list[ast.AST]) -> list[ConsumeLoop]:
    """The consume loops among `fn`'s own loops."""
    out: list[ConsumeLoop] = []
    for node in loops:
        if isinstance(node, FOR_NODES):
            it = node.iter.value if isinstance(node.iter, ast.Await) else node.iter
            if consumer_like(ix, fn, it) or _fetch_call(ix, fn, it) is not None:
                out.append(ConsumeLoop(fn, node, _target_names(node.target)))
        elif isinstance(node, ast.While):
            fetch: ast.Call | None = None
            messages: set[str] = set()
            for sub in own_walk(node.body, ASSIGN_NODES):
                if isinstance(sub, ASSIGN_NODES) and sub.value is not None:
                    call = _fetch_call(ix, fn, sub.value)
                    if call is not None:
                        fetch = fetch or call
                        targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                        for t in targets:
                            messages |= _target_names(t)
            if fetch is None:
                continue
            changed = True
            while changed:
                changed = False
                for sub in own_walk(node.body, FOR_NODES):
                    if isinstance(sub, FOR_NODES) and mentions(sub.iter, messages):
                        new = _target_names(sub.target) - messages
                        if new:
                            messages |= new
                            changed = True
            out.append(ConsumeLoop(fn, node, messages, fetch))
    # a for over the consumer nested in a polling while is one loop, the inner one
    inner = {id(sub) for lp in out for sub in own_walk(lp.body)}
    return [lp for lp in out if id(lp.node) not in inner or isinstance(lp.node, ast.While)]


# --- calls, resolution, taint -------------------------------------------------------


def resolve_ref(ix: ProjectIndex, fn: Function, ref: ast.expr) -> Function | None:
    """A function reference (not a call): `self._commit`, `handle`, `mod.func`."""
    text = dotted(ref)
    if not text:
        return None
    head, _, rest = text.partition(".")
    if head in {"self", "cls"} and fn.class_name and rest and "." not in rest:
        return ix.function(f"{fn.module}.{fn.qualname.rsplit('.', 1)[0]}.{rest}")
    m = ix.modules.get(fn.path)
    base = m.imports.get(head) if m is not None else None
    if base is None:
        base = f"{fn.module}.{head}"
    return ix.function(f"{base}.{rest}" if rest else base)


def resolve_call(ix: ProjectIndex, fn: Function, call: ast.Call) -> Function | None:
    """The project function a call runs (following `to_thread(f, ...)`)."""
    ref = offloaded_ref(call)
    if ref is not None:
        return resolve_ref(ix, fn, ref)
    c = fn.call_at(call)
    if c is None or not c.target:
        return None
    hit = ix.function(c.target)
    if hit is None or hit is fn:
        return None
    return hit


def callee_taint(callee: Function, call: ast.Call, tainted: set[str]) -> set[str]:
    """Parameters of `callee` that receive message data at this call."""
    params = [*callee.node.args.posonlyargs, *callee.node.args.args]
    is_static = any(dotted(d) in {"staticmethod"} for d in callee.node.decorator_list)
    if callee.class_name and params and not is_static and params[0].arg in {"self", "cls"}:
        params = params[1:]
    ref = offloaded_ref(call)
    pos = call.args[1:] if ref is not None else call.args
    if ref is not None and func_name(call) == "run_in_executor":
        pos = call.args[2:]
    out: set[str] = set()
    for p, a in zip(params, pos, strict=False):
        if not isinstance(a, ast.Starred) and mentions(a, tainted):
            out.add(p.arg)
    by_name = {p.arg for p in [*params, *callee.node.args.kwonlyargs]}
    for k in call.keywords:
        if k.arg in by_name and mentions(k.value, tainted):
            out.add(k.arg)
    return out


def propagate(stmts: Region, tainted: set[str]) -> set[str]:
    """Names that hold message data: assigned from expressions that use tainted names."""
    out = set(tainted)
    for _ in range(3):
        before = len(out)
        for node in own_walk(stmts):
            if isinstance(node, ast.Assign) and mentions(node.value, out):
                for t in node.targets:
                    out |= names_in(t)
            elif (
                isinstance(node, _ANN_AUG) and node.value is not None and mentions(node.value, out)
            ) or (isinstance(node, FOR_NODES) and mentions(node.iter, out)):
                out |= names_in(node.target)
            elif isinstance(node, WITH_NODES):
                for item in node.items:
                    if item.optional_vars is not None and mentions(item.context_expr, out):
                        out |= names_in(item.optional_vars)
            elif isinstance(node, ast.NamedExpr) and mentions(node.value, out):
                out.add(node.target.id)
        if len(out) == before:
            break
    return out


@dataclass
class Step:
    """One function on a processing path from a consume loop."""

    fn: Function
    region: Region
    tainted: set[str]
    chain: list[Function] = field(default_factory=list)  # loop function ... this one
    parent: Step | None = None
    call: ast.Call | None = None  # the call in the parent that led here


def is_dlq_name(text: str) -> bool:
    return bool(DLQ_WORDS.search(text))


def processing_steps(ix: ProjectIndex, loop: ConsumeLoop, max_depth: int = 6) -> list[Step]:
    """The loop body and every project function it reaches outside except/finally blocks
    (worked out once per loop and depth)."""
    memo = ix.memo.setdefault("kafka_flow.processing_steps", {})
    assert isinstance(memo, dict)
    key = (id(loop.node), max_depth)
    got = memo.get(key)
    if got is None or got[0] is not loop.node:
        got = memo[key] = (loop.node, _processing_steps(ix, loop, max_depth))
    return list(got[1])


def _processing_steps(ix: ProjectIndex, loop: ConsumeLoop, max_depth: int) -> list[Step]:
    root = Step(loop.fn, loop.body, propagate(loop.body, loop.messages), [loop.fn])
    out = [root]
    seen = {loop.fn.fqname}
    queue = [root]
    while queue:
        step = queue.pop(0)
        if len(step.chain) > max_depth:
            continue
        for s in sites(step.region):
            if s.in_handler or s.in_finally or not isinstance(s.node, ast.Call):
                continue
            call = s.node
            if is_logging(call) or consumer_api_call(ix, step.fn, call):
                continue
            callee = resolve_call(ix, step.fn, call)
            if callee is None:
                # `route.handle(event)`: a callable field of a project class
                targets = field_dispatch(ix, call)
            else:
                # a Protocol / ABC stub runs one of its implementations
                targets = implementations(ix, callee) or [callee]
            for target in targets:
                if target.fqname in seen or is_dlq_name(target.qualname):
                    continue
                seen.add(target.fqname)
                taint = propagate(target.node.body, callee_taint(target, call, step.tainted))
                child = Step(target, target.node.body, taint, [*step.chain, target], step, call)
                out.append(child)
                queue.append(child)
    return out


_PLAIN_TYPE_NODES = (
    ast.Name,
    ast.Attribute,
    ast.Subscript,
    ast.Tuple,
    ast.List,
    ast.BinOp,
    ast.BitOr,
)


def _names_of(ann: ast.expr) -> str:
    """The names in an annotation, for a substring test: for one made only of names,
    attributes, subscripts, tuples, lists and `|` those are the only words of its
    `ast.unparse` text; anything else (a string annotation, a call) is unparsed."""
    nodes = walk(ann)
    if all(isinstance(n, _PLAIN_TYPE_NODES) for n in nodes):
        return " ".join(
            n.id if isinstance(n, ast.Name) else n.attr
            for n in nodes
            if isinstance(n, NAME_OR_ATTRIBUTE)
        )
    return unparse(ann)


def _callable_fields(cls: ClassInfo) -> list[str]:
    """Class-level annotated fields, in order; a field typed `Callable[...]` keeps its name,
    the others are kept as "" so positions still line up."""
    out: list[str] = []
    for stmt in cls.node.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            text = _names_of(stmt.annotation)
            if "ClassVar" in text:
                continue
            out.append(stmt.target.id if "Callable" in text else "")
    return out


_DISPATCH: dict[int, tuple[ProjectIndex, dict[str, list[Function]]]] = {}


def field_dispatch(ix: ProjectIndex, call: ast.Call) -> list[Function]:
    """For `x.attr(...)` where `attr` is a `Callable` field of project classes (a dispatch
    table: `Route(schema, handle)`), the project functions stored in that field."""
    if not isinstance(call.func, ast.Attribute):
        return []
    cached = _DISPATCH.get(id(ix))
    if cached is None or cached[0] is not ix:
        if len(_DISPATCH) > 4:
            _DISPATCH.clear()
        cached = (ix, _dispatch_tables(ix))
        _DISPATCH[id(ix)] = cached
    return cached[1].get(call.func.attr, [])


def _dispatch_tables(ix: ProjectIndex) -> dict[str, list[Function]]:
    """Callable field name -> the project functions constructors store in it."""
    owners = {
        cls.fqname: fields for cls in ix.classes.values() if any(fields := _callable_fields(cls))
    }
    out: dict[str, list[Function]] = {}
    if not owners:
        return out
    for m in ix.source_modules:
        for fn in m.functions:
            for c in fn.calls:
                order = owners.get(c.target or "")
                if order is None:
                    continue
                pairs = [(f, a) for f, a in zip(order, c.node.args, strict=False) if f]
                pairs += [(k.arg, k.value) for k in c.node.keywords if k.arg in order and k.arg]
                for attr, v in pairs:
                    target = _local_ref(ix, fn, v)
                    bucket = out.setdefault(attr, [])
                    if target is not None and target not in bucket:
                        bucket.append(target)
    return out


def _local_ref(ix: ProjectIndex, fn: Function, ref: ast.expr) -> Function | None:
    """A function reference, also to a function nested in `fn`."""
    if isinstance(ref, ast.Name):
        nested = ix.function(f"{fn.module}.{fn.qualname}.{ref.id}")
        if nested is not None:
            return nested
    return resolve_ref(ix, fn, ref)


# --- producers ----------------------------------------------------------------------


def library_of_send(ix: ProjectIndex, send: KafkaSend) -> str | None:
    """The Kafka library a send goes to directly, or None for a project wrapper."""
    c = send.function.call_at(send.node)
    target = c.target if c is not None else None
    if target:
        owner = target.rsplit(".", 1)[0]
        kind = CLIENT_CLASSES.get(owner)
        if kind is not None:
            return kind[0] if kind[1] == "producer" else None
        if ix.function(target) is not None:
            return None
    m = ix.modules.get(send.path)
    if m is None:
        return None
    recv = receiver(send.node)
    recv_text = (dotted(recv) or "").lower() if recv is not None else ""
    if "producer" not in recv_text:
        return None
    libs = ix.once(
        f"kafka_flow.libraries.{m.path}",
        lambda: {q.split(".")[0] for q in m.imports.values()} & set(KAFKA_LIBS),
    )
    project_libs = ix.once(
        "kafka_flow.producer_libraries",
        lambda: {k.library for k in ix.kafka_clients if k.role == "producer"},
    )
    by_import = {
        "aiokafka": "aiokafka",
        "kafka": "kafka-python",
        "confluent_kafka": "confluent-kafka",
    }
    found = {by_import[lib] for lib in libs}
    if len(found) == 1:
        return next(iter(found))
    if (
        not found
        and len(project_libs) == 1
        and send.method in _LIB_METHODS[next(iter(project_libs))]
    ):
        # a send in a module that does not import the library (factory elsewhere)
        return next(iter(project_libs)) if _no_wrapper_method(ix, send.method) else None
    return None


_LIB_METHODS = {
    "aiokafka": {"send", "send_and_wait", "send_batch"},
    "kafka-python": {"send"},
    "confluent-kafka": {"produce"},
}


def _no_wrapper_method(ix: ProjectIndex, name: str) -> bool:
    return not any(name in c.methods for c in ix.classes.values())


def confluent_config(ix: ProjectIndex, client: KafkaClient) -> dict[str, ast.expr] | None:
    """Options of a confluent client built from a dict variable in the same function/module."""
    node = client.node
    if client.library != "confluent-kafka" or not node.args:
        return None
    arg = node.args[0]
    if not isinstance(arg, ast.Name):
        return None
    scope: list[ast.stmt] = (
        client.function.node.body
        if client.function is not None
        else ix.modules[client.path].tree.body
    )
    found: ast.Dict | None = None
    for sub in own_walk(scope, ast.Assign):
        if (
            isinstance(sub, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == arg.id for t in sub.targets)
            and isinstance(sub.value, ast.Dict)
        ):
            found = sub.value
    if found is None or None in found.keys:
        return None
    opts: dict[str, ast.expr] = {}
    for k, v in zip(found.keys, found.values, strict=True):
        if isinstance(k, ast.Constant) and isinstance(k.value, str):
            opts[k.value.replace(".", "_")] = v
    return opts


def literal(expr: ast.expr | None) -> object:
    if expr is None:
        return None
    try:
        return ast.literal_eval(expr)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return _UNKNOWN


class _Unknown:
    def __repr__(self) -> str:
        return "<unknown>"


_UNKNOWN = _Unknown()
UNKNOWN: object = _UNKNOWN


def source_text(ix: ProjectIndex) -> list[tuple[Module, str]]:
    """Each source module with its text in lower case (made once per index): search it
    with lower-case patterns, not `re.IGNORECASE`, which is several times slower."""
    return [(m, ix.lower_text(m)) for m in ix.source_modules]


_CallSite = tuple[int, Function, ast.Call]


def _reverse_calls(
    ix: ProjectIndex,
) -> tuple[dict[int, list[_CallSite]], dict[str, list[_CallSite]]]:
    """Every source call site once, by resolved callee and (unresolved) by method name.

    Built on first use and kept in the index's memo: `call_sites` is asked once per send site,
    and scanning every call of the project for each question is quadratic.
    """
    return ix.once("kafka_flow.reverse_calls", lambda: _all_call_sites(ix))


def _all_call_sites(
    ix: ProjectIndex,
) -> tuple[dict[int, list[_CallSite]], dict[str, list[_CallSite]]]:
    by_fn: dict[int, list[_CallSite]] = {}
    by_name: dict[str, list[_CallSite]] = {}
    seq = 0
    names = ix.callable_names()  # a target ending otherwise is no project function
    hits: dict[str | None, Function | None] = {None: None}  # by target: many calls share one
    for m in ix.source_modules:
        for g in m.functions:
            for c in g.calls:
                seq += 1
                target = c.target
                node = c.node
                if target in hits:
                    hit = hits[target]
                else:
                    hit = hits[target] = (
                        ix.function(target)
                        if target and target.rpartition(".")[2] in names
                        else None
                    )
                if hit is not None:
                    by_fn.setdefault(id(hit), []).append((seq, g, node))
                    continue
                name = c.name  # (`func_name`: a method's or a bare callee's name)
                if name:
                    got = by_name.get(name)
                    if got is None:
                        by_name[name] = [(seq, g, node)]
                    else:
                        got.append((seq, g, node))
    return by_fn, by_name


def call_sites(ix: ProjectIndex, fn: Function) -> tuple[list[_CallSite], str | None]:
    """Call sites of `fn` in source modules: those resolved to it, and the method name
    whose unresolved calls also count as its calls (None for a dunder method); the
    sites of one name are `named_call_sites`, shared by every function of that name."""
    by_fn, _ = _reverse_calls(ix)
    return by_fn.get(id(fn), []), None if fn.name.startswith("__") else fn.name


def named_call_sites(ix: ProjectIndex, name: str) -> list[_CallSite]:
    """The source call sites not resolved to a project function, by their method name."""
    return _reverse_calls(ix)[1].get(name, [])


def enclosing_try_covers(fn: Function, node: ast.AST, ix: ProjectIndex | None = None) -> bool:
    """Is `node` inside the body of a try with except handlers in `fn`?

    With the index, the answer for every node of `fn` is computed once and kept in its memo
    (the question is asked for every caller of every send site).
    """
    if ix is None:
        return id(node) in _try_covered(fn)
    memo = ix.memo.setdefault("kafka_flow.try_covered", {})
    assert isinstance(memo, dict)
    covered = memo.get(id(fn.node))
    if covered is None:
        covered = memo[id(fn.node)] = _try_covered(fn)
    return id(node) in covered


def _try_covered(fn: Function) -> set[int]:
    """ids of the nodes of `fn` (not inside nested defs) in the body of a try with
    handlers: the same nodes `sites` gives with `tries`, read from the flattened tree."""
    out: set[int] = set()
    for t in scope_walk(fn.node.body, TRY_NODES):
        if isinstance(t, TRY_NODES) and t.handlers:
            out.update(map(id, scope_walk(t.body)))
    return out
