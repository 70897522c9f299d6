"""Application factory and lifespan.

Run with `uvicorn --factory subscription_service.main:create_app`.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI

from subscription_service.api.errors import register_exception_handlers
from subscription_service.api.middleware import CorrelationIdMiddleware
from subscription_service.api.routes import health, plans, subscriptions
from subscription_service.core.config import Settings, get_settings
from subscription_service.core.database import build_engine, build_sessionmaker
from subscription_service.core.logging import configure_logging
from subscription_service.kafka.consumer import PaymentConsumer, build_kafka_consumer
from subscription_service.kafka.outbox_relay import OutboxRelay
from subscription_service.kafka.producer import EventProducer, build_kafka_producer
from subscription_service.services.billing import PaymentEventHandler

logger = structlog.get_logger(__name__)

SHUTDOWN_TIMEOUT_S = 10.0


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        logger.error("background task crashed", task=task.get_name(), exc_info=task.exception())


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database and Kafka clients, run the background workers, stop them on exit."""
    settings: Settings = app.state.settings
    engine = build_engine(settings)
    sessionmaker = build_sessionmaker(engine)
    producer = EventProducer(build_kafka_producer(settings), settings)
    await producer.start()
    relay = OutboxRelay(
        sessionmaker,
        producer,
        batch_size=settings.outbox_batch_size,
        poll_interval_s=settings.outbox_poll_interval_s,
    )
    consumer = PaymentConsumer(
        build_kafka_consumer(settings), PaymentEventHandler(sessionmaker), producer, settings
    )
    app.state.engine = engine
    app.state.sessionmaker = sessionmaker
    app.state.payment_consumer = consumer
    tasks = [
        asyncio.create_task(relay.run(), name="outbox-relay"),
        asyncio.create_task(consumer.run(), name="payments-consumer"),
    ]
    for task in tasks:
        task.add_done_callback(_report_crash)
    logger.info("started", environment=settings.environment)
    try:
        yield
    finally:
        relay.stop()
        consumer.stop()
        _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_TIMEOUT_S)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        await producer.stop()
        await engine.dispose()
        logger.info("stopped")


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the FastAPI application."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(
        title="Subscription Service",
        version="1.1.0",
        description="Billing plans and customer subscriptions.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(CorrelationIdMiddleware)
    register_exception_handlers(app)
    app.include_router(plans.router, prefix="/api/v1")
    app.include_router(subscriptions.router, prefix="/api/v1")
    app.include_router(health.router)
    return app
