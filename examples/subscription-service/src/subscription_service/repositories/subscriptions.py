"""Data access for subscriptions."""

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.models import Subscription
from subscription_service.schemas.subscription import SubscriptionStatus


class SubscriptionRepository:
    """Reads and writes `subscriptions`; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(
        self, subscription_id: uuid.UUID, *, for_update: bool = False
    ) -> Subscription | None:
        """Return the subscription, optionally locking its row until the transaction ends."""
        query = select(Subscription).where(Subscription.id == subscription_id)
        if for_update:
            query = query.with_for_update()
        result = await self._session.execute(query)
        return result.scalar_one_or_none()

    async def find_open(self, customer_id: uuid.UUID, plan_id: uuid.UUID) -> Subscription | None:
        """Return the customer's non-cancelled subscription to this plan, if any."""
        query = select(Subscription).where(
            Subscription.customer_id == customer_id,
            Subscription.plan_id == plan_id,
            Subscription.status != SubscriptionStatus.CANCELLED,
        )
        result = await self._session.execute(query.limit(1))
        return result.scalar_one_or_none()

    async def list_for_customer(
        self,
        customer_id: uuid.UUID,
        *,
        status: SubscriptionStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Subscription], int]:
        """Return one page of the customer's subscriptions (newest first) and the total."""
        conditions = [Subscription.customer_id == customer_id]
        if status is not None:
            conditions.append(Subscription.status == status)
        total = await self._session.scalar(
            select(func.count()).select_from(Subscription).where(*conditions)
        )
        rows = await self._session.execute(
            select(Subscription)
            .where(*conditions)
            .order_by(Subscription.created_at.desc(), Subscription.id)
            .limit(limit)
            .offset(offset)
        )
        return rows.scalars().all(), int(total or 0)

    async def add(self, subscription: Subscription) -> Subscription:
        """Stage a new subscription and flush it."""
        self._session.add(subscription)
        await self._session.flush()
        return subscription
