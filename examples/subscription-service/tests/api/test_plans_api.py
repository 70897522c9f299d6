"""Router tests for /api/v1/plans."""

import uuid

from httpx import AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession
from tests.conftest import ADMIN_KEY
from tests.factories import add_plan

BODY = {
    "code": "pro-monthly",
    "name": "Pro (monthly)",
    "price_minor": 1900,
    "currency": "EUR",
    "billing_period": "MONTHLY",
    "trial_days": 14,
}
ADMIN = {"X-Admin-Key": ADMIN_KEY}


async def test_create_plan(client: AsyncClient) -> None:
    response = await client.post("/api/v1/plans", json=BODY, headers=ADMIN)

    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "pro-monthly"
    assert body["active"] is True
    assert uuid.UUID(body["id"])


async def test_create_plan_requires_admin_key(client: AsyncClient) -> None:
    missing = await client.post("/api/v1/plans", json=BODY)
    wrong = await client.post("/api/v1/plans", json=BODY, headers={"X-Admin-Key": "nope"})

    assert missing.status_code == wrong.status_code == 401
    assert missing.json()["code"] == "unauthorized"


async def test_create_plan_duplicate_code_is_409(client: AsyncClient) -> None:
    assert (await client.post("/api/v1/plans", json=BODY, headers=ADMIN)).status_code == 201

    response = await client.post("/api/v1/plans", json=BODY, headers=ADMIN)

    assert response.status_code == 409
    assert response.json() == {
        "detail": "Plan code 'pro-monthly' already exists",
        "code": "conflict",
    }


async def test_create_plan_validates_fields(client: AsyncClient) -> None:
    bad = {**BODY, "currency": "eur", "trial_days": 120}

    response = await client.post("/api/v1/plans", json=bad, headers=ADMIN)

    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "validation_error"
    assert {e["field"] for e in body["errors"]} == {"body.currency", "body.trial_days"}


async def test_get_and_list_plans(client: AsyncClient, session: AsyncSession) -> None:
    plan = await add_plan(session, code="basic-monthly")
    await add_plan(session, code="old-monthly", active=False)

    found = await client.get(f"/api/v1/plans/{plan.id}")
    listed = await client.get("/api/v1/plans")
    everything = await client.get("/api/v1/plans", params={"include_inactive": "true"})

    assert found.status_code == 200
    assert found.json()["code"] == "basic-monthly"
    assert [p["code"] for p in listed.json()] == ["basic-monthly"]
    assert len(everything.json()) == 2


async def test_get_unknown_plan_is_404(client: AsyncClient) -> None:
    response = await client.get(f"/api/v1/plans/{uuid.uuid4()}")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
