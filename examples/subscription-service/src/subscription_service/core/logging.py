"""Structured JSON logging with a per-request correlation id."""

import logging
import uuid
from contextvars import ContextVar

import structlog

CORRELATION_HEADER = "X-Correlation-ID"

_correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)


def get_correlation_id() -> str:
    """Return the current correlation id, creating one when none is bound."""
    current = _correlation_id.get()
    if current is None:
        current = str(uuid.uuid4())
        _correlation_id.set(current)
    return current


def bind_correlation_id(value: str | None) -> str:
    """Bind `value` (or a fresh id) as the correlation id of the current context."""
    correlation_id = value or str(uuid.uuid4())
    _correlation_id.set(correlation_id)
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)
    return correlation_id


def clear_correlation_id() -> None:
    """Forget the correlation id of the current context."""
    _correlation_id.set(None)
    structlog.contextvars.unbind_contextvars("correlation_id")


def configure_logging(level: str) -> None:
    """Configure structlog to render one JSON object per log line."""
    logging.basicConfig(format="%(message)s", level=level.upper())
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        cache_logger_on_first_use=True,
    )
