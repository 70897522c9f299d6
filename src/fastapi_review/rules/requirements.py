"""Requirement traceability findings (REQ001-REQ005).

These rules document the findings of the requirement tracer (`fastapi_review.trace`).
They have `stage = "trace"`: the rule engine does not run them, the pipeline calls
the tracer after the rules and gates. Their `check` runs the tracer on the design's
requirements so that their examples (a design plus code) are tested like any rule's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule


class _TraceRule(Rule):
    stage = "trace"

    def check(self, ctx: Context) -> Iterator[Finding]:
        from fastapi_review.trace import trace_requirements

        if not ctx.requirements:
            return
        result = trace_requirements(ctx.requirements, ctx)
        for f in result.findings:
            if f.rule == self.id:
                yield f


_DESIGN_ITEMS = """
# Items service

## API

Base path: `/api/v1`.

| Method | Path | Success |
|--------|------|---------|
| GET | `/api/v1/items` | 200 |
| POST | `/api/v1/items` | 201 |
"""


class RequirementMissing(_TraceRule):
    id = "REQ001"
    name = "requirement-missing"
    category = "req.missing"
    what = """
        A requirement of the tech design (endpoint, event, table, or a stated rule) that
        has no implementation: no route with that method and path, no producer or consumer
        of the topic, no model of the table, no code for the stated behaviour.
    """
    why = """
        The change was written to satisfy the design; a missing part means the feature is
        not delivered, whatever the tests say. Reviewers and clients read the design as the
        contract.
    """
    fix = "Implement the requirement as the design states it, or change the design with the team."
    bad: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_ITEMS,
            "app/api.py": """
                from fastapi import APIRouter, FastAPI

                app = FastAPI()
                router = APIRouter(prefix="/api/v1")

                @router.get("/items")  # expect
                async def list_items() -> list[str]:
                    return []

                app.include_router(router)
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_ITEMS,
            "app/api.py": """
                from fastapi import APIRouter, FastAPI

                app = FastAPI()
                router = APIRouter(prefix="/api/v1")

                @router.get("/items")
                async def list_items() -> list[str]:
                    return []

                @router.post("/items", status_code=201)
                async def create_item(name: str) -> str:
                    return name

                app.include_router(router)
            """,
        }
    ]


class RequirementPartial(_TraceRule):
    id = "REQ002"
    name = "requirement-partial"
    category = "req.partial"
    what = """
        A requirement implemented only in part: the endpoint exists but a stated query
        parameter (pagination), status code or rule is missing, a table lacks stated
        columns (or no migration creates them), or a stated behaviour (validation,
        shutdown, duplicate handling) is only partly there.
    """
    why = """
        Partial implementations pass a quick look and the happy-path tests, then fail
        the clients that rely on the missing part (unbounded lists, duplicated effects).
    """
    fix = "Complete the implementation: add the missing part the design states (parameter, rule, field, side effect)."
    bad: ClassVar[list[Example]] = [
        {
            "tech-design.md": """
                # Items service

                ## API

                | Method | Path | Success |
                |--------|------|---------|
                | GET | `/api/v1/items?limit=&offset=` | 200 |
            """,
            "app/api.py": """
                from fastapi import APIRouter, FastAPI

                app = FastAPI()
                router = APIRouter(prefix="/api/v1")

                @router.get("/items")  # expect
                async def list_items(owner: str) -> list[str]:
                    return []

                app.include_router(router)
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "tech-design.md": """
                # Items service

                ## API

                | Method | Path | Success |
                |--------|------|---------|
                | GET | `/api/v1/items?limit=&offset=` | 200 |
            """,
            "app/api.py": """
                from fastapi import APIRouter, FastAPI, Query

                app = FastAPI()
                router = APIRouter(prefix="/api/v1")

                @router.get("/items")
                async def list_items(limit: int = Query(20, ge=1), offset: int = Query(0, ge=0)) -> list[str]:
                    return []

                app.include_router(router)
            """,
        }
    ]


_DESIGN_EVENTS = """
# Orders service

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `orders.cancelled` | produced | `order_id`, `reason` |
"""


class RequirementDeviation(_TraceRule):
    id = "REQ003"
    name = "requirement-deviation"
    category = "req.deviation"
    what = """
        Implemented differently from the design: another method or path, another status
        code, a renamed payload field, another topic name, another settings prefix, or a
        behaviour the design forbids (e.g. committing the offset before processing, error
        bodies with exception text).
    """
    why = """
        Consumers of the API and of the events are built against the design; a renamed
        field or topic silently breaks them.
    """
    fix = "Align the code with the design (path, method, status code, field or topic name), or update the design."
    bad: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_EVENTS,
            "app/events.py": """
                from aiokafka import AIOKafkaProducer
                from pydantic import BaseModel

                TOPIC = "orders.cancelled"


                class OrderCancelled(BaseModel):
                    order_id: str
                    cancel_reason: str  # expect


                async def publish(producer: AIOKafkaProducer, event: OrderCancelled) -> None:
                    await producer.send_and_wait(TOPIC, event.model_dump_json().encode())
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_EVENTS,
            "app/events.py": """
                from aiokafka import AIOKafkaProducer
                from pydantic import BaseModel

                TOPIC = "orders.cancelled"


                class OrderCancelled(BaseModel):
                    order_id: str
                    reason: str


                async def publish(producer: AIOKafkaProducer, event: OrderCancelled) -> None:
                    await producer.send_and_wait(TOPIC, event.model_dump_json().encode())
            """,
        }
    ]


_DESIGN_CONSUMER = """
# Notification service

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `users.registered` | consumed | `user_id` |
"""

_CONSUMER = """
    from aiokafka import AIOKafkaConsumer


    async def handle_user_registered(payload: bytes) -> None:  # expect
        print(payload)


    async def run() -> None:
        consumer = AIOKafkaConsumer("users.registered", group_id="notifications")
        await consumer.start()
        try:
            async for msg in consumer:
                if msg.topic == "users.registered":
                    await handle_user_registered(msg.value)
        finally:
            await consumer.stop()
"""


class RequirementUntested(_TraceRule):
    id = "REQ004"
    name = "requirement-untested"
    category = "req.untested"
    what = """
        A consumed event whose handler is implemented but never invoked by any test
        (no test calls the handler, none names the topic).
    """
    why = """
        Consumers run far from any request: a broken handler is only noticed when
        messages pile up or land on the dead-letter topic in production.
    """
    fix = "Add a test that exercises the requirement (an HTTP call for an endpoint, the handler for a consumed event)."
    bad: ClassVar[list[Example]] = [
        {"tech-design.md": _DESIGN_CONSUMER, "app/consumer.py": _CONSUMER}
    ]
    good: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_CONSUMER,
            "app/consumer.py": _CONSUMER.replace("  # expect", ""),
            "tests/test_consumer.py": """
                import asyncio

                from app.consumer import handle_user_registered


                def test_handle_user_registered() -> None:
                    asyncio.run(handle_user_registered(b"{}"))
            """,
        }
    ]


_DESIGN_SCHEMA = """
# Orders service

## API

| Method | Path | Request | Success |
|--------|------|---------|---------|
| POST | `/orders/{order_id}/cancel` | `CancelOrder` | 200 |

Schemas:

- **CancelOrder** — `reason` (3-200 characters).
- **Order** — `id`, `status`.
"""


class DesignConstraintNotEnforced(_TraceRule):
    id = "REQ005"
    name = "design-constraint-not-enforced"
    category = "pydantic.weak-validation"
    what = """
        A request schema field for which the design states a constraint (a length or
        value range, a pattern, "required when ...") while the Pydantic field enforces
        nothing: no `Field(min_length=..., le=..., pattern=...)`, no constrained type,
        no validator.
    """
    why = """
        The constraint then only lives in the document: invalid input reaches the
        service and the database, and clients get a 500 or corrupt data instead of a 422.
    """
    fix = "Enforce the stated constraint in the schema: Field(min_length=, max_length=, ge=, le=, pattern=) or a validator."
    bad: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_SCHEMA,
            "app/api.py": """
                from fastapi import FastAPI
                from pydantic import BaseModel

                app = FastAPI()


                class CancelOrder(BaseModel):
                    reason: str  # expect


                @app.post("/orders/{order_id}/cancel")
                async def cancel(order_id: int, body: CancelOrder) -> dict[str, str]:
                    return {"status": "CANCELLED"}
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "tech-design.md": _DESIGN_SCHEMA,
            "app/api.py": """
                from fastapi import FastAPI
                from pydantic import BaseModel, Field

                app = FastAPI()


                class CancelOrder(BaseModel):
                    reason: str = Field(min_length=3, max_length=200)


                @app.post("/orders/{order_id}/cancel")
                async def cancel(order_id: int, body: CancelOrder) -> dict[str, str]:
                    return {"status": "CANCELLED"}
            """,
        }
    ]
