"""Architecture rules: router -> service -> repository layering, function size and complexity."""

from __future__ import annotations

import ast
from bisect import bisect_left
from collections.abc import Iterator
from itertools import accumulate
from typing import ClassVar

from fastapi_review.index.layers import layer_of
from fastapi_review.index.nodes import span_of, span_start, walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import Function, Module, dotted, unparse
from fastapi_review.models import Finding
from fastapi_review.rules.api import own_nodes
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.rules.types import is_migration

QUERY_METHODS = {"execute", "scalar", "scalars", "stream", "stream_scalars", "exec"}
SESSION_ONLY_METHODS = {"get", "add", "add_all", "delete", "merge", "refresh", "flush"}
SESSION_NAMES = {"session", "db", "db_session", "conn", "connection", "async_session"}
ALLOWED_FASTAPI_IN_SERVICES = {"fastapi.concurrency", "fastapi.encoders"}
PROBE_WORDS = ("health", "ready", "readiness", "live", "liveness", "ping", "probe")


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_MATCH_CASE_ASSERT = ast.match_case | ast.Assert


def _session_names(fn: Function) -> tuple[set[str], set[str]]:
    """(names typed as a session, names that merely look like one) in a function."""
    typed: set[str] = set()
    node = fn.node
    for arg in [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]:
        ann = unparse(arg.annotation) if arg.annotation is not None else ""
        if "Session" in ann or "Connection" in ann or "get_session" in ann or "get_db" in ann:
            typed.add(arg.arg)
    for name, t in fn.local_types.items():
        if t.rsplit(".", 1)[-1] in {"AsyncSession", "Session", "AsyncConnection", "Connection"}:
            typed.add(name)
    return typed, SESSION_NAMES


def _is_probe(fn: Function, paths: list[str]) -> bool:
    text = " ".join([fn.qualname.lower(), *(p.lower() for p in paths)])
    return any(w in text for w in PROBE_WORDS)


def _import_nodes(module: Module) -> Iterator[tuple[int, str, list[str]]]:
    """(line, resolved module, imported names) of every import statement."""
    for node in walk(module.tree, (ast.Import, ast.ImportFrom)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.package
                for _ in range(node.level - 1):
                    base = base.rpartition(".")[0]
                src = f"{base}.{node.module}" if node.module and base else node.module or base
            else:
                src = node.module or ""
            yield node.lineno, src, [a.name for a in node.names]


def _first_raise_of(module: Module, names: set[str]) -> tuple[int, str] | None:
    """(line, name) of the first `raise X(...)` whose X is one of these imported names."""
    best: tuple[int, str] | None = None
    for node in walk(module.tree, ast.Raise):
        if not isinstance(node, ast.Raise) or node.exc is None:
            continue
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        text = dotted(exc) or ""
        if text.split(".", 1)[0] in names and (best is None or node.lineno < best[0]):
            best = (node.lineno, text.rsplit(".", 1)[-1])
    return best


def _declares_routes(index: ProjectIndex, module: Module) -> bool:
    """The module declares routes or routers (the set of such files is made once)."""
    files = index.once(
        "architecture.route_files",
        lambda: frozenset([r.file for r in index.routes] + [r.path for r in index.routers]),
    )
    return module.path in files


def _is_router_module(index: ProjectIndex, ctx: Context, qname: str) -> bool:
    """A module in the router layer that really declares routes or routers."""
    m = index.by_name.get(qname)
    if m is None or layer_of(m.path, ctx.config) != "router":
        return False
    return _declares_routes(index, m)


class LayerViolation(Rule):
    id = "ARC001"
    name = "layer-violation"
    category = "arch.layer-violation"
    what = """
        Router -> service -> repository broken: a router module that runs database queries
        itself (`session.execute(...)`, `session.scalar(...)`, `session.get(...)` — one
        finding per router function, at its first query); a service or repository module that imports FastAPI (HTTP concerns;
        `fastapi.concurrency` is allowed); a service or repository that imports a router.
        Layers come from `[tool.fastapi-review] layers`. Health and readiness probes that
        ping the database are not reported. A project with no service or repository layer
        at all gets one finding (at the first router query) rather than one per route.
    """
    why = """
        Queries in routers bypass the business rules and transactions of the service layer
        and cannot be unit-tested without HTTP; FastAPI types in services tie the domain to
        one transport (a Kafka consumer cannot reuse it); upward imports create cycles.
    """
    fix = """
        Move the query into a repository method called from a service; raise domain
        exceptions in services and map them to HTTP in exception handlers.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/routers/items.py": """
                from fastapi import APIRouter
                from sqlalchemy import func, select
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.models import Item

                router = APIRouter()

                @router.get("/items/count")
                async def count(session: AsyncSession) -> int:
                    stmt = select(func.count()).select_from(Item)
                    return await session.scalar(stmt) or 0  # expect
            """,
            "app/services/items.py": """
                from fastapi import HTTPException

                def check(qty: int) -> None:
                    if qty < 0:
                        raise HTTPException(status_code=422)  # expect
            """,
            "app/repositories/stock.py": """
                from fastapi import Depends  # expect
            """,
            "app/repositories/items.py": """
                from app.routers.items import router  # expect
            """,
            "app/models.py": """
                class Item:
                    pass
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/routers/items.py": """
                from fastapi import APIRouter
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.services.items import count_items

                router = APIRouter()

                @router.get("/items/count")
                async def count(session: AsyncSession) -> int:
                    return await count_items(session)

                @router.get("/health/ready")
                async def ready(session: AsyncSession) -> dict[str, str]:
                    await session.execute(text("SELECT 1"))
                    return {"database": "up"}
            """,
            "app/services/items.py": """
                from fastapi.concurrency import run_in_threadpool
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.repositories.items import count_rows

                async def count_items(session: AsyncSession) -> int:
                    return await count_rows(session)
            """,
            "app/repositories/items.py": """
                from sqlalchemy import func, select
                from sqlalchemy.ext.asyncio import AsyncSession

                async def count_rows(session: AsyncSession) -> int:
                    return await session.scalar(select(func.count())) or 0
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        route_paths: dict[str, list[str]] = {}
        for r in index.routes:
            route_paths.setdefault(r.function.fqname, []).append(r.path)
        layered = any(
            layer_of(m.path, ctx.config) in {"service", "repository"}
            for m in index.source_modules
            if m.functions or m.classes
        )
        in_routers: list[Finding] = []
        for module in index.source_modules:
            layer = layer_of(module.path, ctx.config)
            if layer == "router":
                in_routers.extend(self._router_queries(ctx, module, route_paths))
            elif layer in {"service", "repository"} and not _declares_routes(index, module):
                # a module that declares routes is a router whatever its folder is called
                # (`services/<name>/app/api/routes/x.py` in a repository of microservices)
                yield from self._bad_imports(ctx, module, layer)
        if layered or len(in_routers) <= 1:
            yield from in_routers
        elif in_routers:
            # no service or repository layer at all: one design problem, not one per route
            first = min(in_routers, key=lambda f: (f.path or "", f.line or 0))
            first.message = (
                f"The project has no service or repository layer: {len(in_routers)} router "
                f"functions query the database themselves (first here: {first.message})"
            )
            yield first

    def _router_queries(
        self, ctx: Context, module: Module, route_paths: dict[str, list[str]]
    ) -> Iterator[Finding]:
        for fn in module.functions:
            if _is_probe(fn, route_paths.get(fn.fqname, [])):
                continue
            typed, looks = _session_names(fn)
            calls: list[tuple[int, str]] = []
            for call in fn.calls:  # the calls of its own body, in source order
                node = call.node
                if not (
                    isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name)
                ):
                    continue
                receiver, method = node.func.value.id, node.func.attr
                is_query = method in QUERY_METHODS and (receiver in typed or receiver in looks)
                is_session_op = method in SESSION_ONLY_METHODS and receiver in typed
                if is_query or is_session_op:
                    calls.append((node.lineno, f"{receiver}.{method}(...)"))
            if not calls:
                continue
            # one finding per router function, at its first database call
            calls.sort()
            line, first = calls[0]
            more = f" and {len(calls) - 1} more database call(s)" if len(calls) > 1 else ""
            yield self.finding(
                ctx,
                module.path,
                line,
                f"Router function `{fn.name}` queries the database itself "
                f"(`{first}`{more}) instead of going through a service",
            )

    def _bad_imports(self, ctx: Context, module: Module, layer: str) -> Iterator[Finding]:
        for line, src, names in _import_nodes(module):
            top = src.split(".", 1)[0]
            if top == "fastapi" and src not in ALLOWED_FASTAPI_IN_SERVICES:
                what = ", ".join(names) if names else src
                raised = _first_raise_of(module, set(names) or {src.split(".")[0]})
                if raised is not None:
                    # the HTTP error raised by the service is the concern: point at it
                    yield self.finding(
                        ctx,
                        module.path,
                        raised[0],
                        f"The {layer} layer raises FastAPI's `{raised[1]}` (imported at line "
                        f"{line}): HTTP concerns belong in routers",
                    )
                    continue
                yield self.finding(
                    ctx,
                    module.path,
                    line,
                    f"The {layer} layer imports FastAPI ({what}): HTTP concerns belong in routers",
                )
                continue
            targets = [src, *(f"{src}.{n}" for n in names)]
            if any(_is_router_module(ctx.index, ctx, t) for t in targets):
                yield self.finding(
                    ctx,
                    module.path,
                    line,
                    f"The {layer} layer imports the router module `{src}`",
                )


_BRANCHES = (
    ast.If | ast.For | ast.AsyncFor | ast.While | ast.IfExp | ast.ExceptHandler,
    ast.match_case | ast.Assert,
)


class _ComplexityBound:
    """An upper bound of `complexity(fn)` for the functions of one module: the score of
    every node of the function's whole subtree (nested functions included), summed by
    bisection over the module's scoring nodes, listed once in source order with a running
    total of their scores."""

    def __init__(self, module: Module) -> None:
        scored: list[tuple[int, int]] = []  # (position, score) of every scoring node
        for node in walk(module.tree, *_BRANCHES, ast.BoolOp, ast.comprehension):
            if isinstance(node, ast.BoolOp):
                score = len(node.values) - 1
            elif isinstance(node, ast.comprehension):
                score = 1 + len(node.ifs)
            else:
                score = 1
            scored.append((span_start(node), score))
        self.positions = [p for p, _ in scored]
        self.totals = list(accumulate((s for _, s in scored), initial=0))

    def of(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
        start, end = span_of(fn)
        lo, hi = bisect_left(self.positions, start), bisect_left(self.positions, end)
        return 1 + self.totals[hi] - self.totals[lo]


def complexity(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """McCabe-style cyclomatic complexity of one function (nested functions excluded)."""
    score = 1
    for node in own_nodes(
        fn,
        (
            ast.If | ast.For | ast.AsyncFor | ast.While | ast.IfExp | ast.ExceptHandler,
            ast.BoolOp,
            ast.comprehension,
            ast.match_case | ast.Assert,
        ),
    ):
        if isinstance(
            node, ast.If | ast.For | ast.AsyncFor | ast.While | ast.IfExp | ast.ExceptHandler
        ):
            score += 1
        elif isinstance(node, ast.BoolOp):
            score += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            score += 1 + len(node.ifs)
        elif isinstance(node, _MATCH_CASE_ASSERT):
            score += 1
    return score


class Complexity(Rule):
    id = "ARC002"
    name = "function-too-long-or-complex"
    category = "arch.complexity"
    what = """
        A source function longer than `thresholds.max_function_lines` (default 80) or with a
        cyclomatic complexity above `thresholds.max_complexity` (default 15).
    """
    why = """
        Long, branchy functions mix responsibilities, are hard to test path by path and
        are where defects hide.
    """
    fix = "Split the function into smaller, named steps; move branches into helpers or tables."
    bad: ClassVar[list[Example]] = [
        "def route(kind: str, n: int) -> int:  # expect\n"
        + "".join(f"    if kind == 'k{i}' and n > {i}:\n        return {i}\n" for i in range(16))
        + "    return -1\n"
    ]
    good: ClassVar[list[Example]] = [
        """
        TABLE = {"a": 1, "b": 2}

        def route(kind: str) -> int:
            return TABLE.get(kind, -1)
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        limits = ctx.config.thresholds
        for module in ctx.index.source_modules:
            if is_migration(module):
                continue
            if not module.functions:
                continue
            bound = _ComplexityBound(module)
            for fn in module.functions:
                node = fn.node
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                # within the limit by its upper bound: the exact value is not shown, not needed
                bounded = bound.of(node) <= limits.max_complexity
                score = 0 if bounded else complexity(node)
                problems = []
                if length > limits.max_function_lines:
                    problems.append(f"{length} lines (limit {limits.max_function_lines})")
                if score > limits.max_complexity:
                    problems.append(f"complexity {score} (limit {limits.max_complexity})")
                if problems:
                    yield self.finding(
                        ctx,
                        module.path,
                        node.lineno,
                        f"`{fn.qualname}` is too big: {', '.join(problems)}",
                    )
