"""Shared fixtures: settings, an in-memory aiosqlite database and an HTTP client."""

import uuid
from collections.abc import AsyncIterator

import pytest
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool

from subscription_service.api.dependencies import get_engine, get_session
from subscription_service.core.config import Settings
from subscription_service.main import create_app
from subscription_service.models import Base, Plan

ADMIN_KEY = "test-admin-key"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        database_url=SecretStr("sqlite+aiosqlite://"),
        admin_api_key=SecretStr(ADMIN_KEY),
        retry_base_delay_s=0,
        consumer_max_attempts=3,
        publish_max_attempts=2,
    )


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(
        "sqlite+aiosqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
    )
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
async def client(
    settings: Settings, engine: AsyncEngine, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[AsyncClient]:
    app = create_app(settings)

    async def override_session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as session:
            yield session

    app.dependency_overrides[get_session] = override_session
    app.dependency_overrides[get_engine] = lambda: engine
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    async with AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


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
