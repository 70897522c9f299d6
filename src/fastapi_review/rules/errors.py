"""Error-handling rules: exception handlers, leaked internals, swallowed and unlogged errors."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.callgraph import call_graph
from fastapi_review.index.nodes import ASSIGN_NODES, WITH_NODES, walk
from fastapi_review.index.project import ProjectIndex, contains_any
from fastapi_review.index.routes import exception_handlers
from fastapi_review.index.symbols import Function, Module, dotted, unparse
from fastapi_review.models import Finding
from fastapi_review.rules.api import own_nodes
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.rules.types import LOG_LEVELS

BROAD = {"Exception", "BaseException"}
# exception types whose text carries SQL, hosts, file paths or driver internals
INFRA_PREFIXES = (
    "sqlalchemy",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "aiokafka",
    "kafka",
    "confluent_kafka",
    "httpx",
    "requests",
    "aiohttp",
    "redis",
    "pymongo",
    "motor",
    "botocore",
)
INFRA_BUILTINS = {"OSError", "IOError", "ConnectionError", "TimeoutError", "RuntimeError"}
LOG_METHODS = LOG_LEVELS | {
    "fatal",
    "adebug",
    "ainfo",
    "awarning",
    "aerror",
    "aexception",
    "acritical",
}
RESPONSE_CALLS = {
    "JSONResponse",
    "ORJSONResponse",
    "UJSONResponse",
    "PlainTextResponse",
    "HTMLResponse",
    "Response",
    "HTTPException",
}
TRACEBACK_CALLS = {"format_exc", "format_exception", "format_tb", "format_stack", "print_exc"}
HEALTHISH = ("health", "ready", "readiness", "live", "liveness", "ping", "probe")


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_PASS_CONTINUE_BREAK = ast.Pass | ast.Continue | ast.Break


def _resolved(module: Module, expr: ast.expr) -> str:
    text = dotted(expr) or ""
    head, _, rest = text.partition(".")
    base = module.imports.get(head, head)
    return f"{base}.{rest}" if rest else base


def _exc_types(handler: ast.ExceptHandler) -> list[ast.expr]:
    if handler.type is None:
        return []
    return list(handler.type.elts) if isinstance(handler.type, ast.Tuple) else [handler.type]


def is_broad(handler: ast.ExceptHandler) -> bool:
    """`except:`, `except Exception`, `except BaseException` (also inside a tuple)."""
    if handler.type is None:
        return True
    return any((dotted(t) or "").rsplit(".", 1)[-1] in BROAD for t in _exc_types(handler))


def _revealing_type(index: ProjectIndex, module: Module, expr: ast.expr) -> bool:
    """Whether the text of this exception type may carry internals (broad or infrastructure)."""
    qname = _resolved(module, expr)
    last = qname.rsplit(".", 1)[-1]
    if last in BROAD or last in INFRA_BUILTINS:
        return True
    if qname.split(".", 1)[0] not in INFRA_PREFIXES:
        return False
    # a project (domain) exception's message is meant for clients
    return index.class_(qname) is None


def is_log_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in LOG_METHODS
        and not (isinstance(node.func.value, ast.Name) and node.func.value.id in {"math", "np"})
    )


def _handler_nodes(handler: ast.ExceptHandler) -> list[ast.AST]:
    out: list[ast.AST] = []
    for stmt in handler.body:
        out.extend(walk(stmt))
    return out


def _uses_name(nodes: list[ast.AST], name: str | None) -> bool:
    return name is not None and any(
        isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load) for n in nodes
    )


class NoExceptionHandlers(Rule):
    id = "ERR001"
    name = "no-custom-exceptions-or-handlers"
    category = "errors.no-handlers"
    what = """
        A FastAPI application that defines no exception class of its own, or that registers
        no exception handler (`app.add_exception_handler(...)`, `@app.exception_handler(...)`
        or `FastAPI(exception_handlers=...)`).
    """
    why = """
        Without domain exceptions and handlers, every layer raises `HTTPException` (coupling
        services to HTTP) or lets errors escape as bare 500s with no consistent error body.
    """
    fix = """
        Define domain exceptions (`class OrderNotFound(AppError)`) in the service layer and
        map them to status codes with `app.add_exception_handler(AppError, handler)`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                from fastapi import FastAPI, HTTPException

                app = FastAPI()  # expect

                @app.get("/items/{item_id}")
                async def get_item(item_id: int) -> dict[str, int]:
                    if item_id < 0:
                        raise HTTPException(status_code=404)
                    return {"id": item_id}
            """
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/errors.py": """
                class AppError(Exception):
                    status_code = 400

                class NotFound(AppError):
                    status_code = 404
            """,
            "app/main.py": """
                from fastapi import FastAPI, Request
                from fastapi.responses import JSONResponse

                from app.errors import AppError

                app = FastAPI()

                @app.exception_handler(AppError)
                async def on_app_error(request: Request, exc: AppError) -> JSONResponse:
                    return JSONResponse(status_code=exc.status_code, content={"detail": "failed"})
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        if not index.apps or not index.routes:
            return
        custom = [
            c
            for c in index.classes.values()
            if not index.modules[c.path].is_test
            and any(_is_exception_base(index, b, 0) for b in c.bases)
        ]
        # handlers registered one by one, or passed to the app: FastAPI(exception_handlers=...)
        registered = bool(exception_handlers(index)) or any(
            any(k.arg == "exception_handlers" for k in a.node.keywords) for a in index.apps
        )
        app = index.apps[0]
        missing: list[str] = []
        if not custom:
            missing.append("defines no exception classes of its own")
        if not registered:
            missing.append("registers no exception handlers")
        if missing:
            yield self.finding(
                ctx,
                app.path,
                app.line,
                f"The application {' and '.join(missing)}",
            )


def _is_exception_base(index: ProjectIndex, base: str, depth: int) -> bool:
    last = base.rsplit(".", 1)[-1]
    if last in BROAD or last.endswith(("Error", "Exception")):
        return True
    if depth > 5:
        return False
    parent = index.class_(base)
    return parent is not None and any(_is_exception_base(index, b, depth + 1) for b in parent.bases)


class LeaksInternals(Rule):
    id = "ERR002"
    name = "exception-text-returned-to-client"
    category = "errors.leaks-internals"
    what = """
        The text of a broad or infrastructure exception (`str(exc)`, `f"{exc}"`, `repr(exc)`,
        `exc.args`) or a traceback (`traceback.format_exc()`) put into a `JSONResponse`, an
        `HTTPException` detail or a returned dict. Domain exceptions defined in the project
        (whose messages are written for clients) are not reported.
    """
    why = """
        Database and driver errors carry SQL, parameters, host names and file paths; a
        traceback shows code layout and library versions. Sent to the client they help an
        attacker and break the error contract.
    """
    fix = """
        Log the exception with its traceback (`logger.exception(...)`) and return a fixed,
        generic message (optionally with a correlation id).
    """
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import FastAPI, Request, HTTPException
        from fastapi.responses import JSONResponse
        from sqlalchemy.exc import SQLAlchemyError

        app = FastAPI()

        async def on_error(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(
                status_code=500,
                content={"detail": f"Internal error: {exc}"},  # expect
            )

        async def load(item_id: int) -> dict[str, str]:
            try:
                return {"id": str(item_id)}
            except SQLAlchemyError as e:
                raise HTTPException(status_code=503, detail=str(e))  # expect

        async def on_any(request: Request, exc: Exception) -> JSONResponse:
            body = ErrorBody(message=f"Unexpected: {exc}", code="internal")  # expect
            return JSONResponse(status_code=500, content=body.model_dump())
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import logging

        from fastapi import FastAPI, Request, HTTPException
        from fastapi.responses import JSONResponse

        logger = logging.getLogger(__name__)

        class NotFound(Exception):
            pass

        app = FastAPI()

        async def on_error(request: Request, exc: Exception) -> JSONResponse:
            logger.exception("unhandled error: %s", exc)
            return JSONResponse(status_code=500, content={"detail": "Internal server error"})

        async def on_any(request: Request, exc: Exception) -> JSONResponse:
            reason = f"unhandled {type(exc).__name__}: {exc}"
            logger.error(reason)
            body = {"detail": "Internal server error"}
            return JSONResponse(status_code=500, content=body)

        async def load(item_id: int) -> dict[str, str]:
            try:
                return {"id": str(item_id)}
            except NotFound as e:
                raise HTTPException(status_code=404, detail=str(e))
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        facing = _http_facing(index)
        registered = _registered_exception_types(index)
        for module in index.source_modules:
            # a traceback call resolves to a name its module spells (the call or the import)
            traceback = index.mentions(module, "format_", "print_exc")
            for fn in module.functions:
                names = self._exception_names(index, module, fn)
                causes: set[str] = set()
                types = registered.get(fn.fqname)
                if types and not any(_revealing_type(index, m, t) for m, t in types):
                    # registered only for the project's own exceptions: their text is written
                    # for clients, whatever the parameter's annotation says; their cause is not
                    causes = names
                    names = set()
                if not names and not causes and not (traceback and _calls_traceback(fn)):
                    continue
                seen: set[int] = set()
                for sink in self._sinks(fn, fn.fqname in facing or _takes_request(fn)):
                    for node in walk(sink):
                        line = getattr(node, "lineno", None)
                        if line is None or id(node) in seen:
                            continue
                        what = _leak(node, names) or _cause_leak(node, causes)
                        if what is None:
                            continue
                        seen.update(id(n) for n in walk(node))
                        yield self.finding(
                            ctx,
                            module.path,
                            line,
                            f"`{fn.name}` sends {what} to the client",
                        )

    @staticmethod
    def _exception_names(index: ProjectIndex, module: Module, fn: Function) -> set[str]:
        names: set[str] = set()
        node = fn.node
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
            if arg.annotation is not None and _revealing_type(index, module, arg.annotation):
                names.add(arg.arg)
        for sub in call_graph(index).own_nodes(fn, ast.ExceptHandler):
            if isinstance(sub, ast.ExceptHandler) and sub.name:
                types = _exc_types(sub)
                if not types or any(_revealing_type(index, module, t) for t in types):
                    names.add(sub.name)
        return names

    @staticmethod
    def _sinks(fn: Function, http_facing: bool) -> Iterator[ast.AST]:
        """Responses built anywhere; return values only of routes and exception handlers;
        and the values of local variables these use (`body = Error(detail=f"{exc}")`)."""
        assigned: dict[str, list[ast.expr]] = {}
        direct: list[ast.AST] = []
        for sub in own_nodes(fn.node, (ast.Return, ast.Call, ASSIGN_NODES)):
            if isinstance(sub, ast.Return) and sub.value is not None:
                if http_facing:
                    direct.append(sub.value)
            elif isinstance(sub, ast.Call):
                name = (dotted(sub.func) or "").rsplit(".", 1)[-1]
                if name in RESPONSE_CALLS:
                    direct.append(sub)
            elif isinstance(sub, ASSIGN_NODES) and sub.value is not None:
                targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
                for t in targets:
                    if isinstance(t, ast.Name):
                        assigned.setdefault(t.id, []).append(sub.value)
        seen: set[str] = set()
        queue = list(direct)
        while queue:
            sink = queue.pop()
            yield sink
            for n in walk(sink, ast.Name):
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and n.id not in seen:
                    seen.add(n.id)
                    queue.extend(assigned.get(n.id, []))


def _takes_request(fn: Function) -> bool:
    node = fn.node
    return any(
        arg.annotation is not None and unparse(arg.annotation).rsplit(".", 1)[-1] == "Request"
        for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
    )


def _calls_traceback(fn: Function) -> bool:
    return any((c.target or "").rsplit(".", 1)[-1] in TRACEBACK_CALLS for c in fn.calls)


def _http_facing(index: ProjectIndex) -> set[str]:
    """Route handlers and registered exception handlers (by fully qualified name)."""
    out = {r.function.fqname for r in index.routes}
    for reg in exception_handlers(index):
        if reg.name:
            out.add(reg.name)
        if reg.function is not None:
            out.add(reg.function.fqname)
    return out


def _leak(node: ast.AST, names: set[str]) -> str | None:
    """What internal text this node puts into a response, or None."""
    if isinstance(node, ast.Call):
        fname = (dotted(node.func) or "").rsplit(".", 1)[-1]
        if fname in TRACEBACK_CALLS:
            return f"a traceback (`{fname}()`)"
        if fname in {"str", "repr", "format"} and any(_is_exc(a, names) for a in node.args):
            return f"the exception text (`{unparse(node)}`)"
    if isinstance(node, ast.FormattedValue) and _is_exc(node.value, names):
        return f"the exception text (`{{{unparse(node.value)}}}`)"
    if (
        isinstance(node, ast.Attribute)
        and node.attr in {"args", "orig", "statement", "params"}
        and _is_exc(node.value, names)
    ):
        return f"exception internals (`{unparse(node)}`)"
    return None


def _cause_leak(node: ast.AST, names: set[str]) -> str | None:
    """`exc.__cause__` / `exc.__context__` of a domain exception: the wrapped (driver or
    broker) error, whose text is not written for clients."""
    if (
        isinstance(node, ast.Attribute)
        and node.attr in {"__cause__", "__context__"}
        and isinstance(node.value, ast.Name)
        and node.value.id in names
    ):
        return f"the wrapped exception's text (`{unparse(node)}`)"
    return None


def _registered_exception_types(index: ProjectIndex) -> dict[str, list[tuple[Module, ast.expr]]]:
    """Exception handlers (by fully qualified name) and the exception types each one is
    registered for (`app.add_exception_handler(T, fn)`, `@app.exception_handler(T)`)."""
    out: dict[str, list[tuple[Module, ast.expr]]] = {}
    for reg in exception_handlers(index):
        key = reg.function.fqname if reg.function is not None else reg.name
        if reg.exc is not None and key:
            out.setdefault(key, []).append((reg.module, reg.exc))
    return out


def _is_exc(expr: ast.expr, names: set[str]) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in names
    if isinstance(expr, ast.Attribute) and expr.attr in {"orig", "args", "__cause__"}:
        return _is_exc(expr.value, names)
    return False


def _is_swallowed(handler: ast.ExceptHandler, results: frozenset[str] = frozenset()) -> bool:
    """Only pass / continue / break / `return None|False`, or `return x` where `x` is the
    variable the function returns on success (`except Exception: return order`)."""
    for stmt in handler.body:
        if isinstance(stmt, _PASS_CONTINUE_BREAK):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue  # `...` or a comment-like string
        if isinstance(stmt, ast.Return) and (
            stmt.value is None
            or (isinstance(stmt.value, ast.Constant) and stmt.value.value in {None, False})
            or (isinstance(stmt.value, ast.Name) and stmt.value.id in results)
        ):
            continue
        return False
    return True


def _success_results(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """Variables the function returns outside of its except handlers."""
    inside: set[int] = set()
    for node in own_nodes(fn, ast.ExceptHandler):
        if isinstance(node, ast.ExceptHandler):
            inside.update(id(n) for n in walk(node))
    return frozenset(
        node.value.id
        for node in own_nodes(fn, ast.Return)
        if isinstance(node, ast.Return)
        and isinstance(node.value, ast.Name)
        and id(node) not in inside
    )


def _is_healthish(fn: Function) -> bool:
    return contains_any(fn.qualname.lower(), HEALTHISH)


class SwallowedException(Rule):
    id = "ERR003"
    name = "broad-except-swallows-error"
    category = "errors.swallowed"
    what = """
        `except:` / `except Exception` / `except BaseException` (or
        `contextlib.suppress(Exception)`) whose body only passes, continues or returns
        nothing (`None` / `False`) or the function's normal result (`return order`, as if
        it had worked): no log line, no re-raise. Health and readiness probes
        are not reported.
    """
    why = """
        The failure disappears: no log, no metric, no error for the caller. Bugs and outages
        look like success and cannot be diagnosed afterwards.
    """
    fix = """
        Catch the specific exceptions you expect; otherwise log with `logger.exception(...)`
        and re-raise or convert to a domain error.
    """
    bad: ClassVar[list[Example]] = [
        """
        import contextlib

        async def publish(producer, event: bytes) -> None:
            try:
                await producer.send("topic", event)
            except Exception:  # expect
                pass

        def close(client) -> None:
            with contextlib.suppress(Exception):  # expect
                client.close()

        async def place(repo, producer, order):
            saved = await repo.add(order)
            try:
                await producer.send("orders", saved)
            except Exception:  # expect
                return saved
            return saved
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import logging

        logger = logging.getLogger(__name__)

        async def publish(producer, event: bytes) -> None:
            try:
                await producer.send("topic", event)
            except Exception:
                logger.exception("publish failed")
                raise

        def parse(text: str) -> int | None:
            try:
                return int(text)
            except ValueError:
                return None

        def price(raw: str, fallback: float) -> float:
            try:
                value = float(raw)
            except Exception as exc:
                logger.warning("bad price %r: %s", raw, exc)
                return fallback
            return value
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for module in ctx.index.source_modules:
            for node in walk(module.tree, (ast.ExceptHandler, WITH_NODES)):
                if isinstance(node, ast.ExceptHandler):
                    owner = ctx.index.enclosing_function(module.path, node.lineno)
                    if owner is not None and _is_healthish(owner):
                        continue  # a probe turns failures into "down" by design
                    results = _success_results(owner.node) if owner is not None else frozenset()
                    if is_broad(node) and _is_swallowed(node, results):
                        caught = unparse(node.type) if node.type is not None else "everything"
                        yield self.finding(
                            ctx,
                            module.path,
                            node.lineno,
                            f"`except {caught}` hides the error: no log and no re-raise",
                        )
                elif isinstance(node, WITH_NODES):
                    for item in node.items:
                        call = item.context_expr
                        if (
                            isinstance(call, ast.Call)
                            and (dotted(call.func) or "").endswith("suppress")
                            and any((dotted(a) or "") in BROAD for a in call.args)
                        ):
                            yield self.finding(
                                ctx,
                                module.path,
                                node.lineno,
                                "`suppress(Exception)` hides every error: no log and no re-raise",
                            )


class ErrorNotLogged(Rule):
    id = "ERR004"
    name = "error-path-not-logged"
    category = "errors.not-logged"
    what = """
        A broad `except` that turns the error into something else — a return value, a
        response, a new exception raised without `from` — without logging it and without
        using the caught exception at all. Health and readiness probes, which turn failures
        into a "down" status by design, are not reported.
    """
    why = """
        The original exception and its traceback are lost: the caller sees a generic
        failure and the logs show nothing to diagnose it.
    """
    fix = """
        Log the exception (`logger.exception(...)`) before converting it, or chain it with
        `raise NewError(...) from exc`.
    """
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import HTTPException

        async def charge(client, amount: int) -> dict[str, str]:
            try:
                return await client.charge(amount)
            except Exception:  # expect
                raise HTTPException(status_code=502, detail="payment failed")
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import logging

        from fastapi import HTTPException

        logger = logging.getLogger(__name__)

        async def charge(client, amount: int) -> dict[str, str]:
            try:
                return await client.charge(amount)
            except Exception as exc:
                raise HTTPException(status_code=502, detail="payment failed") from exc

        async def refund(client, amount: int) -> dict[str, str]:
            try:
                return await client.refund(amount)
            except Exception:
                logger.exception("refund failed")
                return {"status": "failed"}

        async def readiness(db) -> dict[str, str]:
            try:
                await db.execute("SELECT 1")
            except Exception:
                return {"database": "down"}
            return {"database": "up"}
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for module in ctx.index.source_modules:
            for fn in module.functions:
                if _is_healthish(fn):
                    continue
                for node in graph.own_nodes(fn, ast.ExceptHandler):
                    if not isinstance(node, ast.ExceptHandler) or not is_broad(node):
                        continue
                    if _is_swallowed(node, _success_results(fn.node)):
                        continue  # ERR003 reports it
                    nodes = _handler_nodes(node)
                    if any(is_log_call(n) for n in nodes):
                        continue
                    if any(isinstance(n, ast.Raise) and n.exc is None for n in nodes):
                        continue
                    if _uses_name(nodes, node.name):
                        continue
                    caught = unparse(node.type) if node.type is not None else "everything"
                    yield self.finding(
                        ctx,
                        module.path,
                        node.lineno,
                        f"`except {caught}` in `{fn.name}` converts the error without logging "
                        "or chaining it",
                    )
