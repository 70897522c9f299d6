"""API rules on hand-written fixtures: exact rule, file and line."""

from __future__ import annotations

from fastapi_review.rules.api import OpenApiDocs, StatusCode, UnvalidatedInput
from fastapi_review.rules.base import Rule
from fastapi_review.rules.examples import run_example


def hits(rule: type[Rule], files: dict[str, str]) -> list[tuple[str, str | None, int | None]]:
    return sorted((f.rule, f.path, f.line) for f in run_example(rule, files))


ROUTER = """
from typing import Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

router = APIRouter(prefix="/orders")


class OrderIn(BaseModel):
    sku: str


@router.post("", status_code=201, summary="Create")
async def create_order(payload: Any) -> OrderIn:
    return OrderIn(sku=str(payload))


@router.post("/{order_id}/notes", status_code=201, summary="Note")
async def add_note(order_id: int, note=Body(...)) -> OrderIn:
    return OrderIn(sku=str(note))


@router.post("/{order_id}/cancel", summary="Cancel")
async def cancel_order(order_id: int, request: Request) -> OrderIn:
    body = await request.body()
    return OrderIn(sku=body.decode())


@router.post("/bulk", summary="Bulk")
async def create_bulk(items: list[OrderIn]) -> list[OrderIn]:
    return items


@router.post("/import", summary="Import")
async def add_import(items: list[OrderIn]) -> JSONResponse:
    return JSONResponse(status_code=201, content={"n": len(items)})


@router.delete("/{order_id}", summary="Delete")
async def delete_order(order_id: int) -> None:
    return None


@router.get("/{order_id}", summary="Get")
async def get_order(order_id: int) -> JSONResponse:
    return JSONResponse({"error": "missing"})
"""


def test_unvalidated_input_lines() -> None:
    assert hits(UnvalidatedInput, {"app/routes.py": ROUTER}) == [
        ("API002", "app/routes.py", 15),
        ("API002", "app/routes.py", 20),
        ("API002", "app/routes.py", 26),
    ]


def test_status_codes_create_delete_and_error_bodies() -> None:
    assert hits(StatusCode, {"app/routes.py": ROUTER}) == [
        ("API003", "app/routes.py", 30),
        ("API003", "app/routes.py", 40),
        ("API003", "app/routes.py", 47),
    ]


def test_post_actions_keep_200() -> None:
    src = ROUTER.replace("create_bulk", "search_orders")
    assert ("API003", "app/routes.py", 30) not in hits(StatusCode, {"app/routes.py": src})


def test_openapi_docs_only_undocumented_routes() -> None:
    src = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/a", summary="A")
async def a() -> dict[str, str]:
    return {}


@app.get("/b")
async def b() -> dict[str, str]:
    return {}
"""
    found = run_example(OpenApiDocs, {"app/main.py": src})
    assert [(f.rule, f.line, f.severity.value) for f in found] == [("API004", 11, "LOW")]


# --- API003 against the status the design states ----------------------------------------

CART_DESIGN = """
# Carts

| Method | Path | Success | Errors |
|--------|------|---------|--------|
| DELETE | `/api/v1/carts/{id}` | 204 | 404 |
| POST | `/api/v1/carts/{id}/checkout` | 200 or 202 | 409 |
| PUT | `/api/v1/carts/{id}/owner` | 200 | 404 |
"""

CART_ROUTES = """
from fastapi import APIRouter, Response
from pydantic import BaseModel

router = APIRouter(prefix="/api/v1/carts")


class Cart(BaseModel):
    id: int


@router.delete("/{cart_id}", response_model=Cart)
async def remove_cart(cart_id: int) -> Cart:
    return Cart(id=cart_id)


@router.post("/{cart_id}/checkout", response_model=Cart)
async def checkout(cart_id: int) -> Cart:
    return Cart(id=cart_id)


@router.put("/{cart_id}/owner", response_model=Cart, status_code=202)
async def set_owner(cart_id: int, response: Response) -> Cart:
    response.status_code = 200
    return Cart(id=cart_id)
"""


def test_status_differs_from_the_design() -> None:
    found = run_example(StatusCode, {"tech-design.md": CART_DESIGN, "app/carts.py": CART_ROUTES})
    assert [(f.rule, f.path, f.line) for f in found] == [("API003", "app/carts.py", 11)]
    assert "states 204" in found[0].message


def test_status_without_a_design_keeps_the_body_rule() -> None:
    # a DELETE that returns the deleted object may answer 200 when nobody asked for 204
    assert hits(StatusCode, {"app/carts.py": CART_ROUTES}) == []
