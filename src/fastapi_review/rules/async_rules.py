"""Async rules: blocking calls on the event loop, unawaited coroutines, lost tasks,
unmanaged sessions and clients, and awaits that could run concurrently."""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar

from fastapi_review.index.callgraph import (
    CallGraph,
    Edge,
    call_graph,
    qualified_call,
)
from fastapi_review.index.nodes import ASSIGN_NODES, FUNCTION_NODES, WITH_NODES, own_nodes, walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.routes import Route
from fastapi_review.index.symbols import Call, Function, dotted, unparse
from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.rules.types import is_alembic_script

_HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request"}
_DBAPI = {
    "execute",
    "executemany",
    "executescript",
    "commit",
    "rollback",
    "fetchone",
    "fetchall",
    "fetchmany",
    "callproc",
}

# plain functions that block the calling thread
BLOCKING_FUNCTIONS: dict[str, str] = {
    "time.sleep": "sleeps",
    **{f"requests.{v}": "sync HTTP" for v in _HTTP_VERBS},
    **{f"httpx.{v}": "sync HTTP" for v in (*_HTTP_VERBS, "stream")},
    "urllib.request.urlopen": "sync HTTP",
    "urllib.request.urlretrieve": "sync HTTP",
    "urllib3.request": "sync HTTP",
    "open": "file I/O",
    "io.open": "file I/O",
    **{
        f"subprocess.{f}": "subprocess"
        for f in ("run", "call", "check_call", "check_output", "Popen", "getoutput")
    },
    "subprocess.getstatusoutput": "subprocess",
    "os.system": "subprocess",
    "os.popen": "subprocess",
    **{
        f"os.{f}": "file I/O"
        for f in (
            "remove",
            "unlink",
            "rename",
            "replace",
            "makedirs",
            "mkdir",
            "rmdir",
            "removedirs",
            "listdir",
            "scandir",
            "walk",
        )
    },
    **{
        f"shutil.{f}": "file I/O"
        for f in (
            "copy",
            "copy2",
            "copyfile",
            "copytree",
            "move",
            "rmtree",
            "make_archive",
            "unpack_archive",
        )
    },
    "socket.create_connection": "socket I/O",
    "socket.getaddrinfo": "DNS lookup",
    "socket.gethostbyname": "DNS lookup",
    "socket.gethostbyaddr": "DNS lookup",
    "psycopg2.connect": "sync DB driver",
    "psycopg.connect": "sync DB driver",
    "sqlite3.connect": "sync DB driver",
    "pymysql.connect": "sync DB driver",
    "MySQLdb.connect": "sync DB driver",
    "mysql.connector.connect": "sync DB driver",
    "smtplib.SMTP": "SMTP",
    "smtplib.SMTP_SSL": "SMTP",
}

# methods that block, by receiver type (None: every method)
BLOCKING_METHODS: dict[str, tuple[str, frozenset[str] | None]] = {
    "requests.Session": ("sync HTTP", frozenset({*_HTTP_VERBS, "send"})),
    "httpx.Client": ("sync HTTP", frozenset({*_HTTP_VERBS, "send", "stream"})),
    "urllib3.PoolManager": ("sync HTTP", frozenset({"request", "urlopen"})),
    "pathlib.Path": (
        "file I/O",
        frozenset(
            {
                "read_text",
                "write_text",
                "read_bytes",
                "write_bytes",
                "open",
                "mkdir",
                "unlink",
                "rmdir",
                "touch",
                "rename",
                "replace",
            }
        ),
    ),
    "subprocess.Popen": ("subprocess", frozenset({"communicate", "wait"})),
    "socket.socket": (
        "socket I/O",
        frozenset({"connect", "recv", "recv_into", "recvfrom", "send", "sendall", "accept"}),
    ),
    "sqlite3.Connection": ("sync DB driver", frozenset(_DBAPI)),
    "sqlite3.Cursor": ("sync DB driver", frozenset(_DBAPI)),
    "psycopg2.extensions.connection": ("sync DB driver", frozenset(_DBAPI)),
    "psycopg2.extensions.cursor": ("sync DB driver", frozenset(_DBAPI)),
    "psycopg.Connection": ("sync DB driver", frozenset(_DBAPI)),
    "psycopg.Cursor": ("sync DB driver", frozenset(_DBAPI)),
    "pymysql.connections.Connection": ("sync DB driver", frozenset(_DBAPI)),
    "pymysql.cursors.Cursor": ("sync DB driver", frozenset(_DBAPI)),
    "sqlalchemy.orm.Session": (
        "sync SQLAlchemy session",
        frozenset(
            {
                "execute",
                "scalar",
                "scalars",
                "query",
                "get",
                "get_one",
                "commit",
                "flush",
                "refresh",
                "rollback",
                "merge",
                "connection",
            }
        ),
    ),
    "sqlalchemy.engine.Engine": (
        "sync SQLAlchemy engine",
        frozenset({"connect", "begin", "execute", "raw_connection"}),
    ),
    "sqlalchemy.engine.Connection": (
        "sync SQLAlchemy connection",
        frozenset({"execute", "scalar", "scalars", "commit", "rollback", "exec_driver_sql"}),
    ),
    "kafka.KafkaProducer": ("sync Kafka client", frozenset({"send", "flush"})),
    "kafka.KafkaConsumer": ("sync Kafka client", frozenset({"poll", "commit"})),
    # the future of kafka-python's send(): get() waits for the broker's acknowledgement
    "kafka.producer.future.FutureRecordMetadata": (
        "waits for the Kafka broker",
        frozenset({"get"}),
    ),
    # confluent-kafka produce() only enqueues (BufferError when full): it never waits
    "confluent_kafka.Producer": ("sync Kafka client", frozenset({"flush", "poll", "list_topics"})),
    "confluent_kafka.Consumer": (
        "sync Kafka client",
        frozenset({"poll", "consume", "list_topics"}),
    ),
    "redis.Redis": ("sync Redis client", None),
    "boto3.client": ("boto3 (sync AWS SDK)", None),
    "boto3.resource": ("boto3 (sync AWS SDK)", None),
    "smtplib.SMTP": (
        "SMTP",
        frozenset({"send_message", "sendmail", "login", "starttls", "connect", "ehlo", "quit"}),
    ),
    "smtplib.SMTP_SSL": (
        "SMTP",
        frozenset({"send_message", "sendmail", "login", "connect", "ehlo", "quit"}),
    ),
}
_NOT_IO = frozenset(
    {"pipeline", "get_paginator", "can_paginate", "meta", "exceptions", "generate_presigned_url"}
)


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_RETURN_ASSIGN = ast.Return | ast.Assign
_YIELD_YIELDFROM = ast.Yield | ast.YieldFrom
_TUPLE_LIST_SET = ast.Tuple | ast.List | ast.Set
_RETURN_YIELD_YIELDFROM = ast.Return | ast.Yield | ast.YieldFrom


@dataclass
class BlockingSite:
    function: Function
    call: Call
    name: str  # the qualified call, e.g. "requests.Session.get"
    why: str  # "sync HTTP", "sleeps", ...


@dataclass
class BlockingHit:
    site: BlockingSite
    root: Function  # the async function whose loop is blocked
    path: list[Edge]  # root -> ... -> site.function (empty when direct)


def blocking_kind(name: str | None, extra: list[str]) -> str | None:
    """Why a qualified call blocks, or None."""
    if not name:
        return None
    if name in extra:
        return "configured blocking call"
    if name in BLOCKING_FUNCTIONS:
        return BLOCKING_FUNCTIONS[name]
    owner, _, meth = name.rpartition(".")
    spec = BLOCKING_METHODS.get(owner)
    if spec is None:
        return None
    why, methods = spec
    if methods is None:
        return None if meth in _NOT_IO or meth.startswith("_") else why
    return why if meth in methods else None


def _shadowed_open(fn: Function, call: Call) -> bool:
    """`open` rebound locally (a parameter or a nested def) is not the builtin."""
    if call.text != "open":
        return False
    args = fn.node.args
    names = {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
    return "open" in names


_TIMEOUT_METHODS = frozenset({"poll", "flush", "consume", "list_topics"})


def _zero_timeout(name: str, call: Call) -> bool:
    """confluent-kafka `poll(0)` / `flush(0)`: serves callbacks and returns at once."""
    owner, _, meth = name.rpartition(".")
    if not owner.startswith("confluent_kafka.") or meth not in _TIMEOUT_METHODS:
        return False
    node = call.node
    args = [a for a in node.args[:1] if meth != "consume"] or [
        k.value for k in node.keywords if k.arg == "timeout"
    ]
    return bool(args) and isinstance(args[0], ast.Constant) and args[0].value in (0, 0.0)


# the last names a blocking call can have, but for receivers whose every method blocks
_BLOCKING_LAST_NAMES = frozenset(
    [name.rsplit(".", 1)[-1] for name in BLOCKING_FUNCTIONS]
    + [meth for _, methods in BLOCKING_METHODS.values() if methods for meth in methods]
)
# receivers whose every method blocks: a value of such a type needs its package's name in
# the text of some module (an import, an annotation, a call with a known result)
_ANY_METHOD_PACKAGES = sorted(
    {owner.split(".", 1)[0] for owner, (_, methods) in BLOCKING_METHODS.items() if not methods}
)


def blocking_sites(ctx: Context) -> list[BlockingSite]:
    index = ctx.index
    graph = call_graph(index)
    out: list[BlockingSite] = []
    extra = ctx.config.blocking_calls
    # unless some receiver type blocks in every method, only these last names can make a
    # method call blocking
    last_names: frozenset[str] | None = None
    if not any(index.mentions(m, *_ANY_METHOD_PACKAGES) for m in index.modules.values()):
        last_names = _BLOCKING_LAST_NAMES | {n.rsplit(".", 1)[-1] for n in extra}
    for m in index.source_modules:
        for fn in m.functions:
            for call in fn.calls:
                if call.offloaded or call.awaited:
                    continue
                if (
                    last_names is not None
                    and call.method
                    and call.name not in last_names  # (`method_not_named`)
                    and call.target not in extra
                ):
                    continue
                name = qualified_call(graph, fn, call)
                why = blocking_kind(name, ctx.config.blocking_calls)
                if why is None and call.target in ctx.config.blocking_calls:
                    name, why = call.target, "configured blocking call"
                if why is None or name is None or _shadowed_open(fn, call):
                    continue
                if _zero_timeout(name, call):
                    continue
                out.append(BlockingSite(fn, call, name, why))
    return out


def _route_functions(index: ProjectIndex) -> dict[str, Route]:
    out: dict[str, Route] = {}
    for r in index.routes:
        out.setdefault(r.function.fqname, r)
    return out


def async_callers(
    graph: CallGraph, index: ProjectIndex, fn: Function, max_depth: int = 10
) -> list[tuple[Function, list[Edge]]]:
    """Async functions that run `fn` (a sync function) on their event loop, with the path.

    Walks callers backwards through sync functions only; offloaded calls and
    FastAPI dependencies (sync ones run in the threadpool) do not count.
    """
    found: list[tuple[Function, list[Edge]]] = []
    seen = {fn.fqname}
    queue: deque[tuple[Function, list[Edge]]] = deque([(fn, [])])
    while queue:
        cur, path = queue.popleft()
        if len(path) >= max_depth:
            continue
        for e in graph.callers(cur):
            if e.kind == "depends" or (e.call is not None and e.call.offloaded):
                continue
            caller = e.caller
            if index.modules[caller.path].is_test or caller.fqname in seen:
                continue
            seen.add(caller.fqname)
            new_path = [e, *path]
            if caller.is_async:
                found.append((caller, new_path))
            else:
                queue.append((caller, new_path))
    return found


def blocking_hits(ctx: Context) -> list[BlockingHit]:
    """Each blocking call site that runs on the event loop, with its best path (memoised)."""
    graph = call_graph(ctx.index)
    key = "blocking_hits:" + ",".join(ctx.config.blocking_calls)
    cached = graph.memo.get(key)
    if isinstance(cached, list):
        return cached
    hits = _blocking_hits(ctx)
    graph.memo[key] = hits
    return hits


def _blocking_hits(ctx: Context) -> list[BlockingHit]:
    index = ctx.index
    graph = call_graph(index)
    routes = _route_functions(index)
    hits: list[BlockingHit] = []
    for site in blocking_sites(ctx):
        if site.function.is_async:
            hits.append(BlockingHit(site, site.function, []))
            continue
        roots = async_callers(graph, index, site.function)
        if not roots:
            continue
        extended = [_up_to_route(graph, index, routes, r, p) for r, p in roots]
        root, path = min(
            extended, key=lambda rp: (rp[0].fqname not in routes, len(rp[1]), rp[0].fqname)
        )
        hits.append(BlockingHit(site, root, path))
    return hits


def _up_to_route(
    graph: CallGraph,
    index: ProjectIndex,
    routes: dict[str, Route],
    root: Function,
    path: list[Edge],
    max_depth: int = 6,
) -> tuple[Function, list[Edge]]:
    """Extend a path from an async function up to a route that awaits it, when one does."""
    if root.fqname in routes:
        return root, path
    seen = {root.fqname}
    queue: deque[tuple[Function, list[Edge]]] = deque([(root, [])])
    while queue:
        cur, up = queue.popleft()
        if len(up) >= max_depth:
            continue
        for e in graph.callers(cur):
            caller = e.caller
            if e.kind == "depends" or caller.fqname in seen or index.modules[caller.path].is_test:
                continue
            seen.add(caller.fqname)
            if caller.fqname in routes:
                return caller, [e, *up, *path]
            queue.append((caller, [e, *up]))
    return root, path


def describe_root(index: ProjectIndex, fn: Function) -> str:
    for r in index.routes:
        if r.function is fn:
            return f"route {r.key} ({fn.qualname})"
    return f"async def {fn.qualname}"


def chain_of(hit: BlockingHit) -> list[str]:
    hops = [f"{e.caller.path}:{e.line} {e.caller.qualname}" for e in hit.path]
    site = hit.site
    hops.append(f"{site.function.path}:{site.call.line} {site.function.qualname} -> {site.name}")
    return hops


class BlockingCallInAsync(Rule):
    id = "ASY001"
    name = "blocking-call-in-async-def"
    category = "async.blocking-io"
    what = """
        A blocking call directly inside an `async def`: `time.sleep`, `requests`/`urllib`/
        `httpx.Client`, `open()` and pathlib/os/shutil file I/O, `subprocess`, sockets,
        psycopg2/sqlite3/pymysql, a synchronous SQLAlchemy `Session`/engine, kafka-python or
        confluent-kafka waits (`flush`, `poll`), sync redis, boto3, smtplib, and any dotted
        name listed in `[tool.fastapi-review] blocking-calls`. Calls run through
        `asyncio.to_thread`, `run_in_executor`, `run_in_threadpool` or anyio threads are fine.
    """
    why = """
        An `async def` runs on the event loop thread. A blocking call there stops every other
        request, health check and consumer on that worker until it returns: one slow upstream
        turns into a stall of the whole service.
    """
    fix = """
        Use the async client (httpx.AsyncClient, aiokafka, AsyncSession, aiofiles,
        asyncio.sleep, asyncio.create_subprocess_exec), or move the call off the loop with
        `await asyncio.to_thread(fn, ...)`; or make the route a plain `def`.
    """
    bad: ClassVar[list[Example]] = [
        """
        import time

        import requests
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/rates")
        async def rates() -> dict[str, float]:
            time.sleep(0.1)  # expect
            r = requests.get("https://rates.example/api")  # expect
            return r.json()
        """,
        """
        from confluent_kafka import Producer

        class Events:
            def __init__(self, producer: Producer) -> None:
                self._producer = producer

            async def publish(self, value: bytes) -> None:
                self._producer.produce("t", value=value)
                self._producer.flush(5)  # expect
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        import asyncio
        import time

        import httpx
        import requests
        from fastapi import APIRouter

        router = APIRouter()

        def fetch() -> dict[str, float]:
            return requests.get("https://rates.example/api").json()

        @router.get("/rates")
        async def rates() -> dict[str, float]:
            await asyncio.sleep(0.1)
            async with httpx.AsyncClient() as client:
                r = await client.get("https://rates.example/api")
            await asyncio.to_thread(time.sleep, 0.1)
            await asyncio.to_thread(fetch)
            return r.json()

        @router.get("/sync")
        def sync_rates() -> dict[str, float]:
            time.sleep(0.1)
            return requests.get("https://rates.example/api").json()
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for hit in blocking_hits(ctx):
            if hit.path:
                continue
            site = hit.site
            yield self.finding(
                ctx,
                site.function.path,
                site.call.line,
                f"{site.name}() ({site.why}) blocks the event loop inside "
                f"{describe_root(ctx.index, site.function)}",
                chain=chain_of(hit),
            )


class BlockingCallReachable(Rule):
    id = "ASY002"
    name = "blocking-call-reachable-from-async"
    category = "async.blocking-io"
    what = """
        A blocking call (same catalogue as ASY001) inside a plain `def` helper that an
        `async def` calls directly, through any number of sync functions, methods,
        constructors and modules. The finding sits on the blocking line and its chain lists
        every hop from the async function (a route when there is one) with file:line.
    """
    why = """
        Wrapping blocking code in a sync helper does not move it off the event loop: the
        helper runs on the loop thread of the coroutine that called it, and every other
        request waits for it.
    """
    fix = """
        Make the helper async with an async client, or call it from the coroutine with
        `await asyncio.to_thread(helper, ...)` / `await run_in_threadpool(helper, ...)`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/clients.py": """
                import requests

                class Pricing:
                    def __init__(self) -> None:
                        self._http = requests.Session()

                    def price(self, sku: str) -> float:
                        return self._http.get(f"https://p/{sku}").json()["price"]  # expect

                    def quote(self, skus: list[str]) -> float:
                        return sum(self.price(s) for s in skus)
            """,
            "app/service.py": """
                from app.clients import Pricing

                class Orders:
                    def __init__(self, pricing: Pricing) -> None:
                        self._pricing = pricing

                    async def create(self, skus: list[str]) -> float:
                        return self._pricing.quote(skus)
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/clients.py": """
                import requests

                class Pricing:
                    def __init__(self) -> None:
                        self._http = requests.Session()

                    def price(self, sku: str) -> float:
                        return self._http.get(f"https://p/{sku}").json()["price"]

                    def quote(self, skus: list[str]) -> float:
                        return sum(self.price(s) for s in skus)
            """,
            "app/service.py": """
                import asyncio

                from app.clients import Pricing

                class Orders:
                    def __init__(self, pricing: Pricing) -> None:
                        self._pricing = pricing

                    async def create(self, skus: list[str]) -> float:
                        return await asyncio.to_thread(self._pricing.quote, skus)

                    def create_sync(self, skus: list[str]) -> float:
                        return self._pricing.quote(skus)
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for hit in blocking_hits(ctx):
            if not hit.path:
                continue
            site = hit.site
            via = " -> ".join([hit.root.qualname, *(e.callee.qualname for e in hit.path)])
            yield self.finding(
                ctx,
                site.function.path,
                site.call.line,
                f"{site.name}() ({site.why}) runs on the event loop: reached from "
                f"{describe_root(ctx.index, hit.root)} via {via}",
                chain=chain_of(hit),
            )


# --- coroutines that are never awaited ------------------------------------------------

KNOWN_COROUTINES: dict[str, frozenset[str]] = {
    "sqlalchemy.ext.asyncio.AsyncSession": frozenset(
        {
            "commit",
            "rollback",
            "execute",
            "scalar",
            "scalars",
            "get",
            "flush",
            "refresh",
            "close",
            "delete",
            "merge",
            "stream",
        }
    ),
    "sqlalchemy.ext.asyncio.AsyncEngine": frozenset({"dispose"}),
    "sqlalchemy.ext.asyncio.AsyncConnection": frozenset(
        {"execute", "scalar", "scalars", "commit", "rollback", "close"}
    ),
    "aiokafka.AIOKafkaProducer": frozenset(
        {"start", "stop", "send", "send_and_wait", "flush", "send_batch"}
    ),
    "aiokafka.AIOKafkaConsumer": frozenset({"start", "stop", "getone", "getmany", "commit"}),
    "httpx.AsyncClient": frozenset({*_HTTP_VERBS, "send", "aclose"}),
}
KNOWN_COROUTINE_FUNCTIONS = {"asyncio.sleep", "asyncio.wait_for", "asyncio.gather"}


_COROUTINE_LAST_NAMES = frozenset(
    [name.rsplit(".", 1)[-1] for name in KNOWN_COROUTINE_FUNCTIONS]
    + [meth for methods in KNOWN_COROUTINES.values() for meth in methods]
)


def _is_coroutine_call(graph: CallGraph, fn: Function, call: Call) -> str | None:
    callee = graph.resolve_call(fn, call)
    if callee is not None:
        if callee.is_async and callee.name != "__init__":
            return callee.qualname
        return None
    if call.method and call.name not in _COROUTINE_LAST_NAMES:  # (`method_not_named`)
        return None
    name = qualified_call(graph, fn, call)
    if not name:
        return None
    if name in KNOWN_COROUTINE_FUNCTIONS:
        return name
    owner, _, meth = name.rpartition(".")
    if meth in KNOWN_COROUTINES.get(owner, frozenset()):
        return name
    return None


def _bare_call_statements(graph: CallGraph, fn: Function) -> set[int]:
    """ids of calls that are whole expression statements (their result is dropped)."""
    return {
        id(n.value)
        for n in graph.own_nodes(fn, ast.Expr)
        if isinstance(n, ast.Expr) and isinstance(n.value, ast.Call)
    }


class UnawaitedCoroutine(Rule):
    id = "ASY003"
    name = "coroutine-never-awaited"
    category = "async.unawaited-coroutine"
    what = """
        A statement that calls a coroutine function — a project `async def`, an
        `AsyncSession`/aiokafka/`httpx.AsyncClient` method, `asyncio.sleep` — and drops the
        result: no `await`, no task, no `gather`, nothing kept.
    """
    why = """
        Calling a coroutine function only creates the coroutine object; nothing runs. The
        commit, the send or the write silently never happens, and Python only prints
        "coroutine ... was never awaited" at garbage collection.
    """
    fix = "Add `await`, or schedule it with `asyncio.create_task(...)` and keep the task."
    bad: ClassVar[list[Example]] = [
        """
        from sqlalchemy.ext.asyncio import AsyncSession

        async def notify(user_id: int) -> None:
            ...

        async def save(session: AsyncSession, obj: object, user_id: int) -> None:
            session.add(obj)
            session.commit()  # expect
            notify(user_id)  # expect
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import asyncio

        from sqlalchemy.ext.asyncio import AsyncSession

        async def notify(user_id: int) -> None:
            ...

        async def save(session: AsyncSession, obj: object, user_id: int) -> None:
            session.add(obj)
            await session.commit()
            await notify(user_id)
            task = asyncio.create_task(notify(user_id))
            await asyncio.gather(notify(user_id), notify(user_id + 1))
            await task
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for m in ctx.index.source_modules:
            for fn in m.functions:
                bare = _bare_call_statements(graph, fn)
                for call in fn.calls:
                    if id(call.node) not in bare or call.awaited or call.offloaded:
                        continue
                    what = _is_coroutine_call(graph, fn, call)
                    if what is None:
                        continue
                    yield self.finding(
                        ctx,
                        fn.path,
                        call.line,
                        f"{what}() is a coroutine function: this call creates a coroutine "
                        "that is never awaited, so it never runs",
                    )


# --- fire-and-forget tasks -----------------------------------------------------------

_TASK_FUNCS = {"asyncio.create_task", "asyncio.ensure_future"}


def _is_task_spawn(call: Call) -> bool:
    if call.target in _TASK_FUNCS:
        return True
    func = call.node.func
    if isinstance(func, ast.Attribute) and func.attr == "create_task":
        recv = (dotted(func.value) or call.text).lower()
        return "loop" in recv and "group" not in recv
    return False


def _name_uses(fn: Function, name: str, after: int) -> int:
    n = 0
    for sub in walk(fn.node, ast.Name):
        if (
            isinstance(sub, ast.Name)
            and sub.id == name
            and isinstance(sub.ctx, ast.Load)
            and sub.lineno >= after
        ):
            n += 1
    return n


class FireAndForgetTask(Rule):
    id = "ASY004"
    name = "task-result-not-kept"
    category = "async.fire-and-forget-task"
    what = """
        `asyncio.create_task(...)` / `ensure_future(...)` / `loop.create_task(...)` whose task
        is dropped: a bare statement, or a local variable that is never used again.
    """
    why = """
        The event loop keeps only a weak reference to tasks: an unreferenced task can be
        garbage-collected mid-flight, and an exception inside it is never seen (at best
        "Task exception was never retrieved" at exit). A background consumer started this way
        can die silently.
    """
    fix = """
        Keep the task (an attribute, a set with `add_done_callback(tasks.discard)`), supervise
        it with a done-callback that logs, or use `asyncio.TaskGroup`; cancel and await it on
        shutdown.
    """
    bad: ClassVar[list[Example]] = [
        """
        import asyncio

        async def consume() -> None:
            ...

        async def startup() -> None:
            asyncio.create_task(consume())  # expect
            task = asyncio.create_task(consume())  # expect
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import asyncio

        async def consume() -> None:
            ...

        class App:
            def __init__(self) -> None:
                self.tasks: set[asyncio.Task[None]] = set()
                self.consumer: asyncio.Task[None] | None = None

            async def startup(self) -> None:
                self.consumer = asyncio.create_task(consume())
                task = asyncio.create_task(consume())
                self.tasks.add(task)
                task.add_done_callback(self.tasks.discard)
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(consume())
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for m in ctx.index.source_modules:
            if not ctx.index.mentions(m, "create_task", "ensure_future"):
                continue  # a spawn's name is spelled in the module (its call or its import)
            for fn in m.functions:
                if not any(_is_task_spawn(c) for c in fn.calls):
                    continue
                bare = _bare_call_statements(graph, fn)
                assigned: dict[int, str] = {}
                for sub in graph.own_nodes(fn, ast.Assign):
                    if (
                        isinstance(sub, ast.Assign)
                        and len(sub.targets) == 1
                        and isinstance(sub.targets[0], ast.Name)
                        and isinstance(sub.value, ast.Call)
                    ):
                        assigned[id(sub.value)] = sub.targets[0].id
                for call in fn.calls:
                    if not _is_task_spawn(call):
                        continue
                    if id(call.node) in bare:
                        spawn = call.text.rsplit(".", 1)[-1] or "create_task"
                        msg = f"the task returned by {spawn}() is dropped"
                    elif id(call.node) in assigned:
                        var = assigned[id(call.node)]
                        if _name_uses(fn, var, call.line) > 0:
                            continue
                        msg = f"the task kept in local '{var}' is never used again"
                    else:
                        continue
                    yield self.finding(
                        ctx,
                        fn.path,
                        call.line,
                        f"{msg}: it may be garbage-collected and its errors are never seen",
                    )


# --- sessions, engines and clients not managed --------------------------------------------

_MANAGED_TYPES = {
    "sqlalchemy.ext.asyncio.AsyncSession": "AsyncSession",
    "sqlalchemy.ext.asyncio.AsyncEngine": "async engine",
    "httpx.AsyncClient": "httpx.AsyncClient",
    "aiohttp.ClientSession": "aiohttp.ClientSession",
}
_CLOSERS = {"close", "aclose", "dispose", "stop"}


def _created_resource(graph: CallGraph, fn: Function, value: ast.expr) -> str | None:
    if not isinstance(value, ast.Call):
        return None
    call = fn.call_at(value)  # the scanner's record of this call
    if call is None:
        return None
    target = graph.target_of(fn, call)
    if target is None:
        return None
    from fastapi_review.index.callgraph import SESSION_FACTORIES, spelled

    if target in SESSION_FACTORIES and _is_parameter(fn, value.func):
        # `factory()` where `factory: async_sessionmaker[...]` is a parameter: the call of an
        # instance (a session), not the construction of another factory
        t = SESSION_FACTORIES[target]
    else:
        t = graph.value_type(f"{target}()") or target
    kind = _MANAGED_TYPES.get(spelled(t))
    if kind is None:
        # `factory()` where `factory: Callable[[], AsyncSession]` (a parameter, or an
        # attribute set from one): the call makes a session
        made = graph.callable_return(fn, value.func)
        kind = _MANAGED_TYPES.get(spelled(made)) if made else None
    if kind == "async engine" and "NullPool" in unparse(value):
        return None  # no pool: every connection is closed when released
    return kind


def _is_parameter(fn: Function, func: ast.expr) -> bool:
    """`func` is a bare name bound by one of `fn`'s parameters."""
    if not isinstance(func, ast.Name) or not isinstance(fn.node, FUNCTION_NODES):
        return False
    args = fn.node.args
    return any(a.arg == func.id for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])


class UnmanagedSession(Rule):
    id = "ASY005"
    name = "session-not-managed"
    category = "async.session-lifecycle"
    what = """
        An `AsyncSession`, async engine, `httpx.AsyncClient` or `aiohttp.ClientSession` created
        in a function into a local variable, and then neither used with `async with`, closed
        (`close`/`aclose`/`dispose`), yielded (a yield dependency), returned nor stored.
    """
    why = """
        An unclosed session holds its pooled connection (and an open transaction) until the
        garbage collector finds it: under load the pool runs dry and requests hang; unclosed
        clients leak sockets.
    """
    fix = """
        `async with session_factory() as session:` (or a yield dependency that does it),
        `async with httpx.AsyncClient() as client:`, or close it in `finally`.
    """
    bad: ClassVar[list[Example]] = [
        """
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

        engine = create_async_engine("postgresql+asyncpg://db/app")
        SessionLocal = async_sessionmaker(engine)

        async def count_users() -> int:
            session = SessionLocal()  # expect
            result = await session.execute("SELECT count(*) FROM users")
            return result.scalar_one()
        """,
        """
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

        async def nightly(factory: async_sessionmaker[AsyncSession]) -> None:
            session = factory()  # expect
            await session.execute("DELETE FROM tokens WHERE expired")
            await session.commit()
        """,
    ]
    good: ClassVar[list[Example]] = [
        """
        from collections.abc import AsyncIterator

        import httpx
        from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

        engine = create_async_engine("postgresql+asyncpg://db/app")
        SessionLocal = async_sessionmaker(engine)

        async def get_session() -> AsyncIterator[AsyncSession]:
            async with SessionLocal() as session:
                yield session

        async def get_session_2() -> AsyncIterator[AsyncSession]:
            session = SessionLocal()
            try:
                yield session
            finally:
                await session.close()

        async def fetch() -> str:
            client = httpx.AsyncClient()
            try:
                return (await client.get("https://x")).text
            finally:
                await client.aclose()

        def make_client() -> httpx.AsyncClient:
            client = httpx.AsyncClient()
            return client
        """,
        """
        from alembic import context
        from sqlalchemy import pool
        from sqlalchemy.ext.asyncio import async_engine_from_config

        async def run_migrations_online() -> None:
            connectable = async_engine_from_config(
                context.config.get_section("alembic"), poolclass=pool.NullPool
            )
            async with connectable.connect() as connection:
                await connection.run_sync(lambda c: None)
        """,
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for m in ctx.index.source_modules:
            if is_alembic_script(m):
                continue
            for fn in m.functions:
                # a dependency that returns (not yields) a session: FastAPI never closes it
                # (asked only once a created resource is found)
                plain_dep: bool | None = None
                for sub in graph.own_nodes(fn, (ast.Return, ast.Assign)):
                    if not isinstance(sub, _RETURN_ASSIGN) or not isinstance(sub.value, ast.Call):
                        continue  # only a call creates a resource
                    if isinstance(sub, ast.Return):
                        kind = _created_resource(graph, fn, sub.value)
                        if kind is None:
                            continue
                        if plain_dep is None:
                            plain_dep = _plain_dependency(graph, fn)
                        if plain_dep:
                            yield self.finding(
                                ctx,
                                fn.path,
                                sub.lineno,
                                f"{kind} returned by the dependency {fn.name}() is never "
                                "closed: a dependency must `yield` it inside `async with`",
                            )
                        continue
                    if not (
                        isinstance(sub, ast.Assign)
                        and len(sub.targets) == 1
                        and isinstance(sub.targets[0], ast.Name)
                    ):
                        continue
                    kind = _created_resource(graph, fn, sub.value)
                    if kind is None:
                        continue
                    if plain_dep is None:
                        plain_dep = _plain_dependency(graph, fn)
                    var = sub.targets[0].id
                    if _is_managed(
                        fn.node, var, _plain_wrappers(graph, fn), returned_ok=not plain_dep
                    ):
                        continue
                    yield self.finding(
                        ctx,
                        fn.path,
                        sub.lineno,
                        f"{kind} '{var}' is created here but never closed, used with "
                        "`async with`, yielded, returned or stored"
                        if not plain_dep
                        else f"{kind} '{var}' is returned by the dependency {fn.name}() "
                        "and never closed: a dependency must `yield` it inside `async with`",
                    )


def _plain_dependency(graph: CallGraph, fn: Function) -> bool:
    """`fn` is used as a FastAPI dependency (`Depends(fn)`) and does not yield."""
    if any(isinstance(n, _YIELD_YIELDFROM) for n in graph.own_nodes(fn, _YIELD_YIELDFROM)):
        return False
    return any(e.kind == "depends" for e in graph.callers(fn))


def _mentions(expr: ast.expr | None, var: str) -> bool:
    """`var` itself, or inside a tuple/list/dict/set display (not any sub-expression)."""
    if expr is None:
        return False
    if isinstance(expr, ast.Name):
        return expr.id == var
    if isinstance(expr, _TUPLE_LIST_SET):
        return any(_mentions(e, var) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return any(_mentions(e, var) for e in expr.values)
    return False


def _plain_wrappers(graph: CallGraph, fn: Function) -> dict[int, ast.expr]:
    """`repo = Repo(session)` where `Repo` is a project class that cannot close anything
    (no close/aclose/`__aexit__`): call node id -> the local name the wrapper is bound to."""
    out: dict[int, ast.expr] = {}
    for sub in graph.own_nodes(fn):
        if not (
            isinstance(sub, ast.Assign)
            and len(sub.targets) == 1
            and isinstance(sub.targets[0], ast.Name)
            and isinstance(sub.value, ast.Call)
        ):
            continue
        call = fn.call_at(sub.value)
        cls = graph.index.class_(graph.target_of(fn, call)) if call is not None else None
        if cls is None:
            continue
        names = set(cls.methods)
        for base in cls.bases:
            parent = graph.index.class_(base)
            names |= set(parent.methods) if parent is not None else {"close"}  # unknown base
        if not names & {*_CLOSERS, "__aexit__", "__exit__", "__del__"}:
            out[id(sub.value)] = sub.targets[0]
    return out


def _is_managed(
    fn_node: ast.AST,
    var: str,
    wrappers: dict[int, ast.expr] | None = None,
    *,
    returned_ok: bool = True,
) -> bool:
    wrappers = wrappers or {}
    for sub in own_nodes(
        fn_node,
        (
            WITH_NODES,
            ast.Call,
            _RETURN_YIELD_YIELDFROM,
            ASSIGN_NODES,
        ),
    ):
        if isinstance(sub, WITH_NODES):
            if any(_mentions(item.context_expr, var) for item in sub.items):
                return True
        elif isinstance(sub, ast.Call):
            if (
                isinstance(sub.func, ast.Attribute)
                and sub.func.attr in _CLOSERS
                and dotted(sub.func.value) == var
            ):
                return True
            # handed to something else (a registry, an exit stack, a constructor)
            if any(_mentions(a, var) for a in [*sub.args, *(k.value for k in sub.keywords)]):
                wrapper = wrappers.get(id(sub))
                if wrapper is None or not isinstance(wrapper, ast.Name):
                    return True
                # a plain repository holding it: managed only if the wrapper escapes
                if _is_managed(fn_node, wrapper.id):
                    return True
        elif isinstance(sub, _RETURN_YIELD_YIELDFROM):
            if _mentions(sub.value, var) and (returned_ok or not isinstance(sub, ast.Return)):
                return True
        elif isinstance(sub, ASSIGN_NODES):
            targets = sub.targets if isinstance(sub, ast.Assign) else [sub.target]
            if _mentions(sub.value, var) and any(not isinstance(t, ast.Name) for t in targets):
                return True
    return False


# --- sequential awaits in a loop --------------------------------------------------------

_HTTP_ASYNC = {f"httpx.AsyncClient.{v}" for v in _HTTP_VERBS}


class SequentialAwaitsInLoop(Rule):
    id = "ASY006"
    name = "sequential-awaits-in-loop"
    category = "async.sequential-awaits"
    what = """
        A `for` loop whose only statement awaits one independent call per item — an
        outbound HTTP request or a project coroutine that does no database work — with
        nothing carried from one iteration to the next.
    """
    why = """
        Each iteration waits for the previous one: N calls take N round trips. When the calls
        are independent, `asyncio.gather` (or a TaskGroup, with a semaphore for bounding)
        runs them concurrently.
    """
    fix = "Collect the coroutines and `await asyncio.gather(*coros)` (bounded if needed)."
    bad: ClassVar[list[Example]] = [
        """
        import httpx

        async def prices(client: httpx.AsyncClient, skus: list[str]) -> list[float]:
            out = []
            for sku in skus:
                out.append(await client.get(f"https://p/{sku}"))  # expect
            return out
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import asyncio

        import httpx

        async def prices(client: httpx.AsyncClient, skus: list[str]) -> list[float]:
            return await asyncio.gather(*(client.get(f"https://p/{s}") for s in skus))

        async def retry(client: httpx.AsyncClient) -> None:
            for _ in range(3):
                await client.get("https://p/ping")
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        graph = call_graph(ctx.index)
        for m in ctx.index.source_modules:
            for fn in m.functions:
                if not fn.is_async:
                    continue
                by_node = {id(c.node): c for c in fn.calls}
                for loop in graph.own_nodes(fn, ast.For):
                    if not isinstance(loop, ast.For) or len(loop.body) != 1 or loop.orelse:
                        continue
                    stmt = loop.body[0]
                    awaited = _single_await(stmt)
                    if awaited is None:
                        continue
                    call = by_node.get(id(awaited))
                    if call is None:
                        continue
                    loop_vars = {n.id for n in walk(loop.target, ast.Name)}
                    used = {n.id for n in walk(awaited, ast.Name)}
                    if not loop_vars & used:
                        continue
                    if not _independent_io(graph, fn, call):
                        continue
                    yield self.finding(
                        ctx,
                        fn.path,
                        call.line,
                        f"{call.text}() is awaited once per item in a loop; the calls are "
                        "independent and could run concurrently",
                    )


def _single_await(stmt: ast.stmt) -> ast.Call | None:
    value: ast.expr | None = None
    if isinstance(stmt, ast.Expr):
        value = stmt.value
        if (
            isinstance(value, ast.Call)
            and len(value.args) == 1
            and not value.keywords
            and isinstance(value.func, ast.Attribute)
            and value.func.attr == "append"
        ):
            value = value.args[0]
    if isinstance(value, ast.Await) and isinstance(value.value, ast.Call):
        return value.value
    return None


def _independent_io(graph: CallGraph, fn: Function, call: Call) -> bool:
    name = qualified_call(graph, fn, call)
    if name in _HTTP_ASYNC:
        return True
    callee = graph.resolve_call(fn, call)
    if callee is None or not callee.is_async:
        return False
    # only coroutines that make outbound HTTP calls and touch no session/producer state
    http = False
    for f_name, _path in graph.reachable_from(callee, max_depth=4).items():
        f = graph.index.functions.get(f_name)
        if f is None:
            continue
        for c in f.calls:
            q = qualified_call(graph, f, c) or ""
            if q in _HTTP_ASYNC:
                http = True
            elif q.startswith(("sqlalchemy.", "aiokafka.")) or "session" in c.text.lower():
                return False
    return http
