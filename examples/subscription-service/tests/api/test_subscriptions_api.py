"""Router tests for /api/v1/subscriptions."""

import uuid
from datetime import datetime, timedelta

from httpx import AsyncClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from tests.factories import add_plan

from subscription_service.models import OutboxEvent


async def subscribe(
    client: AsyncClient, plan_id: uuid.UUID, customer_id: uuid.UUID
) -> dict[str, object]:
    response = await client.post(
        "/api/v1/subscriptions", json={"customer_id": str(customer_id), "plan_id": str(plan_id)}
    )
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body


async def test_create_with_trial_writes_outbox_event(
    client: AsyncClient, session: AsyncSession
) -> None:
    plan = await add_plan(session, trial_days=14)
    customer = uuid.uuid4()

    response = await client.post(
        "/api/v1/subscriptions",
        json={"customer_id": str(customer), "plan_id": str(plan.id)},
        headers={"X-Correlation-ID": "req-42"},
    )

    assert response.status_code == 201
    assert response.headers["X-Correlation-ID"] == "req-42"
    body = response.json()
    assert body["status"] == "TRIALING"
    start = datetime.fromisoformat(body["current_period_start"])
    end = datetime.fromisoformat(body["current_period_end"])
    assert end - start == timedelta(days=14)
    events = (await session.execute(select(OutboxEvent))).scalars().all()
    assert [(e.topic, e.key) for e in events] == [("subscriptions.created", body["id"])]
    assert events[0].headers["x-correlation-id"] == "req-42"


async def test_create_errors(client: AsyncClient, session: AsyncSession) -> None:
    inactive = await add_plan(session, active=False)
    plan = await add_plan(session)
    customer = uuid.uuid4()
    await subscribe(client, plan.id, customer)

    def post(plan_id: uuid.UUID) -> dict[str, str]:
        return {"customer_id": str(customer), "plan_id": str(plan_id)}

    duplicate = await client.post("/api/v1/subscriptions", json=post(plan.id))
    unknown = await client.post("/api/v1/subscriptions", json=post(uuid.uuid4()))
    closed = await client.post("/api/v1/subscriptions", json=post(inactive.id))

    assert (duplicate.status_code, unknown.status_code, closed.status_code) == (409, 404, 422)
    assert closed.json()["code"] == "business_rule_violated"


async def test_list_is_paginated(client: AsyncClient, session: AsyncSession) -> None:
    customer = uuid.uuid4()
    for _ in range(3):
        await subscribe(client, (await add_plan(session)).id, customer)

    response = await client.get(
        "/api/v1/subscriptions", params={"customer_id": str(customer), "limit": 2, "offset": 0}
    )
    rest = await client.get(
        "/api/v1/subscriptions",
        params={"customer_id": str(customer), "limit": 2, "offset": 2, "status": "ACTIVE"},
    )
    too_big = await client.get(
        "/api/v1/subscriptions", params={"customer_id": str(customer), "limit": 500}
    )

    page = response.json()
    assert (len(page["items"]), page["total"], page["limit"]) == (2, 3, 2)
    assert (len(rest.json()["items"]), rest.json()["total"]) == (1, 3)
    assert too_big.status_code == 422


async def test_get_and_cancel(client: AsyncClient, session: AsyncSession) -> None:
    sub = await subscribe(client, (await add_plan(session)).id, uuid.uuid4())
    url = f"/api/v1/subscriptions/{sub['id']}"

    scheduled = await client.post(f"{url}/cancel", json={"reason": "switching provider"})
    again = await client.post(f"{url}/cancel", json={"reason": "switching provider"})
    now = await client.post(f"{url}/cancel", json={"reason": "refund", "at_period_end": False})
    fetched = await client.get(url)

    assert scheduled.status_code == 200
    assert scheduled.json()["cancel_at_period_end"] is True
    assert scheduled.json()["status"] == "ACTIVE"
    assert again.status_code == 409
    assert now.json()["status"] == "CANCELLED"
    assert fetched.json()["cancelled_at"] is not None
    assert fetched.json()["cancel_reason"] == "refund"


async def test_cancel_validation_and_not_found(client: AsyncClient) -> None:
    missing = await client.post(
        f"/api/v1/subscriptions/{uuid.uuid4()}/cancel", json={"reason": "whatever"}
    )
    short = await client.post(f"/api/v1/subscriptions/{uuid.uuid4()}/cancel", json={"reason": "x"})

    assert missing.status_code == 404
    assert short.status_code == 422
