"""Kafka producer with acks=all, idempotence and bounded retries."""

from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from subscription_service.core.config import Settings
from subscription_service.core.retry import wait_before_retry

logger = structlog.get_logger(__name__)


class PublishError(Exception):
    """An event could not be published after all attempts."""


def build_kafka_producer(settings: Settings) -> AIOKafkaProducer:
    """Create the aiokafka producer (must be called inside the event loop)."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=settings.kafka_client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )


class EventProducer:
    """Publishes serialized events; raises PublishError when Kafka keeps failing."""

    def __init__(self, producer: Any, settings: Settings) -> None:
        self._producer = producer
        self._max_attempts = settings.publish_max_attempts
        self._base_delay_s = settings.retry_base_delay_s

    async def start(self) -> None:
        """Connect to the cluster."""
        await self._producer.start()

    async def stop(self) -> None:
        """Flush pending messages and disconnect."""
        await self._producer.stop()

    async def publish(self, topic: str, key: str, value: bytes, headers: dict[str, str]) -> None:
        """Send one message and wait for the broker's acknowledgement."""
        kafka_headers = [(name, header.encode()) for name, header in headers.items()]
        for attempt in range(1, self._max_attempts + 1):
            try:
                await self._producer.send_and_wait(
                    topic, value=value, key=key.encode(), headers=kafka_headers
                )
                return
            except KafkaError as exc:
                if attempt == self._max_attempts:
                    logger.error(
                        "publish failed", topic=topic, key=key, attempts=attempt, error=str(exc)
                    )
                    raise PublishError(f"could not publish to {topic}") from exc
                logger.warning("publish failed, retrying", topic=topic, key=key, attempt=attempt)
                wait_before_retry(attempt, self._base_delay_s)
