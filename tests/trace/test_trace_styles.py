"""Tracing checks of the cross-validation round: migrations, compose, settings variables,
renamed topics behind a send wrapper, readiness through app state, negated actions,
dependency aliases, consumer tests by import, guarded rules, clauses, shutdown."""

from __future__ import annotations

from pathlib import Path

from fastapi_review.models import Finding, Severity
from tests.trace.helpers import status as _status
from tests.trace.helpers import status_of as _by_text
from tests.trace.helpers import trace as _trace

DATA_DESIGN = """
# Desks

## Data

- `desks(id text pk, floor text)`
- `bookings(id serial pk, desk_id fk, day)`

Both tables come from Alembic migrations.

## Quality

- `docker compose up` starts the service with PostgreSQL and waits until it is healthy.
"""

MIGRATION = """
from alembic import op
import sqlalchemy as sa


def upgrade() -> None:
    op.create_table(
        "desks",
        sa.Column("id", sa.Text(), primary_key=True),
    )
    op.create_table(
        "bookings",
        sa.Column("id", sa.Integer(), primary_key=True),
    )
"""

COMPOSE = """
services:
  api:
    build: .
    depends_on:
      db:
        condition: service_healthy
  db:
    image: postgres:16
    healthcheck:
      test: ["CMD", "pg_isready"]
"""


def test_tables_created_by_migrations_across_lines(tmp_path: Path) -> None:
    result = _trace(tmp_path, DATA_DESIGN, {"migrations/versions/0001_init.py": MIGRATION})
    traced = next(t for t in result.traced if t.requirement.text.startswith("Both tables"))
    assert traced.status == "implemented"
    assert traced.evidence == [
        "migrations/versions/0001_init.py:6",
        "migrations/versions/0001_init.py:10",
    ]


def test_a_table_no_migration_creates_is_partial(tmp_path: Path) -> None:
    one = MIGRATION.split('    op.create_table(\n        "bookings"')[0]
    result = _trace(tmp_path, DATA_DESIGN, {"migrations/versions/0001_init.py": one})
    assert _by_text(result, "Both tables") == "partial"


def test_compose_waiting_for_healthy_services(tmp_path: Path) -> None:
    result = _trace(
        tmp_path, DATA_DESIGN, {"docker-compose.yml": COMPOSE, "app/main.py": "x = 1\n"}
    )
    assert _by_text(result, "docker compose up") == "implemented"


def test_a_compose_finding_makes_the_compose_statement_partial(tmp_path: Path) -> None:
    finding = Finding(
        rule="OPS002",
        category="ops.compose",
        severity=Severity.MEDIUM,
        path="docker-compose.yml",
        line=4,
        message="depends_on without a health condition",
    )
    result = _trace(
        tmp_path,
        DATA_DESIGN,
        {"docker-compose.yml": COMPOSE.replace("service_healthy", "service_started")},
        [finding],
    )
    assert _by_text(result, "docker compose up") == "partial"


SETTINGS_DESIGN = """
# Desks

## Operations

Settings come from `DESKS_*` environment variables.
"""

SETTINGS = """
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESKS_")

    database_url: str = "sqlite+aiosqlite:///./desks.db"
"""


def test_settings_from_prefixed_environment_variables(tmp_path: Path) -> None:
    result = _trace(tmp_path, SETTINGS_DESIGN, {"app/settings.py": SETTINGS})
    assert _by_text(result, "Settings come from") == "implemented"
    other = SETTINGS.replace('"DESKS_"', '"OFFICE_"')
    result = _trace(tmp_path, SETTINGS_DESIGN, {"app/settings.py": other})
    assert _by_text(result, "Settings come from") == "deviation"


EVENT_DESIGN = """
# Desks

## Events

### Produced

- `desk.booking-created` — `{"booking_id", "day"}`
- `desk.booking-cancelled` — `{"booking_id", "day"}`
"""

WRAPPED_SENDS = """
from typing import Any

from aiokafka import AIOKafkaProducer

CREATED = "desk.booking-created"
CANCELLED = "bookings.cancelled"


class Events:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def _send(self, topic: str, value: dict[str, Any]) -> None:
        await self._producer.send_and_wait(topic, value=value)

    async def created(self, value: dict[str, Any]) -> None:
        await self._send(CREATED, value)

    async def cancelled(self, value: dict[str, Any]) -> None:
        await self._send(CANCELLED, value)
"""


def test_a_topic_renamed_behind_a_send_wrapper_is_a_deviation(tmp_path: Path) -> None:
    result = _trace(tmp_path, EVENT_DESIGN, {"app/events.py": WRAPPED_SENDS})
    status = _status(result)
    assert status["desk.booking-created"] == "implemented"
    assert status["desk.booking-cancelled"] == "deviation"
    assert ("req.deviation", "app/events.py", 6) in {
        (f.category, f.path, f.line) for f in result.findings
    }


HEALTH_DESIGN = """
# Desks

## Health

Readiness checks the database and the Kafka producer and answers 503 when one is down.
"""

HEALTH = """
from fastapi import APIRouter, Request

router = APIRouter()


@router.get("/health/ready")
async def ready(request: Request) -> dict[str, bool]:
    ok = await request.app.state.events.ping()
    return {"kafka": ok}
"""

EVENTS_PING = """
from aiokafka import AIOKafkaProducer


class Events:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def ping(self) -> bool:
        await self._producer.client.fetch_all_metadata()
        return True
"""


def test_readiness_through_a_method_of_the_app_state(tmp_path: Path) -> None:
    files = {"app/health.py": HEALTH, "app/events.py": EVENTS_PING}
    result = _trace(tmp_path, HEALTH_DESIGN, files)
    # the database is never checked: still undecided, but the broker is found
    traced = next(t for t in result.traced if t.requirement.text.startswith("Readiness"))
    assert "broker" not in traced.reason
    code = HEALTH.replace(
        "return {", "await request.app.state.db.execute('SELECT 1')\n    return {"
    )
    result = _trace(tmp_path, HEALTH_DESIGN, {**files, "app/health.py": code})
    assert _by_text(result, "Readiness") == "implemented"


MEMBERS_DESIGN = """
# Members

## API

| Method | Path | Request |
|---|---|---|
| PATCH | `/api/v1/members/{member_id}` | `MemberUpdate` |
| DELETE | `/api/v1/members/{member_id}` | |

## Jobs

A nightly job removes nothing; it only recomputes the tiers of the members.
"""

MEMBERS = """
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1/members")


class Store:
    pass


def get_store() -> Store:
    return Store()


Stores = Annotated[Store, Depends(get_store)]


class MemberUpdate(BaseModel):
    email: str


@router.patch("/{member_id}")
async def update_member(
    member_id: str, store: Stores, changes: dict[str, Any] = Body(...)
) -> dict[str, str]:
    return {"id": member_id}
"""


def test_a_dependency_alias_does_not_hide_a_raw_body(tmp_path: Path) -> None:
    result = _trace(tmp_path, MEMBERS_DESIGN, {"app/members.py": MEMBERS})
    assert _status(result)["PATCH /api/v1/members/{member_id}"] == "partial"
    modelled = MEMBERS.replace("changes: dict[str, Any] = Body(...)", "changes: MemberUpdate")
    result = _trace(tmp_path, MEMBERS_DESIGN, {"app/members.py": modelled})
    assert _status(result)["PATCH /api/v1/members/{member_id}"] == "implemented"


def test_a_negated_action_names_no_endpoint(tmp_path: Path) -> None:
    result = _trace(tmp_path, MEMBERS_DESIGN, {"app/members.py": MEMBERS})
    assert _status(result)["DELETE /api/v1/members/{member_id}"] == "missing"
    assert _by_text(result, "A nightly job removes nothing") == "unverified"


RULE_DESIGN = """
# Points

## Rules

1. A redemption never makes the balance negative; if the balance is too small the
   request is refused with 409 and nothing is written.
"""

RULE_CODE = """
class ConflictError(Exception):
    status_code = 409


class TooFewPoints(ConflictError):
    pass


def redeem(balance: int, cost: int) -> int:
    if balance < cost:
        raise TooFewPoints("balance too small")
    return balance - cost
"""

HANDLERS = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.rules import ConflictError

app = FastAPI()


@app.exception_handler(ConflictError)
async def conflict(request: Request, exc: ConflictError) -> JSONResponse:
    return JSONResponse(status_code=409, content={"detail": str(exc)})
"""


def test_a_compared_noun_raising_the_stated_status_evidences_a_rule(tmp_path: Path) -> None:
    files = {"app/rules.py": RULE_CODE, "app/main.py": HANDLERS}
    result = _trace(tmp_path, RULE_DESIGN, files)
    traced = next(t for t in result.traced if t.requirement.text.startswith("A redemption"))
    assert traced.status == "implemented"
    assert traced.evidence == ["app/rules.py:10"]


def test_a_rule_raising_another_status_is_not_evidenced(tmp_path: Path) -> None:
    files = {
        "app/rules.py": RULE_CODE.replace("status_code = 409", "status_code = 422"),
        "app/main.py": HANDLERS.replace("status_code=409", "status_code=422"),
    }
    result = _trace(tmp_path, RULE_DESIGN, files)
    assert _by_text(result, "A redemption") == "unverified"


TIER_DESIGN = """
# Accounts

## API

| Method | Path | Request |
|---|---|---|
| PUT | `/api/v1/accounts/{account_id}/tier` | `TierUpdate` |

## Tiers

The tier of an account can be changed through the API; allowed tiers are basic, silver and gold.
"""

TIER_CODE = """
from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1/accounts")


class TierUpdate(BaseModel):
    tier: str


@router.put("/{account_id}/tier")
async def change_tier(account_id: str, body: dict[str, str]) -> dict[str, str]:
    return {"id": account_id}
"""


def test_a_clause_is_decided_by_the_sentence_it_was_cut_from(tmp_path: Path) -> None:
    result = _trace(tmp_path, TIER_DESIGN, {"app/api.py": TIER_CODE})
    assert _by_text(result, "Allowed tiers are basic") == "partial"


SHUTDOWN_DESIGN = """
# Points

## Events

It consumes `orders.paid`. On shutdown the consumer stops polling, finishes the message
in hand and closes.
"""

CONSUMER = """
from aiokafka import AIOKafkaConsumer


async def run() -> None:
    consumer = AIOKafkaConsumer("orders.paid")
    await consumer.start()
    async for msg in consumer:
        print(msg)
"""


def test_a_consumer_nothing_stops_misses_the_stated_shutdown(tmp_path: Path) -> None:
    finding = Finding(
        rule="KAF006",
        category="kafka.consumer-shutdown",
        severity=Severity.HIGH,
        path="app/consumer.py",
        line=5,
        message="the consumer is never stopped",
    )
    result = _trace(tmp_path, SHUTDOWN_DESIGN, {"app/consumer.py": CONSUMER}, [finding])
    assert _by_text(result, "On shutdown the consumer") == "missing"
    problems = [f for f in result.findings if f.category == "req.missing"]
    assert [(f.path, f.line, f.severity) for f in problems] == [
        ("app/consumer.py", 5, Severity.HIGH)
    ]


CONSUMER_CLASS = """
from kafka import KafkaConsumer

from app.settings import Settings


class PaidConsumer:
    def __init__(self, settings: Settings) -> None:
        self._consumer = KafkaConsumer(settings.topic, enable_auto_commit=False)

    def process(self, raw: bytes) -> None:
        print(raw)
"""

SETTINGS_TOPIC = """
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    topic: str = "orders.paid"
"""

CONSUMER_TEST = """
import asyncio

from app.consumer import PaidConsumer
from app.settings import Settings


def make() -> PaidConsumer:
    return PaidConsumer(Settings())


async def test_process() -> None:
    consumer = make()
    await asyncio.to_thread(consumer.process, b"{}")
    assert consumer is not None
"""


def test_a_test_module_importing_the_consumer_tests_its_topic(tmp_path: Path) -> None:
    files = {
        "app/consumer.py": CONSUMER_CLASS,
        "app/settings.py": SETTINGS_TOPIC,
        "tests/test_consumer.py": CONSUMER_TEST,
    }
    result = _trace(tmp_path, SHUTDOWN_DESIGN, files)
    traced = next(t for t in result.traced if t.requirement.key == "orders.paid")
    assert traced.tests == ["tests/test_consumer.py::test_process"]
    assert not [f for f in result.findings if f.category == "req.untested"]
