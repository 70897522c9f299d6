"""Database rules: async SQLAlchemy usage, queries, migrations, transactions, SQL injection."""

from __future__ import annotations

import ast
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from fastapi_review.index.callgraph import (
    CallGraph,
    call_graph,
    method_not_named,
    qualified_call,
)
from fastapi_review.index.data import OrmModel
from fastapi_review.index.kafka import send_sites
from fastapi_review.index.nodes import ASSIGN_NODES, DEF_NODES, NAME_OR_ATTRIBUTE, own_nodes, walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.routes import Route
from fastapi_review.index.symbols import Call, Function, Module, dotted
from fastapi_review.models import Finding
from fastapi_review.rules.async_rules import blocking_hits
from fastapi_review.rules.base import Context, Example, Rule, node_text
from fastapi_review.rules.types import is_alembic_script

ASYNC_SESSION = "sqlalchemy.ext.asyncio.AsyncSession"
ASYNC_CONN = "sqlalchemy.ext.asyncio.AsyncConnection"
SYNC_SESSION = "sqlalchemy.orm.Session"
QUERY_METHODS = frozenset(
    {"execute", "scalar", "scalars", "get", "get_one", "refresh", "stream", "stream_scalars"}
)
EAGER_OPTIONS = frozenset(
    {"selectinload", "joinedload", "subqueryload", "immediateload", "contains_eager"}
)
EAGER_LAZY = frozenset(
    {"selectin", "joined", "subquery", "immediate", "raise", "raise_on_sql", "noload", "dynamic"}
)
EAGER_LAZY |= {"write_only"}
SYNC_ENGINE_FACTORIES = frozenset({"sqlalchemy.create_engine", "sqlalchemy.engine.create_engine"})
SYNC_SESSION_FACTORIES = frozenset(
    {"sqlalchemy.orm.sessionmaker", "sqlalchemy.orm.session.sessionmaker"}
)
ASYNC_ENGINE_FACTORIES = frozenset({"sqlalchemy.ext.asyncio.create_async_engine"})
ENGINE_FACTORIES = SYNC_ENGINE_FACTORIES | ASYNC_ENGINE_FACTORIES
_FACTORIES = ENGINE_FACTORIES | SYNC_SESSION_FACTORIES
POOL_KWARGS = {"pool_size", "max_overflow", "pool_pre_ping", "poolclass", "pool_recycle"}
SYNC_DRIVERS = re.compile(r"^\s*[a-z]+\+(psycopg2|pymysql|mysqldb|pg8000|cx_oracle|pyodbc)\b")


_COMMIT = frozenset({"commit"})
_GET = frozenset({"get"})


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_RETURN_CALL = ast.Return | ast.Call
_IF_FOR_WHILE_WITH_ASYNCWITH_TRY = ast.If | ast.For | ast.While | ast.With | ast.AsyncWith | ast.Try


def _session_call(graph: CallGraph, fn: Function, call: Call, methods: frozenset[str]) -> bool:
    if call.method and call.name not in methods:  # (`method_not_named`)
        return False
    name = qualified_call(graph, fn, call) or ""
    owner, _, meth = name.rpartition(".")
    return owner in {ASYNC_SESSION, ASYNC_CONN} and meth in methods


def _may_name_sqlalchemy(index: ProjectIndex, m: Module) -> bool:
    """Can a name in `m` resolve to `sqlalchemy.*`? Only through an import or a spelled-out
    `sqlalchemy.x`, both in its text (or in a project package of that name)."""
    return index.mentions(m, "sqlalchemy") or m.name.startswith("sqlalchemy")


def _resolves_to(graph: CallGraph, m: Module, func: ast.expr, names: frozenset[str]) -> str | None:
    """The resolved name of `func` when it is one of `names`, else None (the last part of
    a method's name is tested first)."""
    if method_not_named(func, _last_parts(names)):
        return None
    got = graph.resolver(m).dotted(func)
    return got if got in names else None


def _callee_names(m: Module, names: frozenset[str]) -> list[str]:
    """The callee last names (`Module.calls_named`) of the calls in `m` that can resolve
    to one of `names`: theirs, and a bare name imported under another name
    (`from sqlalchemy import text as sql_text`); each call is still to be tested with
    `_resolves_to`."""
    return [*_last_parts(names), *(alias for alias, qn in m.imports.items() if qn in names)]


_LAST_PARTS: dict[frozenset[str], frozenset[str]] = {}


def _last_parts(names: frozenset[str]) -> frozenset[str]:
    got = _LAST_PARTS.get(names)
    if got is None:
        got = _LAST_PARTS[names] = frozenset(n.rsplit(".", 1)[-1] for n in names)
    return got


def _resolved(index: ProjectIndex, graph: CallGraph, m: Module, expr: ast.expr) -> str | None:
    return graph.resolver(m).dotted(expr)


def _orm_by_expr(
    index: ProjectIndex, graph: CallGraph, m: Module, expr: ast.expr
) -> OrmModel | None:
    name = _resolved(index, graph, m, expr)
    if not name:
        return None
    cls = index.class_(name)
    return index.orm_models.get(cls.fqname) if cls is not None else None


def _call_name(node: ast.Call) -> str:
    return (
        (dotted(node.func) or "").rsplit(".", 1)[-1]
        if not isinstance(node.func, ast.Attribute)
        else node.func.attr
    )


# --- sync driver ----------------------------------------------------------------------


class SyncDriverInAsyncApp(Rule):
    id = "DB001"
    name = "sync-db-engine-in-async-code"
    category = "db.sync-driver"
    what = """
        A synchronous SQLAlchemy engine or session factory (`create_engine`, `sessionmaker`)
        whose sessions are used from `async def` code (found through the call graph), or
        `create_async_engine` given a synchronous driver URL (`+psycopg2`, `+pymysql`, ...).
    """
    why = """
        Every query through a sync engine blocks the event loop for the full database round
        trip; under load the whole service stalls on one slow query. A sync driver in
        `create_async_engine` fails at start-up.
    """
    fix = """
        Use `create_async_engine("postgresql+asyncpg://...")`, `async_sessionmaker` and
        `AsyncSession` with `await`; keep the sync engine only for plain `def` code or Alembic.
    """
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter
        from sqlalchemy import create_engine, text
        from sqlalchemy.orm import Session, sessionmaker

        engine = create_engine("postgresql+psycopg2://app@db/app")  # expect
        SessionLocal = sessionmaker(bind=engine)  # expect
        router = APIRouter()

        @router.get("/count")
        async def count() -> int:
            with SessionLocal() as db:
                return db.execute(text("SELECT count(*) FROM t")).scalar_one()
        """,
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("postgresql+psycopg2://app@db/app")  # expect
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter
        from sqlalchemy import create_engine, text
        from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
        from sqlalchemy.orm import sessionmaker

        engine = create_async_engine("postgresql+asyncpg://app@db/app")
        SessionLocal = async_sessionmaker(engine)
        sync_engine = create_engine("postgresql+psycopg2://app@db/app")
        SyncSession = sessionmaker(bind=sync_engine)
        router = APIRouter()

        @router.get("/count")
        async def count() -> int:
            async with SessionLocal() as db:
                return (await db.execute(text("SELECT count(*) FROM t"))).scalar_one()

        @router.get("/count-sync")
        def count_sync() -> int:
            with SyncSession() as db:
                return db.execute(text("SELECT count(*) FROM t")).scalar_one()
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        db_hits = [
            h
            for h in blocking_hits(ctx)
            if h.site.why.startswith(("sync SQLAlchemy", "sync DB driver"))
        ]
        for m in index.source_modules:
            if is_alembic_script(m) or not _may_name_sqlalchemy(index, m):
                continue
            for node in m.calls_named(_callee_names(m, _FACTORIES)):
                target = _resolves_to(graph, m, node.func, _FACTORIES)
                if target in ASYNC_ENGINE_FACTORIES and node.args:
                    url = index.string_value(m, node.args[0]) or ""
                    if SYNC_DRIVERS.match(url):
                        yield self.finding(
                            ctx,
                            m.path,
                            node.lineno,
                            f"create_async_engine() is given a synchronous driver URL "
                            f"({url.split('://', 1)[0]})",
                        )
                elif target is not None and db_hits:  # a sync engine or session factory
                    h = db_hits[0]
                    yield self.finding(
                        ctx,
                        m.path,
                        node.lineno,
                        f"synchronous {target.rsplit('.', 1)[-1]}() in an async app: its "
                        f"sessions are used from async code ({h.site.function.path}:"
                        f"{h.site.call.line} in {h.root.qualname})",
                    )


# --- lazy loads on AsyncSession results ------------------------------------------------------


@dataclass
class _Loaded:
    model: OrmModel
    eager: set[str] = field(default_factory=set)
    all_eager: bool = False


def _eager_in(node: ast.AST) -> tuple[set[str], bool]:
    names: set[str] = set()
    everything = False
    for sub in walk(node, ast.Call):
        if isinstance(sub, ast.Call) and _call_name(sub) in EAGER_OPTIONS:
            if not sub.args:
                everything = True
            for a in sub.args:
                if isinstance(a, ast.Attribute):
                    names.add(a.attr)
                elif isinstance(a, ast.Constant) and isinstance(a.value, str):
                    if a.value == "*":
                        everything = True
                    names.add(a.value)
                else:
                    everything = True
    return names, everything


def _selected_models(
    index: ProjectIndex, graph: CallGraph, m: Module, fn: Function
) -> list[OrmModel]:
    out: list[OrmModel] = []
    for sub in graph.own_nodes(fn, ast.Call):
        if isinstance(sub, ast.Call) and _call_name(sub) == "select" and sub.args:
            model = _orm_by_expr(index, graph, m, sub.args[0])
            if model is not None and model not in out:
                out.append(model)
    return out


def _annotation_models(
    index: ProjectIndex, graph: CallGraph, m: Module, ann: ast.expr | None
) -> list[OrmModel]:
    if ann is None:
        return []
    out: list[OrmModel] = []
    for sub in walk(ann, (NAME_OR_ATTRIBUTE, ast.Constant)):
        if isinstance(sub, NAME_OR_ATTRIBUTE):
            model = _orm_by_expr(index, graph, m, sub)
            if model is not None and model not in out:
                out.append(model)
        elif isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            try:
                inner = ast.parse(sub.value, mode="eval").body
            except SyntaxError:
                continue
            out.extend(x for x in _annotation_models(index, graph, m, inner) if x not in out)
    return out


def _loaders(index: ProjectIndex, graph: CallGraph) -> dict[str, _Loaded]:
    """Async functions that return ORM objects loaded by a query, with their eager loads."""
    out: dict[str, _Loaded] = {}
    for m in index.source_modules:
        for fn in m.functions:
            if not fn.is_async or fn.node.returns is None:
                continue
            returned = _annotation_models(index, graph, m, fn.node.returns)
            if len(returned) != 1:
                continue
            model = returned[0]
            queried = model in _selected_models(index, graph, m, fn) or any(
                _session_call(graph, fn, c, _GET)
                and c.node.args
                and _orm_by_expr(index, graph, m, c.node.args[0]) is model
                for c in fn.calls
            )
            uses_async_session = any(_session_call(graph, fn, c, QUERY_METHODS) for c in fn.calls)
            if not queried or not uses_async_session:
                continue
            eager, everything = _eager_in(fn.node)
            out[fn.fqname] = _Loaded(model, eager, everything)
    return out


class LazyLoadOnAsyncResult(Rule):
    id = "DB002"
    name = "lazy-relationship-on-async-result"
    category = "db.lazy-load-async"
    what = """
        A relationship attribute read on an object loaded through an `AsyncSession` query (in
        the same function or through a repository coroutine) when neither the query
        (`selectinload`/`joinedload`/...) nor the relationship (`lazy="selectin"`, `"joined"`,
        `"raise"`) loads it eagerly. Reported where the relationship is accessed.
    """
    why = """
        With AsyncSession an unloaded relationship cannot be fetched implicitly: the access
        raises `MissingGreenlet` at run time (typically a 500 on a path the tests did not
        cover).
    """
    fix = """
        Add `.options(selectinload(Model.rel))` to the query that loads the object, set
        `lazy="selectin"` on the relationship, or `await obj.awaitable_attrs.rel`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy import ForeignKey
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    items: Mapped[list["Item"]] = relationship(back_populates="order")

                class Item(Base):
                    __tablename__ = "items"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
                    order: Mapped[Order] = relationship(back_populates="items")
            """,
            "app/repository.py": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.models import Order

                class Orders:
                    def __init__(self, session: AsyncSession) -> None:
                        self._session = session

                    async def get(self, order_id: int) -> Order | None:
                        stmt = select(Order).where(Order.id == order_id)
                        return (await self._session.scalars(stmt)).one_or_none()
            """,
            "app/service.py": """
                from app.repository import Orders

                async def count_items(repo: Orders, order_id: int) -> int:
                    order = await repo.get(order_id)
                    return len(order.items)  # expect
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy import ForeignKey
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    items: Mapped[list["Item"]] = relationship(back_populates="order")

                class Item(Base):
                    __tablename__ = "items"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
                    order: Mapped[Order] = relationship(back_populates="items", lazy="joined")
            """,
            "app/repository.py": """
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession
                from sqlalchemy.orm import selectinload

                from app.models import Item, Order

                class Orders:
                    def __init__(self, session: AsyncSession) -> None:
                        self._session = session

                    async def get(self, order_id: int) -> Order | None:
                        stmt = select(Order).options(selectinload(Order.items))
                        return (await self._session.scalars(stmt)).one_or_none()

                    async def item(self, item_id: int) -> Item | None:
                        return await self._session.get(Item, item_id)
            """,
            "app/service.py": """
                from app.repository import Orders

                async def count_items(repo: Orders, order_id: int, item_id: int) -> int:
                    order = await repo.get(order_id)
                    item = await repo.item(item_id)
                    return len(order.items) + item.order.id
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        loaders = _loaders(index, graph)
        for m in index.source_modules:
            for fn in m.functions:
                if not fn.is_async:
                    continue
                yield from self._check_function(ctx, graph, loaders, m, fn)

    def _check_function(
        self,
        ctx: Context,
        graph: CallGraph,
        loaders: dict[str, _Loaded],
        m: Module,
        fn: Function,
    ) -> Iterator[Finding]:
        index = ctx.index
        by_node: dict[int, Call] | None = None  # made at the first `x = await call(...)`
        bound: dict[str, tuple[_Loaded, int, str]] = {}
        for sub in graph.own_nodes(fn, ast.Assign):
            if not (
                isinstance(sub, ast.Assign)
                and len(sub.targets) == 1
                and isinstance(sub.targets[0], ast.Name)
                and isinstance(sub.value, ast.Await)
                and isinstance(sub.value.value, ast.Call)
            ):
                continue
            var = sub.targets[0].id
            if by_node is None:
                by_node = {id(c.node): c for c in fn.calls}
            call = by_node.get(id(sub.value.value))
            if call is None:
                continue
            callee = graph.resolve_call(fn, call)
            if callee is not None and callee.fqname in loaders:
                bound[var] = (loaders[callee.fqname], sub.lineno, callee.qualname)
                continue
            if (
                _session_call(graph, fn, call, _GET)
                and call.node.args
                and not any(k.arg == "options" for k in call.node.keywords)
            ):
                model = _orm_by_expr(index, graph, m, call.node.args[0])
                if model is not None:
                    local_eager, local_all = _eager_in(fn.node)
                    bound[var] = (_Loaded(model, local_eager, local_all), sub.lineno, "get()")
        if not bound:
            return
        if any(
            isinstance(n, ast.Attribute) and n.attr == "awaitable_attrs"
            for n in graph.own_nodes(fn, ast.Attribute)
        ):
            return
        refreshed = _refreshed(fn)
        reported: set[tuple[str, str]] = set()
        for line, var, schema, rel_name in _serialised(index, graph, m, fn, bound):
            loaded, bound_line, source = bound[var]
            lazy = loaded.model.relationships[rel_name].lazy
            if loaded.all_eager or rel_name in loaded.eager or lazy in EAGER_LAZY:
                continue
            if refreshed.get((var, rel_name), line) < line or (var, rel_name) in reported:
                continue
            reported.add((var, rel_name))
            yield self.finding(
                ctx,
                fn.path,
                line,
                f"'{var}' ({loaded.model.cls.name}, from {source} line {bound_line}) is "
                f"serialised by {schema}, whose field '{rel_name}' reads a lazy relationship "
                "that was not eagerly loaded: MissingGreenlet under AsyncSession",
            )
        for sub in sorted(
            (n for n in graph.own_nodes(fn, ast.Attribute) if isinstance(n, ast.Attribute)),
            key=lambda n: (n.lineno, n.col_offset),
        ):
            if not (isinstance(sub.value, ast.Name) and isinstance(sub.ctx, ast.Load)):
                continue
            var = sub.value.id
            if var not in bound:
                continue
            loaded, line, source = bound[var]
            rel = loaded.model.relationships.get(sub.attr)
            if rel is None or sub.lineno <= line or (var, sub.attr) in reported:
                continue
            if loaded.all_eager or sub.attr in loaded.eager:
                continue
            if rel.lazy in EAGER_LAZY or refreshed.get((var, sub.attr), sub.lineno) < sub.lineno:
                continue
            reported.add((var, sub.attr))
            yield self.finding(
                ctx,
                fn.path,
                sub.lineno,
                f"'{var}.{sub.attr}' is a lazy relationship of {loaded.model.cls.name} and "
                f"'{var}' comes from {source} (line {line}) without eager loading: "
                "MissingGreenlet under AsyncSession",
            )


def _schema_fields(index: ProjectIndex, m: Module, name: str | None) -> tuple[str, set[str]]:
    """A Pydantic model named in `m` (`Out`, `list[Out]`, `schemas.Out`): its name and
    field names, inherited ones included. Empty when it is not a project model."""
    if not name:
        return "", set()
    try:
        expr = ast.parse(name, mode="eval").body
    except SyntaxError:
        return "", set()
    while isinstance(expr, ast.Subscript):  # list[Out], Sequence[Out], Optional[Out]
        expr = expr.slice
    text = dotted(expr) if isinstance(expr, NAME_OR_ATTRIBUTE) else None
    if not text:
        return "", set()
    head, _, rest = text.partition(".")
    base = m.imports.get(head, f"{m.name}.{head}")
    fq = f"{base}.{rest}" if rest else base
    fields: set[str] = set()
    seen: set[str] = set()
    todo = [fq]
    while todo:
        cur = todo.pop()
        model = index.pydantic_models.get(cur)
        if model is None or cur in seen:
            continue
        seen.add(cur)
        fields |= set(model.fields)
        todo.extend(model.cls.bases)
    return (text, fields) if fq in index.pydantic_models else ("", set())


def _first_routes(index: ProjectIndex) -> dict[int, Route]:
    """The first route of each route function (by the function's id), made once."""

    def first() -> dict[int, Route]:
        out: dict[int, Route] = {}
        for r in index.routes:
            out.setdefault(id(r.function), r)
        return out

    return index.once("db.first_routes", first)


def _serialised(
    index: ProjectIndex,
    graph: CallGraph,
    m: Module,
    fn: Function,
    bound: dict[str, tuple[_Loaded, int, str]],
) -> Iterator[tuple[int, str, str, str]]:
    """Where a loaded ORM object is turned into a response schema that reads one of its
    relationships: `return obj` from a route with a response model, `Out.model_validate(obj)`.
    Yields (line, variable, schema, relationship)."""
    route = _first_routes(index).get(id(fn))
    route_schema = ("", set[str]())
    if route is not None:
        route_schema = _schema_fields(index, m, route.response_model)
        if not route_schema[1]:
            route_schema = _schema_fields(index, m, route.return_annotation)
    for sub in graph.own_nodes(fn):
        var: str | None = None
        schema, fields = "", set[str]()
        if isinstance(sub, ast.Return) and isinstance(sub.value, ast.Name) and route is not None:
            var = sub.value.id
            schema, fields = route_schema
        elif (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr in {"model_validate", "from_orm"}
            and len(sub.args) == 1
            and isinstance(sub.args[0], ast.Name)
        ):
            var = sub.args[0].id
            owner = dotted(sub.func.value)
            schema, fields = _schema_fields(index, m, owner)
        if var is None or var not in bound or not fields:
            continue
        if not isinstance(sub, _RETURN_CALL) or sub.lineno <= bound[var][1]:
            continue
        if isinstance(sub, ast.Call) and any(k.arg in {"update", None} for k in sub.keywords):
            continue
        for rel_name in sorted(fields & set(bound[var][0].model.relationships)):
            yield sub.lineno, var, schema, rel_name


def _refreshed(fn: Function) -> dict[tuple[str, str], int]:
    """(variable, relationship) -> first line of an `await session.refresh(var, [rel])`."""
    out: dict[tuple[str, str], int] = {}
    for c in fn.calls:
        node = c.node
        if isinstance(node.func, ast.Attribute) and node.func.attr == "refresh" and node.args:
            var = node.args[0]
            if isinstance(var, ast.Name):
                names = node.args[1] if len(node.args) > 1 else None
                kw = next((k.value for k in node.keywords if k.arg == "attribute_names"), None)
                names = names or kw
                for e in getattr(names, "elts", []):
                    if isinstance(e, ast.Constant) and isinstance(e.value, str):
                        out.setdefault((var.id, e.value), c.line)
    return out


# --- queries in loops -----------------------------------------------------------------------


def _queries_db(graph: CallGraph, fn: Function, depth: int = 3) -> bool:
    """Whether `fn` (or what it awaits, a few levels down) runs an AsyncSession query."""
    key = f"queries_db:{fn.fqname}:{depth}"
    got = graph.memo.get(key)
    if isinstance(got, bool):
        return got
    result = _queries_db_uncached(graph, fn, depth)
    graph.memo[key] = result
    return result


def _queries_db_uncached(graph: CallGraph, fn: Function, depth: int) -> bool:
    for name in graph.reachable_from(fn, max_depth=depth):
        f = graph.index.functions.get(name)
        if f is None:
            continue
        if any(c.awaited and _session_call(graph, f, c, QUERY_METHODS) for c in f.calls):
            return True
    return False


class QueryInLoop(Rule):
    id = "DB003"
    name = "query-per-item-in-loop"
    category = "db.n-plus-one"
    what = """
        A `for` loop that awaits one database query per item: an `AsyncSession`
        `execute`/`get`/`scalar(s)`/`refresh` call, or a repository/CRUD coroutine that runs
        one, with the loop variable in its arguments.
    """
    why = """
        N items cost N round trips: latency grows with the data and the connection is held for
        the whole loop. One set-based statement (`WHERE id IN (...)`, a bulk UPDATE, an eager
        load) does the same work in one round trip.
    """
    fix = """
        Load or update the rows in one statement (`select(...).where(X.id.in_(ids))`,
        `update(...).where(X.parent_id.in_(ids))`, `selectinload`), then loop in memory.
    """
    bad: ClassVar[list[Example]] = [
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import Customer

        async def names(session: AsyncSession, ids: list[int]) -> list[str]:
            out = []
            for customer_id in ids:
                customer = await session.get(Customer, customer_id)  # expect
                out.append(customer.name)
            return out
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from sqlalchemy import select
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import Customer

        async def names(session: AsyncSession, ids: list[int]) -> list[str]:
            rows = await session.scalars(select(Customer).where(Customer.id.in_(ids)))
            return [c.name for c in rows]

        async def retry(session: AsyncSession) -> None:
            for _attempt in range(3):
                await session.execute(select(Customer))
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for m in ctx.index.source_modules:
            if is_alembic_script(m):
                continue
            for fn in m.functions:
                if not fn.is_async:
                    continue
                by_node = {id(c.node): c for c in fn.calls}
                for loop in graph.own_nodes(fn, ast.For):
                    if not isinstance(loop, ast.For):
                        continue
                    loop_vars = {n.id for n in walk(loop.target, ast.Name)}
                    hit = self._first_query(graph, fn, loop, by_node, loop_vars)
                    if hit is None:
                        continue
                    yield self.finding(
                        ctx,
                        fn.path,
                        hit.line,
                        f"{hit.text}() runs a database query once per item of the loop at "
                        f"line {loop.lineno}",
                    )

    @staticmethod
    def _first_query(
        graph: CallGraph,
        fn: Function,
        loop: ast.For,
        by_node: dict[int, Call],
        loop_vars: set[str],
    ) -> Call | None:
        nodes = sorted(
            (
                n
                for stmt in loop.body
                for n in [stmt, *own_nodes(stmt)]
                if isinstance(n, ast.Await) and isinstance(n.value, ast.Call)
            ),
            key=lambda n: (n.lineno, n.col_offset),
        )
        for aw in nodes:
            assert isinstance(aw.value, ast.Call)
            call = by_node.get(id(aw.value))
            if call is None:
                continue
            args = [*call.node.args, *(k.value for k in call.node.keywords)]
            used = {n.id for a in args for n in walk(a, ast.Name)}
            if not used & loop_vars:
                continue
            if _session_call(graph, fn, call, QUERY_METHODS):
                return call
            callee = graph.resolve_call(fn, call)
            if callee is not None and callee.is_async and _queries_db(graph, callee):
                return call
        return None


# --- models vs migrations -----------------------------------------------------------------


@dataclass
class _Schema:
    tables: dict[str, set[str]] = field(default_factory=dict)
    raw_sql_tables: set[str] = field(default_factory=set)
    opaque: bool = False  # something we could not read (dynamic names)
    modules: list[Module] = field(default_factory=list)


def _str(index: ProjectIndex, m: Module, expr: ast.expr | None) -> str | None:
    return index.string_value(m, expr) if expr is not None else None


def _column_name(index: ProjectIndex, m: Module, expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Call) and _call_name(expr) == "Column" and expr.args:
        return _str(index, m, expr.args[0])
    return None


def _revision_order(index: ProjectIndex, mods: list[Module]) -> list[Module]:
    rev: dict[str, Module] = {}
    down: dict[str, str | None] = {}
    for m in mods:
        r = index.string_value(m, _module_assign(m, "revision"))
        d_expr = _module_assign(m, "down_revision")
        d = index.string_value(m, d_expr) if d_expr is not None else None
        if r:
            rev[r] = m
            down[r] = d
    if len(rev) != len(mods):
        return sorted(mods, key=lambda x: x.path)
    ordered: list[Module] = []
    by_down: dict[str | None, list[str]] = {}
    for r, d in down.items():
        by_down.setdefault(d if d in rev else None, []).append(r)
    queue = sorted(by_down.get(None, []))
    while queue:
        r = queue.pop(0)
        ordered.append(rev[r])
        queue.extend(sorted(by_down.get(r, [])))
    rest = [m for m in mods if m not in ordered]
    return ordered + sorted(rest, key=lambda x: x.path)


def _module_assign(m: Module, name: str) -> ast.expr | None:
    for stmt in m.tree.body:
        if isinstance(stmt, ASSIGN_NODES):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                return stmt.value
    return None


def migration_schema(index: ProjectIndex) -> _Schema | None:
    """Tables and columns the Alembic `upgrade()` functions create, in revision order."""
    mods = [
        m
        for m in index.modules.values()
        if "alembic.op" in m.imports.values()
        and any(isinstance(s, ast.FunctionDef) and s.name == "upgrade" for s in m.tree.body)
    ]
    if not mods:
        return None
    schema = _Schema(modules=mods)
    for m in _revision_order(index, mods):
        upgrade = next(
            s for s in m.tree.body if isinstance(s, ast.FunctionDef) and s.name == "upgrade"
        )
        batch: dict[str, str] = {}
        for sub in walk(upgrade, ast.With):
            if isinstance(sub, ast.With):
                for item in sub.items:
                    ce = item.context_expr
                    if (
                        isinstance(ce, ast.Call)
                        and _call_name(ce) == "batch_alter_table"
                        and isinstance(item.optional_vars, ast.Name)
                    ):
                        t = _str(index, m, ce.args[0] if ce.args else None)
                        if t:
                            batch[item.optional_vars.id] = t
        calls = sorted(
            (s for s in walk(upgrade, ast.Call)),
            key=lambda c: (c.lineno, c.col_offset),
        )
        for c in calls:
            _apply_op(index, m, c, batch, schema)
    return schema


def _apply_op(
    index: ProjectIndex, m: Module, c: ast.Call, batch: dict[str, str], schema: _Schema
) -> None:
    if not isinstance(c.func, ast.Attribute) or not isinstance(c.func.value, ast.Name):
        return
    recv, op = c.func.value.id, c.func.attr
    args = list(c.args)
    if recv in batch:
        args = [ast.Constant(batch[recv]), *args]
    elif m.imports.get(recv) != "alembic.op":
        return
    if op == "execute":
        sql = _str(index, m, args[0] if args else None)
        if sql is None:
            schema.opaque = True
            return
        for t in re.findall(
            r"(?:TABLE|INTO|UPDATE)\s+(?:IF\s+NOT\s+EXISTS\s+)?\"?(\w+)", sql, re.I
        ):
            schema.raw_sql_tables.add(t.lower())
        return
    table = _str(index, m, args[0] if args else None)
    if op in {"create_table", "add_column", "drop_column", "drop_table", "alter_column"} and (
        table is None
    ):
        schema.opaque = True
        return
    if table is None:
        return
    cols = schema.tables.setdefault(table, set()) if op in {"create_table", "add_column"} else None
    if op == "create_table":
        for a in args[1:]:
            name = _column_name(index, m, a)
            if name and cols is not None:
                cols.add(name)
    elif op == "add_column" and len(args) > 1:
        name = _column_name(index, m, args[1])
        if name and cols is not None:
            cols.add(name)
        elif cols is not None and name is None:
            schema.opaque = True
    elif op == "drop_column" and len(args) > 1:
        name = _str(index, m, args[1])
        if name:
            schema.tables.get(table, set()).discard(name)
    elif op == "drop_table":
        schema.tables.pop(table, None)
    elif op == "rename_table" and len(args) > 1:
        new = _str(index, m, args[1])
        if new and table in schema.tables:
            schema.tables[new] = schema.tables.pop(table)
    elif op == "alter_column" and len(args) > 1:
        old = _str(index, m, args[1])
        new_expr = next((k.value for k in c.keywords if k.arg == "new_column_name"), None)
        new = _str(index, m, new_expr)
        if old and new and table in schema.tables:
            schema.tables[table].discard(old)
            schema.tables[table].add(new)


def _real_columns(model: OrmModel, m: Module) -> list[tuple[str, int]]:
    """(column name, line) of the model's own mapped columns (not column_property etc.)."""
    by_line: dict[int, ast.stmt] = {s.lineno: s for s in model.cls.node.body}
    out: list[tuple[str, int]] = []
    for col in model.columns.values():
        stmt = by_line.get(col.line)
        value = getattr(stmt, "value", None)
        if isinstance(value, ast.Call) and _call_name(value) not in {"mapped_column", "Column"}:
            continue
        if value is None and not col.annotation.startswith("Mapped["):
            continue
        out.append((col.name, col.line))
    return out


class ModelsVsMigrations(Rule):
    id = "DB004"
    name = "model-not-migrated"
    category = "db.migrations"
    what = """
        ORM models compared statically with the Alembic migrations (`op.create_table`,
        `op.add_column`, `sa.Column`, drops and renames, in revision order): a model table or
        column that no migration creates is reported at the model line; ORM models with no
        Alembic migrations at all are reported once for the project.
    """
    why = """
        The code then expects a schema the database does not have: the first query touching
        the column fails in production (`UndefinedColumn`), although tests that build the
        schema with `create_all()` pass.
    """
    fix = """
        Generate a migration (`alembic revision --autogenerate -m ...`), review it, and check
        in CI that `alembic check` reports no pending changes.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy import String
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class User(Base):
                    __tablename__ = "users"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    email: Mapped[str] = mapped_column(String(200))
                    nickname: Mapped[str | None] = mapped_column(String(50))  # expect
            """,
            "migrations/versions/0001_users.py": """
                import sqlalchemy as sa
                from alembic import op

                revision = "0001"
                down_revision = None

                def upgrade() -> None:
                    op.create_table(
                        "users",
                        sa.Column("id", sa.Integer(), nullable=False),
                        sa.Column("email", sa.String(200), nullable=False),
                    )

                def downgrade() -> None:
                    op.drop_table("users")
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy import String
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class User(Base):
                    __tablename__ = "users"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    email: Mapped[str] = mapped_column(String(200))
                    nickname: Mapped[str | None] = mapped_column(String(50))
            """,
            "migrations/versions/0001_users.py": """
                import sqlalchemy as sa
                from alembic import op

                revision = "0001"
                down_revision = None

                def upgrade() -> None:
                    op.create_table(
                        "users",
                        sa.Column("id", sa.Integer(), nullable=False),
                        sa.Column("email", sa.String(200), nullable=False),
                    )

                def downgrade() -> None:
                    op.drop_table("users")
            """,
            "migrations/versions/0002_nickname.py": """
                import sqlalchemy as sa
                from alembic import op

                revision = "0002"
                down_revision = "0001"

                def upgrade() -> None:
                    op.add_column("users", sa.Column("nickname", sa.String(50)))

                def downgrade() -> None:
                    op.drop_column("users", "nickname")
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        models = [om for om in index.orm_models.values() if not index.modules[om.cls.path].is_test]
        if not models:
            return
        schema = migration_schema(index)
        if schema is None:
            if "alembic.ini" in index.extra_files or (index.root / "alembic").is_dir():
                return  # Alembic is set up; the versions are not Python we could read
            yield self.finding(
                ctx,
                None,
                None,
                f"{len(models)} ORM model(s) but no Alembic migrations: the schema is not "
                "versioned",
                evidence=", ".join(sorted(om.table for om in models)[:8]),
            )
            return
        if schema.opaque:
            return
        for om in models:
            m = index.modules[om.cls.path]
            table = om.table
            if table.lower() in schema.raw_sql_tables:
                continue
            if table not in schema.tables:
                yield self.finding(
                    ctx,
                    om.cls.path,
                    om.cls.line,
                    f"table '{table}' of model {om.cls.name} is created by no migration",
                )
                continue
            have = schema.tables[table]
            if not have:
                continue
            for name, line in _real_columns(om, m):
                if name not in have:
                    yield self.finding(
                        ctx,
                        om.cls.path,
                        line,
                        f"column '{table}.{name}' of model {om.cls.name} is created by no "
                        "migration",
                    )


# --- transactions ---------------------------------------------------------------------------


def _publishes(index: ProjectIndex, graph: CallGraph, fn: Function, call: Call) -> bool:
    send_nodes, send_functions = send_sites(index)
    if id(call.node) in send_nodes:
        return True
    callee = graph.resolve_call(fn, call)
    if callee is None:
        return False
    reach = graph.reachable_from(callee, max_depth=4)
    return not send_functions.isdisjoint(reach)


def _except_handler_spans(graph: CallGraph, fn: Function) -> list[tuple[int, int]]:
    """(first line, last line) of every `except` block in `fn`'s own body."""
    spans: list[tuple[int, int]] = []
    for node in graph.own_nodes(fn, ast.ExceptHandler):
        if isinstance(node, ast.ExceptHandler):
            spans.append((node.lineno, node.end_lineno or node.lineno))
    return spans


def _publish_after(
    call: Call, publishes: list[Call], handlers: list[tuple[int, int]]
) -> Call | None:
    """The first publish on the path that follows `call` succeeding: one in an `except`
    handler that `call` is not part of runs only when something failed (a dead letter after
    the retries, say)."""
    for pub in publishes:
        if pub.line <= call.line:
            continue
        if any(lo <= pub.line <= hi and not lo <= call.line <= hi for lo, hi in handlers):
            continue
        return pub
    return None


def _helper_commit(graph: CallGraph, fn: Function, call: Call) -> tuple[str, int] | None:
    """The awaited session commit inside the project function `call` resolves to."""
    target = graph.resolve_call(fn, call)
    if target is None or target is fn or not target.is_async:
        return None
    known = graph.memo.setdefault("db.helper_commit", {})
    assert isinstance(known, dict)
    key = id(target.node)
    if key not in known:  # the same for every caller
        known[key] = next(
            (
                (target.path, inner.line)
                for inner in target.calls
                if inner.awaited and _session_call(graph, target, inner, _COMMIT)
            ),
            None,
        )
    return typing.cast(tuple[str, int] | None, known[key])


class CommitThenPublish(Rule):
    id = "DB005"
    name = "commit-then-publish-without-outbox"
    category = "db.transactions"
    what = """
        A function that commits the database session and afterwards publishes a Kafka event
        (directly or through a publisher it calls), with no transactional outbox in between.
    """
    why = """
        The commit and the publish are two writes that can fail separately: when the broker is
        down or the process dies after the commit, the row is stored but the event is lost and
        downstream services never learn about it.
    """
    fix = """
        Write the event to an outbox table in the same transaction and relay it to Kafka from
        a separate worker (transactional outbox), or make consumers reconcile from the source.
    """
    bad: ClassVar[list[Example]] = [
        """
        from aiokafka import AIOKafkaProducer
        from sqlalchemy.ext.asyncio import AsyncSession

        async def create(session: AsyncSession, producer: AIOKafkaProducer, row: object) -> None:
            session.add(row)
            await session.commit()  # expect
            await producer.send_and_wait("rows.created", b"{}")
        """,
        {
            "app/store.py": """
                from sqlalchemy.ext.asyncio import AsyncSession

                async def insert_row(session: AsyncSession, row: object) -> object:
                    session.add(row)
                    await session.commit()  # expect
                    return row
            """,
            "app/logic.py": """
                from aiokafka import AIOKafkaProducer
                from sqlalchemy.ext.asyncio import AsyncSession

                from app import store

                async def create(session: AsyncSession, producer: AIOKafkaProducer) -> None:
                    row = await store.insert_row(session, object())
                    await producer.send_and_wait("rows.created", b"{}")
            """,
        },
    ]
    good: ClassVar[list[Example]] = [
        """
        from sqlalchemy.ext.asyncio import AsyncSession

        from app.models import OutboxEvent

        async def create(session: AsyncSession, row: object) -> None:
            session.add(row)
            session.add(OutboxEvent(topic="rows.created", payload="{}"))
            await session.commit()
        """,
        {
            "app/store.py": """
                from sqlalchemy.ext.asyncio import AsyncSession

                async def apply(session: AsyncSession, row: object) -> None:
                    session.add(row)
                    await session.commit()
            """,
            "app/consumer.py": """
                from aiokafka import AIOKafkaProducer
                from sqlalchemy.ext.asyncio import AsyncSession

                from app import store

                async def handle(session: AsyncSession, dlq: AIOKafkaProducer) -> None:
                    for attempt in range(3):
                        try:
                            await store.apply(session, object())
                            return
                        except Exception:
                            if attempt == 2:
                                await dlq.send_and_wait("rows.dlq", b"{}")
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        done: set[tuple[str, int]] = set()
        for m in index.source_modules:
            for fn in m.functions:
                commits = [
                    c for c in fn.calls if c.awaited and _session_call(graph, fn, c, _COMMIT)
                ]
                # a helper (typically a repository function) that commits inside, called here
                helpers = [
                    (c, inner)
                    for c in fn.calls
                    if c.awaited and c not in commits
                    for inner in [_helper_commit(graph, fn, c)]
                    if inner is not None
                ]
                if not commits and not helpers:
                    continue
                first = min(c.line for c in [*commits, *(h for h, _ in helpers)])
                later = [c for c in fn.calls if c.line > first and _publishes(index, graph, fn, c)]
                handlers = _except_handler_spans(graph, fn)
                for commit in commits:
                    pub = _publish_after(commit, later, handlers)
                    if pub is None or (fn.path, commit.line) in done:
                        continue
                    done.add((fn.path, commit.line))
                    yield self.finding(
                        ctx,
                        fn.path,
                        commit.line,
                        f"the session is committed here and the event is published after it "
                        f"(line {pub.line}, {pub.text}): a failed publish loses the event",
                    )
                for call, (path, line) in helpers:
                    pub = _publish_after(call, later, handlers)
                    if pub is None or (path, line) in done:
                        continue
                    done.add((path, line))
                    yield self.finding(
                        ctx,
                        path,
                        line,
                        f"this commit inside {call.text}() ends the transaction of "
                        f"{fn.name}() ({fn.path}:{call.line}), which publishes the event "
                        f"afterwards ({fn.path}:{pub.line}, {pub.text}): a failed publish "
                        "loses the event",
                    )


# --- engine pool settings ---------------------------------------------------------------


class EngineWithoutPoolSettings(Rule):
    id = "DB006"
    name = "engine-without-pool-settings"
    category = "db.pool-config"
    what = """
        `create_engine`/`create_async_engine` called without any explicit pool setting
        (`pool_size`, `max_overflow`, `pool_pre_ping`, `pool_recycle`, `poolclass`).
    """
    why = """
        The defaults (5 + 10 connections, no pre-ping) rarely fit production: stale
        connections after a database failover surface as errors, and the pool size is not
        sized to the worker count and the database's connection limit.
    """
    fix = "Pass `pool_size`, `max_overflow` and `pool_pre_ping=True` (from settings)."
    bad: ClassVar[list[Example]] = [
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine("postgresql+asyncpg://db/app")  # expect
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from sqlalchemy.ext.asyncio import create_async_engine

        engine = create_async_engine(
            "postgresql+asyncpg://db/app", pool_size=10, max_overflow=5, pool_pre_ping=True
        )
        test_engine = create_async_engine("sqlite+aiosqlite:///:memory:")
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        for m in index.source_modules:
            if is_alembic_script(m) or not _may_name_sqlalchemy(index, m):
                continue
            for node in m.calls_named(_callee_names(m, ENGINE_FACTORIES)):
                if _resolves_to(graph, m, node.func, ENGINE_FACTORIES) is None:
                    continue
                if any(k.arg is None or k.arg in POOL_KWARGS for k in node.keywords):
                    continue
                url = index.string_value(m, node.args[0]) if node.args else None
                if url is not None and url.startswith("sqlite"):
                    continue
                yield self.finding(
                    ctx,
                    m.path,
                    node.lineno,
                    "engine created without explicit pool settings",
                )


# --- unbounded queries ----------------------------------------------------------------------

_BOUNDED = {"limit", "offset", "slice", "fetch", "paginate", "first", "one", "one_or_none"}
_BOUNDED |= {"scalar_one", "scalar_one_or_none", "scalar", "get", "exists", "count"}
_MANY = {"all", "fetchall", "partitions", "scalars"}  # scalars(): every row, iterated


class UnboundedListQuery(Rule):
    id = "DB007"
    name = "list-query-without-limit"
    category = "db.unbounded-query"
    what = """
        A query that selects ORM rows (`select(Model)`) and fetches all of them (`.all()`)
        with no `limit`/`offset`, in a function an HTTP route reaches.
    """
    why = """
        The response grows with the table: one customer with many rows (or a missing filter)
        turns a list endpoint into a slow, memory-heavy request that can take the service down.
    """
    fix = """
        Add `limit`/`offset` (or keyset pagination) with a bounded maximum page size, exposed
        as query parameters of the endpoint.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    customer_id: Mapped[int]
            """,
            "app/api.py": """
                from fastapi import APIRouter
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.models import Order

                router = APIRouter()

                async def list_orders(session: AsyncSession, customer_id: int) -> list[Order]:
                    stmt = select(Order).where(Order.customer_id == customer_id)  # expect
                    return list((await session.scalars(stmt)).all())

                @router.get("/orders")
                async def orders(customer_id: int, session: AsyncSession) -> list[int]:
                    return [o.id for o in await list_orders(session, customer_id)]
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/models.py": """
                from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

                class Base(DeclarativeBase):
                    pass

                class Order(Base):
                    __tablename__ = "orders"
                    id: Mapped[int] = mapped_column(primary_key=True)
                    customer_id: Mapped[int]
            """,
            "app/api.py": """
                from fastapi import APIRouter
                from sqlalchemy import select
                from sqlalchemy.ext.asyncio import AsyncSession

                from app.models import Order

                router = APIRouter()

                async def list_orders(
                    session: AsyncSession, customer_id: int, limit: int, offset: int
                ) -> list[Order]:
                    stmt = select(Order).where(Order.customer_id == customer_id)
                    stmt = stmt.limit(limit).offset(offset)
                    return list((await session.scalars(stmt)).all())

                @router.get("/orders")
                async def orders(customer_id: int, session: AsyncSession) -> list[int]:
                    return [o.id for o in await list_orders(session, customer_id, 20, 0)]
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        reached: set[str] = set()
        from_item: set[str] = set()
        for r in index.routes:
            target = from_item if _is_item_route(r.path) else reached
            target.update(graph.reachable_from(r.function, max_depth=6))
        for m in index.source_modules:
            if is_alembic_script(m):
                continue
            for fn in m.functions:
                if fn.fqname not in reached and not (
                    fn.fqname in from_item and not _filters(graph, fn)
                ):
                    # only single-item routes (`GET /things/{id}`) reach it and it filters: the
                    # rows belong to that one item
                    continue
                attrs = {
                    n.func.attr
                    for n in graph.own_nodes(fn, ast.Call)
                    if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                }
                if attrs & _BOUNDED or not attrs & _MANY or "in_" in attrs:
                    continue
                stmt = self._select_statement(index, graph, m, fn)
                if stmt is None:
                    continue
                line, model = stmt
                yield self.finding(
                    ctx,
                    fn.path,
                    line,
                    f"{fn.qualname} loads every matching {model} row (no limit/offset) for "
                    "an HTTP route",
                )

    @staticmethod
    def _select_statement(
        index: ProjectIndex, graph: CallGraph, m: Module, fn: Function
    ) -> tuple[int, str] | None:
        for stmt in _statements(fn.node.body):
            for sub in walk(stmt, ast.Call):
                if isinstance(sub, ast.Call) and _call_name(sub) == "select" and sub.args:
                    model = _orm_by_expr(index, graph, m, sub.args[0])
                    if model is not None:
                        return stmt.lineno, model.cls.name
        return None


def _is_item_route(path: str) -> bool:
    """A route about one resource: its path ends with a path parameter (`/things/{id}`)."""
    last = path.rstrip("/").rsplit("/", 1)[-1]
    return last.startswith("{") and last.endswith("}")


def _filters(graph: CallGraph, fn: Function) -> bool:
    """Whether the function's query has an equality filter (`.where(T.c == v)`, `filter_by`)."""
    for n in graph.own_nodes(fn, ast.Call):
        if not isinstance(n, ast.Call) or not isinstance(n.func, ast.Attribute):
            continue
        if n.func.attr == "filter_by" and n.keywords:
            return True
        if n.func.attr in {"where", "filter"} and any(
            isinstance(a, ast.Compare) and any(isinstance(op, ast.Eq) for op in a.ops)
            for a in n.args
        ):
            return True
    return False


def _statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    for stmt in body:
        if isinstance(stmt, _IF_FOR_WHILE_WITH_ASYNCWITH_TRY):
            inner: list[ast.stmt] = list(getattr(stmt, "body", []))
            inner += list(getattr(stmt, "orelse", []))
            inner += list(getattr(stmt, "finalbody", []))
            for h in getattr(stmt, "handlers", []):
                inner += list(h.body)
            yield from _statements(inner)
        elif not isinstance(stmt, DEF_NODES):
            yield stmt


# --- SQL injection ------------------------------------------------------------------------

_SQL_WORDS = re.compile(r"\b(SELECT|INSERT|UPDATE|DELETE|WHERE|FROM|VALUES|ORDER BY)\b", re.I)
_EXEC_METHODS = {"execute", "executemany", "exec_driver_sql", "fetch", "fetchrow", "fetchval"}
_TEXT_FUNCS = frozenset(
    {"sqlalchemy.text", "sqlalchemy.sql.text", "sqlalchemy.sql.expression.text"}
)


def _dynamic_sql(index: ProjectIndex, m: Module, expr: ast.expr) -> str | None:
    """How a string is built from non-constant values, or None when it is static."""
    if isinstance(expr, ast.JoinedStr):
        for v in expr.values:
            if isinstance(v, ast.FormattedValue) and index.string_value(m, v.value) is None:
                return "an f-string"
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Mod):
        if isinstance(expr.left, ast.Constant) and isinstance(expr.left.value, str):
            return "%-formatting"
        return None
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        if index.string_value(m, expr) is None and (
            _has_str_constant(expr.left) or _has_str_constant(expr.right)
        ):
            return "string concatenation"
        return None
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr == "format"
        and isinstance(expr.func.value, ast.Constant)
        and isinstance(expr.func.value.value, str)
        and (expr.args or expr.keywords)
    ):
        return "str.format()"
    return None


def _has_str_constant(expr: ast.expr) -> bool:
    return any(
        isinstance(n, ast.Constant) and isinstance(n.value, str) for n in walk(expr, ast.Constant)
    )


def _literal_text(expr: ast.expr) -> str:
    return " ".join(n.value for n in walk(expr, ast.Constant) if isinstance(n.value, str))


class SqlBuiltFromInput(Rule):
    id = "DB008"
    name = "sql-built-with-string-formatting"
    category = "security.injection"
    what = """
        SQL text built with an f-string, `%`, `+` or `.format()` from non-constant values and
        passed to `text()` or to an `execute()`-style call.
    """
    why = """
        A value spliced into SQL text is executed as SQL: a crafted search term or id reads or
        changes other users' data (SQL injection).
    """
    fix = """
        Use bound parameters: `text("... WHERE subject ILIKE :q").bindparams(q=f"%{q}%")`,
        or build the query with SQLAlchemy expressions (`Model.subject.ilike(...)`).
    """
    bad: ClassVar[list[Example]] = [
        """
        from sqlalchemy import select, text
        from sqlalchemy.ext.asyncio import AsyncSession

        async def search(session: AsyncSession, q: str) -> list[str]:
            stmt = text(f"SELECT name FROM users WHERE name LIKE '%{q}%'")  # expect
            rows = await session.execute(stmt)
            await session.execute("DELETE FROM t WHERE id = %s" % q)  # expect
            return [r[0] for r in rows]
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import AsyncSession

        TABLE = "users"

        async def search(session: AsyncSession, q: str) -> list[str]:
            stmt = text(f"SELECT name FROM {TABLE} WHERE name LIKE :q").bindparams(q=f"%{q}%")
            rows = await session.execute(stmt)
            return [r[0] for r in rows]
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        graph = call_graph(index)
        for m in index.source_modules:
            if is_alembic_script(m):
                continue
            may_text = _may_name_sqlalchemy(index, m)
            names = [*_EXEC_METHODS, *(_callee_names(m, _TEXT_FUNCS) if may_text else [])]
            for node in m.calls_named(names):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                arg = node.args[0]
                is_text = may_text and _resolves_to(graph, m, node.func, _TEXT_FUNCS) is not None
                is_exec = isinstance(node.func, ast.Attribute) and node.func.attr in _EXEC_METHODS
                if not (is_text or is_exec):
                    continue
                how = _dynamic_sql(index, m, arg)
                if how is None:
                    continue
                if is_exec and not is_text and not _SQL_WORDS.search(_literal_text(arg)):
                    continue
                yield self.finding(
                    ctx,
                    m.path,
                    node.lineno,
                    f"SQL built with {how} from runtime values: {node_text(arg, 100)}",
                )
