"""TST001: a missing kind of test; only integration/e2e missing is a smaller (MEDIUM) gap."""

from __future__ import annotations

from fastapi_review.models import Severity
from fastapi_review.rules.examples import run_example
from fastapi_review.rules.tests_rules import MissingTestKind

CONSUMER = """
from aiokafka import AIOKafkaConsumer


async def handle(raw: bytes) -> None:
    print(raw)


async def run() -> None:
    consumer = AIOKafkaConsumer("orders", group_id="g")
    async for msg in consumer:
        await handle(msg.value)
"""


def test_missing_consumer_tests_is_high() -> None:
    findings = run_example(
        MissingTestKind,
        {
            "app/consumer.py": CONSUMER,
            "tests/test_other.py": "def test_sum() -> None:\n    assert 1 + 1 == 2\n",
        },
    )
    consumer = [f for f in findings if "consumer" in f.message]
    assert consumer and consumer[0].severity == Severity.HIGH
    assert (consumer[0].path, consumer[0].line) == (
        "app/consumer.py",
        9,
    )  # the example text is stripped of its first newline


def test_only_integration_missing_is_medium() -> None:
    findings = run_example(
        MissingTestKind,
        {
            "app/consumer.py": CONSUMER,
            "tests/test_consumer.py": (
                "from app.consumer import handle\n\n\n"
                "async def test_handle() -> None:\n    await handle(b'x')\n    assert True\n"
            ),
        },
    )
    assert [(f.severity, f.message.split(",")[0]) for f in findings] == [
        (Severity.MEDIUM, "No integration or end-to-end tests")
    ]
    assert "every other kind of test it needs is present" in findings[0].message


KAFKA_PATHS = """
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

MAX_RETRIES = 3


async def run(producer: AIOKafkaProducer) -> None:
    consumer = AIOKafkaConsumer("orders", group_id="g")
    async for msg in consumer:
        for attempt in range(MAX_RETRIES):  # dlq after the retries
            try:
                await handle(msg.value)
                break
            except ValueError:
                continue
        else:
            await producer.send_and_wait("orders.DLQ", msg.value)


async def handle(raw: bytes) -> None:
    print(raw)
"""


def test_untested_dead_letter_and_retry_paths_are_found_whatever_their_case() -> None:
    """TST004: the Kafka code's retry path and dead-letter send, spelled in upper case, are
    reported at their first lines of code (the comment naming the dlq does not count) when
    no test mentions them, and not once a test does."""
    from fastapi_review.rules.tests_rules import UntestedErrorPath

    files = {
        "app/consumer.py": KAFKA_PATHS,
        "tests/test_other.py": "def test_sum() -> None:\n    assert 1 + 1 == 2\n",
    }
    found = {
        f.message: f.line
        for f in run_example(UntestedErrorPath, files)
        if "path is never exercised" in f.message
    }
    assert found == {
        "the retry path is never exercised by a test": 3,  # MAX_RETRIES = 3
        "the dead-letter path is never exercised by a test": 16,  # "orders.DLQ"
    }
    files["tests/test_consumer.py"] = "def test_retry_then_dlq() -> None:\n    assert True\n"
    assert not [
        f for f in run_example(UntestedErrorPath, files) if "path is never exercised" in f.message
    ]
