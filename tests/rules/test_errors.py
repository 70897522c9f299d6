"""Error-handling rules on hand-written fixtures."""

from __future__ import annotations

from fastapi_review.rules.base import Rule
from fastapi_review.rules.errors import (
    ErrorNotLogged,
    LeaksInternals,
    NoExceptionHandlers,
    SwallowedException,
)
from fastapi_review.rules.examples import example_files, run_example


def at(files: dict[str, str], path: str, needle: str) -> int:
    text = example_files(files)[path]
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def hits(rule: type[Rule], files: dict[str, str]) -> list[tuple[str | None, int | None]]:
    return sorted((f.path, f.line) for f in run_example(rule, files))


HANDLERS = """
import logging
import traceback

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from app.errors import OrderNotFound

logger = logging.getLogger(__name__)
app = FastAPI()


async def on_db_error(request: Request, exc: SQLAlchemyError) -> JSONResponse:
    logger.error("db failed", exc_info=exc)
    return JSONResponse(status_code=503, content={"detail": "Database error: " + str(exc)})


async def on_domain_error(request: Request, exc: OrderNotFound) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


@app.get("/orders/{order_id}")
async def get_order(order_id: int) -> dict[str, str]:
    try:
        return {"id": str(order_id)}
    except OrderNotFound as e:
        raise HTTPException(status_code=404, detail=str(e)) from e
    except Exception:
        return {"trace": traceback.format_exc()}


app.add_exception_handler(SQLAlchemyError, on_db_error)
"""
ERRORS = """
class OrderNotFound(Exception):
    pass
"""


def test_leaks_only_infrastructure_and_broad_errors() -> None:
    files = {"app/main.py": HANDLERS, "app/errors.py": ERRORS}
    assert hits(LeaksInternals, files) == [
        ("app/main.py", at(files, "app/main.py", '"Database error: " + str(exc)')),
        ("app/main.py", at(files, "app/main.py", "traceback.format_exc()")),
    ]


DOMAIN_HANDLERS = """
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from app.errors import OrderNotFound, PublishFailed


async def on_missing(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=404, content={"detail": str(exc)})


async def on_publish(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=503, content={"detail": f"broker: {exc.__cause__!r}"})


async def on_anything(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse(status_code=500, content={"detail": str(exc)})


def install(app: FastAPI) -> None:
    app.add_exception_handler(OrderNotFound, on_missing)
    app.add_exception_handler(PublishFailed, on_publish)
    app.add_exception_handler(Exception, on_anything)
"""


def test_handler_registered_for_domain_errors_may_return_their_text() -> None:
    errors = ERRORS + "\n\nclass PublishFailed(Exception):\n    pass\n"
    files = {"app/handlers.py": DOMAIN_HANDLERS, "app/errors.py": errors}
    assert hits(LeaksInternals, files) == [
        ("app/handlers.py", at(files, "app/handlers.py", "exc.__cause__")),
        ("app/handlers.py", at(files, "app/handlers.py", "status_code=500")),
    ]


def test_handlers_and_custom_exceptions_present() -> None:
    files = {"app/main.py": HANDLERS, "app/errors.py": ERRORS}
    assert hits(NoExceptionHandlers, files) == []


def test_no_handlers_reported_once_at_the_app() -> None:
    files = {"app/main.py": HANDLERS.replace("app.add_exception_handler", "print")}
    files["app/errors.py"] = ERRORS
    found = run_example(NoExceptionHandlers, files)
    assert [(f.path, f.line) for f in found] == [
        ("app/main.py", at(files, "app/main.py", "= FastAPI()"))
    ]
    assert "registers no exception handlers" in found[0].message


SWALLOW = """
import logging

logger = logging.getLogger(__name__)


async def consume(messages: list[bytes], handle) -> None:
    for message in messages:
        try:
            await handle(message)
        except Exception:
            continue


def parse(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def close(client) -> None:
    try:
        client.close()
    except BaseException:
        logger.warning("close failed")


async def fetch(client) -> dict[str, str]:
    try:
        return await client.get()
    except Exception:
        return {"status": "unknown"}


async def fetch_chained(client) -> dict[str, str]:
    try:
        return await client.get()
    except Exception as exc:
        raise RuntimeError("fetch failed") from exc


async def health_check(client) -> bool:
    try:
        await client.ping()
    except Exception:
        return False
    return True
"""


def test_swallowed_broad_except_only() -> None:
    files = {"app/worker.py": SWALLOW}
    assert hits(SwallowedException, files) == [
        ("app/worker.py", at(files, "app/worker.py", "except Exception:")),
    ]


def test_not_logged_conversions() -> None:
    files = {"app/worker.py": SWALLOW}
    lines = example_files(files)["app/worker.py"].splitlines()
    fetch_except = next(
        i
        for i, line in enumerate(lines, 1)
        if i > at(files, "app/worker.py", "async def fetch(") and "except Exception" in line
    )
    assert hits(ErrorNotLogged, files) == [("app/worker.py", fetch_except)]
