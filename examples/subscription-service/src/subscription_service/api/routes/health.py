"""Liveness and readiness probes."""

from typing import Annotated, Literal

import structlog
from fastapi import APIRouter, Depends, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from subscription_service.api.dependencies import get_engine, get_payment_consumer
from subscription_service.core.database import ping
from subscription_service.kafka.consumer import PaymentConsumer

router = APIRouter(prefix="/health", tags=["health"])
logger = structlog.get_logger(__name__)


class Liveness(BaseModel):
    """The process is up."""

    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    """Whether the service can take traffic, with the result of every check."""

    status: Literal["ok", "unavailable"]
    checks: dict[str, str]
    consumer_lag: int | None = None


@router.get("/live", response_model=Liveness, summary="Liveness probe")
async def live() -> Liveness:
    """Always ok while the process serves requests."""
    return Liveness()


@router.get(
    "/ready",
    response_model=Readiness,
    summary="Readiness probe",
    responses={503: {"model": Readiness, "description": "A dependency is unavailable"}},
)
async def ready(
    response: Response,
    engine: Annotated[AsyncEngine, Depends(get_engine)],
    consumer: Annotated[PaymentConsumer | None, Depends(get_payment_consumer)],
) -> Readiness:
    """Check PostgreSQL and the Kafka consumer; report the consumer lag."""
    checks = {"database": "ok", "kafka_consumer": "ok"}
    try:
        await ping(engine)
    except Exception as exc:
        logger.warning("readiness: database unavailable", error=type(exc).__name__)
        checks["database"] = "unavailable"
    lag = None
    if consumer is None or not consumer.running:
        checks["kafka_consumer"] = "unavailable"
    else:
        lag = await consumer.lag()
    healthy = all(value == "ok" for value in checks.values())
    if not healthy:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return Readiness(status="ok" if healthy else "unavailable", checks=checks, consumer_lag=lag)
