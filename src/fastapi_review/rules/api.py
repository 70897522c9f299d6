"""API contract rules: response models, raw input, status codes."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Rule


class MissingResponseModel(Rule):
    id = "API001"
    name = "route-without-response-model"
    category = "api.missing-response-model"
    what = """
        A route that declares neither `response_model=` nor a return annotation
        FastAPI can turn into a schema.
    """
    why = """
        Without a response model the OpenAPI document shows an empty schema, clients
        cannot rely on the shape of the answer, and FastAPI does not filter the output:
        any extra attribute of the returned object (internal ids, secrets) is sent.
    """
    fix = "Declare `response_model=SomeSchema` or annotate the return type with a Pydantic model."
    bad = [
        """
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/items/{item_id}")  # expect
        async def get_item(item_id: int):
            return {"id": item_id}
        """
    ]
    good = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter()

        class Item(BaseModel):
            id: int

        @router.get("/items/{item_id}", response_model=Item)
        async def get_item(item_id: int):
            return {"id": item_id}

        @router.get("/other/{item_id}")
        async def get_other(item_id: int) -> Item:
            return Item(id=item_id)

        @router.delete("/items/{item_id}", status_code=204)
        async def delete_item(item_id: int) -> None:
            return None
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        seen: set[tuple[str, int]] = set()
        for route in ctx.index.routes:
            if route.response_model is not None or route.return_annotation is not None:
                continue
            if route.status_code in {204, 304} or (route.file, route.line) in seen:
                continue
            if route.decorator is not None and any(
                k.arg in {"response_class", "include_in_schema"} for k in route.decorator.keywords
            ):
                continue
            seen.add((route.file, route.line))
            yield self.finding(
                ctx,
                route.file,
                route.line,
                f"{route.method} {route.path} declares no response model and no return annotation",
            )
