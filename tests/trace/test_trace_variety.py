"""Tracing checks added for designs and code outside the development bench's shapes."""

from __future__ import annotations

from pathlib import Path

from tests.trace.helpers import found as _found
from tests.trace.helpers import status as _status
from tests.trace.helpers import status_of as _by_text
from tests.trace.helpers import trace as _trace

TIER_DESIGN = """
# Accounts

## API

```yaml
paths:
  /api/v1/accounts/{account_id}/tier:
    put:
      requestBody: {$ref: TierUpdate}
      responses:
        "200": {description: ok}
  /api/v1/accounts/{account_id}:
    delete:
      responses:
        "204": {description: closed}
```
"""

TIER_CODE = """
from fastapi import APIRouter
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1/accounts")


class AccountOut(BaseModel):
    id: str


@router.put("/{account_id}/tier", response_model=AccountOut)
async def change_tier(account_id: str, body: dict[str, str]) -> AccountOut:
    return AccountOut(id=account_id)


@router.delete("/{account_id}", response_model=AccountOut)
async def close(account_id: str) -> AccountOut:
    return AccountOut(id=account_id)
"""


def test_a_raw_dict_body_where_the_design_names_a_schema_is_partial(tmp_path: Path) -> None:
    result = _trace(tmp_path, TIER_DESIGN, {"app/api.py": TIER_CODE})
    status = _status(result)
    assert status["PUT /api/v1/accounts/{account_id}/tier"] == "partial"
    assert ("req.partial", "app/api.py", 12) in _found(result)


def test_a_delete_answering_a_body_is_not_the_designs_204(tmp_path: Path) -> None:
    result = _trace(tmp_path, TIER_DESIGN, {"app/api.py": TIER_CODE})
    assert _status(result)["DELETE /api/v1/accounts/{account_id}"] == "deviation"
    assert ("req.deviation", "app/api.py", 16) in _found(result)


def test_a_modelled_body_is_fine(tmp_path: Path) -> None:
    code = TIER_CODE.replace("body: dict[str, str]", "body: AccountOut")
    result = _trace(tmp_path, TIER_DESIGN, {"app/api.py": code})
    assert _status(result)["PUT /api/v1/accounts/{account_id}/tier"] == "implemented"


RETRY_DESIGN = """
# Points

## Messaging

It consumes `orders.paid`. Messages that fail validation are forwarded to `points.dlq`.

A handling error is retried up to three times with an exponential pause before the
message is dead-lettered.
"""

CONSUMER = """
import asyncio

from aiokafka import AIOKafkaConsumer

TOPIC = "orders.paid"
DLQ = "points.dlq"


class Consumer:
    def __init__(self, producer) -> None:
        self._consumer = AIOKafkaConsumer(TOPIC, enable_auto_commit=False)
        self._producer = producer

    async def run(self) -> None:
        async for message in self._consumer:
            await self.handle(message.value)
            await self._consumer.commit()

    async def handle(self, raw: bytes) -> None:
        for attempt in range(4):
            try:
                await self._credit(raw)
                return
            except Exception:
                if attempt == 3:
                    await self._park(raw)
                    return
                {PAUSE}

    async def _credit(self, raw: bytes) -> None:
        return None

    async def _park(self, raw: bytes) -> None:
        await self._producer.send_and_wait(DLQ, raw)
"""


def test_a_retry_pause_that_is_never_awaited_is_no_pause(tmp_path: Path) -> None:
    code = CONSUMER.replace("{PAUSE}", "asyncio.sleep(2**attempt)")
    result = _trace(tmp_path, RETRY_DESIGN, {"app/consumer.py": code})
    assert _by_text(result, "A handling error is retried") == "partial"
    assert ("req.partial", "app/consumer.py", 28) in _found(result)


def test_an_awaited_pause_and_a_dead_letter_followed_by_destination(tmp_path: Path) -> None:
    # `_park` carries no dead-letter word: the send is found by where it goes
    code = CONSUMER.replace("{PAUSE}", "await asyncio.sleep(2**attempt)")
    result = _trace(tmp_path, RETRY_DESIGN, {"app/consumer.py": code})
    assert _by_text(result, "A handling error is retried") == "implemented"


def test_a_name_alone_is_no_dead_letter_when_the_design_names_the_topic(tmp_path: Path) -> None:
    code = (
        CONSUMER.replace("{PAUSE}", "await asyncio.sleep(2**attempt)")
        .replace("await self._park(raw)", "self._dead_letter_count = 1")
        .replace("send_and_wait(DLQ, raw)", "send_and_wait(TOPIC, raw)")
    )
    result = _trace(tmp_path, RETRY_DESIGN, {"app/consumer.py": code})
    assert _by_text(result, "A handling error is retried") == "unverified"


def test_a_consumer_driven_by_its_tests_is_tested(tmp_path: Path) -> None:
    code = CONSUMER.replace("{PAUSE}", "await asyncio.sleep(2**attempt)")
    test = """
    from unittest.mock import AsyncMock

    from app.consumer import Consumer


    async def test_handle() -> None:
        consumer = Consumer(AsyncMock())
        await consumer.handle(b"{}")
        assert consumer is not None
    """
    result = _trace(
        tmp_path, RETRY_DESIGN, {"app/consumer.py": code, "tests/test_consumer.py": test}
    )
    traced = next(t for t in result.traced if t.requirement.key == "orders.paid")
    assert traced.tests == ["tests/test_consumer.py::test_handle"]
    assert not [f for f in result.findings if f.category == "req.untested"]


EVENTS_DESIGN = """
# Rooms

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `bookings.created` | produced | `booking_id`, `room_id` |
| `bookings.cancelled` | produced | `booking_id` |
"""

PRODUCER = """
from aiokafka import AIOKafkaProducer
from pydantic import BaseModel


class BookingCreated(BaseModel):
    booking_id: str
    room: str


async def publish(producer: AIOKafkaProducer, event: BookingCreated) -> None:
    await producer.send_and_wait("bookings.created", event.model_dump_json().encode())
"""


def test_a_design_topic_is_not_a_misspelling_of_another(tmp_path: Path) -> None:
    result = _trace(tmp_path, EVENTS_DESIGN, {"app/events.py": PRODUCER})
    assert _status(result)["bookings.cancelled"] == "missing"


def test_a_payload_field_without_its_suffix_is_a_rename(tmp_path: Path) -> None:
    result = _trace(tmp_path, EVENTS_DESIGN, {"app/events.py": PRODUCER})
    assert _status(result)["bookings.created"] == "deviation"
    assert ("req.deviation", "app/events.py", 7) in _found(result)


def test_a_payload_field_extended_or_shortened_by_a_word_is_a_rename(tmp_path: Path) -> None:
    design = EVENTS_DESIGN.replace("`booking_id`, `room_id` |", "`booking_id`, `ends_at` |")
    code = PRODUCER.replace("    room: str", "    end: str")
    result = _trace(tmp_path, design, {"app/events.py": code})
    assert _status(result)["bookings.created"] == "implemented"  # `end` is one word: no guess
    code = PRODUCER.replace("    room: str", "    ends_at_utc: str")
    result = _trace(tmp_path, design, {"app/events.py": code})
    assert _status(result)["bookings.created"] == "deviation"
    assert ("req.deviation", "app/events.py", 7) in _found(result)
