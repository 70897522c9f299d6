"""SubscriptionService with mocked repositories and session."""

import uuid
from datetime import UTC, datetime, timedelta
from unittest.mock import AsyncMock, MagicMock

import pytest

from subscription_service.core.config import Settings
from subscription_service.core.errors import BusinessRuleError, ConflictError, NotFoundError
from subscription_service.models import Plan, Subscription
from subscription_service.schemas.subscription import (
    CancelSubscription,
    CreateSubscription,
    SubscriptionStatus,
)
from subscription_service.services.subscriptions import SubscriptionService


def make_plan(**overrides: object) -> Plan:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "code": "pro-monthly",
        "name": "Pro",
        "price_minor": 1900,
        "currency": "EUR",
        "billing_period": "MONTHLY",
        "trial_days": 0,
        "active": True,
    }
    values.update(overrides)
    return Plan(**values)


def make_subscription(**overrides: object) -> Subscription:
    now = datetime(2024, 5, 1, tzinfo=UTC)
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "customer_id": uuid.uuid4(),
        "plan_id": uuid.uuid4(),
        "status": SubscriptionStatus.ACTIVE,
        "current_period_start": now,
        "current_period_end": now + timedelta(days=31),
        "cancel_at_period_end": False,
    }
    values.update(overrides)
    return Subscription(**values)


class Fixture:
    def __init__(self, settings: Settings) -> None:
        self.session = AsyncMock()
        self.plans = AsyncMock()
        self.subscriptions = AsyncMock()
        self.subscriptions.add.side_effect = self._assign_id
        self.outbox = MagicMock()
        self.service = SubscriptionService(
            self.session, self.plans, self.subscriptions, self.outbox, settings
        )

    @staticmethod
    async def _assign_id(subscription: Subscription) -> Subscription:
        subscription.id = uuid.uuid4()
        return subscription


@pytest.fixture
def fx(settings: Settings) -> Fixture:
    return Fixture(settings)


async def test_create_with_trial_starts_trialing_and_records_event(fx: Fixture) -> None:
    plan = make_plan(trial_days=14)
    fx.plans.get.return_value = plan
    fx.subscriptions.find_open.return_value = None
    customer_id = uuid.uuid4()

    sub = await fx.service.create(CreateSubscription(customer_id=customer_id, plan_id=plan.id))

    assert sub.status == SubscriptionStatus.TRIALING
    assert sub.current_period_end - sub.current_period_start == timedelta(days=14)
    fx.session.commit.assert_awaited_once()
    event = fx.outbox.add.call_args.kwargs
    assert event["topic"] == "subscriptions.created"
    assert event["key"] == str(sub.id)
    assert event["payload"]["plan_code"] == "pro-monthly"
    assert event["payload"]["customer_id"] == str(customer_id)
    assert "x-correlation-id" in event["headers"]


async def test_create_without_trial_is_active_for_one_period(fx: Fixture) -> None:
    plan = make_plan(billing_period="YEARLY")
    fx.plans.get.return_value = plan
    fx.subscriptions.find_open.return_value = None

    sub = await fx.service.create(CreateSubscription(customer_id=uuid.uuid4(), plan_id=plan.id))

    assert sub.status == SubscriptionStatus.ACTIVE
    assert sub.current_period_end.year == sub.current_period_start.year + 1


async def test_create_rejects_unknown_plan(fx: Fixture) -> None:
    fx.plans.get.return_value = None
    with pytest.raises(NotFoundError):
        await fx.service.create(CreateSubscription(customer_id=uuid.uuid4(), plan_id=uuid.uuid4()))
    fx.session.commit.assert_not_awaited()


async def test_create_rejects_inactive_plan(fx: Fixture) -> None:
    fx.plans.get.return_value = make_plan(active=False)
    with pytest.raises(BusinessRuleError):
        await fx.service.create(CreateSubscription(customer_id=uuid.uuid4(), plan_id=uuid.uuid4()))


async def test_create_rejects_second_open_subscription(fx: Fixture) -> None:
    fx.plans.get.return_value = make_plan()
    fx.subscriptions.find_open.return_value = make_subscription()
    with pytest.raises(ConflictError):
        await fx.service.create(CreateSubscription(customer_id=uuid.uuid4(), plan_id=uuid.uuid4()))
    fx.outbox.add.assert_not_called()


async def test_cancel_at_period_end_keeps_status(fx: Fixture) -> None:
    sub = make_subscription()
    fx.subscriptions.get.return_value = sub

    result = await fx.service.cancel(sub.id, CancelSubscription(reason="too expensive"))

    assert result.status == SubscriptionStatus.ACTIVE
    assert result.cancel_at_period_end is True
    assert result.cancelled_at is None
    payload = fx.outbox.add.call_args.kwargs["payload"]
    assert payload["reason"] == "too expensive"
    assert payload["effective_at"] == sub.current_period_end.isoformat().replace("+00:00", "Z")


async def test_cancel_immediately(fx: Fixture) -> None:
    sub = make_subscription(cancel_at_period_end=True)
    fx.subscriptions.get.return_value = sub

    result = await fx.service.cancel(
        sub.id, CancelSubscription(at_period_end=False, reason="moving away")
    )

    assert result.status == SubscriptionStatus.CANCELLED
    assert result.cancel_at_period_end is False
    assert result.cancelled_at is not None
    fx.session.commit.assert_awaited_once()


@pytest.mark.parametrize(
    "existing",
    [
        {"status": SubscriptionStatus.CANCELLED},
        {"cancel_at_period_end": True},
    ],
)
async def test_cancel_conflicts(fx: Fixture, existing: dict[str, object]) -> None:
    fx.subscriptions.get.return_value = make_subscription(**existing)
    with pytest.raises(ConflictError):
        await fx.service.cancel(uuid.uuid4(), CancelSubscription(reason="again"))
    fx.session.commit.assert_not_awaited()


async def test_cancel_and_get_unknown_subscription(fx: Fixture) -> None:
    fx.subscriptions.get.return_value = None
    with pytest.raises(NotFoundError):
        await fx.service.cancel(uuid.uuid4(), CancelSubscription(reason="gone"))
    with pytest.raises(NotFoundError):
        await fx.service.get(uuid.uuid4())
