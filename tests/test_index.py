"""The project index: parse once, with routes, models, settings, Kafka clients and tests."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from fastapi_review.index import build_index

Tree = Callable[[dict[str, str | bytes]], Path]

APP = {
    "src/svc/__init__.py": "",
    "src/svc/main.py": """\
from fastapi import FastAPI

from svc.api import router as api_router
from svc.api.health import router as health_router

app = FastAPI()
app.include_router(api_router, prefix="/api")
app.include_router(health_router)
""",
    "src/svc/api/__init__.py": """\
from fastapi import APIRouter

from svc.api import orders

router = APIRouter(prefix="/v1")
router.include_router(orders.router)
""",
    "src/svc/api/orders.py": """\
from fastapi import APIRouter, Depends, status

from svc.core.topics import ORDERS_CREATED
from svc.schemas import OrderIn, OrderOut

PREFIX = "/orders"
router = APIRouter(prefix=PREFIX)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=OrderOut)
async def create(body: OrderIn, limit: int = 10) -> OrderOut:
    ...


@router.api_route("/{order_id}", methods=["GET", "HEAD"])
def read(order_id: int):
    ...
""",
    "src/svc/api/health.py": """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/health/live")
async def live() -> dict[str, str]:
    return {"status": "ok"}
""",
    "src/svc/schemas.py": """\
from pydantic import BaseModel, Field


class Base(BaseModel):
    pass


class OrderIn(Base):
    sku: str = Field(min_length=1)
    quantity: int = Field(1, ge=1, le=999)


class OrderOut(OrderIn):
    id: int
""",
    "src/svc/models.py": """\
from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column("sku_code", String(40))
    items: Mapped[list["Item"]] = relationship(back_populates="order")


class Item(Base):
    __tablename__ = "order_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
""",
    "src/svc/core/__init__.py": "",
    "src/svc/core/topics.py": 'ORDERS_CREATED = "orders.created"\n',
    "src/svc/core/config.py": """\
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SVC_")
    payments_topic: str = "payments.completed"
""",
    "src/svc/kafka.py": """\
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from svc.core.config import Settings
from svc.core.topics import ORDERS_CREATED


class Bus:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.producer = AIOKafkaProducer(bootstrap_servers="k:9092", acks="all")
        self.consumer = AIOKafkaConsumer(settings.payments_topic, group_id="svc")

    async def publish(self, payload: bytes) -> None:
        await self.producer.send_and_wait(ORDERS_CREATED, payload)
""",
    "tests/test_orders.py": """\
import pytest


@pytest.mark.asyncio
async def test_create(client) -> None:
    order_id = 3
    r = await client.post("/api/v1/orders", json={})
    r2 = await client.get(f"/api/v1/orders/{order_id}?x=1")
    assert r.status_code == 201
""",
    "tests/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef test_data():\n    return 1\n",
    "tests/test_fixtures.py": "import pytest\n\n\n@pytest.fixture(name='client')\ndef test_client():\n    return 1\n",
    "src/svc/broken.py": "def f(:\n    pass\n",
    "src/svc/latin.py": "# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n".encode("latin-1"),
    "src/svc/blob.py": b"\x00\x01binary",
    ".venv/lib/site.py": "import os\n",
    "build/lib/copy.py": "x = 1\n",
}


def test_routes_with_prefixes(write_tree: Tree) -> None:
    index = build_index(write_tree(APP))
    keys = sorted(r.key for r in index.routes)
    assert keys == [
        "GET /api/v1/orders/{order_id}",
        "GET /health/live",
        "HEAD /api/v1/orders/{order_id}",
        "POST /api/v1/orders",
    ]
    create = next(r for r in index.routes if r.method == "POST")
    assert create.status_code == 201
    assert create.response_model == "OrderOut"
    assert create.file == "src/svc/api/orders.py" and create.line == 10
    assert create.function.is_async
    assert {(p.name, p.kind) for p in create.params} == {("body", "body"), ("limit", "query")}
    read = next(r for r in index.routes if r.method == "GET" and "orders" in r.path)
    assert read.response_model is None and read.return_annotation is None
    assert [(p.name, p.kind) for p in read.params] == [("order_id", "path")]


def test_models_settings_kafka_tests(write_tree: Tree) -> None:
    index = build_index(write_tree(APP))
    assert {m.cls.name for m in index.pydantic_models.values()} == {"Base", "OrderIn", "OrderOut"}
    order_in = next(m for m in index.pydantic_models.values() if m.cls.name == "OrderIn")
    assert set(order_in.fields) == {"sku", "quantity"}
    assert "ge" in order_in.fields["quantity"].options
    tables = {m.table: m for m in index.orm_models.values()}
    assert set(tables) == {"orders", "order_items"}
    assert set(tables["orders"].columns) == {"id", "sku_code"}
    assert set(tables["orders"].relationships) == {"items"}
    assert tables["order_items"].columns["order_id"].foreign_key == "orders.id"
    settings = next(iter(index.settings.values()))
    assert (
        settings.env_prefix == "SVC_" and settings.fields["payments_topic"] == "payments.completed"
    )
    roles = {(k.library, k.role, tuple(k.topics)) for k in index.kafka_clients}
    assert roles == {
        ("aiokafka", "producer", ()),
        ("aiokafka", "consumer", ("payments.completed",)),
    }
    assert [(s.topic, s.line, s.awaited) for s in index.kafka_sends] == [
        ("orders.created", 14, True)
    ]
    (test,) = index.tests
    assert test.id == "tests/test_orders.py::test_create"
    assert [(h.method, h.path) for h in test.http_calls] == [
        ("POST", "/api/v1/orders"),
        ("GET", "/api/v1/orders/{}"),
    ]
    assert test.markers == ["asyncio"] and test.asserts == 1


def test_skips_and_reasons(write_tree: Tree) -> None:
    index = build_index(write_tree(APP))
    skipped = {s.path: s.reason for s in index.skipped}
    assert "syntax error at line 1" in skipped["src/svc/broken.py"]
    assert "binary" in skipped["src/svc/blob.py"]
    assert "src/svc/latin.py" not in skipped  # declared encoding honoured (PEP 263)
    assert "src/svc/latin.py" in index.modules
    assert not any(p.startswith((".venv/", "build/")) for p in index.modules)


def test_undeclared_non_utf8_is_skipped(write_tree: Tree) -> None:
    index = build_index(write_tree({"m.py": "name = 'caf\xe9'\n".encode("latin-1")}))
    assert [(s.path, s.reason) for s in index.skipped] == [("m.py", "not valid UTF-8")]


def test_call_resolution_across_modules(write_tree: Tree) -> None:
    index = build_index(
        write_tree(
            {
                "app/__init__.py": "",
                "app/util.py": "import time as t\n\ndef nap() -> None:\n    t.sleep(1)\n",
                "app/svc.py": """\
from app import util
from app.util import nap


class Service:
    def __init__(self) -> None:
        self.helper = Helper()

    async def run(self) -> None:
        util.nap()
        nap()
        self.helper.go()
        await asyncio.to_thread(lambda: util.nap())


class Helper:
    def go(self) -> None:
        ...
""",
            }
        )
    )
    run = index.functions["app.svc.Service.run"]
    targets = [(c.target, c.offloaded) for c in run.calls]
    assert ("app.util.nap", False) in targets
    assert ("app.svc.Helper.go", False) in targets
    assert ("app.util.nap", True) in targets  # inside to_thread: offloaded
    assert index.function("app.util.nap") is index.functions["app.util.nap"]
    nap = index.functions["app.util.nap"]
    assert [c.target for c in nap.calls] == ["time.sleep"]


def test_kafka_client_built_through_functools_partial(write_tree: Tree) -> None:
    index = build_index(
        write_tree(
            {
                "app/worker.py": """\
import functools

from kafka import KafkaConsumer, KafkaProducer

TOPIC = "loans.returned"
make_consumer = functools.partial(KafkaConsumer, TOPIC, group_id="loans", enable_auto_commit=False)
make_producer = functools.partial(KafkaProducer, acks="all")
""",
            }
        )
    )
    got = {(k.library, k.role, tuple(k.topics), k.group_id, k.line) for k in index.kafka_clients}
    assert got == {
        ("kafka-python", "consumer", ("loans.returned",), "loans", 6),
        ("kafka-python", "producer", (), None, 7),
    }
    consumer = next(k for k in index.kafka_clients if k.role == "consumer")
    assert set(consumer.options) == {"group_id", "enable_auto_commit"}


def test_exception_handler_registrations_in_every_form(write_tree: Tree) -> None:
    from fastapi_review.index.routes import exception_handlers

    index = build_index(
        write_tree(
            {
                "app/__init__.py": "",
                "app/errors.py": """\
class NotFound(Exception):
    pass


async def on_value_error(request, exc):
    return None
""",
                "app/handlers.py": """\
async def on_key_error(request, exc):
    return None
""",
                "app/main.py": """\
from fastapi import FastAPI

from app import handlers
from app.errors import NotFound, on_value_error

app = FastAPI()


@app.exception_handler(NotFound)
async def on_not_found(request, exc):
    return None


async def on_runtime(request, exc):
    return None


app.add_exception_handler(RuntimeError, on_runtime)
app.add_exception_handler(ValueError, on_value_error)
app.add_exception_handler(KeyError, handlers.on_key_error)
app.add_exception_handler(OSError, lambda request, exc: None)
app.exception_handler(TypeError)  # not a decorator: no handler function
""",
            }
        )
    )
    regs = [
        (
            r.line,
            ast.unparse(r.exc) if r.exc is not None else None,
            r.function.fqname if r.function is not None else None,
            r.name,
        )
        for r in exception_handlers(index)
    ]
    assert regs == [
        (9, "NotFound", "app.main.on_not_found", "app.main.on_not_found"),
        (18, "RuntimeError", "app.main.on_runtime", "app.main.on_runtime"),
        (19, "ValueError", "app.errors.on_value_error", "app.errors.on_value_error"),
        (20, "KeyError", "app.handlers.on_key_error", "app.handlers.on_key_error"),
        (21, "OSError", None, None),
    ]


def test_bytes_read_for_the_cache_key_are_parsed_not_read_again(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def on_disk() -> None: ...\n")
    (tmp_path / "b.py").write_text("def b() -> None: ...\n")
    preread = {"a.py": b"def read_before() -> None: ...\n"}
    index = build_index(tmp_path, preread=preread)
    assert sorted(index.functions) == ["a.read_before", "b.b"]
    assert preread == {}  # each file's bytes are handed over once


def test_once_makes_a_derived_structure_on_first_use_only(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("def f() -> None: ...\n")
    index = build_index(tmp_path)
    made: list[int] = []

    def make() -> list[int]:
        made.append(1)
        return [len(index.functions)]

    assert index.once("test.size", make) is index.once("test.size", make) == [1]
    assert made == [1]


def test_app_and_routers_made_under_an_import_alias(write_tree: Tree) -> None:
    """`from fastapi import APIRouter as Router`: the router is found by what the name
    resolves to, not by how it is spelled, and its prefix reaches the route."""
    index = build_index(
        write_tree(
            {
                "app/main.py": (
                    "from fastapi import FastAPI as App\n"
                    "from fastapi import APIRouter as Router\n"
                    "\n"
                    "app = App()\n"
                    'router = Router(prefix="/items")\n'
                    "\n"
                    '@router.get("/{item_id}")\n'
                    "async def read(item_id: int) -> dict[str, int]:\n"
                    '    return {"id": item_id}\n'
                    "\n"
                    "app.include_router(router)\n"
                )
            }
        )
    )
    assert [(a.qname, a.line) for a in index.apps] == [("app.main.app", 4)]
    assert [r.key for r in index.routes] == ["GET /items/{item_id}"]


def test_literals_attribute_reads_and_call_names_are_read_with_each_module(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "svc.py").write_text(
        'TOPIC = "orders.created"\n'
        "def handle(event, client):\n"
        '    event.status = "done"\n'
        "    client.publish(TOPIC, event.payload)\n"
        '    return handle_more("orders.created")(event)\n'
        "def handle_more(topic):\n"
        "    return print\n"
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_svc.py").write_text(
        'def test_it(thing):\n    assert thing.hidden == "only.in.tests"\n'
    )
    index = build_index(tmp_path)
    # literals of source modules only, every place in source order
    assert index.strings["orders.created"] == [("app/svc.py", 1), ("app/svc.py", 5)]
    assert index.strings["done"] == [("app/svc.py", 3)]
    assert "only.in.tests" not in index.strings
    # attributes read (not the one only assigned), of source modules only
    assert {"publish", "payload"} <= index.attributes_read
    assert "status" not in index.attributes_read and "hidden" not in index.attributes_read
    # each call's callee name, whether it is a method, and its record by node
    fn = index.functions["app.svc.handle"]
    assert [(c.name, c.method) for c in fn.calls] == [
        ("publish", True),
        (None, False),  # `handle_more(...)(event)`: the callee is a call
        ("handle_more", False),
    ]
    for c in fn.calls:
        assert fn.call_at(c.node) is c
    assert fn.call_at(fn.node) is None
