"""Call graph and async rules on hand-written fixture projects: exact rule, file and line."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

from fastapi_review.config import Config
from fastapi_review.index.callgraph import call_graph, method_not_named
from fastapi_review.index.project import ProjectIndex, build_index
from fastapi_review.models import Finding, Severity
from fastapi_review.rules.async_rules import (
    BlockingCallInAsync,
    BlockingCallReachable,
    FireAndForgetTask,
    SequentialAwaitsInLoop,
    UnawaitedCoroutine,
    UnmanagedSession,
)
from fastapi_review.rules.base import Rule
from fastapi_review.rules.examples import run_example


def hits(rule: type[Rule], files: dict[str, str], config: Config | None = None) -> list[Finding]:
    return [f for f in run_example(rule, files, config=config) if f.rule == rule.id]


def where(findings: list[Finding]) -> list[tuple[str | None, int | None]]:
    return sorted((f.path, f.line) for f in findings)


# a route -> service (other module) -> client (third module) -> helper -> requests call
LAYERED = {
    "app/api/routes.py": """
        from typing import Annotated

        from fastapi import APIRouter, Depends

        from app.services.orders import OrderService

        router = APIRouter()


        def get_service() -> OrderService:
            return OrderService()


        ServiceDep = Annotated[OrderService, Depends(get_service)]


        @router.post("/orders")
        async def create_order(service: ServiceDep) -> dict[str, float]:
            total = await service.create(["a", "b"])
            return {"total": total}


        @router.post("/orders/offloaded")
        async def create_offloaded(service: ServiceDep) -> dict[str, float]:
            return {"total": await service.create_offloaded(["a"])}
    """,
    "app/services/orders.py": """
        import asyncio

        from app.clients import pricing


        class OrderService:
            def __init__(self) -> None:
                self._client = pricing.PricingClient("https://prices")

            async def create(self, skus: list[str]) -> float:
                return self._client.quote(skus)

            async def create_offloaded(self, skus: list[str]) -> float:
                return await asyncio.to_thread(self._client.quote_slow, skus)
    """,
    "app/clients/pricing.py": """
        import requests


        def _get_json(url: str) -> dict[str, float]:
            response = requests.get(url, timeout=2)
            return response.json()


        class PricingClient:
            def __init__(self, base: str) -> None:
                self._base = base

            def quote(self, skus: list[str]) -> float:
                return sum(self._price(s) for s in skus)

            def _price(self, sku: str) -> float:
                return _get_json(f"{self._base}/{sku}")["price"]

            def quote_slow(self, skus: list[str]) -> float:
                data = requests.post(f"{self._base}/bulk", json=skus, timeout=2)
                return data.json()["total"]
    """,
}


def _index(tmp_path: Path, files: dict[str, str]) -> ProjectIndex:
    for path, text in files.items():
        p = tmp_path / path
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return build_index(tmp_path)


def test_blocking_call_three_functions_and_two_modules_away(tmp_path: Path) -> None:
    found = hits(BlockingCallReachable, LAYERED)
    # only the call behind the plain method chain; quote_slow runs in a thread
    assert where(found) == [("app/clients/pricing.py", 5)]
    f = found[0]
    assert f.category == "async.blocking-io" and f.severity is Severity.BLOCKER
    assert "requests.get" in f.message and "POST /orders" in f.message
    assert f.evidence == "response = requests.get(url, timeout=2)"
    assert f.chain == [
        "app/api/routes.py:19 create_order",
        "app/services/orders.py:11 OrderService.create",
        "app/clients/pricing.py:14 PricingClient.quote",
        "app/clients/pricing.py:17 PricingClient._price",
        "app/clients/pricing.py:5 _get_json -> requests.get",
    ]
    assert hits(BlockingCallInAsync, LAYERED) == []


def test_same_call_behind_to_thread_is_not_flagged() -> None:
    files = dict(LAYERED)
    files["app/services/orders.py"] = """
        import asyncio

        from app.clients import pricing


        class OrderService:
            def __init__(self) -> None:
                self._client = pricing.PricingClient("https://prices")

            async def create(self, skus: list[str]) -> float:
                return await asyncio.to_thread(self._client.quote, skus)

            async def create_offloaded(self, skus: list[str]) -> float:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(None, lambda: self._client.quote_slow(skus))
    """
    assert hits(BlockingCallReachable, files) == []
    assert hits(BlockingCallInAsync, files) == []


def test_one_finding_per_blocking_site_not_per_caller() -> None:
    files = {
        "app/helpers.py": """
            import time

            def pause() -> None:
                time.sleep(1)

            def pause_twice() -> None:
                pause()
                pause()
        """,
        "app/jobs.py": """
            from app.helpers import pause, pause_twice

            async def job_a() -> None:
                pause()

            async def job_b() -> None:
                pause_twice()
        """,
    }
    found = hits(BlockingCallReachable, files)
    assert where(found) == [("app/helpers.py", 4)]
    assert found[0].chain[0] == "app/jobs.py:4 job_a"


def test_direct_blocking_calls_and_plain_def_routes() -> None:
    files = {
        "app/routes.py": """
            import subprocess
            import time
            from pathlib import Path

            from fastapi import APIRouter
            from sqlalchemy.orm import Session

            router = APIRouter()

            @router.get("/a")
            async def a(db: Session) -> str:
                time.sleep(1)
                subprocess.run(["ls"], check=True)
                text = Path("/etc/hosts").read_text()
                with open("/tmp/x") as fh:
                    fh.read()
                db.execute("SELECT 1")
                return text

            @router.get("/b")
            def b() -> str:
                time.sleep(1)
                return Path("/etc/hosts").read_text()
        """
    }
    found = hits(BlockingCallInAsync, files)
    assert where(found) == [("app/routes.py", n) for n in (12, 13, 14, 15, 17)]
    assert hits(BlockingCallReachable, files) == []


def test_sync_kafka_clients_and_configured_blocking_calls() -> None:
    files = {
        "app/events.py": """
            from kafka import KafkaProducer

            from app.legacy import fetch_all

            producer = KafkaProducer(bootstrap_servers="k:9092")

            async def publish(value: bytes) -> None:
                producer.send("t", value)
                producer.flush()

            async def sync_legacy() -> None:
                fetch_all()
        """,
        "app/legacy.py": """
            def fetch_all() -> None:
                return None
        """,
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/events.py", 8), ("app/events.py", 9)]
    config = Config(blocking_calls=["app.legacy.fetch_all"])
    found = hits(BlockingCallInAsync, files, config)
    assert ("app/events.py", 12) in where(found)


def test_every_method_of_a_sync_redis_client_blocks_also_through_another_module() -> None:
    # the client is typed in one module and used in another that never names redis: the
    # method names (`hgetall`, `zadd`) are in no list, the receiver's type decides
    files = {
        "app/cache.py": """
            import redis

            class Cache:
                def __init__(self) -> None:
                    self.client = redis.Redis(host="cache")
        """,
        "app/routes.py": """
            from app.cache import Cache

            cache = Cache()

            async def profile(user_id: str) -> dict[bytes, bytes]:
                cache.client.zadd("seen", {user_id: 1})
                return cache.client.hgetall(user_id)

            async def name_of(user_id: str) -> str:
                return user_id.title()
        """,
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/routes.py", 6), ("app/routes.py", 7)]


def test_sync_dependency_is_threadpooled_but_async_one_is_not() -> None:
    files = {
        "app/routes.py": """
            import time
            from typing import Annotated

            from fastapi import APIRouter, Depends

            router = APIRouter()

            def slow_dep() -> int:
                time.sleep(1)
                return 1

            async def bad_dep() -> int:
                time.sleep(1)
                return 1

            @router.get("/x")
            async def x(a: Annotated[int, Depends(slow_dep)], b: int = Depends(bad_dep)) -> int:
                return a + b
        """
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/routes.py", 13)]
    assert hits(BlockingCallReachable, files) == []


def test_call_graph_edges_paths_and_cache(tmp_path: Path) -> None:
    index = _index(tmp_path, LAYERED)
    graph = call_graph(index)
    assert call_graph(index) is graph
    route = index.functions["app.api.routes.create_order"]
    callees = {(e.callee.qualname, e.kind) for e in graph.callees(route)}
    assert ("OrderService.create", "call") in callees
    assert ("get_service", "depends") in callees
    reach = graph.reachable_from(route)
    path = reach["app.clients.pricing._get_json"]
    assert [e.callee.qualname for e in path] == [
        "OrderService.create",
        "PricingClient.quote",
        "PricingClient._price",
        "_get_json",
    ]
    init = index.functions["app.services.orders.OrderService.__init__"]
    assert {e.callee.qualname for e in graph.callees(init)} == {"PricingClient.__init__"}
    helper = index.functions["app.clients.pricing._get_json"]
    assert [e.caller.qualname for e in graph.callers(helper)] == ["PricingClient._price"]
    # the offloaded reference is not a call edge
    off = index.functions["app.services.orders.OrderService.create_offloaded"]
    assert "app.clients.pricing.PricingClient.quote_slow" not in graph.reachable_from(off)


def test_call_graph_factories_reexports_and_inheritance(tmp_path: Path) -> None:
    index = _index(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/core/__init__.py": "from app.core.base import Base as Base\n",
            "app/core/base.py": """
                class Base:
                    def save(self) -> None:
                        return None
            """,
            "app/svc.py": """
                from app import core

                class Child(core.Base):
                    pass

                def make() -> Child:
                    return Child()

                def run() -> None:
                    make().save()
                    child = make()
                    child.save()
            """,
        },
    )
    graph = call_graph(index)
    run = index.functions["app.svc.run"]
    assert {e.callee.fqname for e in graph.callees(run)} == {
        "app.svc.make",
        "app.core.base.Base.save",
    }


def test_unawaited_coroutines() -> None:
    files = {
        "app/service.py": """
            import asyncio

            from sqlalchemy.ext.asyncio import AsyncSession

            class Repo:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

                async def save(self, obj: object) -> None:
                    self.session.add(obj)
                    self.session.flush()

            async def handler(repo: Repo, obj: object) -> None:
                repo.save(obj)
                asyncio.sleep(1)
                await repo.save(obj)
                pending = repo.save(obj)
                await pending
        """
    }
    assert where(hits(UnawaitedCoroutine, files)) == [
        ("app/service.py", 11),
        ("app/service.py", 14),
        ("app/service.py", 15),
    ]


def test_fire_and_forget_tasks() -> None:
    files = {
        "app/main.py": """
            import asyncio

            async def run() -> None:
                ...

            background: set[asyncio.Task[None]] = set()

            async def lifespan() -> None:
                asyncio.create_task(run())
                asyncio.get_running_loop().create_task(run())
                kept = asyncio.create_task(run())
                background.add(kept)
                orphan = asyncio.ensure_future(run())
                async with asyncio.TaskGroup() as tg:
                    tg.create_task(run())
        """
    }
    found = hits(FireAndForgetTask, files)
    assert where(found) == [("app/main.py", 9), ("app/main.py", 10), ("app/main.py", 13)]
    assert all(f.category == "async.fire-and-forget-task" for f in found)


def test_session_and_client_lifecycle() -> None:
    files = {
        "app/db.py": """
            import httpx
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://db/app", pool_size=5)
            factory = async_sessionmaker(engine)

            class Worker:
                def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
                    self._sessions = sessions

                async def leak(self) -> None:
                    session = self._sessions()
                    await session.execute("SELECT 1")

                async def ok(self) -> None:
                    async with self._sessions() as session:
                        await session.execute("SELECT 1")

            async def leak_client() -> str:
                client = httpx.AsyncClient()
                return (await client.get("https://x")).text

            async def stored(app: object) -> None:
                client = httpx.AsyncClient()
                app.state.client = client

            async def leak_engine() -> None:
                e = create_async_engine("postgresql+asyncpg://db/app", pool_size=1)
                async with e.connect() as conn:
                    await conn.execute("SELECT 1")
        """
    }
    assert where(hits(UnmanagedSession, files)) == [
        ("app/db.py", 12),
        ("app/db.py", 20),
        ("app/db.py", 28),
    ]


def test_sequential_awaits_only_for_independent_http_calls() -> None:
    files = {
        "app/client.py": """
            import httpx
            from sqlalchemy.ext.asyncio import AsyncSession

            async def fetch(client: httpx.AsyncClient, sku: str) -> float:
                return (await client.get(f"https://p/{sku}")).json()["price"]

            async def store(session: AsyncSession, sku: str) -> None:
                await session.execute("SELECT 1")

            async def prices(client: httpx.AsyncClient, skus: list[str]) -> list[float]:
                out = []
                for sku in skus:
                    out.append(await fetch(client, sku))
                return out

            async def save_all(session: AsyncSession, skus: list[str]) -> None:
                for sku in skus:
                    await store(session, sku)

            async def with_state(client: httpx.AsyncClient, skus: list[str]) -> float:
                total = 0.0
                for sku in skus:
                    total += await fetch(client, sku)
                    if total > 10:
                        break
                return total
        """
    }
    found = hits(SequentialAwaitsInLoop, files)
    assert where(found) == [("app/client.py", 13)]
    assert found[0].severity is Severity.LOW


def test_closure_variables_and_nested_defs_are_resolved(tmp_path: Path) -> None:
    # the consumer is created by the outer function and polled by the nested loop
    files = {
        "app/consumer.py": """
            import asyncio

            from confluent_kafka import Consumer

            async def start() -> asyncio.Task[None]:
                consumer = Consumer({"group.id": "g"})

                async def loop() -> None:
                    while True:
                        msg = consumer.poll(1.0)
                        print(msg)

                return asyncio.create_task(loop())

            async def shadowed(consumer: object) -> None:
                async def inner() -> None:
                    consumer = object()
                    consumer.poll(1.0)

                await inner()
        """
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/consumer.py", 10)]
    ix = _index(tmp_path, files)
    graph = call_graph(ix)
    start = ix.functions["app.consumer.start"]
    assert "app.consumer.start.loop" in {e.callee.fqname for e in graph.callees(start)}


def test_session_held_only_by_a_plain_repository_leaks() -> None:
    files = {
        "app/db.py": """
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            engine = create_async_engine("postgresql+asyncpg://db/app", pool_size=5)
            factory = async_sessionmaker(engine)

            class Repo:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

            class UnitOfWork:
                def __init__(self, session: AsyncSession) -> None:
                    self.session = session

                async def close(self) -> None:
                    await self.session.close()

            async def leak() -> None:
                session = factory()
                repo = Repo(session)
                await repo.session.commit()

            async def closed_by_wrapper() -> None:
                session = factory()
                uow = UnitOfWork(session)
                await uow.close()

            def repo_factory() -> Repo:
                session = factory()
                repo = Repo(session)
                return repo
        """
    }
    assert where(hits(UnmanagedSession, files)) == [("app/db.py", 18)]


def test_confluent_poll_with_zero_timeout_does_not_block() -> None:
    files = {
        "app/events.py": """
            from confluent_kafka import Producer

            producer = Producer({"bootstrap.servers": "kafka:9092", "acks": "all"})

            async def publish(payload: bytes) -> None:
                producer.produce("t", payload, on_delivery=print)
                producer.poll(0)
                producer.flush(timeout=0.0)
                producer.flush(5)
        """
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/events.py", 9)]


def test_session_from_a_factory_parameter() -> None:
    files = {
        "app/jobs.py": """
            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


            async def leaky(factory: async_sessionmaker[AsyncSession]) -> None:
                session = factory()
                await session.execute("DELETE FROM tokens")
                await session.commit()


            async def managed(factory: async_sessionmaker[AsyncSession]) -> None:
                async with factory() as session:
                    await session.execute("DELETE FROM tokens")


            async def closed(factory: async_sessionmaker[AsyncSession]) -> None:
                session = factory()
                try:
                    await session.execute("DELETE FROM tokens")
                finally:
                    await session.close()


            def another_factory(factory: async_sessionmaker[AsyncSession]) -> None:
                copy = factory
                copy.configure(expire_on_commit=False)
        """
    }
    assert where(hits(UnmanagedSession, files)) == [("app/jobs.py", 5)]


def test_session_from_a_callable_annotated_factory() -> None:
    # `Callable[[], AsyncSession]` as a parameter, or kept on `self` from a constructor
    # parameter: calling it makes a session that must be closed
    files = {
        "app/worker.py": """
            from collections.abc import Callable
            from typing import Optional

            from sqlalchemy.ext.asyncio import AsyncSession


            class Worker:
                def __init__(self, session_factory: Callable[[], AsyncSession]) -> None:
                    self._make = session_factory

                async def leaky(self) -> None:
                    session = self._make()
                    await session.execute("DELETE FROM tokens")

                async def managed(self) -> None:
                    async with self._make() as session:
                        await session.execute("DELETE FROM tokens")


            async def job(make: "Optional[Callable[[], AsyncSession]]") -> None:
                session = make()
                await session.commit()


            async def other(make: Callable[[], int]) -> None:
                value = make()
                print(value)
        """
    }
    assert where(hits(UnmanagedSession, files)) == [("app/worker.py", 12), ("app/worker.py", 21)]


def test_kafka_python_send_future_get_blocks_the_loop() -> None:
    # kafka-python's send() returns a future; get() waits for the broker. The producer is
    # kept on `self` (typed Any in the constructor, built in start())
    files = {
        "app/events.py": """
            from typing import Any

            from kafka import KafkaProducer


            class Events:
                def __init__(self, producer: Any | None = None) -> None:
                    self._producer = producer

                def start(self) -> None:
                    self._producer = KafkaProducer(bootstrap_servers="kafka:9092")

                def created(self, key: bytes) -> None:
                    future = self._producer.send("created", key=key, value=b"{}")
                    future.get(timeout=10)

                def deleted(self, key: bytes) -> None:
                    self._producer.send("deleted", key=key, value=b"{}").get(timeout=10)
        """,
        "app/api.py": """
            from fastapi import APIRouter

            from app.events import Events

            router = APIRouter()
            events = Events()


            @router.post("/things")
            async def create() -> None:
                events.created(b"k")
                events.deleted(b"k")
        """,
    }
    found = hits(BlockingCallReachable, files)
    assert where(found) == [
        ("app/events.py", 14),
        ("app/events.py", 15),
        ("app/events.py", 18),
        ("app/events.py", 18),
    ]
    gets = [f for f in found if "FutureRecordMetadata.get" in f.message]
    assert [f.line for f in gets] == [15, 18]


def test_any_typed_attribute_built_by_another_attribute_does_not_loop() -> None:
    # `self._consumer: Any` assigned from `self._factory(...)`: typing one attribute
    # scans the class, which asks for the type of the other one: no endless recursion
    files = {
        "app/consumer.py": """
            import time
            from collections.abc import Callable
            from typing import Any


            def build(name: str) -> Any:
                return object()


            class Runner:
                def __init__(self, factory: Callable[[str], Any] = build) -> None:
                    self._factory = factory
                    self._consumer: Any = None

                async def start(self) -> None:
                    self._consumer = self._factory("x")
                    self._consumer.start()
                    time.sleep(1)
        """
    }
    assert where(hits(BlockingCallInAsync, files)) == [("app/consumer.py", 18)]


def test_dependency_that_returns_a_session_never_closes_it() -> None:
    files = {
        "app/db.py": """
            from collections.abc import AsyncIterator

            from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

            SessionLocal = async_sessionmaker(create_async_engine("postgresql+asyncpg://db/app"))


            def get_session() -> AsyncSession:
                return SessionLocal()


            def get_session_2() -> AsyncSession:
                session = SessionLocal()
                return session


            async def get_session_3() -> AsyncIterator[AsyncSession]:
                async with SessionLocal() as session:
                    yield session


            def make_session() -> AsyncSession:
                return SessionLocal()
        """,
        "app/api.py": """
            from fastapi import APIRouter, Depends
            from sqlalchemy.ext.asyncio import AsyncSession

            from app.db import get_session, get_session_2, get_session_3

            router = APIRouter()


            @router.get("/a")
            async def a(
                s1: AsyncSession = Depends(get_session),
                s2: AsyncSession = Depends(get_session_2),
                s3: AsyncSession = Depends(get_session_3),
            ) -> None: ...
        """,
    }
    # make_session() is not a dependency: its callers own the session it returns
    assert where(hits(UnmanagedSession, files)) == [("app/db.py", 9), ("app/db.py", 13)]


def test_only_a_method_call_is_ruled_out_by_its_name() -> None:
    method = ast.parse("client.fetch(1)", mode="eval").body
    bare = ast.parse("fetch(1)", mode="eval").body
    assert isinstance(method, ast.Call) and isinstance(bare, ast.Call)
    assert method_not_named(method.func, {"get"})
    assert not method_not_named(method.func, {"get", "fetch"})
    assert not method_not_named(bare.func, {"get"})  # an import alias can rename it
