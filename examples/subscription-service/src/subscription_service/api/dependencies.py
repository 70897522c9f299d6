"""FastAPI dependencies: sessions, services, admin authentication."""

import secrets
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from subscription_service.core.config import Settings
from subscription_service.core.errors import UnauthorizedError
from subscription_service.kafka.consumer import PaymentConsumer
from subscription_service.services.plans import PlanService
from subscription_service.services.subscriptions import SubscriptionService


def get_settings_dep(request: Request) -> Settings:
    """Settings the application was created with."""
    settings: Settings = request.app.state.settings
    return settings


def get_engine(request: Request) -> AsyncEngine:
    """The engine opened by the lifespan."""
    engine: AsyncEngine = request.app.state.engine
    return engine


def get_payment_consumer(request: Request) -> PaymentConsumer | None:
    """The running payments consumer, if the lifespan started one."""
    consumer: PaymentConsumer | None = getattr(request.app.state, "payment_consumer", None)
    return consumer


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request, closed (and rolled back if uncommitted) afterwards."""
    async with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


def get_plan_service(session: SessionDep) -> PlanService:
    """Plan service bound to the request's session."""
    return PlanService.for_session(session)


def get_subscription_service(session: SessionDep, settings: SettingsDep) -> SubscriptionService:
    """Subscription service bound to the request's session."""
    return SubscriptionService.for_session(session, settings)


async def require_admin(
    settings: SettingsDep,
    x_admin_key: Annotated[str | None, Header(description="Administrator API key.")] = None,
) -> None:
    """Reject the request unless it carries the administrator key."""
    expected = settings.admin_api_key.get_secret_value()
    if x_admin_key is None or not secrets.compare_digest(x_admin_key, expected):
        raise UnauthorizedError("A valid X-Admin-Key header is required")


PlanServiceDep = Annotated[PlanService, Depends(get_plan_service)]
SubscriptionServiceDep = Annotated[SubscriptionService, Depends(get_subscription_service)]
