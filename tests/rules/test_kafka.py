"""Kafka rules on hand-written projects: the exact findings, with their lines.

Each fixture project under tests/fixtures/kafka marks every expected finding with a
trailing `# expect: KAF00x ...` comment; a project without marks must stay silent.
"""

from __future__ import annotations

import ast
import re
import shutil
from pathlib import Path

import pytest

from fastapi_review.index.nodes import flatten
from fastapi_review.index.project import build_index
from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Context
from fastapi_review.rules.engine import run_rules
from fastapi_review.rules.kafka_flow import _names_of, consume_loops, processing_steps

FIXTURES = Path(__file__).parent.parent / "fixtures" / "kafka"
KAFKA_RULES = [f"KAF00{i}" for i in range(1, 9)]
MARK = re.compile(r"#\s*expect:\s*((?:KAF\d{3}\s*)+)$")

Key = tuple[str, str, int]


def expected(root: Path) -> set[Key]:
    out: set[Key] = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        for no, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
            m = MARK.search(line)
            if m:
                out |= {(rule, rel, no) for rule in m.group(1).split()}
    return out


def findings(root: Path, only: list[str] | None = None) -> list[Finding]:
    run = run_rules(Context(index=build_index(root)), only=only or KAFKA_RULES)
    assert not run.errors, run.errors
    return run.findings


def keys(found: list[Finding]) -> set[Key]:
    return {(f.rule, f.path or "", f.line or 0) for f in found}


def project(tmp_path: Path, name: str) -> Path:
    dest = tmp_path / name
    shutil.copytree(FIXTURES / name, dest)
    return dest


@pytest.mark.parametrize(
    "name", ["aiokafka_bad", "aiokafka_good", "kafka_python_bad", "confluent_bad"]
)
def test_fixture_findings_are_exact(tmp_path: Path, name: str) -> None:
    root = project(tmp_path, name)
    assert keys(findings(root)) == expected(root)


def test_reference_service_is_silent(tmp_path: Path) -> None:
    root = project(tmp_path, "aiokafka_good")
    assert findings(root) == []


def test_findings_carry_category_severity_evidence_and_fix(tmp_path: Path) -> None:
    root = project(tmp_path, "aiokafka_bad")
    by_rule = {f.rule: f for f in findings(root)}
    assert by_rule["KAF002"].category == "kafka.consumer-shutdown"
    assert by_rule["KAF002"].severity is Severity.CRITICAL
    assert by_rule["KAF004"].severity is Severity.CRITICAL
    assert by_rule["KAF004"].evidence == "except KeyError:  # expect: KAF004"
    assert by_rule["KAF003"].severity is Severity.HIGH
    assert by_rule["KAF007"].severity is Severity.MEDIUM
    assert by_rule["KAF008"].severity is Severity.LOW
    assert by_rule["KAF005"].evidence.startswith("await repo.create(")
    for f in by_rule.values():
        assert f.message and f.fix and f.path and f.line


def test_consume_loops_of_the_three_libraries(tmp_path: Path) -> None:
    shapes = {}
    for name in ("aiokafka_bad", "kafka_python_bad", "confluent_bad"):
        ix = build_index(project(tmp_path, name))
        loops = consume_loops(ix)
        assert len(loops) == 1, name
        shapes[name] = (type(loops[0].node).__name__, sorted(loops[0].messages))
    assert shapes == {
        "aiokafka_bad": ("AsyncFor", ["msg"]),
        "kafka_python_bad": ("For", ["msg"]),
        "confluent_bad": ("While", ["msg"]),
    }


def test_processing_path_follows_methods_through_wrappers(tmp_path: Path) -> None:
    ix = build_index(project(tmp_path, "aiokafka_good"))
    (loop,) = consume_loops(ix)
    names = [s.fn.qualname for s in processing_steps(ix, loop)]
    assert names[:2] == ["WelcomeConsumer._run", "WelcomeConsumer._process"]
    assert "WelcomeService.welcome" in names
    # the dead-letter path is a failure path, not processing
    assert "EventPublisher.dead_letter" not in names


def write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def test_unique_event_id_column_counts_as_deduplication(tmp_path: Path) -> None:
    handler = (
        "from aiokafka import AIOKafkaConsumer\n"
        "from app.models import Notification\n"
        "\n"
        "\n"
        "async def on_event(session, event) -> None:\n"
        "    session.add(Notification(source_event_id=event.event_id))\n"
        "\n"
        "\n"
        "async def run(consumer: AIOKafkaConsumer, session) -> None:\n"
        "    try:\n"
        "        async for msg in consumer:\n"
        "            await on_event(session, msg)\n"
        "    finally:\n"
        "        await consumer.stop()\n"
    )
    model = (
        "from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column\n"
        "\n"
        "\n"
        "class Base(DeclarativeBase):\n"
        "    pass\n"
        "\n"
        "\n"
        "class Notification(Base):\n"
        '    __tablename__ = "notifications"\n'
        "    id: Mapped[int] = mapped_column(primary_key=True)\n"
        "    source_event_id: Mapped[str] = mapped_column({unique})\n"
    )
    plain = write(
        tmp_path / "plain",
        {"app/handler.py": handler, "app/models.py": model.format(unique="")},
    )
    assert keys(findings(plain, ["KAF005"])) == {("KAF005", "app/handler.py", 5)}
    unique = write(
        tmp_path / "unique",
        {"app/handler.py": handler, "app/models.py": model.format(unique="unique=True")},
    )
    assert findings(unique, ["KAF005"]) == []


def test_settings_driven_and_kwargs_configs_stay_quiet(tmp_path: Path) -> None:
    root = write(
        tmp_path / "p",
        {
            "app/clients.py": (
                "from aiokafka import AIOKafkaConsumer, AIOKafkaProducer\n"
                "\n"
                "\n"
                "def build(settings, extra: dict):\n"
                "    producer = AIOKafkaProducer(acks=settings.kafka_acks)\n"
                "    consumer = AIOKafkaConsumer(\n"
                '        "t", group_id="g", enable_auto_commit=settings.auto_commit\n'
                "    )\n"
                "    other = AIOKafkaConsumer(**extra)\n"
                "    return producer, consumer, other\n"
            )
        },
    )
    assert findings(root, ["KAF001", "KAF003"]) == []


def test_odd_code_never_crashes(tmp_path: Path) -> None:
    root = write(
        tmp_path / "odd",
        {
            "app/odd.py": (
                "from aiokafka import AIOKafkaConsumer, AIOKafkaProducer\n"
                "import confluent_kafka\n"
                "\n"
                "p = AIOKafkaProducer(*[1], acks=0)\n"
                "c = confluent_kafka.Consumer(CONF)\n"
                "\n"
                "\n"
                "async def weird(consumer, *args, **kw):\n"
                "    async for (a, b) in consumer:\n"
                "        await (lambda: None)()\n"
                "        try:\n"
                "            pass\n"
                "        except:\n"
                "            pass\n"
                "    while True:\n"
                "        batch = await consumer.getmany()\n"
                "        for tp, msgs in batch.items():\n"
                "            for m in msgs:\n"
                "                await globals()[m](m)\n"
                "    await p.send()\n"
                "    [x async for x in consumer]\n"
            )
        },
    )
    run = run_rules(Context(index=build_index(root)), only=KAFKA_RULES)
    assert run.errors == []
    assert ("KAF001", "app/odd.py", 4) in keys(run.findings)  # acks=0


def test_deserializer_dicts_validated_by_a_model_stay_quiet(tmp_path: Path) -> None:
    source = (
        "import json\n"
        "\n"
        "from kafka import KafkaConsumer\n"
        "from pydantic import BaseModel\n"
        "\n"
        "\n"
        "class Order(BaseModel):\n"
        "    order_id: str\n"
        "\n"
        "\n"
        "def handle(payload: dict) -> None:\n"
        "    {use}\n"
        "\n"
        "\n"
        "def run() -> None:\n"
        '    consumer = KafkaConsumer("orders", value_deserializer=lambda v: json.loads(v))\n'
        "    try:\n"
        "        for msg in consumer:\n"
        "            handle(msg.value)\n"
        "    finally:\n"
        "        consumer.close()\n"
    )
    raw = write(tmp_path / "raw", {"app/w.py": source.format(use='print(payload["order_id"])')})
    assert keys(findings(raw, ["KAF006"])) == {("KAF006", "app/w.py", 16)}
    typed = write(tmp_path / "typed", {"app/w.py": source.format(use="print(Order(**payload))")})
    assert findings(typed, ["KAF006"]) == []


CONSUMER_WITH_PROTOCOL = """\
from typing import Protocol

from aiokafka import AIOKafkaConsumer
from pydantic import BaseModel


class Payment(BaseModel):
    event_id: str
    account_id: str
    version: int


class Handler(Protocol):
    async def apply(self, event: Payment) -> None: ...


async def run(consumer: AIOKafkaConsumer, handler: Handler) -> None:
    try:
        async for msg in consumer:
            await handler.apply(Payment.model_validate_json(msg.value))
            await consumer.commit()
    finally:
        await consumer.stop()
"""

HANDLER = """\
from app.dates import add_months


class Renewals:
    def __init__(self, sessions) -> None:
        self._sessions = sessions

    async def apply(self, event) -> None:
        async with self._sessions() as session:
            account = await session.get(object, event.account_id)
{guard}            end = account.paid_until
            account.paid_until = add_months(end, 1)
            await session.commit()
"""

DATES = """\
def add_months(value: int, months: int) -> int:
    return value + months
"""


def test_protocol_dispatch_and_read_modify_write_update(tmp_path: Path) -> None:
    # the consume loop calls a Protocol stub; the implementation renews relative to the
    # stored value and commits: a redelivery renews twice
    plain = write(
        tmp_path / "plain",
        {
            "app/consumer.py": CONSUMER_WITH_PROTOCOL,
            "app/renewals.py": HANDLER.format(guard=""),
            "app/dates.py": DATES,
        },
    )
    found = findings(plain, ["KAF005"])
    assert keys(found) == {("KAF005", "app/renewals.py", 8)}
    assert "relative to its old value (line 12)" in found[0].message
    # a version/sequence guard before applying is deduplication
    guarded = write(
        tmp_path / "guarded",
        {
            "app/consumer.py": CONSUMER_WITH_PROTOCOL,
            "app/renewals.py": HANDLER.format(
                guard="            if event.version <= account.version:\n                return\n"
            ),
            "app/dates.py": DATES,
        },
    )
    assert findings(guarded, ["KAF005"]) == []


def test_pure_project_helper_named_add_is_not_a_side_effect(tmp_path: Path) -> None:
    root = write(
        tmp_path / "p",
        {
            "app/consumer.py": CONSUMER_WITH_PROTOCOL,
            "app/renewals.py": (
                "from app.dates import add_months\n\n\n"
                "class Renewals:\n"
                "    async def apply(self, event) -> None:\n"
                "        print(add_months(event.version, 1))\n"
            ),
            "app/dates.py": DATES,
        },
    )
    assert findings(root, ["KAF005"]) == []


def test_except_in_a_loop_over_the_batch_drops_the_message(tmp_path: Path) -> None:
    # `for msg in batch` is not a retry loop: logging and moving on loses the message
    root = write(
        tmp_path / "p",
        {
            "app/consumer.py": (
                "import logging\n"
                "from aiokafka import AIOKafkaConsumer\n"
                "from pydantic import BaseModel\n\n"
                "log = logging.getLogger(__name__)\n\n\n"
                "class Scan(BaseModel):\n"
                "    event_id: str\n\n\n"
                "async def store(scan: Scan) -> None:\n"
                "    await scan_table_upsert(scan)\n\n\n"
                "async def scan_table_upsert(scan: Scan) -> None: ...\n\n\n"
                "async def run(consumer: AIOKafkaConsumer) -> None:\n"
                "    try:\n"
                "        while True:\n"
                "            batch = await consumer.getmany(timeout_ms=500)\n"
                "            for _tp, messages in batch.items():\n"
                "                for msg in messages:\n"
                "                    try:\n"
                "                        await store(Scan.model_validate_json(msg.value))\n"
                "                    except Exception:\n"
                '                        log.exception("scan failed")\n'
                "                    await consumer.commit()\n"
                "    finally:\n"
                "        await consumer.stop()\n"
            )
        },
    )
    assert keys(findings(root, ["KAF004"])) == {("KAF004", "app/consumer.py", 27)}


PUBLISHING_CONSUMER = """\
import logging

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import BaseModel

log = logging.getLogger(__name__)


class Paid(BaseModel):
    order_id: str
    member_id: str


class Publisher:
    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, topic: str, event: Paid) -> None:
        try:
            await self._producer.send_and_wait(topic, event.model_dump_json().encode())
        except Exception:
            log.warning("publish failed")


class Ledger:
    def __init__(self, session, publisher: Publisher) -> None:
        self.session = session
        self.publisher = publisher

    async def credit(self, event: Paid) -> None:
{guard}        account = await self.session.get(object, event.member_id)
        if account is None:
            return
        self.session.add(object())
        await self.session.commit()
        await self.publisher.publish("points.earned", event)


async def run(consumer: AIOKafkaConsumer, ledger: Ledger) -> None:
    try:
        async for msg in consumer:
            try:
                await ledger.credit(Paid.model_validate_json(msg.value))
            except Exception:
                raise
            await consumer.commit()
    finally:
        await consumer.stop()
"""


def test_producer_send_failure_on_the_processing_path_is_not_a_missing_dlq(
    tmp_path: Path,
) -> None:
    # the except around an outgoing send handles the event being published, not the
    # consumed message: that is producer reliability, not a dead-letter question
    root = write(tmp_path / "p", {"app/consumer.py": PUBLISHING_CONSUMER.format(guard="")})
    assert findings(root, ["KAF004"]) == []


def test_early_exit_on_a_keyed_lookup_is_deduplication(tmp_path: Path) -> None:
    # no guard: a "not found, skip" test on the account is not deduplication
    plain = write(tmp_path / "plain", {"app/consumer.py": PUBLISHING_CONSUMER.format(guard="")})
    assert keys(findings(plain, ["KAF005"])) == {("KAF005", "app/consumer.py", 30)}
    # "found, skip": whatever the lookup is called, an early return when a lookup keyed
    # by the message finds something is a deduplication check
    awaited = "        if await self.session.scalar(object, event.order_id):\n            return\n"
    bound = (
        "        done = await self.session.scalar(object, event.order_id)\n"
        "        if done is not None:\n"
        "            return\n"
    )
    for name, guard in (("awaited", awaited), ("bound", bound)):
        root = write(tmp_path / name, {"app/consumer.py": PUBLISHING_CONSUMER.format(guard=guard)})
        assert findings(root, ["KAF005"]) == [], name
    # a test on the message itself or a builtin is not a lookup
    own = "        if isinstance(event, Paid):\n            return\n"
    root = write(tmp_path / "own", {"app/consumer.py": PUBLISHING_CONSUMER.format(guard=own)})
    assert keys(findings(root, ["KAF005"])) == {("KAF005", "app/consumer.py", 30)}


PRODUCER_WITHOUT_HEADERS = """\
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError


async def publish(producer: AIOKafkaProducer, payload: bytes) -> None:
    try:
        await producer.send_and_wait("orders.created", payload)
    except KafkaError:
        raise
"""


@pytest.mark.parametrize(
    ("design", "severity"),
    [
        ("", Severity.MEDIUM),  # no design: the review standard alone
        (
            "# Design\n\nEvery log line of a request carries its request id.\n\n"
            "The service publishes `orders.created` to Kafka.\n",
            Severity.LOW,  # ids asked for in logs only
        ),
        (
            "# Design\n\n- The request id travels in a header of every Kafka message.\n",
            Severity.MEDIUM,
        ),
        ("# NFR\n\nCorrelation ids for message tracing.\n", Severity.MEDIUM),
    ],
)
def test_missing_correlation_id_is_a_recommendation_when_the_design_never_asks(
    tmp_path: Path, design: str, severity: Severity
) -> None:
    root = write(tmp_path / "p", {"app/events.py": PRODUCER_WITHOUT_HEADERS})
    run = run_rules(Context(index=build_index(root), design_text=design), only=["KAF007"])
    assert [(f.path, f.line, f.severity) for f in run.findings] == [("app/events.py", 7, severity)]


CANCEL_ONLY = """
import asyncio

from aiokafka import AIOKafkaConsumer


class Reader:
    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self._consumer = consumer
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def build(cls) -> "Reader":
        consumer = AIOKafkaConsumer("orders", group_id="svc", enable_auto_commit=False)
        return cls(consumer)

    async def start(self) -> None:
        await self._consumer.start()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        while True:
            batch = await self._consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    print(record.value)
                    await self._consumer.commit({tp: record.offset + 1})
"""
LIFESPAN = """
from contextlib import asynccontextmanager

from app.reader import Reader


@asynccontextmanager
async def lifespan(app):
    reader = Reader.build()
    await reader.start()
    yield
    await reader.stop()
"""


def test_stop_that_only_cancels_the_consume_task(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"app/reader.py": CANCEL_ONLY, "app/main.py": LIFESPAN})
    found = findings(root, ["KAF002"])
    line = CANCEL_ONLY.splitlines().index("            self._task.cancel()") + 1
    assert [(f.path, f.line) for f in found] == [("app/reader.py", line)]
    assert "only cancels the consume task" in found[0].message
    graceful = CANCEL_ONLY.replace(
        "        while True:\n",
        "        try:\n            await self._loop()\n        finally:\n"
        "            await self._consumer.stop()\n\n    async def _loop(self) -> None:\n"
        "        while True:\n",
    )
    root = write(tmp_path / "q", {"app/reader.py": graceful, "app/main.py": LIFESPAN})
    assert findings(root, ["KAF002"]) == []


PARTIAL_CONSUMER = """
import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from kafka import KafkaConsumer

from app.settings import Settings


async def build(settings: Settings, executor: ThreadPoolExecutor) -> KafkaConsumer:
    factory = functools.partial(
        KafkaConsumer,
        "payments",
        group_id="svc",
        **settings.security(),
    )
    return await asyncio.get_running_loop().run_in_executor(executor, factory)
"""
SECURITY = """
class Settings:
    protocol: str = "PLAINTEXT"

    def security(self) -> dict[str, str]:
        if self.protocol == "PLAINTEXT":
            return {}
        return {"security_protocol": self.protocol}
"""


def test_consumer_built_through_partial_keeps_auto_commit(tmp_path: Path) -> None:
    root = write(tmp_path / "p", {"app/consumer.py": PARTIAL_CONSUMER, "app/settings.py": SECURITY})
    found = findings(root, ["KAF003"])
    line = PARTIAL_CONSUMER.splitlines().index("        KafkaConsumer,") + 1
    assert [(f.path, f.line) for f in found] == [("app/consumer.py", line)]
    assert "auto-commit is left on" in found[0].message
    off = PARTIAL_CONSUMER.replace('group_id="svc",', 'group_id="svc", enable_auto_commit=False,')
    root = write(tmp_path / "q", {"app/consumer.py": off, "app/settings.py": SECURITY})
    assert findings(root, ["KAF003"]) == []
    unknown = SECURITY.replace('{"security_protocol": self.protocol}', "dict(self.extra)")
    root = write(tmp_path / "r", {"app/consumer.py": PARTIAL_CONSUMER, "app/settings.py": unknown})
    assert findings(root, ["KAF003"]) == []


THREADED_TABLE_CONSUMER = """
import asyncio
import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer

from app.balances import apply_payment


@dataclass(frozen=True)
class Route:
    schema: type
    handle: Callable[[Any], Awaitable[None]]


def build_routes(sessions: Any) -> dict[str, Route]:
    async def paid(event: Any) -> None:
        async with sessions() as session:
            await apply_payment(session, event)

    return {"payments": Route(dict, paid)}


class Worker:
    def __init__(self, consumer: KafkaConsumer, routes: dict[str, Route], executor: Any) -> None:
        self._consumer = consumer
        self._routes = routes
        self._executor = executor
        self._stopping = asyncio.Event()

    async def _call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args, **kwargs))

    async def run(self) -> None:
        try:
            while not self._stopping.is_set():
                batch = await self._call(self._consumer.poll, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        await self.process(record)
                await self._call(self._consumer.commit)
        finally:
            await self._call(self._consumer.close)

    async def process(self, record: Any) -> None:
        route = self._routes[record.topic]
        event = route.schema(record.value)
        request_id = str(getattr(event, "event_id", ""))
        print(request_id)
        await route.handle(event)
"""
BALANCES = """
from typing import Any


async def apply_payment(session: Any, event: Any) -> None:
    account = await session.get(object, event.account_id)
    if account is None:
        return
    account.balance = account.balance - event.amount
    await session.commit()
"""


def test_handler_reached_through_an_executor_helper_and_a_dispatch_table(
    tmp_path: Path,
) -> None:
    root = write(
        tmp_path / "p",
        {"app/worker.py": THREADED_TABLE_CONSUMER, "app/balances.py": BALANCES},
    )
    loops = consume_loops(build_index(root))
    assert [lp.fn.name for lp in loops] == ["run"]
    found = findings(root, ["KAF005"])
    line = BALANCES.splitlines().index("async def apply_payment(session: Any, event: Any) -> None:")
    assert keys(found) == {("KAF005", "app/balances.py", line + 1)}


@pytest.mark.parametrize(
    "annotation",
    [
        "ClassVar[int]",
        "typing.ClassVar[dict[str, int]]",
        "Callable[[int], Awaitable[None]]",
        "list[Callable[..., int]] | None",
        '"ClassVar[int]"',
        "Annotated[int, Field(ge=1)]",
        "collections.abc.Callable",
        "MyCallableThing",
    ],
)
def test_annotation_names_answer_as_the_unparsed_text(annotation: str) -> None:
    tree = ast.parse(f"x: {annotation}")
    flatten(tree)
    stmt = tree.body[0]
    assert isinstance(stmt, ast.AnnAssign)
    names, text = _names_of(stmt.annotation), ast.unparse(stmt.annotation)
    for word in ("ClassVar", "Callable"):
        assert (word in names) == (word in text)
