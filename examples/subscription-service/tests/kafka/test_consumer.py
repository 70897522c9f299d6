"""PaymentConsumer with a mocked Kafka consumer, handler and producer."""

import asyncio
import json
import uuid
from types import SimpleNamespace
from typing import Any
from unittest.mock import AsyncMock

import pytest
from aiokafka.structs import TopicPartition

from subscription_service.core.config import Settings
from subscription_service.core.errors import NotFoundError
from subscription_service.kafka.consumer import PaymentConsumer

TP = TopicPartition("billing.payments", 0)


def message(value: bytes, offset: int = 7) -> Any:
    return SimpleNamespace(
        topic=TP.topic,
        partition=TP.partition,
        offset=offset,
        key=b"sub-key",
        value=value,
        headers=[("x-correlation-id", b"corr-1")],
    )


def payment_bytes(**overrides: object) -> bytes:
    payload: dict[str, object] = {
        "event_id": str(uuid.uuid4()),
        "event_type": "payment.succeeded",
        "subscription_id": str(uuid.uuid4()),
        "payment_id": "pay_1",
        "amount_minor": 1900,
        "currency": "EUR",
        "occurred_at": "2024-06-01T00:00:00Z",
    }
    payload.update(overrides)
    return json.dumps(payload).encode()


@pytest.fixture
def handler() -> AsyncMock:
    return AsyncMock()


@pytest.fixture
def producer() -> AsyncMock:
    return AsyncMock()


@pytest.fixture
def consumer(handler: AsyncMock, producer: AsyncMock, settings: Settings) -> PaymentConsumer:
    return PaymentConsumer(AsyncMock(), handler, producer, settings)


def dead_letter(producer: AsyncMock) -> dict[str, Any]:
    topic, key, value, headers = producer.publish.await_args.args
    assert topic == "billing.payments.dlq"
    assert key == "sub-key"
    assert headers["x-correlation-id"] == "corr-1"
    letter: dict[str, Any] = json.loads(value)
    return letter


async def test_valid_message_is_handled(
    consumer: PaymentConsumer, handler: AsyncMock, producer: AsyncMock
) -> None:
    await consumer.process(message(payment_bytes(event_type="payment.failed")))

    event = handler.handle.await_args.args[0]
    assert event.event_type == "payment.failed"
    producer.publish.assert_not_awaited()


async def test_malformed_message_goes_to_dlq(
    consumer: PaymentConsumer, handler: AsyncMock, producer: AsyncMock
) -> None:
    await consumer.process(message(b"not json", offset=11))

    handler.handle.assert_not_awaited()
    letter = dead_letter(producer)
    assert letter["original"] == "not json"
    assert letter["offset"] == 11
    assert letter["error"].startswith("invalid payload")


async def test_transient_failure_is_retried(
    consumer: PaymentConsumer, handler: AsyncMock, producer: AsyncMock
) -> None:
    handler.handle.side_effect = [ConnectionError("db restarting"), None]

    await consumer.process(message(payment_bytes()))

    assert handler.handle.await_count == 2
    producer.publish.assert_not_awaited()


async def test_persistent_failure_is_dead_lettered_after_max_attempts(
    consumer: PaymentConsumer, handler: AsyncMock, producer: AsyncMock, settings: Settings
) -> None:
    handler.handle.side_effect = ConnectionError("db down")

    await consumer.process(message(payment_bytes()))

    assert handler.handle.await_count == settings.consumer_max_attempts
    assert dead_letter(producer)["error"] == "ConnectionError: db down"


async def test_domain_error_is_dead_lettered_without_retry(
    consumer: PaymentConsumer, handler: AsyncMock, producer: AsyncMock
) -> None:
    handler.handle.side_effect = NotFoundError("Subscription x not found")

    await consumer.process(message(payment_bytes()))

    assert handler.handle.await_count == 1
    assert dead_letter(producer)["error"] == "Subscription x not found"


async def test_run_commits_after_processing_and_stops(
    handler: AsyncMock, producer: AsyncMock, settings: Settings
) -> None:
    kafka = AsyncMock()
    consumer = PaymentConsumer(kafka, handler, producer, settings)

    async def one_batch(**_: Any) -> dict[TopicPartition, list[Any]]:
        consumer.stop()
        return {TP: [message(payment_bytes(), offset=3), message(b"{}", offset=4)]}

    kafka.getmany.side_effect = one_batch

    await asyncio.wait_for(consumer.run(), timeout=2)

    kafka.start.assert_awaited_once()
    assert [c.args[0] for c in kafka.commit.await_args_list] == [{TP: 4}, {TP: 5}]
    kafka.stop.assert_awaited_once()
    assert consumer.running is False


async def test_lag_sums_assigned_partitions(consumer: PaymentConsumer) -> None:
    other = TopicPartition("billing.payments", 1)
    kafka = consumer._consumer
    kafka.assignment = lambda: {TP, other}
    kafka.highwater = lambda tp: 10 if tp == TP else None
    kafka.position.return_value = 7

    assert await consumer.lag() == 3
