"""Data access for plans."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.models import Plan


class PlanRepository:
    """Reads and writes `plans`; the caller owns the transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def get(self, plan_id: uuid.UUID) -> Plan | None:
        """Return the plan with this id, or None."""
        return await self._session.get(Plan, plan_id)

    async def get_by_code(self, code: str) -> Plan | None:
        """Return the plan with this code, or None."""
        result = await self._session.execute(select(Plan).where(Plan.code == code))
        return result.scalar_one_or_none()

    async def list(self, *, include_inactive: bool) -> Sequence[Plan]:
        """Return plans ordered by code; inactive ones only when asked for."""
        query = select(Plan).order_by(Plan.code)
        if not include_inactive:
            query = query.where(Plan.active.is_(True))
        result = await self._session.execute(query)
        return result.scalars().all()

    async def add(self, plan: Plan) -> Plan:
        """Stage a new plan and flush it so constraint violations surface here."""
        self._session.add(plan)
        await self._session.flush()
        return plan
