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
