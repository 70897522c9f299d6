"""Data access for the transactional outbox."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.models import OutboxEvent


class OutboxRepository:
    """Adds events to the outbox and hands pending ones to the relay."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    def add(
        self,
        *,
        event_id: uuid.UUID,
        topic: str,
        key: str,
        payload: dict[str, Any],
        headers: dict[str, str],
    ) -> OutboxEvent:
        """Stage an event in the caller's transaction."""
        event = OutboxEvent(id=event_id, topic=topic, key=key, payload=payload, headers=headers)
        self._session.add(event)
        return event

    async def pending(self, limit: int) -> Sequence[OutboxEvent]:
        """Return the oldest unpublished events, locked so that relays do not collide."""
        result = await self._session.execute(
            select(OutboxEvent)
            .where(OutboxEvent.published_at.is_(None))
            .order_by(OutboxEvent.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return result.scalars().all()

    async def mark_published(self, event_ids: Sequence[uuid.UUID], at: datetime) -> None:
        """Record that these events reached Kafka."""
        if event_ids:
            await self._session.execute(
                update(OutboxEvent).where(OutboxEvent.id.in_(event_ids)).values(published_at=at)
            )
