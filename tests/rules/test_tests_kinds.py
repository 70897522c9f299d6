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
