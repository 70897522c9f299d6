"""Business logic for subscriptions: create, read, cancel."""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.core.config import Settings
from subscription_service.core.errors import BusinessRuleError, ConflictError, NotFoundError
from subscription_service.core.logging import get_correlation_id
from subscription_service.models import Plan, Subscription
from subscription_service.models.base import utcnow
from subscription_service.repositories.outbox import OutboxRepository
from subscription_service.repositories.plans import PlanRepository
from subscription_service.repositories.subscriptions import SubscriptionRepository
from subscription_service.schemas.events import SubscriptionCancelledEvent, SubscriptionCreatedEvent
from subscription_service.schemas.plan import BillingPeriod
from subscription_service.schemas.subscription import (
    CancelSubscription,
    CreateSubscription,
    SubscriptionStatus,
)
from subscription_service.services.periods import period_end


class SubscriptionService:
    """Subscription use cases; each public method is one transaction."""

    def __init__(
        self,
        session: AsyncSession,
        plans: PlanRepository,
        subscriptions: SubscriptionRepository,
        outbox: OutboxRepository,
        settings: Settings,
    ) -> None:
        self._session = session
        self._plans = plans
        self._subscriptions = subscriptions
        self._outbox = outbox
        self._settings = settings

    @classmethod
    def for_session(cls, session: AsyncSession, settings: Settings) -> "SubscriptionService":
        """Build the service with repositories bound to `session`."""
        return cls(
            session,
            PlanRepository(session),
            SubscriptionRepository(session),
            OutboxRepository(session),
            settings,
        )

    async def create(self, data: CreateSubscription) -> Subscription:
        """Subscribe a customer to an active plan, starting the trial when the plan has one."""
        plan = await self._plans.get(data.plan_id)
        if plan is None:
            raise NotFoundError(f"Plan {data.plan_id} not found")
        if not plan.active:
            raise BusinessRuleError(f"Plan '{plan.code}' is not available for new subscriptions")
        if await self._subscriptions.find_open(data.customer_id, plan.id) is not None:
            raise ConflictError("Customer already has an open subscription to this plan")

        now = utcnow()
        trial_end: datetime | None = None
        if plan.trial_days > 0:
            trial_end = now + timedelta(days=plan.trial_days)
            status, end = SubscriptionStatus.TRIALING, trial_end
        else:
            status, end = (
                SubscriptionStatus.ACTIVE,
                period_end(now, BillingPeriod(plan.billing_period)),
            )
        subscription = await self._subscriptions.add(
            Subscription(
                customer_id=data.customer_id,
                plan_id=plan.id,
                status=status,
                current_period_start=now,
                current_period_end=end,
                cancel_at_period_end=False,
            )
        )
        self._record_created(subscription, plan, trial_end, now)
        await self._session.commit()
        return subscription

    async def get(self, subscription_id: uuid.UUID) -> Subscription:
        """Return the subscription or raise NotFoundError."""
        subscription = await self._subscriptions.get(subscription_id)
        if subscription is None:
            raise NotFoundError(f"Subscription {subscription_id} not found")
        return subscription

    async def list_for_customer(
        self,
        customer_id: uuid.UUID,
        *,
        status: SubscriptionStatus | None,
        limit: int,
        offset: int,
    ) -> tuple[Sequence[Subscription], int]:
        """Return one page of a customer's subscriptions and the total count."""
        return await self._subscriptions.list_for_customer(
            customer_id, status=status, limit=limit, offset=offset
        )

    async def cancel(self, subscription_id: uuid.UUID, data: CancelSubscription) -> Subscription:
        """Cancel now, or schedule the cancellation for the end of the current period."""
        subscription = await self._subscriptions.get(subscription_id, for_update=True)
        if subscription is None:
            raise NotFoundError(f"Subscription {subscription_id} not found")
        if subscription.status == SubscriptionStatus.CANCELLED:
            raise ConflictError("Subscription is already cancelled")
        if data.at_period_end and subscription.cancel_at_period_end:
            raise ConflictError("Subscription is already scheduled to cancel at period end")

        now = utcnow()
        subscription.cancel_reason = data.reason
        if data.at_period_end:
            subscription.cancel_at_period_end = True
            effective_at = subscription.current_period_end
        else:
            subscription.status = SubscriptionStatus.CANCELLED
            subscription.cancel_at_period_end = False
            subscription.cancelled_at = now
            effective_at = now
        self._record(
            self._settings.topic_subscription_cancelled,
            subscription.id,
            SubscriptionCancelledEvent(
                event_id=uuid.uuid4(),
                subscription_id=subscription.id,
                customer_id=subscription.customer_id,
                reason=data.reason,
                effective_at=effective_at,
                occurred_at=now,
            ),
        )
        await self._session.commit()
        return subscription

    def _record_created(
        self, subscription: Subscription, plan: Plan, trial_end: datetime | None, now: datetime
    ) -> None:
        self._record(
            self._settings.topic_subscription_created,
            subscription.id,
            SubscriptionCreatedEvent(
                event_id=uuid.uuid4(),
                subscription_id=subscription.id,
                customer_id=subscription.customer_id,
                plan_code=plan.code,
                status=SubscriptionStatus(subscription.status),
                trial_end=trial_end,
                current_period_end=subscription.current_period_end,
                occurred_at=now,
            ),
        )

    def _record(self, topic: str, subscription_id: uuid.UUID, event: BaseModel) -> None:
        payload = event.model_dump(mode="json")
        self._outbox.add(
            event_id=uuid.UUID(payload["event_id"]),
            topic=topic,
            key=str(subscription_id),
            payload=payload,
            headers={"event-type": topic, "x-correlation-id": get_correlation_id()},
        )
