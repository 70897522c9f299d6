"""Reacting to payment outcomes reported by the Billing Service."""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from subscription_service.core.errors import NotFoundError
from subscription_service.repositories.plans import PlanRepository
from subscription_service.repositories.subscriptions import SubscriptionRepository
from subscription_service.schemas.events import PaymentEvent
from subscription_service.schemas.plan import BillingPeriod
from subscription_service.schemas.subscription import SubscriptionStatus
from subscription_service.services.periods import period_end

logger = structlog.get_logger(__name__)


class PaymentEventHandler:
    """Applies one `billing.payments` event in its own transaction."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    async def handle(self, event: PaymentEvent) -> None:
        """Renew the subscription on success, mark it past due on failure."""
        async with self._sessionmaker() as session:
            subscriptions = SubscriptionRepository(session)
            subscription = await subscriptions.get(event.subscription_id, for_update=True)
            if subscription is None:
                raise NotFoundError(f"Subscription {event.subscription_id} not found")
            if subscription.status == SubscriptionStatus.CANCELLED:
                logger.info(
                    "payment for cancelled subscription ignored", event_id=str(event.event_id)
                )
                return

            if event.event_type == "payment.succeeded":
                plan = await PlanRepository(session).get(subscription.plan_id)
                if plan is None:
                    raise NotFoundError(f"Plan {subscription.plan_id} not found")
                start = subscription.current_period_end
                subscription.current_period_start = start
                subscription.current_period_end = period_end(
                    start, BillingPeriod(plan.billing_period)
                )
                subscription.status = SubscriptionStatus.ACTIVE
            else:
                subscription.status = SubscriptionStatus.PAST_DUE
            await session.commit()
            logger.info(
                "payment applied",
                event_id=str(event.event_id),
                event_type=event.event_type,
                subscription_id=str(subscription.id),
                status=subscription.status,
            )
