"""API contract rules: response models, raw input, status codes."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.nodes import scope_walk
from fastapi_review.index.routes import Route
from fastapi_review.index.symbols import unparse
from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule


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
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/items/{item_id}")  # expect
        async def get_item(item_id: int):
            return {"id": item_id}
        """
    ]
    good: ClassVar[list[Example]] = [
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


# --- helpers -------------------------------------------------------------------------

_RAW_BODY_TYPES = {"dict", "Dict", "Any", "typing.Any", "object", "Mapping", "JSON"}
_REQUEST_READS = {"json", "body", "form"}
_CREATE_PREFIXES = ("create", "add", "register", "insert", "new")
# callees that store a new record: `service.create_order(...)`, `repo.add(...)`, `session.add`
_STORE_PREFIXES = ("create", "add", "insert", "register", "save", "persist")
_NOT_STORES = {"add_task", "add_header", "add_done_callback", "add_cookie", "add_middleware"}
_CREATE_MODEL = re.compile(r"(?:^|\.)(?:\w*Create\w*|Create\w*|New[A-Z]\w*)$")


def _collection_path(path: str) -> bool:
    """A path whose last segment names a collection: `/orders`, `/users/{id}/addresses`
    (plural, not `/status`, `/access` or an action such as `/search`)."""
    last = path.rstrip("/").rsplit("/", 1)[-1].lower()
    return (
        len(last) > 3
        and last.endswith("s")
        and not last.endswith(("ss", "us", "is"))
        and "{" not in last
    )


def _creates(route: Route) -> bool:
    """A POST that creates a resource: named so (`create_*`, `add_*`, `register_*`), or a POST
    to a collection path whose body is a create schema (`OrderCreate`, `NewOrder`) or that
    stores a record (`service.create_order(...)`, `session.add(...)`)."""
    fn = route.function
    if fn.name.lower().startswith(_CREATE_PREFIXES):
        return True
    if not _collection_path(route.path):
        return False
    answer = route.response_model or route.return_annotation or ""
    if answer.lower().startswith(("list", "sequence", "typing.list", "page")):
        return False  # a query that answers with many items (`POST /orders/lookups`)
    if any(p.kind == "body" and _CREATE_MODEL.search(p.annotation) for p in route.params):
        return True
    # a POST of a body to a collection that answers with one item (`POST /invoices` with
    # `InvoiceIn` -> `InvoiceView`) is REST's create, whatever the handler is called
    if (
        any(p.kind == "body" for p in route.params)
        and answer
        and answer not in {"None", "dict", "Any"}
        and not answer.startswith("dict[")
        and "Response" not in answer
    ):
        return True
    for c in fn.calls:
        method = c.text.rsplit(".", 1)[-1].lower()
        if "." in c.text and method.startswith(_STORE_PREFIXES) and method not in _NOT_STORES:
            return True
    return False


_ERROR_KEYS = {"error", "errors", "error_message"}


def _unique_routes(ctx: Context) -> list[Route]:
    """One route per (file, decorator line): a router included twice is one piece of code."""
    seen: set[tuple[str, int, str]] = set()
    out: list[Route] = []
    for route in ctx.index.routes:
        key = (route.file, route.line, route.method)
        if key in seen:
            continue
        seen.add(key)
        out.append(route)
    return out


def _base_annotation(text: str) -> str:
    """`Annotated[dict, Body()]` / `dict[str, Any] | None` -> `dict`."""
    t = text.strip()
    if t.startswith("Annotated["):
        t = t[len("Annotated[") :].split(",", 1)[0]
    t = t.replace("Optional[", "").rstrip("]").split("|", 1)[0].strip()
    return t.split("[", 1)[0].strip()


def _args(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.arg]:
    a = fn.args
    return [*a.posonlyargs, *a.args, *a.kwonlyargs]


def _request_params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    out: set[str] = set()
    for arg in _args(fn):
        if arg.annotation is not None and _base_annotation(unparse(arg.annotation)).endswith(
            "Request"
        ):
            out.add(arg.arg)
    return out


def own_nodes(fn: ast.FunctionDef | ast.AsyncFunctionDef, kind: object = None) -> list[ast.AST]:
    """Nodes of a function body, not descending into nested functions or classes."""
    return scope_walk(fn.body, kind, scopes=_DEFS, keep_scopes=False)


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _mentions_status(fn: ast.FunctionDef | ast.AsyncFunctionDef, code: int) -> bool:
    for node in own_nodes(fn, (ast.Constant, ast.Attribute)):
        if isinstance(node, ast.Constant) and node.value == code:
            return True
        if isinstance(node, ast.Attribute) and node.attr.startswith(f"HTTP_{code}"):
            return True
    return False


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _has_error_key(expr: ast.expr | None) -> bool:
    return isinstance(expr, ast.Dict) and any(
        isinstance(k, ast.Constant) and k.value in _ERROR_KEYS for k in expr.keys
    )


class UnvalidatedInput(Rule):
    id = "API002"
    name = "route-reads-raw-input"
    category = "api.unvalidated-input"
    what = """
        A route whose body parameter is typed `dict` / `Any` (or has no type), or that reads
        the raw request with `await request.json()`, `request.body()` or `request.form()`.
    """
    why = """
        FastAPI validates only what a Pydantic model describes. A raw dict reaches the
        service layer unchecked: missing fields become KeyErrors (500s), wrong types and
        out-of-range values are stored, and the OpenAPI document shows no request schema.
    """
    fix = "Declare a Pydantic model for the body and take it as a typed parameter."
    bad: ClassVar[list[Example]] = [
        """
        from typing import Any
        from fastapi import APIRouter, Request

        router = APIRouter()

        @router.post("/orders", status_code=201)
        async def create_order(payload: dict[str, Any]) -> dict[str, Any]:  # expect
            return payload

        @router.post("/raw", status_code=201)
        async def create_raw(request: Request) -> dict[str, str]:
            data = await request.json()  # expect
            return {"id": data["id"]}
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter, Request
        from pydantic import BaseModel

        router = APIRouter()

        class OrderIn(BaseModel):
            sku: str

        @router.post("/orders", status_code=201)
        async def create_order(payload: OrderIn, request: Request) -> OrderIn:
            request.state.seen = True
            return payload

        @router.get("/orders")
        async def list_orders(limit: int = 10, q: str | None = None) -> list[OrderIn]:
            return []
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        done: set[tuple[str, int]] = set()
        for route in _unique_routes(ctx):
            node = route.function.node
            if (route.file, node.lineno) in done:
                continue
            done.add((route.file, node.lineno))
            args = {a.arg: a for a in _args(node)}
            for p in route.params:
                if p.kind != "body":
                    continue
                base = _base_annotation(p.annotation) if p.annotation else ""
                if base and base not in _RAW_BODY_TYPES and not base.startswith("dict"):
                    continue
                if not base and "Body(" not in p.default:
                    continue
                arg = args.get(p.name)
                yield self.finding(
                    ctx,
                    route.file,
                    arg.lineno if arg is not None else node.lineno,
                    f"{route.method} {route.path} takes body `{p.name}` as "
                    f"`{p.annotation or 'untyped'}` instead of a Pydantic model",
                )
            requests = _request_params(node)
            for sub in own_nodes(node, ast.Call):
                if (
                    isinstance(sub, ast.Call)
                    and isinstance(sub.func, ast.Attribute)
                    and sub.func.attr in _REQUEST_READS
                    and isinstance(sub.func.value, ast.Name)
                    and sub.func.value.id in requests
                ):
                    yield self.finding(
                        ctx,
                        route.file,
                        sub.lineno,
                        f"{route.method} {route.path} reads the raw request body with "
                        f"`{sub.func.value.id}.{sub.func.attr}()` instead of a Pydantic model",
                    )


class StatusCode(Rule):
    id = "API003"
    name = "wrong-status-code"
    category = "api.status-code"
    what = """
        A POST route that creates something (handler named `create_*`, `add_*`,
        `register_*`, ...; or a POST to a collection path such as `/orders` whose body is a
        create schema like `OrderCreate` or that stores a record via `*.create_*()`,
        `*.add()`, `*.save()`) without `status_code=201`; a DELETE route that returns no body
        without `status_code=204`; a route that returns an error dict (`{"error": ...}`)
        with the default 200. POST actions (`/cancel`, `/release`, `/search`) keep 200.
        When the tech design states the success status of an endpoint (e.g. `204` for a
        DELETE), a route answering another 2xx status is reported too.
    """
    why = """
        Clients and gateways act on the status code: a create answered with 200 hides
        that a resource now exists, and an error answered with 200 is counted as success
        by retries, monitoring and every generated client.
    """
    fix = """
        Set `status_code=201` on create routes and `status_code=204` on DELETE routes without
        a body; raise `HTTPException` (or a domain error mapped by an exception handler)
        instead of returning an error dict.
    """
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter
        from pydantic import BaseModel

        router = APIRouter()

        class Item(BaseModel):
            id: int

        @router.post("/items", response_model=Item)  # expect
        async def create_item(item: Item) -> Item:
            return item

        @router.delete("/items/{item_id}")  # expect
        async def delete_item(item_id: int) -> None:
            return None

        class OrderCreate(BaseModel):
            sku: str

        @router.post("/orders", response_model=Item)  # expect
        async def place_order(payload: OrderCreate) -> Item:
            return Item(id=1)

        @router.post("/customers/{customer_id}/addresses", response_model=Item)  # expect
        async def attach_address(customer_id: int, service: AddressService) -> Item:
            return await service.create_address(customer_id)

        class InvoiceIn(BaseModel):
            amount: int

        @router.post("/invoices")  # expect
        async def issue_invoice(body: InvoiceIn) -> Item:
            return Item(id=body.amount)

        @router.get("/items/{item_id}", response_model=Item)
        async def get_item(item_id: int) -> Item | dict[str, str]:
            if item_id < 0:
                return {"error": "not found"}  # expect
            return Item(id=item_id)
        """,
        {
            "tech-design.md": """
                # Carts

                | Method | Path | Success | Errors |
                |--------|------|---------|--------|
                | DELETE | `/api/v1/carts/{cart_id}` | 204 | 404 |
                | POST | `/api/v1/carts/{cart_id}/checkout` | 202 | 409 |
            """,
            "app/carts.py": """
                from fastapi import APIRouter
                from pydantic import BaseModel

                router = APIRouter(prefix="/api/v1")

                class Cart(BaseModel):
                    id: int

                @router.delete("/carts/{cart_id}", response_model=Cart)  # expect
                async def remove_cart(cart_id: int) -> Cart:
                    return Cart(id=cart_id)

                @router.post("/carts/{cart_id}/checkout", response_model=Cart)  # expect
                async def checkout(cart_id: int) -> Cart:
                    return Cart(id=cart_id)
            """,
        },
    ]
    good: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter, BackgroundTasks, HTTPException, status
        from pydantic import BaseModel

        router = APIRouter()

        class Item(BaseModel):
            id: int

        @router.post("/items", response_model=Item, status_code=status.HTTP_201_CREATED)
        async def create_item(item: Item) -> Item:
            return item

        @router.post("/items/{item_id}/cancel", response_model=Item)
        async def cancel_item(item_id: int) -> Item:
            return Item(id=item_id)

        class SearchCreate(BaseModel):
            text: str

        @router.post("/items/search", response_model=list[Item])
        async def search_items(query: SearchCreate) -> list[Item]:
            return []

        @router.post("/items/lookups", response_model=list[Item])
        async def lookup_items(query: SearchCreate) -> list[Item]:
            return []

        @router.post("/notifications/resend", response_model=Item)
        async def resend(tasks: BackgroundTasks) -> Item:
            tasks.add_task(print, "x")
            return Item(id=1)

        @router.post("/emails", status_code=202)
        async def send_emails(tasks: BackgroundTasks) -> None:
            tasks.add_task(print, "x")

        @router.delete("/items/{item_id}", status_code=204)
        async def delete_item(item_id: int) -> None:
            return None

        @router.delete("/carts/{cart_id}", response_model=Item)
        async def remove_cart(cart_id: int) -> Item:
            return Item(id=cart_id)

        @router.get("/items/{item_id}", response_model=Item)
        async def get_item(item_id: int) -> Item:
            if item_id < 0:
                raise HTTPException(status_code=404, detail={"error": "not found"})
            return Item(id=item_id)
        """,
        {
            "tech-design.md": """
                # Carts

                | Method | Path | Success | Errors |
                |--------|------|---------|--------|
                | DELETE | `/api/v1/carts/{cart_id}` | 204 | 404 |
                | POST | `/api/v1/carts/{cart_id}/checkout` | 200 or 202 | 409 |
                | GET | `/api/v1/carts/{cart_id}` | 200 | 404 |
            """,
            "app/carts.py": """
                from fastapi import APIRouter, Response, status
                from pydantic import BaseModel

                router = APIRouter(prefix="/api/v1")

                class Cart(BaseModel):
                    id: int

                @router.delete("/carts/{cart_id}", status_code=status.HTTP_204_NO_CONTENT)
                async def remove_cart(cart_id: int) -> None:
                    return None

                @router.post("/carts/{cart_id}/checkout", response_model=Cart)
                async def checkout(cart_id: int, response: Response) -> Cart:
                    response.status_code = 202
                    return Cart(id=cart_id)

                @router.get("/carts/{cart_id}", response_model=Cart)
                async def get_cart(cart_id: int) -> Cart:
                    return Cart(id=cart_id)
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        done: set[tuple[str, int]] = set()
        stated = _design_success_codes(ctx)
        for route in _unique_routes(ctx):
            fn = route.function.node
            if (route.file, route.line) in done:
                continue
            done.add((route.file, route.line))
            code = route.status_code
            reported = False
            if (
                route.method == "POST"
                and code in {None, 200}
                and _creates(route)
                and not _mentions_status(fn, 201)
                and not _mentions_status(fn, 202)
            ):
                reported = True
                yield self.finding(
                    ctx,
                    route.file,
                    route.line,
                    f"POST {route.path} creates a resource (`{fn.name}`) but answers "
                    f"{code or 200} instead of 201",
                )
            if (
                route.method == "DELETE"
                and code in {None, 200}
                and route.response_model is None
                and route.return_annotation in {None, "None"}
                and not _returns_value(fn)
                and not _mentions_status(fn, 204)
            ):
                reported = True
                yield self.finding(
                    ctx,
                    route.file,
                    route.line,
                    f"DELETE {route.path} returns no body but answers {code or 200} instead of 204",
                )
            design = stated.get((route.method, _path_shape(route.path)))
            if (
                not reported
                and design
                and (code or 200) not in design
                and not any(_mentions_status(fn, c) for c in design)
                and not _sets_status_itself(fn)
            ):
                wanted = " or ".join(str(c) for c in sorted(design))
                yield self.finding(
                    ctx,
                    route.file,
                    route.line,
                    f"{route.method} {route.path} answers {code or 200}, but the tech design "
                    f"states {wanted}",
                )
            for sub in own_nodes(fn, ast.Return):
                if not isinstance(sub, ast.Return) or sub.value is None:
                    continue
                value = sub.value
                if _has_error_key(value) or (
                    isinstance(value, ast.Call)
                    and (dotted_name(value.func) or "").endswith("JSONResponse")
                    and _kw(value, "status_code") is None
                    and _has_error_key(value.args[0] if value.args else _kw(value, "content"))
                ):
                    yield self.finding(
                        ctx,
                        route.file,
                        sub.lineno,
                        f"{route.method} {route.path} returns an error body with status 200",
                    )


def _path_shape(path: str) -> str:
    """`/api/v1/carts/{cart_id}/` -> `/api/v1/carts/{}`: parameter names do not matter."""
    return re.sub(r"\{[^}]*\}", "{}", path.strip().lower()).rstrip("/") or "/"


def _design_success_codes(ctx: Context) -> dict[tuple[str, str], set[int]]:
    """(method, path shape) -> the 2xx statuses the design states for that endpoint."""
    out: dict[tuple[str, str], set[int]] = {}
    for req in ctx.requirements:
        if req.kind != "endpoint":
            continue
        method = req.details.get("method")
        path = req.details.get("path")
        codes = req.details.get("status")
        if not isinstance(method, str) or not isinstance(path, str):
            continue
        if not isinstance(codes, list):
            continue
        ok = {c for c in codes if isinstance(c, int) and 200 <= c < 300}
        if ok:
            out.setdefault((method.upper(), _path_shape(path)), set()).update(ok)
    return out


def _sets_status_itself(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """The handler decides its status at run time: `response.status_code = ...`, or it
    builds a `Response`/`JSONResponse(status_code=...)` itself."""
    for node in own_nodes(fn, (ast.Assign, ast.Call)):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Attribute) and t.attr == "status_code" for t in node.targets
        ):
            return True
        if (
            isinstance(node, ast.Call)
            and (dotted_name(node.func) or "").endswith("Response")
            and _kw(node, "status_code") is not None
        ):
            return True
    return False


def _returns_value(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(
        isinstance(n, ast.Return)
        and n.value is not None
        and not (isinstance(n.value, ast.Constant) and n.value.value is None)
        for n in own_nodes(fn, ast.Return)
    )


def dotted_name(expr: ast.expr) -> str | None:
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Attribute):
        base = dotted_name(expr.value)
        return f"{base}.{expr.attr}" if base else None
    return None


class OpenApiDocs(Rule):
    id = "API004"
    name = "route-without-openapi-docs"
    category = "api.openapi-docs"
    what = """
        A route with neither `summary=` / `description=` in its decorator nor a docstring
        on its handler (FastAPI uses the docstring as the operation description).
    """
    why = """
        The OpenAPI document is the contract other teams read; an operation without a
        summary or description shows only its generated name.
    """
    fix = "Add `summary=` to the decorator or a docstring to the handler."
    bad: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/ping", response_model=dict)  # expect
        async def ping() -> dict[str, str]:
            return {"status": "ok"}
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        from fastapi import APIRouter

        router = APIRouter()

        @router.get("/ping", summary="Liveness probe")
        async def ping() -> dict[str, str]:
            return {"status": "ok"}

        @router.get("/pong")
        async def pong() -> dict[str, str]:
            \"\"\"Answers pong.\"\"\"
            return {"status": "ok"}
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        done: set[tuple[str, int]] = set()
        for route in _unique_routes(ctx):
            if (route.file, route.line) in done:
                continue
            done.add((route.file, route.line))
            dec = route.decorator
            if dec is not None and any(
                k.arg in {"summary", "description", "include_in_schema"} for k in dec.keywords
            ):
                continue
            if ast.get_docstring(route.function.node):
                continue
            yield self.finding(
                ctx,
                route.file,
                route.line,
                f"{route.method} {route.path} has no summary, description or docstring",
            )
