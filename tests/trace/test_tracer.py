"""The tracer on hand-written designs and fixture projects."""

from __future__ import annotations

from pathlib import Path

from fastapi_review.models import CoverageMetrics, Finding, Severity
from tests.trace.helpers import found as _found
from tests.trace.helpers import status as _status
from tests.trace.helpers import trace as _trace

API_DESIGN = """
# Shop

## API

Base path: `/api/v1`.

| Method | Path | Success |
|--------|------|---------|
| POST | `/orders` | 201 |
| GET | `/orders/{order_id}` | 200 |
| GET | `/orders?limit=&offset=` | 200 |
| DELETE | `/orders/{order_id}` | 204 |

## Requirements

- FR-1: A client can list orders, paginated with `limit` and `offset`.
- FR-2: A client can read a single order.
"""

API_CODE = """
from fastapi import APIRouter, FastAPI

app = FastAPI()
router = APIRouter(prefix="/api/v1/orders")


@router.post("", status_code=201)
async def create_order() -> dict[str, str]:
    return {}


@router.get("/{id}")
async def get_order(id: int) -> dict[str, str]:
    return {}


@router.get("")
async def list_orders(customer_id: str) -> list[str]:
    return []


app.include_router(router)
"""

API_TEST = """
from fastapi.testclient import TestClient

from app.api import app


def test_get_order() -> None:
    client = TestClient(app)
    assert client.get("/api/v1/orders/1").status_code == 200
"""


def test_endpoints_statuses_tests_and_findings(tmp_path: Path) -> None:
    result = _trace(tmp_path, API_DESIGN, {"app/api.py": API_CODE, "tests/test_api.py": API_TEST})
    st = _status(result)
    assert st["POST /api/v1/orders"] == "implemented"
    assert st["GET /api/v1/orders/{order_id}"] == "implemented"  # parameter names ignored
    assert st["GET /api/v1/orders"] == "partial"  # limit/offset missing
    assert st["DELETE /api/v1/orders/{order_id}"] == "missing"
    assert st["FR-1"] == "partial"  # linked to the list endpoint, mentions the missing parameters
    assert st["FR-2"] == "implemented"
    get = next(t for t in result.traced if t.requirement.key == "GET /api/v1/orders/{order_id}")
    assert get.tests == ["tests/test_api.py::test_get_order"]
    assert get.evidence == ["app/api.py:12"]
    found = _found(result)
    assert ("req.partial", "app/api.py", 17) in found
    assert ("req.missing", "app/api.py", 12) in found  # the router file closest to the path
    missing = next(f for f in result.findings if f.category == "req.missing")
    assert missing.severity == Severity.BLOCKER and missing.rule == "REQ001"


def test_status_code_deviation(tmp_path: Path) -> None:
    design = """
        # Shop

        ## API

        | Method | Path | Success |
        |--------|------|---------|
        | POST | `/items` | 201 |
    """
    code = """
        from fastapi import FastAPI

        app = FastAPI()


        @app.post("/items", status_code=200)
        async def create() -> dict[str, str]:
            return {}
    """
    result = _trace(tmp_path, design, {"app/main.py": code})
    assert _status(result)["POST /items"] == "deviation"
    assert ("req.deviation", "app/main.py", 6) in _found(result)


EVENT_DESIGN = """
# Order Service

## Kafka

| Topic | Direction | Payload |
|-------|-----------|---------|
| `orders.cancelled` | produced | `order_id`, `reason` |
| `payments.completed` | consumed | `order_id` |
| `orders.archived` | produced | `order_id` |

## Consumer

- Offsets are committed only after the message has been processed.
"""

EVENT_CODE = """
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel

CANCELLED = "orders.cancelled"


class OrderCancelled(BaseModel):
    order_id: str
    cancel_reason: str


async def publish(producer: AIOKafkaProducer, event: OrderCancelled) -> None:
    await producer.send_and_wait(CANCELLED, event.model_dump_json().encode())


async def handle_payment(value: bytes) -> None:
    print(value)


async def run() -> None:
    consumer = AIOKafkaConsumer("payments.completed", enable_auto_commit=False)
    async for msg in consumer:
        await consumer.commit()
        if msg.topic == "payments.completed":
            await handle_payment(msg.value)
"""


def test_events_fields_untested_handler_and_commit_order(tmp_path: Path) -> None:
    result = _trace(tmp_path, EVENT_DESIGN, {"app/events.py": EVENT_CODE})
    st = _status(result)
    assert st["orders.cancelled"] == "deviation"
    assert st["payments.completed"] == "implemented"
    assert st["orders.archived"] == "missing"
    commit = next(t for t in result.traced if t.requirement.text.startswith("Offsets"))
    assert commit.status == "deviation"
    found = _found(result)
    assert ("req.deviation", "app/events.py", 9) in found  # the renamed payload field
    assert ("req.untested", "app/events.py", 16) in found  # the handler no test calls
    assert ("req.deviation", "app/events.py", 23) in found  # commit before processing
    assert ("req.missing", None, None) in found


def test_models_columns_and_migrations(tmp_path: Path) -> None:
    design = """
        # Shop

        ## Data model

        | Table | Columns |
        |-------|---------|
        | `orders` | `id`, `status`, `paid_at` |
        | `carts` | `id` |
        | `items` | `id`, `sku` |
    """
    models = """
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


        class Base(DeclarativeBase):
            pass


        class Order(Base):
            __tablename__ = "orders"
            id: Mapped[int] = mapped_column(primary_key=True)
            status: Mapped[str] = mapped_column()
            paid_at: Mapped[str] = mapped_column()


        class Item(Base):
            __tablename__ = "items"
            id: Mapped[int] = mapped_column(primary_key=True)
            sku: Mapped[str] = mapped_column()
    """
    migration = """
        import sqlalchemy as sa
        from alembic import op


        def upgrade() -> None:
            op.create_table("orders", sa.Column("id", sa.Integer()), sa.Column("status", sa.String()))
    """
    result = _trace(
        tmp_path, design, {"app/models.py": models, "migrations/versions/001_init.py": migration}
    )
    st = _status(result)
    assert st["orders"] == "partial"  # the model maps paid_at, no migration creates it
    assert st["carts"] == "missing"
    assert st["items"] == "implemented"
    assert ("req.partial", "app/models.py", 12) in _found(result)


def test_weak_validation_and_conditional_rule(tmp_path: Path) -> None:
    design = """
        # Tickets

        ## API

        | Method | Path | Request | Success |
        |--------|------|---------|---------|
        | POST | `/tickets/{id}/status` | `StatusChange` | 200 |
        | POST | `/tickets` | `TicketCreate` | 201 |

        Schemas:

        - **StatusChange** — `status` (target), `resolution` (1-2000 characters, required when `status` is `resolved`).
        - **TicketCreate** — `subject` (3-200 characters), `body` (1-5000 characters).

        ## Rules

        - Moving to `resolved` requires a `resolution` note; without one the request is rejected with 422.
    """
    code = """
        from fastapi import FastAPI
        from pydantic import BaseModel, Field

        app = FastAPI()


        class StatusChange(BaseModel):
            status: str
            resolution: str | None = Field(default=None, min_length=1, max_length=2000)


        class TicketCreate(BaseModel):
            subject: str
            body: str = Field(min_length=1, max_length=5000)


        @app.post("/tickets/{id}/status")
        async def change(id: int, body: StatusChange) -> dict[str, str]:
            return {}


        @app.post("/tickets", status_code=201)
        async def create(body: TicketCreate) -> dict[str, str]:
            return {}
    """
    result = _trace(tmp_path, design, {"app/main.py": code})
    found = _found(result)
    assert ("pydantic.weak-validation", "app/main.py", 13) in found  # subject without length
    assert ("pydantic.weak-validation", "app/main.py", 9) in found  # resolution not required
    assert ("req.partial", "app/main.py", 9) in found
    assert ("pydantic.weak-validation", "app/main.py", 14) not in found  # body is constrained
    st = _status(result)
    assert st["POST /tickets/{id}/status"] == "partial"
    rule = next(t for t in result.traced if t.requirement.text.startswith("Moving to"))
    assert rule.status == "partial"
    weak = next(f for f in result.findings if f.category == "pydantic.weak-validation")
    assert weak.rule == "REQ005" and weak.severity == Severity.MEDIUM


NFR_DESIGN = """
# Shop

## Non-functional requirements

- NFR-1: p95 latency below 200 ms.
- NFR-2: Test coverage of at least 85 %.
- NFR-3: Configuration from environment variables with the prefix `SHOP_`.
- NFR-4: The service is pleasant to operate.

## Errors

- Responses never contain stack traces.
"""

SETTINGS = """
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")
    name: str = "shop"
"""


def test_nfr_coverage_latency_and_findings_of_other_rules(tmp_path: Path) -> None:
    leak = Finding(
        rule="ERR002",
        category="errors.leaks-internals",
        severity=Severity.HIGH,
        path="app/settings.py",
        line=6,
        message="the 500 handler returns the exception text",
    )
    low = CoverageMetrics(measured=True, overall=79.0)
    result = _trace(
        tmp_path, NFR_DESIGN, {"app/settings.py": SETTINGS}, coverage=low, findings=[leak]
    )
    st = _status(result)
    assert st["NFR-1"] == "unverified"
    assert st["NFR-2"] == "partial"
    assert st["NFR-3"] == "implemented"
    assert st["NFR-4"] == "unverified"  # nothing decides it: never a guessed implemented
    errors = next(t for t in result.traced if "stack traces" in t.requirement.text)
    assert errors.status in {"partial", "deviation"}
    assert "app/settings.py:6" in errors.evidence

    high = CoverageMetrics(measured=True, overall=91.0)
    st = _status(_trace(tmp_path / "b", NFR_DESIGN, {"app/settings.py": SETTINGS}, coverage=high))
    assert st["NFR-2"] == "implemented"
    st = _status(_trace(tmp_path / "c", NFR_DESIGN, {"app/settings.py": SETTINGS}))
    assert st["NFR-2"] == "unverified"


def test_no_requirements_and_odd_code(tmp_path: Path) -> None:
    result = _trace(tmp_path, "# Notes\n\nNothing here.\n", {"app/x.py": "def f(:\n"})
    assert result.traced == [] and result.findings == []


def test_facts_add_settings_defaults_without_changing_the_index_tables(tmp_path: Path) -> None:
    """The tracer's string table starts as a copy of the index's: a settings default joins
    the copy in a new list, so building the facts again gives the same table."""
    from fastapi_review.index.project import build_index
    from fastapi_review.trace.facts import build_facts

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "config.py").write_text(
        "from pydantic_settings import BaseSettings\n"
        "class Settings(BaseSettings):\n"
        '    topic_created: str = "orders.created"\n'
    )
    (tmp_path / "app" / "pub.py").write_text('TOPIC = "orders.created"\n')
    index = build_index(tmp_path)
    before = {k: list(v) for k, v in index.strings.items()}
    first = build_facts(index)
    second = build_facts(index)
    assert first.strings["orders.created"] == second.strings["orders.created"]
    assert ("app/config.py", 3) in first.strings["orders.created"]
    assert ("app/pub.py", 1) in first.strings["orders.created"]
    assert index.strings == before
