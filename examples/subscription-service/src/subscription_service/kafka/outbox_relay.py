"""Background task that moves outbox rows to Kafka."""

import asyncio
import json

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subscription_service.kafka.producer import EventProducer, PublishError
from subscription_service.models.base import utcnow
from subscription_service.repositories.outbox import OutboxRepository

logger = structlog.get_logger(__name__)


class OutboxRelay:
    """Publishes pending outbox events in creation order, then marks them published."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        producer: EventProducer,
        *,
        batch_size: int,
        poll_interval_s: float,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._producer = producer
        self._batch_size = batch_size
        self._poll_interval_s = poll_interval_s
        self._stopping = asyncio.Event()

    async def relay_once(self) -> int:
        """Publish one batch; returns how many events were published."""
        async with self._sessionmaker() as session:
            outbox = OutboxRepository(session)
            published = []
            # One by one and in order: events of a subscription must not overtake each other.
            for event in await outbox.pending(self._batch_size):
                try:
                    await self._producer.publish(
                        event.topic, event.key, json.dumps(event.payload).encode(), event.headers
                    )
                except PublishError:
                    logger.warning("outbox relay paused", event_id=str(event.id), topic=event.topic)
                    break
                published.append(event.id)
            await outbox.mark_published(published, utcnow())
            await session.commit()
            return len(published)

    async def run(self) -> None:
        """Relay until stop() is called; a failed cycle is logged and retried."""
        while not self._stopping.is_set():
            try:
                await self.relay_once()
            except Exception:
                logger.exception("outbox relay cycle failed")
            try:
                await asyncio.wait_for(self._stopping.wait(), timeout=self._poll_interval_s)
            except TimeoutError:
                continue

    def stop(self) -> None:
        """Ask run() to finish after the current cycle."""
        self._stopping.set()
