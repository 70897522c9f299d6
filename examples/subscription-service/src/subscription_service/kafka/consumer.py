"""Consumer of `billing.payments`: validate, apply with retries, dead-letter, commit."""

import asyncio
from typing import Any, Protocol

import structlog
from aiokafka import AIOKafkaConsumer
from pydantic import ValidationError

from subscription_service.core.config import Settings
from subscription_service.core.errors import DomainError
from subscription_service.core.logging import (
    bind_correlation_id,
    clear_correlation_id,
    get_correlation_id,
)
from subscription_service.core.retry import backoff_delay
from subscription_service.kafka.producer import EventProducer
from subscription_service.models.base import utcnow
from subscription_service.schemas.events import DeadLetter, PaymentEvent

logger = structlog.get_logger(__name__)


class PaymentHandler(Protocol):
    """Anything that can apply a payment event."""

    async def handle(self, event: PaymentEvent) -> None: ...


def build_kafka_consumer(settings: Settings) -> AIOKafkaConsumer:
    """Create the aiokafka consumer with manual offset commits."""
    return AIOKafkaConsumer(
        settings.topic_payments,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id,
        group_id=settings.kafka_consumer_group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )


class PaymentConsumer:
    """At-least-once processing: the offset is committed after handling or dead-lettering."""

    def __init__(
        self, consumer: Any, handler: PaymentHandler, producer: EventProducer, settings: Settings
    ) -> None:
        self._consumer = consumer
        self._handler = handler
        self._producer = producer
        self._dlq_topic = settings.topic_payments_dlq
        self._max_attempts = settings.consumer_max_attempts
        self._base_delay_s = settings.retry_base_delay_s
        self._stopping = asyncio.Event()
        self.running = False

    async def run(self) -> None:
        """Poll until stop() is called, then leave the group cleanly."""
        await self._consumer.start()
        self.running = True
        try:
            while not self._stopping.is_set():
                batches = await self._consumer.getmany(timeout_ms=1000, max_records=100)
                for partition, messages in batches.items():
                    for message in messages:
                        await self.process(message)
                        await self._consumer.commit({partition: message.offset + 1})
        finally:
            self.running = False
            await self._consumer.stop()

    def stop(self) -> None:
        """Ask run() to finish after the current batch."""
        self._stopping.set()

    async def lag(self) -> int:
        """Messages not yet consumed on the assigned partitions (consumer lag)."""
        total = 0
        for partition in self._consumer.assignment():
            highwater = self._consumer.highwater(partition)
            if highwater is not None:
                total += max(highwater - await self._consumer.position(partition), 0)
        return total

    async def process(self, message: Any) -> None:
        """Handle one message; never raises for bad data or handler failures."""
        headers = {name: value.decode() for name, value in message.headers or ()}
        bind_correlation_id(headers.get("x-correlation-id"))
        try:
            try:
                event = PaymentEvent.model_validate_json(message.value)
            except ValidationError as exc:
                await self._dead_letter(message, f"invalid payload: {exc}")
                return
            await self._apply_with_retries(message, event)
        finally:
            clear_correlation_id()

    async def _apply_with_retries(self, message: Any, event: PaymentEvent) -> None:
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._handler.handle(event)
                return
            except DomainError as exc:
                await self._dead_letter(message, exc.message)
                return
            except Exception as exc:
                if attempt == self._max_attempts:
                    logger.exception("payment event failed", event_id=str(event.event_id))
                    await self._dead_letter(message, f"{type(exc).__name__}: {exc}")
                    return
                logger.warning("payment event failed, retrying", attempt=attempt, error=str(exc))
                await asyncio.sleep(backoff_delay(attempt, self._base_delay_s))

    async def _dead_letter(self, message: Any, error: str) -> None:
        logger.warning("payment event dead-lettered", offset=message.offset, error=error)
        letter = DeadLetter(
            original=message.value.decode(errors="replace"),
            error=error,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            failed_at=utcnow(),
        )
        key = message.key.decode(errors="replace") if message.key else ""
        await self._producer.publish(
            self._dlq_topic,
            key,
            letter.model_dump_json().encode(),
            {"event-type": "dead-letter", "x-correlation-id": get_correlation_id()},
        )
