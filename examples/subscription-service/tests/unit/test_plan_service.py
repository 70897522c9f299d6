"""PlanService with a mocked repository and session."""

import uuid
from unittest.mock import AsyncMock

import pytest

from subscription_service.core.errors import ConflictError, NotFoundError
from subscription_service.models import Plan
from subscription_service.schemas.plan import BillingPeriod, CreatePlan
from subscription_service.services.plans import PlanService

BODY = CreatePlan(
    code="team-yearly",
    name="Team",
    price_minor=19000,
    currency="USD",
    billing_period=BillingPeriod.YEARLY,
)


@pytest.fixture
def repo() -> AsyncMock:
    repo = AsyncMock()
    repo.add.side_effect = lambda plan: plan
    return repo


async def test_create_adds_and_commits(repo: AsyncMock) -> None:
    session = AsyncMock()
    repo.get_by_code.return_value = None

    plan = await PlanService(session, repo).create(BODY)

    assert (plan.code, plan.billing_period, plan.price_minor) == ("team-yearly", "YEARLY", 19000)
    session.commit.assert_awaited_once()


async def test_create_rejects_known_code(repo: AsyncMock) -> None:
    repo.get_by_code.return_value = Plan(code="team-yearly")
    with pytest.raises(ConflictError):
        await PlanService(AsyncMock(), repo).create(BODY)
    repo.add.assert_not_called()


async def test_get_unknown_plan(repo: AsyncMock) -> None:
    repo.get.return_value = None
    with pytest.raises(NotFoundError):
        await PlanService(AsyncMock(), repo).get(uuid.uuid4())
