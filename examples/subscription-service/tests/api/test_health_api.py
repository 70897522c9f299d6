"""Health endpoints, error handling and the correlation id middleware."""

from types import SimpleNamespace
from unittest.mock import AsyncMock, patch

from fastapi import FastAPI
from httpx import AsyncClient

from subscription_service.api.dependencies import get_payment_consumer


async def test_live(client: AsyncClient) -> None:
    response = await client.get("/health/live")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response.headers["X-Correlation-ID"]


async def test_ready_reports_consumer_down(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "checks": {"database": "ok", "kafka_consumer": "unavailable"},
        "consumer_lag": None,
    }


async def test_ready_ok_when_database_and_consumer_are_up(
    app: FastAPI, client: AsyncClient
) -> None:
    app.dependency_overrides[get_payment_consumer] = lambda: SimpleNamespace(
        running=True, lag=AsyncMock(return_value=3)
    )

    response = await client.get("/health/ready")

    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["consumer_lag"] == 3


async def test_unexpected_error_returns_500(client: AsyncClient) -> None:
    with patch(
        "subscription_service.services.plans.PlanService.list",
        AsyncMock(side_effect=RuntimeError("boom")),
    ):
        response = await client.get("/api/v1/plans")

    assert response.status_code == 500
    assert response.json()["code"] == "internal_error"
