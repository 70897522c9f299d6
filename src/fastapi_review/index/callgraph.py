"""A call graph over the project index: who calls whom, and the types of receivers.

Built once per review (cached per index object) from the facts the symbol layer
already collected: resolved call targets, `self`/`cls` methods, attributes typed by
`__init__`, imported names and re-exports. On top of those it resolves what the
symbol layer leaves as text:

* factory calls (`get_service().run()`) through the factory's return annotation;
* type aliases (`ServiceDep = Annotated[Service, Depends(get_service)]`);
* module-level objects built by a call (`engine = create_engine(...)`), with the
  return types of a few well-known library factories;
* parameter/attribute annotations that are generic (`async_sessionmaker[AsyncSession]`);
* FastAPI dependencies (`Depends(fn)`, `Annotated[X, Depends(fn)]`) as edges.

Nothing here imports or runs the reviewed code.
"""

from __future__ import annotations

import ast
import keyword
from collections import deque
from collections.abc import Container, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi_review.index.nodes import (
    FUNCTION_NODES,
    NAME_OR_ATTRIBUTE,
    concrete_kinds,
    count,
    scope_walk,
    walk,
)
from fastapi_review.index.symbols import (
    OWN_STATEMENTS,
    Call,
    ClassInfo,
    Function,
    Module,
    Resolver,
    dotted,
    strip_annotation,
)

if TYPE_CHECKING:
    from fastapi_review.index.project import ProjectIndex

# what well-known library callables return (dotted name -> type name)
KNOWN_RETURNS: dict[str, str] = {
    "sqlalchemy.create_engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.create_engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine_from_config": "sqlalchemy.engine.Engine",
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.sessionmaker",
    "sqlalchemy.orm.scoped_session": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.create_async_engine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.async_sessionmaker",
    "sqlalchemy.ext.asyncio.async_scoped_session": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.engine.Engine.connect": "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.Engine.begin": "sqlalchemy.engine.Connection",
    "sqlalchemy.ext.asyncio.AsyncEngine.connect": "sqlalchemy.ext.asyncio.AsyncConnection",
    "sqlalchemy.ext.asyncio.AsyncEngine.begin": "sqlalchemy.ext.asyncio.AsyncConnection",
    "psycopg2.connect": "psycopg2.extensions.connection",
    "psycopg2.extensions.connection.cursor": "psycopg2.extensions.cursor",
    "psycopg.connect": "psycopg.Connection",
    "psycopg.Connection.cursor": "psycopg.Cursor",
    "sqlite3.connect": "sqlite3.Connection",
    "sqlite3.Connection.cursor": "sqlite3.Cursor",
    "pymysql.connect": "pymysql.connections.Connection",
    "pymysql.connections.Connection.cursor": "pymysql.cursors.Cursor",
    "redis.from_url": "redis.Redis",
    "redis.Redis.from_url": "redis.Redis",
    "redis.StrictRedis": "redis.Redis",
    "redis.asyncio.from_url": "redis.asyncio.Redis",
    "redis.asyncio.Redis.from_url": "redis.asyncio.Redis",
    "boto3.client": "boto3.client",
    "boto3.resource": "boto3.resource",
    "boto3.session.Session.client": "boto3.client",
    "boto3.Session.client": "boto3.client",
    "socket.create_connection": "socket.socket",
    "urllib3.PoolManager": "urllib3.PoolManager",
    # kafka-python: send() returns a future whose get() waits for the broker
    "kafka.KafkaProducer.send": "kafka.producer.future.FutureRecordMetadata",
}
# annotations that say nothing about the value: an assignment elsewhere knows better
_UNINFORMATIVE = frozenset({"typing.Any", "Any", "object", "builtins.object"})

# factories whose *call* yields a session
SESSION_FACTORIES: dict[str, str] = {
    "sqlalchemy.orm.sessionmaker": "sqlalchemy.orm.Session",
    "sqlalchemy.orm.session.sessionmaker": "sqlalchemy.orm.Session",
    "sqlalchemy.ext.asyncio.async_sessionmaker": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.session.async_sessionmaker": "sqlalchemy.ext.asyncio.AsyncSession",
}
_FACTORY_OWN_METHODS = {"configure", "kw", "class_", "object_session", "identity_key"}


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_ANNASSIGN_AUGASSIGN = ast.AnnAssign | ast.AugAssign


@dataclass(frozen=True)
class Edge:
    """One step of the graph: `caller` reaches `callee` at `line` of `caller`'s file."""

    caller: Function
    callee: Function
    line: int
    kind: str  # "call" | "init" | "depends"
    call: Call | None = None


_BINDING = (ast.Name, ast.Nonlocal, ast.Global)
_ATTR_OR_CALL = ast.Attribute | ast.Call  # (built once: `A | B` in a call is built anew)


def _self_attr(expr: ast.expr) -> str | None:
    """`x` of `self.x` / `cls.x`, else None."""
    if (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id in {"self", "cls"}
    ):
        return expr.attr
    return None


class CallGraph:
    """Resolved call edges between project functions, plus receiver-type resolution."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._extra_locals: dict[int, dict[str, str]] = {}  # function node id -> locals
        self._extra_attrs: dict[str, dict[str, str]] = {}
        self._resolving: set[int] = set()
        self._known_results: dict[int, str | None] = {}
        self._value_types: dict[str, str | None] = {}
        self._targets: dict[int, str | None] = {}
        self._functions: dict[str, Function | None] = {}  # by target (`function`)
        self.qualified: dict[int, str | None] = {}  # call node id -> `qualified_call`
        self._out: dict[str, list[Edge]] = {}
        self._in: dict[str, list[Edge]] = {}
        self._call_fn: dict[int, Function | None] = {}
        self._aliases: dict[tuple[str, str], tuple[Module, ast.expr] | None] = {}
        self._module_aliases: dict[str, dict[str, ast.expr]] = {}
        self._nodes: dict[int, list[ast.AST]] = {}
        self._bound: dict[int, set[str]] = {}
        self._closure_free_fns: dict[int, bool] = {}
        # results rules share within one review (e.g. the blocking-call analysis)
        self.memo: dict[str, object] = {}
        # every name a method call must end in to reach a project function: a function's,
        # a class's (its __init__), or an import's (a re-export)
        self._callable_names = index.callable_names()
        for m in index.modules.values():
            for fn in m.functions:
                self._out[fn.fqname] = []
                self._in.setdefault(fn.fqname, [])
        for m in index.modules.values():
            for fn in m.functions:
                self._build(fn)

    def own_nodes(self, fn: Function, kind: object = None) -> list[ast.AST]:
        """Every node of `fn`'s body, not descending into nested defs, classes or lambdas;
        only the nodes of `kind` if given (as in `index.nodes.walk`)."""
        if kind is not None:
            wanted = concrete_kinds(kind)
            if wanted <= _OWN_STATEMENTS:  # kept by the scanner: a filter of a short list
                if wanted.isdisjoint(fn.statement_kinds):
                    return []  # (none of them, the usual answer: found at once)
                return [n for n in fn.statements if type(n) in wanted]
            if wanted == _CALLS and not count(fn.node, ast.Lambda):
                # the scanner's calls: its body's, outside nested defs and classes (it does
                # enter lambdas, which are not here)
                return [c.node for c in fn.calls]
            return scope_walk(fn.node.body, kind, keep_scopes=False)
        key = id(fn.node)
        got = self._nodes.get(key)
        if got is None:
            got = scope_walk(fn.node.body, keep_scopes=False)
            self._nodes[key] = got
        return got

    # --- building --------------------------------------------------------------
    def _build(self, fn: Function) -> None:
        seen: set[tuple[str, int]] = set()
        resolved, names = self._call_fn, self._callable_names
        for call in fn.calls:
            node = call.node
            if call.method and call.name not in names:
                # `method_not_named`: no project function, class or re-export has that name
                resolved[id(node)] = None
                continue
            # (`resolve_call`, which no call asked for yet: each is resolved here first)
            target = resolved[id(node)] = self.function(self.target_of(fn, call))
            if target is None or (target is fn and call.offloaded):
                continue
            kind = (
                "init" if target.name == "__init__" and target.qualname != fn.qualname else "call"
            )
            self._add(Edge(fn, target, call.line, kind, call), seen)
        for dep, line in self._dependencies(fn):
            self._add(Edge(fn, dep, line, "depends"), seen)

    def _add(self, edge: Edge, seen: set[tuple[str, int]]) -> None:
        key = (edge.callee.fqname, edge.line)
        if key in seen:
            return
        seen.add(key)
        self._out.setdefault(edge.caller.fqname, []).append(edge)
        self._in.setdefault(edge.callee.fqname, []).append(edge)

    def _dependencies(self, fn: Function) -> list[tuple[Function, int]]:
        """The functions `fn`'s parameters depend on (`Depends(f)` as a default or in
        `Annotated[...]`, also through an alias), with the line, parameter by parameter."""
        module = self.index.modules.get(fn.path)
        if module is None:
            return []
        a = fn.node.args
        positional = a.posonlyargs + a.args
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(a.defaults))
        out: list[tuple[Function, int]] = []
        for arg, default in zip(
            positional + a.kwonlyargs, defaults + a.defaults + a.kw_defaults, strict=False
        ):
            ann = arg.annotation
            if type(default) is ast.Call:  # (`_depends_target` answers only a call)
                dep = self._depends_target(module, default, ann)
                if dep is not None:
                    out.append((dep, default.lineno))
            if ann is not None:
                for where, e in self._annotated_extras(module, ann):
                    dep = self._depends_target(where, e, ann)
                    if dep is not None:
                        out.append((dep, (default or arg).lineno))
        return out

    def _annotated_extras(
        self, module: Module, ann: ast.expr, depth: int = 0
    ) -> list[tuple[Module, ast.expr]]:
        """The metadata of `Annotated[X, ...]`, following a module-level alias."""
        if depth > 4:
            return []
        if isinstance(ann, ast.Subscript) and (dotted(ann.value) or "").endswith("Annotated"):
            if isinstance(ann.slice, ast.Tuple):
                return [(module, e) for e in ann.slice.elts[1:]]
            return []
        name = dotted(ann)
        if name is None:
            return []
        alias = self._alias_node(module, name)
        if alias is not None:
            m2, value = alias
            return self._annotated_extras(m2, value, depth + 1)
        return []

    def _alias_node(self, module: Module, name: str) -> tuple[Module, ast.expr] | None:
        """`X = Annotated[...]` (module-level) named `name` in `module`, following imports."""
        key = (module.path, name)
        if key not in self._aliases:
            self._aliases[key] = self._find_alias(module, name)
        return self._aliases[key]

    def _find_alias(self, module: Module, name: str) -> tuple[Module, ast.expr] | None:
        parts = name.split(".")
        if not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
            return None
        qname = ".".join([self.resolver(module).name(parts[0]), *parts[1:]])
        if qname == name and "." not in name:
            qname = f"{module.name}.{name}"
        mod, _, attr = qname.rpartition(".")
        m = self.index.by_name.get(mod)
        for _ in range(5):
            if m is None:
                return None
            if attr in m.imports and m.imports[attr] != f"{m.name}.{attr}":
                mod, _, attr = m.imports[attr].rpartition(".")
                m = self.index.by_name.get(mod)
                continue
            break
        if m is None:
            return None
        value = self._subscript_assigns(m).get(attr)
        return (m, value) if value is not None else None

    def _alias_names(self) -> set[str]:
        """Every name a module assigns a subscript at its top level (`X = Annotated[...]`),
        made once: a name not imported there is such an alias only if it is one of them
        (`_find_alias` reads it from the module's own assignments)."""
        got = self.memo.get("alias_names")
        if not isinstance(got, set):
            names: set[str] = set()
            for m in self.index.modules.values():
                names.update(self._subscript_assigns(m))
            got = self.memo["alias_names"] = names
        return got

    def _subscript_assigns(self, m: Module) -> dict[str, ast.expr]:
        """Module-level names first assigned a subscript (`X = Annotated[...]`), once per
        module: the first such assignment of each name."""
        got = self._module_aliases.get(m.path)
        if got is None:
            got = self._module_aliases[m.path] = {}
            for stmt in m.tree.body:
                if isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Subscript):
                    for t in stmt.targets:
                        if isinstance(t, ast.Name):
                            got.setdefault(t.id, stmt.value)
                elif (
                    isinstance(stmt, ast.AnnAssign)
                    and isinstance(stmt.target, ast.Name)
                    and isinstance(stmt.value, ast.Subscript)
                ):
                    got.setdefault(stmt.target.id, stmt.value)
        return got

    def _depends_target(
        self, module: Module, expr: ast.expr, ann: ast.expr | None
    ) -> Function | None:
        if not isinstance(expr, ast.Call):
            return None
        name = (dotted(expr.func) or "").rsplit(".", 1)[-1]
        if name not in {"Depends", "Security"}:
            return None
        dep_expr = expr.args[0] if expr.args else None
        if dep_expr is None:
            dep_expr = next((k.value for k in expr.keywords if k.arg == "dependency"), None)
        if dep_expr is None and ann is not None:
            t = self.resolver(module).annotation_type(ann)
            return self.index.function(t) if t else None
        if dep_expr is None:
            return None
        target = self.resolver(module).dotted(dep_expr)
        return self.index.function(target) if target else None

    # --- resolution --------------------------------------------------------------
    def resolver(self, module: Module) -> Resolver:
        return self.index.resolver(module)

    def extra_locals(self, fn: Function) -> dict[str, str]:
        """Types of names annotated with a generic (`f: async_sessionmaker[S] = ...`)."""
        got = self._extra_locals.get(id(fn.node))
        if got is not None:
            return got
        out: dict[str, str] = {}
        module = self.index.modules.get(fn.path)
        if module is not None:
            r = self.resolver(module)
            node = fn.node
            for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
                if arg.annotation is not None:
                    t = _generic_base(r, arg.annotation)
                    if t:
                        out[arg.arg] = t
            for sub in self.own_nodes(fn, ast.AnnAssign):
                if isinstance(sub, ast.AnnAssign) and isinstance(sub.target, ast.Name):
                    t = _generic_base(r, sub.annotation)
                    if t:
                        out[sub.target.id] = t
        self._extra_locals[id(fn.node)] = out
        return out

    def callable_return(self, fn: Function, func: ast.expr) -> str | None:
        """The type `func()` returns when `func` is annotated `Callable[..., R]`: a parameter
        or annotated local of `fn`, or `self.attr` declared so or set from such a parameter."""
        module = self.index.modules.get(fn.path)
        if module is None:
            return None
        ann: ast.expr | None = None
        if isinstance(func, ast.Name):
            ann = _annotation_of(fn.node, func.id)
        elif isinstance(func, ast.Attribute) and _is_self_attr(func):
            cls = self._class_of(fn)
            if cls is None:
                return None
            module = self.index.modules.get(cls.path) or module
            ann = _attr_annotation(cls, func.attr)
        if ann is None:
            return None
        return _callable_result(self.resolver(module), ann)

    def attr_type(self, cls: ClassInfo, attr: str, depth: int = 0) -> str | None:
        """The type of `self.attr` in `cls` (or a project base class)."""
        if depth > 5:
            return None
        t = cls.attr_types.get(attr)
        if t and t not in _UNINFORMATIVE:
            return t
        extra = self._extra_attrs.get(cls.fqname)
        if extra is None:
            self._extra_attrs[cls.fqname] = {}  # in progress: a cycle finds nothing
            extra = self._scan_attrs(cls)
            self._extra_attrs[cls.fqname] = extra
        if attr in extra:
            return extra[attr]
        for base in cls.bases:
            parent = self.index.class_(base)
            if parent is not None and parent is not cls:
                t = self.attr_type(parent, attr, depth + 1)
                if t:
                    return t
        return None

    def _scan_attrs(self, cls: ClassInfo) -> dict[str, str]:
        out: dict[str, str] = {}
        module = self.index.modules.get(cls.path)
        if module is None:
            return out
        r = self.resolver(module)
        for stmt in cls.node.body:
            if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                t = _generic_base(r, stmt.annotation)
                if t:
                    out[stmt.target.id] = t
        for meth in cls.methods.values():
            params = self.extra_locals(meth)
            for sub in walk(meth.node):
                if isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                    tgt, val = sub.targets[0], sub.value
                elif isinstance(sub, ast.AnnAssign) and sub.value is not None:
                    tgt, val = sub.target, sub.value
                    if _is_self_attr(tgt):
                        t = _generic_base(r, sub.annotation)
                        if t and isinstance(tgt, ast.Attribute):
                            out.setdefault(tgt.attr, t)
                            continue
                else:
                    continue
                if not (_is_self_attr(tgt) and isinstance(tgt, ast.Attribute)):
                    continue
                if isinstance(val, ast.Name) and val.id in params:
                    out.setdefault(tgt.attr, params[val.id])
                elif isinstance(val, ast.Call):
                    callee = r.callee(val.func, meth, cls)
                    if callee:
                        t2 = self.value_type(f"{callee}()")
                        if t2:
                            out.setdefault(tgt.attr, t2)
        return out

    def target_of(self, fn: Function, call: Call) -> str | None:
        """The call's dotted target with bare local names typed by generic annotations
        (worked out once per call site)."""
        key = id(call.node)
        if key in self._targets:
            return self._targets[key]
        got = self._target_of(fn, call)
        self._targets[key] = got
        return got

    def _target_of(self, fn: Function, call: Call) -> str | None:
        target = call.target
        if target is None:
            return None
        head, sep, rest = target.partition(".")
        module = self.index.modules.get(fn.path)
        if (
            sep
            and module is not None
            and head not in self.index.by_name
            and head not in module.imports
            and (head in self._alias_names() or self.index.by_name.get(module.name) is not module)
            and self._alias_node(module, head) is not None
        ):
            # a module-level alias used as a type: `ServiceDep = Annotated[Service, ...]`
            return f"{module.name}.{target}"
        func = call.node.func
        value = func.value if type(func) is ast.Attribute else None
        if type(value) is ast.Call or (
            type(value) is ast.Name and fn.local_types.get(value.id, "").endswith("()")
        ):  # (the shapes `_known_result_target` reads: most calls are neither)
            known = self._known_result_target(fn, call)
            if known is not None:
                return known
        base = func.value if isinstance(func, ast.Attribute) else func
        while isinstance(base, _ATTR_OR_CALL):
            base = base.value if isinstance(base, ast.Attribute) else base.func
        if isinstance(base, ast.Name) and base.id == head and head not in fn.local_types:
            outer = self._closure_target(fn, head)
            if outer:
                return f"{outer}{sep}{rest}"
            extra = self.extra_locals(fn)
            if head in extra:
                return f"{extra[head]}{sep}{rest}"
        # self.attr.method where the symbol layer did not know attr's type
        attr = _self_attr(func.value) if fn.class_name and isinstance(func, ast.Attribute) else None
        if attr is not None and isinstance(func, ast.Attribute):
            cls = self._class_of(fn)
            if cls is not None and (cls.attr_types.get(attr) or "typing.Any") in _UNINFORMATIVE:
                t = self.attr_type(cls, attr)
                if t:
                    return f"{t}.{func.attr}"
        if (
            fn.class_name
            and target.startswith(("self.", "cls."))
            and isinstance(func, ast.Attribute)
        ):
            # self.repo.session.commit: follow the attribute types through project classes
            t = self._attr_chain_type(fn, func.value)
            if t:
                return f"{t}.{func.attr}"
        if (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Attribute)
            and isinstance(base, ast.Name)
            and base.id in fn.local_types  # (else `_local_chain_type` finds nothing)
            and self.index.function(target) is None
        ):
            # service.repo.list_all() where `service` is a local of a project class type
            t = self._local_chain_type(fn, func.value)
            if t:
                return f"{t}.{func.attr}"
        # self.attr()(...): typed from the attribute
        attr = _self_attr(func.func) if fn.class_name and isinstance(func, ast.Call) else None
        if attr is not None:
            cls = self._class_of(fn)
            if cls is not None:
                t = self.attr_type(cls, attr)
                if t:
                    return f"{t}()"
        return target

    def _known_result_target(self, fn: Function, call: Call) -> str | None:
        """`fut = producer.send(...); fut.get()` and `producer.send(...).get()`: the method
        of a library call's known result type (KNOWN_RETURNS), whatever the symbol layer
        guessed for the receiver."""
        func = call.node.func
        if not isinstance(func, ast.Attribute) or not (
            isinstance(func.value, ast.Call)
            or (
                isinstance(func.value, ast.Name)
                and fn.local_types.get(func.value.id, "").endswith("()")
            )
        ):
            return None  # neither `call(...).m()` nor `result.m()`: no known result
        key = id(call.node)
        if key in self._known_results:
            return self._known_results[key]
        if key in self._resolving:
            return None
        self._resolving.add(key)
        try:
            found = self._known_result(fn, call)
        finally:
            self._resolving.discard(key)
        self._known_results[key] = found
        return found

    def _known_result(self, fn: Function, call: Call) -> str | None:
        func = call.node.func
        if not isinstance(func, ast.Attribute):
            return None
        inner: ast.expr | None = None
        if isinstance(func.value, ast.Call):
            inner = func.value
        elif isinstance(func.value, ast.Name) and fn.local_types.get(func.value.id, "").endswith(
            "()"
        ):
            inner = _assigned_call(self.own_nodes(fn, _ASSIGNS), func.value.id)
        if inner is None:
            return None
        source = fn.call_at(inner)
        if source is None:
            return None
        ret = KNOWN_RETURNS.get(qualified_call(self, fn, source) or "")
        return f"{ret}.{func.attr}" if ret else None

    def bound_names(self, fn: Function) -> set[str]:
        """Names `fn` binds itself: parameters, assignment targets, nested defs (computed once)."""
        got = self._bound.get(id(fn.node))
        if got is None:
            got = self._bound_names(fn)
            self._bound[id(fn.node)] = got
        return got

    def _bound_names(self, fn: Function) -> set[str]:
        args = fn.node.args
        out = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        out |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
        declared: set[str] = set()  # `global x` / `nonlocal x`: bound elsewhere
        for sub in scope_walk(fn.node.body, _BINDING, keep_scopes=False):
            if isinstance(sub, ast.Name):
                if isinstance(sub.ctx, ast.Store):
                    out.add(sub.id)
            else:
                declared.update(sub.names)
        module = self.index.modules.get(fn.path)
        if module is not None:
            out.update(d.name for d in module.nested_defs(fn.node))
        return out - declared

    def _closure_free(self, fn: Function) -> bool:
        """`fn` is not inside another function and holds no def: no free name of it can
        mean anything of an enclosing or nested function (worked out once per function)."""
        key = id(fn.node)
        got = self._closure_free_fns.get(key)
        if got is None:
            depth = fn.qualname.count(".")
            module = self.index.modules.get(fn.path)
            got = self._closure_free_fns[key] = (
                (depth == 0 or (depth == 1 and fn.class_name is not None))
                and module is not None
                and not module.nested_defs(fn.node)
            )
        return got

    def _closure_target(self, fn: Function, name: str) -> str | None:
        """What a free name of a nested function means in an enclosing function.

        `consumer` created in `start()` and polled in `start.loop()` is typed by `start`'s
        locals; `loop` called by bare name from a sibling is `start.loop`.
        """
        if self._closure_free(fn):
            return None
        own = self.index.functions.get(f"{fn.fqname}.{name}")
        if own is not None:
            return own.fqname  # a def nested in `fn` itself
        if name in self.bound_names(fn):
            return None
        qual = fn.qualname
        while "." in qual:
            qual = qual.rsplit(".", 1)[0]
            outer = self.index.functions.get(f"{fn.module}.{qual}")
            if outer is None:
                return None  # a method: the class body is not a closure scope
            if name in outer.local_types:
                return outer.local_types[name]
            nested = self.index.functions.get(f"{outer.fqname}.{name}")
            if nested is not None:
                return nested.fqname
            if name in self.bound_names(outer):
                return None
        return None

    def _local_chain_type(self, fn: Function, expr: ast.expr) -> str | None:
        """The type of `x.a.b...` where local `x` has a project class type."""
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name) or expr.id in {"self", "cls"}:
            return None
        cls = self.index.class_(fn.local_types.get(expr.id, ""))
        t: str | None = None
        for attr in reversed(attrs):
            if cls is None:
                return None
            t = self.attr_type(cls, attr)
            if not t:
                return None
            cls = self.index.class_(t)
        return t

    def _attr_chain_type(self, fn: Function, expr: ast.expr) -> str | None:
        """The type of `self.a.b...` (two or more attributes), through project classes."""
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.append(expr.attr)
            expr = expr.value
        if not (isinstance(expr, ast.Name) and expr.id in {"self", "cls"}) or len(attrs) < 2:
            return None
        cls = self._class_of(fn)
        t: str | None = None
        for attr in reversed(attrs):
            if cls is None:
                return None
            t = self.attr_type(cls, attr)
            if not t:
                return None
            cls = self.index.class_(t)
        return t

    def _class_of(self, fn: Function) -> ClassInfo | None:
        if not fn.class_name:
            return None
        return self.index.classes.get(fn.fqname.rsplit(".", 1)[0])

    def resolve_call(self, fn: Function, call: Call) -> Function | None:
        """The project function a call runs, or None (library call, unknown)."""
        key = id(call.node)
        if key in self._call_fn:
            return self._call_fn[key]
        if call.method and call.name not in self._callable_names:
            # (`method_not_named`) no project function, class or re-export has that name
            self._call_fn[key] = None
            return None
        target = self.target_of(fn, call)
        hit = self.function(target)
        self._call_fn[key] = hit
        return hit

    def function(self, target: str | None) -> Function | None:
        """The project function a resolved target names (or a method of its head's type),
        worked out once per target: 43,000 calls share about 5,000 targets in a large
        project. (`value_type` keeps its answers, so a later answer is the same.)"""
        if not target:
            return None
        functions = self._functions
        if target in functions:
            return functions[target]
        got = functions[target] = self._function(target)
        return got

    def _function(self, target: str) -> Function | None:
        hit = self.index.function(target)
        if hit is not None:
            return hit
        head, _, attr = target.rpartition(".")
        if not head or attr not in self._callable_names:
            return None  # (`x.f()`: its result's type is not worked out either)
        t = self.value_type(head)
        if t and t != head:
            return self.index.function(f"{t}.{attr}")
        return None

    def value_type(self, expr: str, depth: int = 0) -> str | None:
        """The type of a dotted expression text (`mod.get_x()`, `mod.Cls.attr`, `mod.alias`)."""
        if depth == 0:  # a top-level answer depends on the text only: kept
            if expr in self._value_types:
                return self._value_types[expr]
            got = self._value_type(expr, 0)
            self._value_types[expr] = got
            return got
        return self._value_type(expr, depth)

    def _value_type(self, expr: str, depth: int) -> str | None:
        if depth > 8 or not expr:
            return None
        if expr.endswith("()"):
            inner = expr[:-2]
            known = KNOWN_RETURNS.get(inner)
            if known:
                return known
            found = self.index.lookup(inner)
            if isinstance(found, ClassInfo):
                return found.fqname
            if isinstance(found, Function):
                return self.return_type(found)
            inner_t = self.value_type(inner, depth + 1)
            if inner_t in SESSION_FACTORIES:
                return SESSION_FACTORIES[inner_t]
            head, _, meth = inner.rpartition(".")
            if head:
                ht = self.value_type(head, depth + 1)
                if ht:
                    r = KNOWN_RETURNS.get(f"{ht}.{meth}")
                    if r:
                        return r
                    f2 = self.index.function(f"{ht}.{meth}")
                    if f2 is not None:
                        return self.return_type(f2)
            last = inner.rsplit(".", 1)[-1]
            if last[:1].isupper() and "()" not in inner:
                return inner  # an external class: the instance's type is the class
            return None
        found = self.index.lookup(expr)
        if isinstance(found, ClassInfo):
            return found.fqname
        mod, _, attr = expr.rpartition(".")
        m = self.index.by_name.get(mod)
        if m is not None:
            if attr in m.assigned_calls:
                callee = self.resolver(m).dotted(
                    ast.parse(m.assigned_calls[attr], mode="eval").body
                )
                if callee:
                    return self.value_type(f"{callee}()", depth + 1)
            if attr in m.imports and m.imports[attr] != expr:
                return self.value_type(m.imports[attr], depth + 1)
            alias = self._alias_node(m, attr)
            if alias is not None:
                m2, node = alias
                t = self.resolver(m2).annotation_type(node)
                if t and t != expr:
                    return self.value_type(t, depth + 1) or t
            return None
        cls = self.index.class_(mod)
        if cls is not None:
            t = self.attr_type(cls, attr)
            if t:
                return self.value_type(t, depth + 1) or t
            return None
        if m is None and mod:
            ht = self.value_type(mod, depth + 1)
            if ht and ht != mod:
                c2 = self.index.class_(ht)
                if c2 is not None:
                    return self.attr_type(c2, attr)
        if "." in expr and expr.split(".", 1)[0] not in self.index.by_name:
            # an external dotted name (a library class used as a type)
            last = expr.rsplit(".", 1)[-1]
            if last[:1].isupper():
                return expr
        return None

    def return_type(self, fn: Function) -> str | None:
        node = fn.node
        if node.returns is None:
            return None
        module = self.index.modules.get(fn.path)
        if module is None:
            return None
        r = self.resolver(module)
        ann = node.returns
        if isinstance(ann, ast.Subscript):
            outer = (dotted(ann.value) or "").rsplit(".", 1)[-1]
            if outer in {"Iterator", "AsyncIterator", "Generator", "AsyncGenerator"}:
                inner = ann.slice.elts[0] if isinstance(ann.slice, ast.Tuple) else ann.slice
                return r.annotation_type(inner) or _generic_base(r, inner)
        return r.annotation_type(ann) or _generic_base(r, ann)

    # --- queries -----------------------------------------------------------------
    def callees(self, fn: Function) -> list[Edge]:
        return list(self._out.get(fn.fqname, []))

    def callers(self, fn: Function) -> list[Edge]:
        return list(self._in.get(fn.fqname, []))

    def reachable_from(
        self,
        fn: Function,
        *,
        kinds: frozenset[str] = frozenset({"call", "init", "depends"}),
        max_depth: int = 12,
        through_async: bool = True,
    ) -> dict[str, list[Edge]]:
        """Every function reachable from `fn` with the (shortest) path of edges to it.

        `through_async=False` stops at async callees (their body runs as its own
        coroutine only when awaited; blocking analysis treats each as a root).
        """
        paths: dict[str, list[Edge]] = {fn.fqname: []}
        queue: deque[Function] = deque([fn])
        while queue:
            cur = queue.popleft()
            path = paths[cur.fqname]
            if len(path) >= max_depth:
                continue
            for e in self._out.get(cur.fqname, []):
                if e.kind not in kinds or e.callee.fqname in paths:
                    continue
                if e.call is not None and e.call.offloaded:
                    continue
                if not through_async and e.callee.is_async:
                    continue
                paths[e.callee.fqname] = [*path, e]
                queue.append(e.callee)
        return paths


def _is_self_attr(expr: ast.expr) -> bool:
    return (
        isinstance(expr, ast.Attribute)
        and isinstance(expr.value, ast.Name)
        and expr.value.id == "self"
    )


_ASSIGNS = (ast.Assign, ast.AnnAssign, ast.AugAssign)
_OWN_STATEMENTS = concrete_kinds(OWN_STATEMENTS)
_CALLS = concrete_kinds(ast.Call)


def _assigned_call(nodes: Iterable[ast.AST], name: str) -> ast.Call | None:
    """The call assigned to local `name` when exactly one assignment binds it."""
    found: list[ast.expr] = []
    for sub in nodes:
        if isinstance(sub, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in sub.targets
        ):
            found.append(sub.value)
        elif (
            isinstance(sub, _ANNASSIGN_AUGASSIGN)
            and isinstance(sub.target, ast.Name)
            and sub.target.id == name
        ):
            return None
    if len(found) != 1:
        return None
    value = found[0]
    return value if isinstance(value, ast.Call) else None


def _annotation_of(node: ast.AST, name: str) -> ast.expr | None:
    """The annotation of parameter or annotated local `name` of a function node."""
    if not isinstance(node, FUNCTION_NODES):
        return None
    args = node.args
    for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]:
        if a.arg == name:
            return a.annotation
    for sub in walk(node, ast.AnnAssign):
        if (
            isinstance(sub, ast.AnnAssign)
            and isinstance(sub.target, ast.Name)
            and sub.target.id == name
        ):
            return sub.annotation
    return None


def _attr_annotation(cls: ClassInfo, attr: str) -> ast.expr | None:
    """`attr: T` in the class body, `self.attr: T = ...`, or `self.attr = param` (also
    `param or default`) where the method's parameter is annotated."""
    for stmt in cls.node.body:
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.target.id == attr
        ):
            return stmt.annotation
    for meth in cls.methods.values():
        for sub in walk(meth.node, (ast.AnnAssign, ast.Assign)):
            if isinstance(sub, ast.AnnAssign) and _is_self_attr(sub.target):
                if isinstance(sub.target, ast.Attribute) and sub.target.attr == attr:
                    return sub.annotation
            elif isinstance(sub, ast.Assign) and len(sub.targets) == 1:
                tgt = sub.targets[0]
                if not (_is_self_attr(tgt) and isinstance(tgt, ast.Attribute)):
                    continue
                if tgt.attr != attr:
                    continue
                val = sub.value
                if isinstance(val, ast.BoolOp) and val.values:
                    val = val.values[0]
                if isinstance(val, ast.Name):
                    ann = _annotation_of(meth.node, val.id)
                    if ann is not None:
                        return ann
    return None


def _callable_result(r: Resolver, ann: ast.expr) -> str | None:
    """`Callable[[...], R]` (also optional, or in quotes) -> the resolved type of R."""
    bare = strip_annotation(ann)
    if not isinstance(bare, ast.Subscript):
        return None
    outer = (dotted(bare.value) or "").rsplit(".", 1)[-1]
    if outer != "Callable" or not isinstance(bare.slice, ast.Tuple) or len(bare.slice.elts) != 2:
        return None
    return r.annotation_type(bare.slice.elts[1])


def _generic_base(r: Resolver, ann: ast.expr) -> str | None:
    """`async_sessionmaker[AsyncSession]` -> the resolved base name; None otherwise."""
    if isinstance(ann, NAME_OR_ATTRIBUTE):
        return None  # a plain name: nothing to strip, no subscript
    bare = strip_annotation(ann)
    return r.dotted(bare.value) if isinstance(bare, ast.Subscript) else None


def method_not_named(func: ast.expr, names: Container[str]) -> bool:
    """`x.attr(...)` with `attr` not among `names`: such a call cannot resolve to a name
    whose last part is one of them, because every way a method call resolves (the symbol
    layer, `target_of`, `qualified_call`) keeps `attr` as the last name. A bare name is
    never ruled out: an import alias or a local's type can rename it."""
    return isinstance(func, ast.Attribute) and func.attr not in names


def call_graph(index: ProjectIndex) -> CallGraph:
    """The call graph of `index`, built on first use and kept with the index."""
    return index.once("call_graph", lambda: CallGraph(index))


# library type names that mean the same class, mapped to one spelling
TYPE_SPELLINGS: dict[str, str] = {
    "sqlalchemy.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlmodel.Session": "sqlalchemy.orm.Session",
    "sqlmodel.orm.session.Session": "sqlalchemy.orm.Session",
    "sqlalchemy.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.engine.base.Engine": "sqlalchemy.engine.Engine",
    "sqlalchemy.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.engine.base.Connection": "sqlalchemy.engine.Connection",
    "sqlalchemy.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlmodel.ext.asyncio.session.AsyncSession": "sqlalchemy.ext.asyncio.AsyncSession",
    "sqlalchemy.ext.asyncio.engine.AsyncEngine": "sqlalchemy.ext.asyncio.AsyncEngine",
    "sqlalchemy.ext.asyncio.engine.AsyncConnection": "sqlalchemy.ext.asyncio.AsyncConnection",
    "requests.sessions.Session": "requests.Session",
    "httpx._client.Client": "httpx.Client",
    "httpx._client.AsyncClient": "httpx.AsyncClient",
    "kafka.producer.KafkaProducer": "kafka.KafkaProducer",
    "kafka.consumer.KafkaConsumer": "kafka.KafkaConsumer",
    "confluent_kafka.SerializingProducer": "confluent_kafka.Producer",
    "confluent_kafka.DeserializingConsumer": "confluent_kafka.Consumer",
    "redis.StrictRedis": "redis.Redis",
    "redis.client.Redis": "redis.Redis",
    "pathlib.PosixPath": "pathlib.Path",
    "pathlib.WindowsPath": "pathlib.Path",
    "aiokafka.producer.AIOKafkaProducer": "aiokafka.AIOKafkaProducer",
    "aiokafka.consumer.AIOKafkaConsumer": "aiokafka.AIOKafkaConsumer",
}


def spelled(type_name: str) -> str:
    return TYPE_SPELLINGS.get(type_name, type_name)


def qualified_call(graph: CallGraph, fn: Function, call: Call) -> str | None:
    """The call as `Type.method` (receiver type resolved) or a plain dotted function name
    (worked out once per call site)."""
    key = id(call.node)
    if key in graph.qualified:
        return graph.qualified[key]
    got = graph.qualified[key] = _qualified_call(graph, fn, call)
    return got


def _qualified_call(graph: CallGraph, fn: Function, call: Call) -> str | None:
    target = graph.target_of(fn, call)
    if target is None:
        return None
    head, _, meth = target.rpartition(".")
    if not head:
        return target
    t = graph.value_type(head)
    if t in SESSION_FACTORIES and meth not in _FACTORY_OWN_METHODS:
        # `SessionLocal()` is typed as the factory by the symbol layer: it is a session
        t = SESSION_FACTORIES[t]
    if t and t != head:
        return f"{spelled(t)}.{meth}"
    if head.endswith("()"):
        return None
    return f"{spelled(head)}.{meth}"


_INTERFACE_BASES = {"Protocol", "ABC", "ABCMeta"}


def is_stub(fn: Function) -> bool:
    """A body with nothing to run: docstring, `...`, `pass`, `raise NotImplementedError`."""
    for stmt in fn.node.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # docstring or `...`
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if dotted(exc) == "NotImplementedError":
                continue
        return False
    return True


def implementations(index: ProjectIndex, method: Function) -> list[Function]:
    """The project methods a call to an interface stub dispatches to.

    `method` must be a stub of a Protocol / ABC class (or an `@abstractmethod`). The
    candidates are the same-named, non-stub methods of its project subclasses and, for a
    Protocol, of every project class that defines all the Protocol's methods (structural
    typing). Nothing when `method` has a body of its own.
    """
    if not method.class_name or not is_stub(method):
        return []
    cls = index.classes.get(method.fqname.rsplit(".", 1)[0])
    if cls is None:
        return []
    last = {b.rsplit(".", 1)[-1] for b in cls.bases}
    abstract = any((dotted(d) or "").endswith("abstractmethod") for d in method.node.decorator_list)
    protocol = "Protocol" in last
    if not (last & _INTERFACE_BASES or abstract):
        return []
    wanted = {n for n in cls.methods if not n.startswith("__")}
    out: list[Function] = []
    subclasses = {c.fqname for c in index.subclasses_of(cls.fqname)}
    for other in index.classes.values():
        if other is cls or index.modules[other.path].is_test:
            continue
        impl = other.methods.get(method.name)
        if impl is None or is_stub(impl):
            continue
        if other.fqname in subclasses or (protocol and wanted <= set(other.methods)):
            out.append(impl)
    return sorted(out, key=lambda f: f.fqname)
