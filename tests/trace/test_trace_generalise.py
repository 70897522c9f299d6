"""Tracing of designs and code shapes seen only on unseen projects (hand-written fixtures)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from fastapi_review.design.reader import parse_design
from fastapi_review.models import Finding, Severity
from tests.trace.helpers import found as _found
from tests.trace.helpers import status as _status
from tests.trace.helpers import trace as _trace

OPAQUE_DESIGN = """
# Kennel

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `owners.status-changed` | consumed | `owner_id`, `status` |

## Data model

| Table | Column |
|-------|--------|
| `pets` | `id` |
| `vaccinations` | `id` |
"""

OPAQUE_CONSUMER = """
import functools

from kafka import KafkaConsumer


def build(topics: list[str]) -> object:
    factory = functools.partial(KafkaConsumer, *topics, group_id="kennel")
    return factory()
"""

MODELS = """
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class Pet(Base):
    __tablename__ = "pets"
    id: Mapped[int] = mapped_column(primary_key=True)
"""


def test_consumer_with_unreadable_topics_leaves_consumed_topic_unverified(
    tmp_path: Path,
) -> None:
    result = _trace(
        tmp_path, OPAQUE_DESIGN, {"app/consumer.py": OPAQUE_CONSUMER, "app/models.py": MODELS}
    )
    status = _status(result)
    assert status["owners.status-changed"] == "unverified"
    assert not [f for f in result.findings if f.path is None]
    # the absent table is reported where the project's models live
    assert status["vaccinations"] == "missing"
    assert ("req.missing", "app/models.py", None) in _found(result)


RETRY_DESIGN = """
# Kennel

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `owners.changed` | consumed | `owner_id` |

A message whose processing fails is retried three times with a pause before it is dropped.
"""

RETRY_CONSUMER = """
from aiokafka import AIOKafkaConsumer

from app.backoff import pause


class Consumer:
    def __init__(self) -> None:
        self._consumer = AIOKafkaConsumer("owners.changed", group_id="kennel")

    async def process(self, record: object) -> None:
        for attempt in range(4):
            try:
                await self.handle(record)
                return
            except Exception:
                if attempt == 3:
                    await self.dead_letter(record)
                    return
                pause(attempt)

    async def handle(self, record: object) -> None:
        return None

    async def dead_letter(self, record: object) -> None:
        return None
"""

BACKOFF = """
import time


def pause(attempt: int) -> None:
    time.sleep(0.5 * 2**attempt)
"""


def test_retry_whose_pause_is_a_project_helper_is_a_retry(tmp_path: Path) -> None:
    result = _trace(
        tmp_path, RETRY_DESIGN, {"app/consumer.py": RETRY_CONSUMER, "app/backoff.py": BACKOFF}
    )
    assert not [f for f in result.findings if f.category == "req.missing"]
    statuses = [t.status for t in result.traced if "retried" in t.requirement.text]
    assert statuses and statuses[0] != "missing"


RENAME_DESIGN = """
# Kennel

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `kennel.stay-closed` | produced | `stay_id`, `pet_id`, `walked_km`, `closed_at` |
"""

RENAME_CODE = """
from datetime import datetime

from aiokafka import AIOKafkaProducer
from pydantic import BaseModel


class StayClosed(BaseModel):
    stay_id: int
    pet_id: int
    run_km: int
    closed_at: datetime


async def publish(producer: AIOKafkaProducer, event: StayClosed) -> None:
    await producer.send_and_wait("kennel.stay-closed", event.model_dump_json().encode())
"""


def test_one_field_swapped_for_another_is_a_renamed_field(tmp_path: Path) -> None:
    result = _trace(tmp_path, RENAME_DESIGN, {"app/events.py": RENAME_CODE})
    assert _status(result)["kennel.stay-closed"] == "deviation"
    assert ("req.deviation", "app/events.py", 10) in _found(result)


LINK_DESIGN = """
# Kennel

## Requirements

1. **R1 \u2013 List stays.** Boarding stays can be listed, filtered by pet, with `limit` (1-200).
2. **R2 \u2013 Cancel stay.** An open stay can be cancelled; cancelling twice answers 409.

## API

- `POST /api/v1/pets/{pet_id}/boarding-stays` \u2014 **201** `Stay`.
- `GET /api/v1/stays` \u2014 **200** list of `Stay`.
- `DELETE /api/v1/stays/{stay_id}` \u2014 **204**; 409.
"""

LINK_CODE = """
from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")


@router.post("/pets/{pet_id}/boarding-stays")
async def open_stay(pet_id: int) -> dict[str, int]:
    return {"id": 1}


@router.get("/stays")
async def list_stays(pet_id: int | None = None) -> list[dict[str, int]]:
    return []
"""


def test_nested_collection_and_cancel_link_to_the_right_endpoints(tmp_path: Path) -> None:
    result = _trace(tmp_path, LINK_DESIGN, {"app/routes.py": LINK_CODE})
    status = _status(result)
    # the nested POST answers 200, the design says 201
    assert status["POST /api/v1/pets/{pet_id}/boarding-stays"] == "deviation"
    # listing is not creating: R1 does not inherit the POST's deviation
    assert status["R1"] == "implemented"
    # cancelling is the missing DELETE; `an open stay` creates nothing
    assert status["DELETE /api/v1/stays/{stay_id}"] == "missing"
    assert status["R2"] == "missing"


ERRORS_DESIGN = """
# Kennel

## Errors

Errors are returned as `{"detail": "..."}`; they never contain exception text or stack traces.
"""

ERRORS_CODE = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.errors import PetNotFound


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def _crash(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": repr(exc)})


def install(app: FastAPI) -> None:
    app.add_exception_handler(PetNotFound, _not_found)
    app.add_exception_handler(Exception, _crash)
"""

DOMAIN_ERRORS = """
class PetNotFound(Exception):
    pass
"""


def test_own_exception_messages_are_not_leaks(tmp_path: Path) -> None:
    leak = Finding(
        rule="ERR002",
        category="errors.leaks-internals",
        severity=Severity.HIGH,
        path="app/handlers.py",
        line=8,
        message="the handler returns the exception text",
    )
    files = {"app/handlers.py": ERRORS_CODE, "app/errors.py": DOMAIN_ERRORS}
    result = _trace(tmp_path, ERRORS_DESIGN, files, findings=[leak])
    req = [f for f in result.findings if f.category.startswith("req.")]
    # only the catch-all handler's repr(exc) is a leak
    assert {(f.path, f.line) for f in req} == {("app/handlers.py", 12)}
    only_domain = ERRORS_CODE.replace(
        "    app.add_exception_handler(Exception, _crash)\n", ""
    ).replace('content={"detail": repr(exc)}', 'content={"detail": "internal error"}')
    files = {"app/handlers.py": only_domain, "app/errors.py": DOMAIN_ERRORS}
    result = _trace(tmp_path / "b", ERRORS_DESIGN, files, findings=[leak])
    assert not [f for f in result.findings if f.category.startswith("req.")]


def test_a_different_kind_of_field_is_no_rename(tmp_path: Path) -> None:
    code = RENAME_CODE.replace("    run_km: int", "    lines: list[int]")
    result = _trace(tmp_path, RENAME_DESIGN, {"app/events.py": code})
    assert _status(result)["kennel.stay-closed"] != "deviation"


PAGED_DESIGN = """
# Kennel

## Requirements

| ID | Requirement |
|----|-------------|
| KN-1 | `GET /api/v1/stays/late` lists the late stays, paginated like the other lists. |
| KN-2 | `GET /api/v1/pets` lists the pets, paginated with `limit` and `offset`. |
"""

PAGED_CODE = """
from fastapi import APIRouter

router = APIRouter(prefix="/api/v1")


@router.get("/stays/late")
async def late_stays() -> list[dict[str, int]]:
    return []


@router.get("/pets")
async def pets(limit: int = 20, offset: int = 0) -> list[dict[str, int]]:
    return []
"""


def test_a_paged_list_without_page_parameters_is_partial(tmp_path: Path) -> None:
    result = _trace(tmp_path, PAGED_DESIGN, {"app/routes.py": PAGED_CODE})
    status = _status(result)
    assert status["GET /api/v1/stays/late"] == "partial"
    assert status["GET /api/v1/pets"] == "implemented"
    assert ("req.partial", "app/routes.py", 6) in _found(result)


UNREAD_DESIGN = """
# Kennel

## Events

The service publishes `kennel.stay-opened` and `kennel.stay-closed`.
"""

UNREAD_CODE = """
from aiokafka import AIOKafkaProducer
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    topic_opened: str = "kennel.stay-opened"
    topic_closed: str = "kennel.stay-closed"


async def opened(producer: AIOKafkaProducer, settings: Settings) -> None:
    await producer.send_and_wait(settings.topic_opened, b"{}")
"""


def test_a_settings_default_nobody_reads_is_no_use_of_the_topic(tmp_path: Path) -> None:
    result = _trace(tmp_path, UNREAD_DESIGN, {"app/events.py": UNREAD_CODE})
    status = _status(result)
    assert status["kennel.stay-opened"] == "implemented"
    assert status["kennel.stay-closed"] == "missing"


SHUTDOWN_DESIGN = """
# Kennel

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `owners.changed` | consumed | `owner_id` |

On shutdown the consumer finishes the message in hand, commits and closes.
"""

SHUTDOWN_CODE = """
import asyncio

from aiokafka import AIOKafkaConsumer


class OwnerConsumer:
    def __init__(self) -> None:
        self._consumer = AIOKafkaConsumer("owners.changed", group_id="kennel")
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        async for record in self._consumer:
            await self._consumer.commit()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
"""


def test_a_shutdown_that_falls_short_is_partial_and_left_to_the_rule(tmp_path: Path) -> None:
    shutdown = Finding(
        rule="KAF002",
        category="kafka.consumer-shutdown",
        severity=Severity.CRITICAL,
        path="app/consumer.py",
        line=15,
        message="stop() only cancels the consume task",
    )
    result = _trace(
        tmp_path, SHUTDOWN_DESIGN, {"app/consumer.py": SHUTDOWN_CODE}, findings=[shutdown]
    )
    statuses = [t.status for t in result.traced if "shutdown" in t.requirement.text]
    assert statuses == ["partial"]
    assert not [f for f in result.findings if f.category in {"req.missing", "req.partial"}]


def test_a_secret_in_the_code_contradicts_no_credentials_in_the_repository(
    tmp_path: Path,
) -> None:
    design = "# Kennel\n\n## Operations\n\nNo credentials live in the repository.\n"
    code = 'from pydantic_settings import BaseSettings\n\n\nclass Settings(BaseSettings):\n    db_password: str = "hunter2"\n'
    secret = Finding(
        rule="SEC001",
        category="security.hardcoded-secret",
        severity=Severity.CRITICAL,
        path="app/settings.py",
        line=5,
        message="a password default in the settings",
    )
    result = _trace(tmp_path, design, {"app/settings.py": code}, findings=[secret])
    assert [t.status for t in result.traced] == ["deviation"]
    # the secret's own finding reports it; no requirement finding restates it
    assert not [f for f in result.findings if f.category.startswith("req.")]
    clean = _trace(tmp_path / "b", design, {"app/settings.py": code})
    assert [t.status for t in clean.traced] == ["unverified"]  # no opinion either way


GROUP_DESIGN = """
# Kennel

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `owners.changed` | consumed | `owner_id` |

The consumer group is kennel-service. Schema changes are made with Alembic only.
"""

GROUP_CODE = """
from aiokafka import AIOKafkaConsumer


def build() -> AIOKafkaConsumer:
    return AIOKafkaConsumer("owners.changed", group_id="kennel-service")
"""

MIGRATION = """
from alembic import op


def upgrade() -> None:
    op.create_table("pets")
"""


def test_consumer_group_and_migrations_only(tmp_path: Path) -> None:
    files = {"app/consumer.py": GROUP_CODE, "migrations/versions/0001_pets.py": MIGRATION}
    result = _trace(tmp_path, GROUP_DESIGN, files)
    by_text = {t.requirement.text: t.status for t in result.traced}
    assert by_text["The consumer group is kennel-service."] == "implemented"
    assert by_text["Schema changes are made with Alembic only."] == "implemented"
    other = GROUP_CODE.replace('"kennel-service"', '"kennel"')
    startup = "def init(engine: object) -> None:\n    Base.metadata.create_all(engine)\n"
    files = {
        "app/consumer.py": other,
        "app/db.py": startup,
        "migrations/versions/0001_pets.py": MIGRATION,
    }
    result = _trace(tmp_path / "b", GROUP_DESIGN, files)
    by_text = {t.requirement.text: t.status for t in result.traced}
    assert by_text["The consumer group is kennel-service."] == "unverified"
    assert by_text["Schema changes are made with Alembic only."] == "unverified"


ANNOUNCE_DESIGN = """
# Kennel

## Events

Produced events are JSON objects keyed by `pet_id`. All of them contain `event_id` and
`pet_id`; `kennel.stay-opened` adds `opened_at` and `kennel.stay-extended` adds `nights`.
"""

ANNOUNCE_ROUTES = """
from fastapi import APIRouter

from app.stays import extend

router = APIRouter()


@router.post("/stays/{stay_id}/extend")
async def extend_stay(stay_id: int) -> None:
    await extend(stay_id)
"""

ANNOUNCE_SERVICE = """
from aiokafka import AIOKafkaProducer

producer = AIOKafkaProducer()


async def open_stay(pet_id: int) -> None:
    await producer.send_and_wait("kennel.stay-opened", b"{}")


async def extend(stay_id: int) -> None:
    return None
"""


def test_a_produced_topic_never_sent_is_reported_where_its_action_is_done(
    tmp_path: Path,
) -> None:
    doc = parse_design(textwrap.dedent(ANNOUNCE_DESIGN))
    events = {r.key: r.details for r in doc.requirements if r.kind == "event"}
    # the paragraph's opening gives the direction; a sentence naming two topics no payload
    assert events["kennel.stay-extended"]["direction"] == "produced"
    assert events["kennel.stay-extended"]["fields"] == []
    files = {"app/routes.py": ANNOUNCE_ROUTES, "app/stays.py": ANNOUNCE_SERVICE}
    result = _trace(tmp_path, ANNOUNCE_DESIGN, files)
    assert _status(result)["kennel.stay-extended"] == "missing"
    assert ("req.missing", "app/stays.py", 10) in _found(result)


ONCE_DESIGN = """
# Kennel

## Requirements

1. **R1 \u2013 Once.** Each owner event takes effect at most once: its `event_id` is recorded
   in `handled_events` in the same transaction, and a redelivered event is skipped.

## Data model

| Table | Column |
|-------|--------|
| `handled_events` | `event_id` |
"""

ONCE_CONSUMER = """
from collections.abc import Awaitable, Callable

from aiokafka import AIOKafkaConsumer


class OwnerConsumer:
    def __init__(self, handler: Callable[[bytes], Awaitable[None]]) -> None:
        self._consumer = AIOKafkaConsumer("owners.changed", group_id="kennel")
        self._handler = handler

    async def run(self) -> None:
        async for record in self._consumer:
            await self._handler(record.value)
"""

ONCE_SERVICE = """
class OwnerService:
    def __init__(self, handled: object) -> None:
        self._handled = handled

    async def apply(self, event_id: str) -> None:
        if await self._handled.exists(event_id):
            return None
        return None
"""


def test_a_guard_on_the_named_table_is_the_duplicate_check(tmp_path: Path) -> None:
    files = {"app/consumer.py": ONCE_CONSUMER, "app/service.py": ONCE_SERVICE}
    result = _trace(tmp_path, ONCE_DESIGN, files)
    assert _status(result)["R1"] == "implemented"
    unguarded = ONCE_SERVICE.replace("        if await self._handled.exists(event_id):\n", "")
    unguarded = unguarded.replace("            return None\n", "", 1)
    files = {"app/consumer.py": ONCE_CONSUMER, "app/service.py": unguarded}
    result = _trace(tmp_path / "b", ONCE_DESIGN, files)
    assert _status(result)["R1"] == "unverified"


def test_error_handlers_answering_with_a_detail_body(tmp_path: Path) -> None:
    design = '# Kennel\n\n## API\n\nErrors are returned as `{"detail": "<message>"}`.\n'
    files = {"app/handlers.py": ERRORS_CODE, "app/errors.py": DOMAIN_ERRORS}
    result = _trace(tmp_path, design, files)
    assert [t.status for t in result.traced] == ["implemented"]
    other = ERRORS_CODE.replace('content={"detail": repr(exc)}', 'content={"error": "boom"}')
    files = {"app/handlers.py": other, "app/errors.py": DOMAIN_ERRORS}
    result = _trace(tmp_path / "b", design, files)
    assert [t.status for t in result.traced] == ["unverified"]
