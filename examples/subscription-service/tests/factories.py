"""Test data helpers."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from subscription_service.models import Plan


async def add_plan(session: AsyncSession, **overrides: object) -> Plan:
    """Insert a plan straight into the database."""
    values: dict[str, object] = {
        "code": f"plan-{uuid.uuid4().hex[:8]}",
        "name": "Basic",
        "price_minor": 900,
        "currency": "EUR",
        "billing_period": "MONTHLY",
        "trial_days": 0,
        "active": True,
    }
    values.update(overrides)
    plan = Plan(**values)
    session.add(plan)
    await session.commit()
    return plan
