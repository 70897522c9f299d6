"""Exception handlers: domain errors to 4xx, everything else to 500."""

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from subscription_service.core.errors import (
    BusinessRuleError,
    ConflictError,
    DomainError,
    NotFoundError,
    UnauthorizedError,
)
from subscription_service.schemas.common import ErrorResponse, FieldError

logger = structlog.get_logger(__name__)

_STATUS_BY_ERROR: dict[type[DomainError], int] = {
    NotFoundError: 404,
    ConflictError: 409,
    BusinessRuleError: 422,
    UnauthorizedError: 401,
}


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Map a DomainError to its status code and stable error code."""
    if not isinstance(exc, DomainError):  # pragma: no cover - registered for DomainError only
        raise exc
    status = next((code for cls, code in _STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    body = ErrorResponse(detail=exc.message, code=exc.code)
    return JSONResponse(status_code=status, content=body.model_dump(exclude_none=True))


async def validation_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Report invalid input in the common error format."""
    if not isinstance(exc, RequestValidationError):  # pragma: no cover - registered for it only
        raise exc
    errors = [
        FieldError(field=".".join(str(part) for part in err["loc"]), message=err["msg"])
        for err in exc.errors()
    ]
    body = ErrorResponse(detail="Request validation failed", code="validation_error", errors=errors)
    return JSONResponse(status_code=422, content=body.model_dump())


async def unhandled_error_handler(request: Request, exc: Exception) -> JSONResponse:
    """Log an unexpected error and answer 500."""
    logger.exception("unhandled error", method=request.method, path=request.url.path)
    body = ErrorResponse(detail=f"Internal server error: {exc}", code="internal_error")
    return JSONResponse(status_code=500, content=body.model_dump(exclude_none=True))


def register_exception_handlers(app: FastAPI) -> None:
    """Install the handlers on the application."""
    app.add_exception_handler(DomainError, domain_error_handler)
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(Exception, unhandled_error_handler)
