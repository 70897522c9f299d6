"""Business logic for billing plans."""

import uuid
from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.core.errors import ConflictError, NotFoundError
from subscription_service.models import Plan
from subscription_service.repositories.plans import PlanRepository
from subscription_service.schemas.plan import CreatePlan


class PlanService:
    """Creates and reads plans; commits its own unit of work."""

    def __init__(self, session: AsyncSession, plans: PlanRepository) -> None:
        self._session = session
        self._plans = plans

    @classmethod
    def for_session(cls, session: AsyncSession) -> "PlanService":
        """Build the service with repositories bound to `session`."""
        return cls(session, PlanRepository(session))

    async def create(self, data: CreatePlan) -> Plan:
        """Create a plan; a duplicate code is a conflict."""
        if await self._plans.get_by_code(data.code) is not None:
            raise ConflictError(f"Plan code '{data.code}' already exists")
        try:
            plan = await self._plans.add(Plan(**data.model_dump()))
            await self._session.commit()
        except IntegrityError as exc:
            await self._session.rollback()
            raise ConflictError(f"Plan code '{data.code}' already exists") from exc
        return plan

    async def get(self, plan_id: uuid.UUID) -> Plan:
        """Return the plan or raise NotFoundError."""
        plan = await self._plans.get(plan_id)
        if plan is None:
            raise NotFoundError(f"Plan {plan_id} not found")
        return plan

    async def list(self, *, include_inactive: bool = False) -> Sequence[Plan]:
        """Return the plans clients can choose from."""
        return await self._plans.list(include_inactive=include_inactive)
