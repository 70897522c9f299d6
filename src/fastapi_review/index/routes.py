"""FastAPI apps, routers and routes with their full paths."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fastapi_review.index.nodes import ASSIGN_NODES
from fastapi_review.index.symbols import Function, Module, dotted, unparse

if TYPE_CHECKING:
    from fastapi_review.index.project import ProjectIndex

HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
_STATUS_NAME = re.compile(r"HTTP_(\d{3})_")


@dataclass
class Router:
    qname: str  # module.var
    path: str
    line: int
    prefix: str
    is_app: bool = False
    # (parent router/app qname, include prefix)
    included_in: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class App:
    qname: str
    path: str
    line: int
    node: ast.Call


@dataclass
class Param:
    name: str
    annotation: str
    default: str
    kind: str  # "path", "query", "body", "depends", "request", "other"


@dataclass
class Route:
    method: str
    path: str  # full path, prefixes resolved
    local_path: str
    router: str
    function: Function
    file: str
    line: int  # line of the decorator
    status_code: int | None = None
    response_model: str | None = None
    return_annotation: str | None = None
    params: list[Param] = field(default_factory=list)
    decorator: ast.Call | None = None
    attached: bool = True

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def status_value(expr: ast.expr | None) -> int | None:
    if expr is None:
        return None
    if isinstance(expr, ast.Constant) and isinstance(expr.value, int):
        return expr.value
    text = dotted(expr) or ""
    m = _STATUS_NAME.search(text)
    if m:
        return int(m.group(1))
    if text.endswith(("CREATED",)):
        return 201
    if text.endswith("NO_CONTENT"):
        return 204
    return None


def _module_level_calls(m: Module) -> list[tuple[str, ast.Call, int]]:
    out: list[tuple[str, ast.Call, int]] = []
    for node in m.nodes(ast.Assign, ast.AnnAssign):
        if isinstance(node, ASSIGN_NODES) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for t in targets:
                if isinstance(t, ast.Name):
                    out.append((t.id, node.value, node.lineno))
    return out


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _param_kind(
    arg: ast.arg, ann: str, default: ast.expr | None, path_params: set[str]
) -> tuple[str, str]:
    """How FastAPI fills a parameter (`ann`: its annotation as text), with its default's text."""
    dtext = unparse(default) if default is not None else ""
    blob = f"{ann} {dtext}"
    if "Depends(" in blob or "Security(" in blob:
        return "depends", dtext
    if arg.arg in path_params:
        return "path", dtext
    if re.search(r"\bRequest\b", ann) and "Body" not in blob:
        return "request", dtext
    if "Body(" in blob:
        return "body", dtext
    if "Query(" in blob or "Header(" in blob or "Cookie(" in blob:
        return "query", dtext
    if re.search(r"\b(BackgroundTasks|Response|WebSocket|AsyncSession|Session)\b", ann):
        return "other", dtext
    base = re.sub(r"\s*\|\s*None|Optional\[|\]", "", ann).strip()
    if base in {
        "int",
        "str",
        "float",
        "bool",
        "UUID",
        "uuid.UUID",
        "date",
        "datetime",
        "Decimal",
    } or (not ann and default is not None):
        return "query", dtext
    if base in {"dict", "Dict", "dict[str, Any]", "Any", "list", "List"} or base.startswith(
        ("dict[", "Dict[")
    ):
        return "body", dtext
    return ("body", dtext) if ann else ("query", dtext)


_APP_CLASSES = frozenset({"FastAPI", "APIRouter"})


def collect(index: ProjectIndex) -> None:
    routers: dict[str, Router] = {}
    for m in index.source_modules:
        if not index.mentions(m, "fastapi", "apirouter"):
            continue  # a name that resolves to `...FastAPI`/`...APIRouter` is spelled here
        r = index.resolver(m)
        for var, call, line in _module_level_calls(m):
            func = call.func
            if isinstance(func, ast.Attribute):
                named = func.attr  # a method call keeps its last name
            elif isinstance(func, ast.Name):
                named = m.imports.get(func.id, func.id).rpartition(".")[2]
            else:
                continue  # no dotted name: no class
            if named not in _APP_CLASSES:
                continue
            target = r.dotted(func) or ""
            last = target.rsplit(".", 1)[-1]
            qname = f"{m.name}.{var}"
            if last == "FastAPI":
                routers[qname] = Router(qname, m.path, line, "", is_app=True)
                index.apps.append(App(qname, m.path, line, call))
            elif last == "APIRouter":
                prefix = index.string_value(m, _kw(call, "prefix")) or ""
                routers[qname] = Router(qname, m.path, line, prefix)
        # app factories: `def create_app(): app = FastAPI(); ...; return app`
        for fn in m.functions:
            for c in fn.calls:
                t = c.target  # its last name is FastAPI
                if t is not None and (t == "FastAPI" or t.endswith(".FastAPI")):
                    qname = f"{m.name}.{fn.qualname}.<app>"
                    if qname not in routers:
                        routers[qname] = Router(qname, m.path, c.line, "", is_app=True)
                        index.apps.append(App(qname, m.path, c.line, c.node))
    index.routers = list(routers.values())

    def resolve_router(m: Module, expr: ast.expr, fn: Function | None) -> str | None:
        text = index.resolver(m).dotted(expr)
        if text is None:
            return None
        if text in routers:
            return text
        # module alias: `orders.router` where orders -> pkg.orders
        mod, _, var = text.rpartition(".")
        target = index.by_name.get(mod)
        if target is not None:
            q = f"{target.name}.{var}"
            if q in routers:
                return q
            if var in target.imports and target.imports[var] in routers:
                return target.imports[var]
        # re-export through a package
        hit = _follow_import(index, text)
        if hit in routers:
            return hit
        if fn is not None and isinstance(expr, ast.Name):
            # local app inside a factory
            q = f"{m.name}.{fn.qualname}.<app>"
            if q in routers:
                return q
        return None

    # include_router edges
    for m in index.source_modules:
        if not index.mentions(m, "include_router"):
            continue
        for fn_or_none, call in _all_calls(m):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "include_router"):
                continue
            parent = resolve_router(m, call.func.value, fn_or_none)
            if parent is None or not call.args:
                continue
            child = resolve_router(m, call.args[0], fn_or_none)
            if child is None:
                continue
            prefix = index.string_value(m, _kw(call, "prefix")) or ""
            routers[child].included_in.append((parent, prefix))

    def full_prefixes(qname: str, seen: frozenset[str] = frozenset()) -> list[tuple[str, bool]]:
        router = routers[qname]
        if router.is_app:
            return [("", True)]
        if not router.included_in or qname in seen:
            return [(router.prefix, False)]
        out: list[tuple[str, bool]] = []
        for parent, inc_prefix in router.included_in:
            for pre, attached in full_prefixes(parent, seen | {qname}):
                out.append((pre + inc_prefix + router.prefix, attached))
        return out

    for m in index.source_modules:
        for fn in m.functions:
            for dec in fn.node.decorator_list:
                if not (isinstance(dec, ast.Call) and isinstance(dec.func, ast.Attribute)):
                    continue
                verb = dec.func.attr
                methods: list[str]
                if verb in HTTP_METHODS:
                    methods = [verb.upper()]
                elif verb == "api_route":
                    mexpr = _kw(dec, "methods")
                    methods = [
                        str(e.value).upper()
                        for e in getattr(mexpr, "elts", [])
                        if isinstance(e, ast.Constant)
                    ] or ["GET"]
                else:
                    continue
                router_q = resolve_router(m, dec.func.value, None)
                if router_q is None:
                    continue
                path_expr = dec.args[0] if dec.args else _kw(dec, "path")
                local = index.string_value(m, path_expr) if path_expr is not None else ""
                if local is None:
                    local = "<dynamic>"
                for method in methods:
                    for pre, attached in full_prefixes(router_q):
                        index.routes.append(
                            _make_route(method, pre + local, local, router_q, fn, m, dec, attached)
                        )


def _make_route(
    method: str,
    full: str,
    local: str,
    router: str,
    fn: Function,
    m: Module,
    dec: ast.Call,
    attached: bool,
) -> Route:
    path_params = set(re.findall(r"\{(\w+)(?::\w+)?\}", full))
    node = fn.node
    args = [*node.args.posonlyargs, *node.args.args]
    defaults: list[ast.expr | None] = [None] * (len(args) - len(node.args.defaults)) + list(
        node.args.defaults
    )
    params: list[Param] = []
    for arg, default in [
        *zip(args, defaults, strict=True),
        *zip(node.args.kwonlyargs, node.args.kw_defaults, strict=True),
    ]:
        if arg.arg in {"self", "cls"}:
            continue
        ann = unparse(arg.annotation) if arg.annotation is not None else ""
        kind, dtext = _param_kind(arg, ann, default, path_params)
        params.append(Param(arg.arg, ann, dtext, kind))
    rm = _kw(dec, "response_model")
    return Route(
        method=method,
        path=full or "/",
        local_path=local,
        router=router,
        function=fn,
        file=m.path,
        line=dec.lineno,
        status_code=status_value(_kw(dec, "status_code")),
        response_model=unparse(rm) if rm is not None else None,
        return_annotation=unparse(node.returns) if node.returns is not None else None,
        params=params,
        decorator=dec,
        attached=attached,
    )


def _follow_import(index: ProjectIndex, qname: str, depth: int = 0) -> str:
    if depth > 5:
        return qname
    mod, _, attr = qname.rpartition(".")
    m = index.by_name.get(mod)
    if m is not None and attr in m.imports and m.imports[attr] != qname:
        return _follow_import(index, m.imports[attr], depth + 1)
    return qname


def _all_calls(m: Module) -> list[tuple[Function | None, ast.Call]]:
    out: list[tuple[Function | None, ast.Call]] = []
    owned: set[int] = set()
    for fn in m.functions:
        for c in fn.calls:
            out.append((fn, c.node))
            owned.add(id(c.node))
    for node in m.nodes(ast.Call):
        if isinstance(node, ast.Call) and id(node) not in owned:
            out.append((None, node))
    return out


@dataclass
class HandlerRegistration:
    """One exception handler registered with an app: `@app.exception_handler(T)` on a
    function, or `app.add_exception_handler(T, handler)`."""

    module: Module
    line: int  # the `exception_handler(...)` / `add_exception_handler(...)` call
    exc: ast.expr | None  # T, when given
    function: Function | None  # the handler, when the index has it
    name: str | None  # the handler's qualified name as written (add_exception_handler)


def exception_handlers(index: ProjectIndex) -> list[HandlerRegistration]:
    """Every exception-handler registration in the source modules (found once per index)."""
    return list(index.once("routes.exception_handlers", lambda: _exception_handlers(index)))


def _exception_handlers(index: ProjectIndex) -> list[HandlerRegistration]:
    out: list[HandlerRegistration] = []
    for m in index.source_modules:
        if not index.mentions(m, "exception_handler"):
            continue  # both shapes spell it
        for fn in m.functions:
            for dec in fn.node.decorator_list:
                if (
                    isinstance(dec, ast.Call)
                    and isinstance(dec.func, ast.Attribute)
                    and dec.func.attr == "exception_handler"
                ):
                    exc = dec.args[0] if dec.args else None
                    out.append(HandlerRegistration(m, dec.lineno, exc, fn, fn.fqname))
        for call in m.calls_named(("add_exception_handler",)):
            func = call.func
            if not (
                isinstance(func, ast.Attribute)
                and func.attr == "add_exception_handler"
                and len(call.args) >= 2
            ):
                continue
            text = dotted(call.args[1])
            name = None
            if text:
                head, _, rest = text.partition(".")
                base = m.imports.get(head, f"{m.name}.{head}")
                name = f"{base}.{rest}" if rest else base
            handler = index.function(name) if name else None
            if handler is None:  # a handler of this module or imported, by its last name
                last = unparse(call.args[1]).rsplit(".", 1)[-1]
                handler = next((f for f in m.functions if f.name == last), None)
                if handler is None and last in m.imports:
                    handler = index.function(m.imports[last])
            out.append(HandlerRegistration(m, call.lineno, call.args[0], handler, name))
    return out
