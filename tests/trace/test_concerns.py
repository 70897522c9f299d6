"""Prose concerns decide from the code's structure, and stay unverified otherwise."""

from __future__ import annotations

from pathlib import Path

from fastapi_review.models import CoverageMetrics, Finding, GateResult, Severity
from fastapi_review.trace import TraceResult
from tests.trace.helpers import trace as _trace


def _by_text(result: TraceResult, start: str) -> tuple[str, list[str]]:
    t = next(t for t in result.traced if t.requirement.text.startswith(start))
    return t.status, t.evidence


def _located(evidence: list[str]) -> bool:
    return bool(evidence) and all(":" in e for e in evidence)


# --- logging ---------------------------------------------------------------------------------
LOG_DESIGN = """
# Service

## Non-functional

- Structured JSON logs (structlog), no print.
"""

LOG_JSON = """
import structlog


def configure() -> None:
    structlog.configure(processors=[structlog.processors.JSONRenderer()])
"""

LOG_PLAIN = """
import structlog

# structlog JSONRenderer is planned
logger = structlog.get_logger()
"""


def test_structured_logging_needs_a_configured_json_renderer(tmp_path: Path) -> None:
    status, evidence = _by_text(
        _trace(tmp_path / "a", LOG_DESIGN, {"app/log.py": LOG_JSON}), "Structured"
    )
    assert status == "implemented"
    assert evidence == ["app/log.py:5"]
    # the word in a comment and a logger without a renderer prove nothing
    status, _ = _by_text(_trace(tmp_path / "b", LOG_DESIGN, {"app/log.py": LOG_PLAIN}), "Struct")
    assert status == "unverified"
    printing = LOG_JSON + "\n\ndef run() -> None:\n    print('x')\n"
    result = _trace(tmp_path / "c", LOG_DESIGN, {"app/log.py": printing})
    assert _by_text(result, "Structured")[0] == "partial"
    assert ("req.partial", "app/log.py", 9) in {
        (f.category, f.path, f.line) for f in result.findings
    }


# --- producer and headers ------------------------------------------------------------------
KAFKA_DESIGN = """
# Service

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `orders.created` | produced | `order_id` |

- Producer: acks=all, idempotence enabled.
- Every message published carries the headers correlation_id and event_type.
"""

PRODUCER = """
from aiokafka import AIOKafkaProducer

TOPIC = "orders.created"


def make() -> AIOKafkaProducer:
    return AIOKafkaProducer(acks="all", enable_idempotence=True)


class Publisher:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, key: bytes, value: bytes) -> None:
        headers = [("event_type", b"order_created")]
        await self._send(key, value, headers)

    async def _send(self, key: bytes, value: bytes, headers: list[tuple[str, bytes]]) -> None:
        all_headers = list(headers)
        all_headers.append(("correlation_id", b"abc"))
        await self._producer.send_and_wait(TOPIC, value, key=key, headers=all_headers)
"""


def test_producer_options_and_headers_through_the_call_chain(tmp_path: Path) -> None:
    result = _trace(tmp_path, KAFKA_DESIGN, {"app/kafka.py": PRODUCER})
    status, evidence = _by_text(result, "Producer:")
    assert status == "implemented"
    assert "app/kafka.py:7" in evidence
    status, evidence = _by_text(result, "Every message")
    assert status == "implemented"
    assert set(evidence) == {"app/kafka.py:15", "app/kafka.py:20"}


def test_hidden_or_missing_producer_options_and_headers(tmp_path: Path) -> None:
    hidden = PRODUCER.replace(
        'acks="all", enable_idempotence=True', "**settings.kafka_options"
    ).replace('("correlation_id", b"abc")', '("trace", b"abc")')
    result = _trace(tmp_path / "a", KAFKA_DESIGN, {"app/kafka.py": hidden})
    assert _by_text(result, "Producer:")[0] == "unverified"
    assert _by_text(result, "Every message")[0] == "unverified"
    bare = PRODUCER.replace('acks="all", enable_idempotence=True', "").replace(
        ", headers=all_headers", ""
    )
    result = _trace(tmp_path / "b", KAFKA_DESIGN, {"app/kafka.py": bare})
    assert _by_text(result, "Producer:")[0] == "partial"  # aiokafka defaults: acks=1
    assert _by_text(result, "Every message")[0] == "partial"  # no headers at all


# --- correlation, settings, stack ---------------------------------------------------------------
OPS_DESIGN = """
# Service

## Operations

- X-Request-ID is taken from the request or generated, returned on the response and bound to every log line.
- Configuration from environment variables with the prefix SHOP_ (pydantic-settings).
- Python 3.11+, FastAPI, Pydantic v2, structlog.
"""

MIDDLEWARE = """
import uuid

import structlog
from fastapi import FastAPI, Request, Response

HEADER = "X-Request-ID"
app = FastAPI()


@app.middleware("http")
async def request_id(request: Request, call_next) -> Response:
    rid = request.headers.get(HEADER) or uuid.uuid4().hex
    structlog.contextvars.bind_contextvars(request_id=rid)
    response = await call_next(request)
    response.headers[HEADER] = rid
    return response
"""

SETTINGS = """
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="STORE_")
"""

PYPROJECT = """
[project]
name = "shop"
requires-python = ">=3.11"
dependencies = [
    "fastapi>=0.110",
    "pydantic>=2",
    # "structlog" is not used yet
]
"""


def test_correlation_settings_prefix_and_stack(tmp_path: Path) -> None:
    files = {"app/main.py": MIDDLEWARE, "app/settings.py": SETTINGS, "pyproject.toml": PYPROJECT}
    result = _trace(tmp_path, OPS_DESIGN, files)
    status, evidence = _by_text(result, "X-Request-ID")
    assert status == "implemented"
    assert {"app/main.py:12", "app/main.py:13", "app/main.py:15"} <= set(evidence)
    assert _by_text(result, "Configuration")[0] == "deviation"  # STORE_ against SHOP_
    status, evidence = _by_text(result, "Python")
    assert status == "partial"  # structlog only appears in a comment
    assert evidence and evidence[0].startswith("pyproject.toml:")


def test_a_header_name_in_a_string_is_not_a_middleware(tmp_path: Path) -> None:
    code = 'HEADER = "X-Request-ID"  # planned\n'
    result = _trace(tmp_path, OPS_DESIGN, {"app/main.py": code})
    assert _by_text(result, "X-Request-ID")[0] == "unverified"


# --- outbox and publish failures ------------------------------------------------------------------
OUTBOX_DESIGN = """
# Service

## Events

- Events are written to an outbox table in the same transaction and published by a relay.
- A failed publish answers 503 and the change is rolled back.
"""

DIRECT = """
from aiokafka import AIOKafkaProducer
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# outbox: later


class Base(DeclarativeBase):
    pass


class Order(Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)


class PublishError(Exception):
    status_code = 503


async def publish(producer: AIOKafkaProducer, value: bytes) -> None:
    try:
        await producer.send_and_wait("orders.created", value)
    except Exception as exc:
        raise PublishError() from exc


async def create(session, producer: AIOKafkaProducer) -> None:
    session.add(Order())
    await publish(producer, b"{}")
    await session.commit()
"""


def test_outbox_and_publish_failure(tmp_path: Path) -> None:
    result = _trace(tmp_path, OUTBOX_DESIGN, {"app/orders.py": DIRECT})
    status, evidence = _by_text(result, "Events are written")
    assert status == "missing"  # published directly: a comment does not make an outbox
    status, evidence = _by_text(result, "A failed publish")
    assert status == "implemented"
    assert set(evidence) == {"app/orders.py:17", "app/orders.py:24", "app/orders.py:29"}


def test_503_of_a_readiness_probe_is_not_a_publish_failure(tmp_path: Path) -> None:
    code = """
        from aiokafka import AIOKafkaProducer
        from fastapi import FastAPI, Response

        app = FastAPI()


        @app.get("/health/ready")
        async def ready(response: Response) -> dict[str, str]:
            response.status_code = 503
            return {}


        async def publish(producer: AIOKafkaProducer) -> None:
            await producer.send_and_wait("orders.created", b"{}")
    """
    result = _trace(tmp_path, OUTBOX_DESIGN, {"app/main.py": code})
    assert _by_text(result, "A failed publish")[0] == "unverified"


# --- measured: coverage per layer, gates -----------------------------------------------------------
MEASURED_DESIGN = """
# Service

## Quality

- Test coverage of at least 85 % overall and 95 % for the service layer.
- mypy --strict passes and ruff reports no lint errors.
"""


def test_coverage_layers_and_gates(tmp_path: Path) -> None:
    files = {"app/x.py": "X = 1\n"}
    met = CoverageMetrics(measured=True, overall=90.0, layers={"service": 96.0})
    passed = {
        "mypy": GateResult(name="mypy", measured=True, passed=True),
        "ruff": GateResult(name="ruff", measured=True, passed=True),
    }
    result = _trace(tmp_path / "a", MEASURED_DESIGN, files, coverage=met, gates=passed)
    status, evidence = _by_text(result, "Test coverage")
    assert status == "implemented"
    assert evidence and all(e.startswith("measured:") for e in evidence)
    assert _by_text(result, "mypy")[0] == "implemented"

    low_layer = CoverageMetrics(measured=True, overall=90.0, layers={"service": 80.0})
    failed = dict(passed, ruff=GateResult(name="ruff", measured=True, passed=False, count=4))
    result = _trace(tmp_path / "b", MEASURED_DESIGN, files, coverage=low_layer, gates=failed)
    assert _by_text(result, "Test coverage")[0] == "partial"
    assert _by_text(result, "mypy")[0] == "partial"

    no_layer = CoverageMetrics(measured=True, overall=90.0)
    result = _trace(tmp_path / "c", MEASURED_DESIGN, files, coverage=no_layer)
    assert _by_text(result, "Test coverage")[0] == "unverified"
    assert _by_text(result, "mypy")[0] == "unverified"  # the gate did not run


# --- the wrong project ----------------------------------------------------------------------------
CONSUMER_DESIGN = """
# Service

## Events

| Topic | Direction | Payload |
|-------|-----------|---------|
| `payments.completed` | consumed | `order_id` |

- Auto-commit is off; offsets are committed after the message has been processed.
- Failures are retried three times with backoff, then dead-lettered.
"""

OTHER_CONSUMER = """
import asyncio

from aiokafka import AIOKafkaConsumer


async def handle(value: bytes) -> None:
    for _ in range(3):
        try:
            return
        except Exception:
            await asyncio.sleep(1)


async def run() -> None:
    consumer = AIOKafkaConsumer("users.registered", enable_auto_commit=False)
    async for msg in consumer:
        await handle(msg.value)
        await consumer.commit()
"""


def test_statements_about_absent_topics_stay_unverified(tmp_path: Path) -> None:
    result = _trace(tmp_path, CONSUMER_DESIGN, {"app/consumer.py": OTHER_CONSUMER})
    assert _by_text(result, "Auto-commit")[0] == "unverified"
    assert _by_text(result, "Failures are retried")[0] == "unverified"
    right = OTHER_CONSUMER.replace("users.registered", "payments.completed")
    result = _trace(tmp_path / "b", CONSUMER_DESIGN, {"app/consumer.py": right})
    status, evidence = _by_text(result, "Auto-commit")
    assert status == "implemented" and _located(evidence)


# --- domain rules ---------------------------------------------------------------------------------
RULE_DESIGN = """
# Service

## Rules

- An order has at most one reservation; reserving again for the same order is a conflict (409).
- Reopening (resolved -> open) clears the resolution note and resolved_at.
- New orders are PENDING.
"""

RULE_CODE = """
class ReservationExistsError(Exception):
    status_code = 409


class Unrelated(Exception):
    status_code = 500


async def reserve(repo, order_id: int) -> None:
    if await repo.get_reservation_by_order(order_id) is not None:
        raise ReservationExistsError()


async def reopen(ticket, status: str) -> None:
    if ticket.status == "resolved" and status == "open":
        ticket.resolution = None
        ticket.resolved_at = None


async def flush(pending: int) -> None:
    if pending:
        raise Unrelated()
"""


def test_domain_rules_need_a_guard_on_their_own_terms(tmp_path: Path) -> None:
    result = _trace(tmp_path, RULE_DESIGN, {"app/service.py": RULE_CODE})
    assert _by_text(result, "An order has") == ("implemented", ["app/service.py:10"])
    assert _by_text(result, "Reopening") == ("implemented", ["app/service.py:15"])
    # `if pending: raise` shares a word with PENDING, not the rule
    assert _by_text(result, "New orders")[0] == "unverified"


# --- findings derived from another rule's finding ----------------------------------------------------
LOOP_DESIGN = """
# Service

## Events

- Delivery reports are awaited off the event loop; a request handler never blocks the loop.
"""

LOOP_CODE = """
from confluent_kafka import Producer


def deliver(producer: Producer) -> None:
    producer.produce("orders.created", b"{}")
    producer.flush(5)


async def change(producer: Producer) -> None:
    deliver(producer)
"""


def test_blocking_publish_reported_at_the_async_caller_without_outranking(tmp_path: Path) -> None:
    blocking = Finding(
        rule="ASY002",
        category="async.blocking-io",
        severity=Severity.BLOCKER,
        path="app/events.py",
        line=6,
        message="confluent_kafka.Producer.flush() runs on the event loop",
        chain=["app/events.py:10 change", "app/events.py:6 deliver -> Producer.flush"],
    )
    result = _trace(tmp_path, LOOP_DESIGN, {"app/events.py": LOOP_CODE}, findings=[blocking])
    req = [f for f in result.findings if f.category.startswith("req.")]
    assert [(f.path, f.line) for f in req] == [("app/events.py", 10)]

    leak = Finding(
        rule="ERR002",
        category="errors.leaks-internals",
        severity=Severity.HIGH,
        path="app/errors.py",
        line=8,
        message="the handler returns the exception text",
    )
    design = "# S\n\n## Errors\n\n- Responses never contain stack traces or exception text.\n"
    code = """
        from fastapi import FastAPI, Request
        from fastapi.responses import JSONResponse

        app = FastAPI()

        @app.exception_handler(Exception)
        async def crash(request: Request, exc: Exception) -> JSONResponse:
            return JSONResponse(status_code=500, content={"detail": str(exc)})
    """
    result = _trace(tmp_path / "b", design, {"app/errors.py": code}, findings=[leak])
    at_leak = [f for f in result.findings if (f.path, f.line) == ("app/errors.py", 8)]
    assert at_leak and all(f.severity.rank <= Severity.HIGH.rank for f in at_leak)
