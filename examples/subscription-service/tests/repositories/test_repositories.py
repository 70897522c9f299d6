"""Repositories against an in-memory aiosqlite database."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession
from tests.factories import add_plan

from subscription_service.models import Subscription
from subscription_service.repositories.plans import PlanRepository
from subscription_service.repositories.subscriptions import SubscriptionRepository
from subscription_service.schemas.subscription import SubscriptionStatus

T0 = datetime(2024, 6, 1, tzinfo=UTC)


def subscription(customer_id: uuid.UUID, plan_id: uuid.UUID, **overrides: object) -> Subscription:
    values: dict[str, object] = {
        "customer_id": customer_id,
        "plan_id": plan_id,
        "status": SubscriptionStatus.ACTIVE,
        "current_period_start": T0,
        "current_period_end": T0 + timedelta(days=30),
        "cancel_at_period_end": False,
    }
    values.update(overrides)
    return Subscription(**values)


async def test_plan_lookup_and_active_filter(session: AsyncSession) -> None:
    active = await add_plan(session, code="basic-monthly")
    await add_plan(session, code="legacy-monthly", active=False)
    repo = PlanRepository(session)

    assert (await repo.get(active.id)) is active
    assert (await repo.get_by_code("basic-monthly")) is active
    assert await repo.get_by_code("missing") is None
    assert [p.code for p in await repo.list(include_inactive=False)] == ["basic-monthly"]
    assert [p.code for p in await repo.list(include_inactive=True)] == [
        "basic-monthly",
        "legacy-monthly",
    ]


async def test_list_for_customer_pages_newest_first(session: AsyncSession) -> None:
    plan = await add_plan(session)
    customer = uuid.uuid4()
    repo = SubscriptionRepository(session)
    for day in range(5):
        await repo.add(subscription(customer, plan.id, created_at=T0 + timedelta(days=day)))
    await repo.add(subscription(uuid.uuid4(), plan.id))
    await session.commit()

    page, total = await repo.list_for_customer(customer, status=None, limit=2, offset=1)

    assert total == 5
    assert [s.created_at for s in page] == [T0 + timedelta(days=3), T0 + timedelta(days=2)]
    assert page[0].created_at.tzinfo is not None


async def test_list_for_customer_filters_by_status(session: AsyncSession) -> None:
    plan = await add_plan(session)
    customer = uuid.uuid4()
    repo = SubscriptionRepository(session)
    await repo.add(subscription(customer, plan.id))
    await repo.add(subscription(customer, plan.id, status=SubscriptionStatus.CANCELLED))
    await session.commit()

    page, total = await repo.list_for_customer(
        customer, status=SubscriptionStatus.CANCELLED, limit=20, offset=0
    )

    assert total == 1
    assert page[0].status == SubscriptionStatus.CANCELLED


async def test_find_open_ignores_cancelled(session: AsyncSession) -> None:
    plan = await add_plan(session)
    customer = uuid.uuid4()
    repo = SubscriptionRepository(session)
    await repo.add(subscription(customer, plan.id, status=SubscriptionStatus.CANCELLED))
    await session.commit()
    assert await repo.find_open(customer, plan.id) is None

    open_one = await repo.add(subscription(customer, plan.id, status=SubscriptionStatus.PAST_DUE))
    await session.commit()
    assert await repo.find_open(customer, plan.id) is open_one
    assert await repo.get(open_one.id, for_update=True) is open_one
