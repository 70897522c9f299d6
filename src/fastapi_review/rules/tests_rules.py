"""Static test-inventory rules (TST): which kinds of tests exist, and how well they are written.

The inventory classifies every test function (from `index.tests`) by what it touches:
- router: requests an HTTP path through TestClient / AsyncClient;
- repository: uses a repository-layer module (and no HTTP client);
- consumer: uses a Kafka consumer module or handler;
- integration: marked or placed as integration, or uses testcontainers / docker;
- e2e: marked or placed as end-to-end;
- unit: everything else (service logic with mocks, helpers).
A test can have several kinds (a router test that also drives a consumer).
"""

from __future__ import annotations

import ast
import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from fastapi_review.config import Config
from fastapi_review.index.layers import layer_of
from fastapi_review.index.nodes import walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.routes import exception_handlers
from fastapi_review.index.symbols import Module, dotted
from fastapi_review.index.tests import TestFunction
from fastapi_review.models import Finding, Severity
from fastapi_review.probes.projectconf import read_project_conf
from fastapi_review.rules.base import Context, Example, Rule

KINDS = ("unit", "router", "repository", "consumer", "integration", "e2e")
CLIENTS = ("TestClient", "AsyncClient", "ASGITransport")
INTEGRATION_IMPORTS = ("testcontainers", "docker", "pytest_docker", "python_on_whales")
ASYNC_MARKERS = {"asyncio", "anyio", "trio"}
SKIP_MARKERS = {"skip", "skipif", "xfail"}
FRAMEWORK_ERRORS = {"HTTPException", "RequestValidationError", "ValidationError", "Exception"}
_CHECKER = re.compile(r"^(assert|check|verify|expect|ensure|validate)", re.IGNORECASE)
# a test whose name states that the call must simply succeed: "no exception" is its assertion
_NO_ERROR_NAME = re.compile(
    r"(does_?n[o']?t_(raise|fail|crash|error)|not_raise|no_(error|exception|crash)|"
    r"(is|are|gets?)_ignored|ignores|_noop|no_op\b|silently|tolerat|survives|smoke)",
    re.IGNORECASE,
)


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_AWAIT_CALL = ast.Await | ast.Call
_ASSERT_RAISE = ast.Assert | ast.Raise


def is_pytest_test(tf: TestFunction) -> bool:
    """Whether pytest collects this function as a test: not a fixture (`@pytest.fixture`
    named `test_user`), not defined in a `conftest.py` (pytest collects no tests there)."""
    if tf.module.path.rsplit("/", 1)[-1] == "conftest.py":
        return False
    for dec in tf.function.node.decorator_list:
        text = dotted(dec.func if isinstance(dec, ast.Call) else dec) or ""
        if text.rsplit(".", 1)[-1] == "fixture":
            return False
    return True


def pytest_tests(index: ProjectIndex) -> list[TestFunction]:
    return [tf for tf in index.tests if is_pytest_test(tf)]


# --- the inventory -----------------------------------------------------------------------
def _module_of(index: ProjectIndex, qname: str) -> Module | None:
    parts = qname.split(".")
    for i in range(len(parts), 0, -1):
        m = index.by_name.get(".".join(parts[:i]))
        if m is not None:
            return m
    return None


def _referenced_modules(index: ProjectIndex, tf: TestFunction) -> set[str]:
    """Paths of the project modules a test function uses (by imported name or call target)."""
    out: set[str] = set()
    names = {n.id for n in walk(tf.function.node, ast.Name)}
    names |= set(tf.fixtures)
    for name in names:
        qual = tf.module.imports.get(name)
        m = _module_of(index, qual) if qual else None
        if m is not None and not m.is_test:
            out.add(m.path)
    for call in tf.function.calls:
        m = _module_of(index, call.target) if call.target else None
        if m is not None and not m.is_test:
            out.add(m.path)
    return out


def consumer_paths(index: ProjectIndex) -> set[str]:
    """Modules with a Kafka consumer, or named like a consumer (found once per index)."""
    return set(index.once("tests_rules.consumer_paths", lambda: _consumer_paths(index)))


def _consumer_paths(index: ProjectIndex) -> set[str]:
    got = {c.path for c in index.kafka_clients if c.role == "consumer"}
    for m in index.source_modules:
        base = m.path.rsplit("/", 1)[-1]
        if "consumer" in base or ("handler" in base and "kafka" in m.path):
            got.add(m.path)
    return got


def _uses_client(tf: TestFunction) -> bool:
    if tf.http_calls:
        return True
    text = " ".join(tf.fixtures)
    names = [dotted(n) or "" for n in walk(tf.function.node, ast.expr)]
    return any(c in name for name in names for c in CLIENTS) or (
        "client" in text
        and any(isinstance(n, _AWAIT_CALL) for n in walk(tf.function.node, _AWAIT_CALL))
        and any(
            isinstance(c.node.func, ast.Attribute)
            and c.node.func.attr in {"get", "post", "put", "patch", "delete"}
            for c in tf.function.calls
        )
    )


def classify(index: ProjectIndex, config: Config, tf: TestFunction) -> set[str]:
    kinds: set[str] = set()
    parts = tf.module.path.lower().split("/")
    markers = set(tf.markers)
    imports = set(tf.module.imports.values())
    if "integration" in markers or any("integration" in p for p in parts):
        kinds.add("integration")
    if any(q.split(".")[0] in INTEGRATION_IMPORTS for q in imports):
        kinds.add("integration")
    if markers & {"e2e", "end_to_end"} or any(
        p in {"e2e", "end_to_end"} or "e2e" in p for p in parts
    ):
        kinds.add("e2e")
    if _uses_client(tf):
        kinds.add("router")
    refs = _referenced_modules(index, tf)
    layers = {layer_of(p, config) for p in refs}
    # a consumer is often built by a fixture of the same module: the module's imports count
    module_refs = {m.path for q in imports if (m := _module_of(index, q)) is not None}
    if (refs | module_refs) & consumer_paths(index):
        kinds.add("consumer")
    if "repository" in layers and "router" not in kinds:
        kinds.add("repository")
    if not kinds or ("service" in layers and "router" not in kinds):
        kinds.add("unit")
    return kinds


def _pytest_conf(index: ProjectIndex) -> tuple[str | None, set[str]]:
    conf = read_project_conf(index.root)
    plugins = {a.split(":", 1)[-1] for a in conf.pytest_addopts if "asyncio" in a or "anyio" in a}
    return conf.asyncio_mode, plugins


def _has_assertion(index: ProjectIndex, tf: TestFunction, depth: int = 0) -> bool:
    if tf.asserts or tf.raises_checks or tf.mock_asserts:
        return True
    for node in walk(tf.function.node, (ast.Call, ast.Raise)):
        if isinstance(node, ast.Call):
            name = dotted(node.func) or ""
            last = name.rsplit(".", 1)[-1]
            if _CHECKER.match(last) or name in {"pytest.fail", "pytest.raises", "pytest.warns"}:
                return True
            if last in {"raise_for_status", "snapshot", "assert_that"}:
                return True
        if isinstance(node, ast.Raise):
            return True
    # a helper in the project that asserts (one level deep)
    if depth == 0:
        for call in tf.function.calls:
            fn = index.function(call.target) if call.target else None
            if fn is not None and any(
                isinstance(n, _ASSERT_RAISE) for n in walk(fn.node, _ASSERT_RAISE)
            ):
                return True
    return False


def _calls_project_code(index: ProjectIndex, tf: TestFunction) -> bool:
    """Whether the test calls a function of the reviewed code (not only its own helpers)."""
    for call in tf.function.calls:
        fn = index.function(call.target) if call.target else None
        if fn is not None and fn.path in index.modules and not index.modules[fn.path].is_test:
            return True
    return False


@dataclass
class Inventory:
    kinds: dict[str, list[TestFunction]] = field(default_factory=dict)
    needed: dict[str, str] = field(default_factory=dict)  # kind -> why the project needs it

    def counts(self) -> dict[str, int]:
        return {k: len(self.kinds.get(k, [])) for k in KINDS}


def build_inventory(index: ProjectIndex, config: Config) -> Inventory:
    inv = Inventory(kinds={k: [] for k in KINDS})
    for tf in pytest_tests(index):
        for kind in classify(index, config, tf):
            inv.kinds[kind].append(tf)
    sources = [m for m in index.source_modules if m.functions or m.classes]
    layers = {layer_of(m.path, config) for m in sources}
    if index.routes:
        inv.needed["router"] = f"{len(index.routes)} route(s)"
    if "service" in layers:
        inv.needed["unit"] = "a service layer"
    if "repository" in layers:
        inv.needed["repository"] = "a repository layer"
    consumers = [c for c in index.kafka_clients if c.role == "consumer"]
    if consumers:
        inv.needed["consumer"] = "a Kafka consumer"
    if index.orm_models or index.kafka_clients:
        inv.needed["integration"] = "a database or Kafka the code talks to"
    return inv


def test_inventory(index: ProjectIndex, config: Config) -> dict[str, Any]:
    """The inventory as plain data for the report (counts per kind, needed and missing kinds)."""
    inv = build_inventory(index, config)
    counts = inv.counts()
    missing = [k for k in inv.needed if not _present(inv, k)]
    return {
        "tests": len(pytest_tests(index)),
        "async_tests": sum(1 for t in pytest_tests(index) if t.is_async),
        "kinds": counts,
        "needed": inv.needed,
        "missing": missing,
        "without_assertions": sum(1 for t in pytest_tests(index) if not _has_assertion(index, t)),
    }


def _present(inv: Inventory, kind: str) -> bool:
    if kind == "integration":
        return bool(inv.kinds["integration"] or inv.kinds["e2e"])
    return bool(inv.kinds.get(kind))


# --- rules -------------------------------------------------------------------------------
_SERVICE = """
    class OrderService:
        def __init__(self, repo):
            self.repo = repo

        async def total(self, order_id: int) -> int:
            order = await self.repo.get(order_id)
            return sum(i.price for i in order.items)
"""
_CONSUMER = """
    from aiokafka import AIOKafkaConsumer

    async def consume() -> None:
        consumer = AIOKafkaConsumer("orders.created")  # expect
        await consumer.start()
        async for msg in consumer:
            handle(msg.value)

    def handle(value: bytes) -> None:
        print(value)
"""


class MissingTestKind(Rule):
    id = "TST001"
    name = "missing-test-kind"
    category = "tests.missing-kind"
    what = """
        A kind of test the project needs is absent: consumer tests when the project has a
        Kafka consumer, router tests when it has routes, unit tests of the service layer,
        repository tests of the repository layer, integration (or end-to-end) tests when the
        code talks to a database or Kafka.
    """
    why = """
        Each kind proves something the others cannot: a consumer test proves that messages are
        parsed, retried and dead-lettered; an integration test proves the real database and
        broker wiring. The review standard requires each kind the architecture has.
    """
    fix = "Add the missing kind of test (the finding says which and why the project needs it)."
    bad: ClassVar[list[Example]] = [
        {
            "app/consumer.py": _CONSUMER,
            "tests/test_other.py": """
                def test_nothing_about_consumer() -> None:
                    assert 1 + 1 == 2
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/consumer.py": _CONSUMER.replace("  # expect", ""),
            "tests/test_consumer.py": """
                from app.consumer import handle

                def test_handle_prints(capsys) -> None:
                    handle(b"x")
                    assert capsys.readouterr().out

                import pytest

                @pytest.mark.integration
                def test_against_broker() -> None:
                    assert True
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        inv = build_inventory(ctx.index, ctx.config)
        counts = inv.counts()
        summary = ", ".join(f"{k} {n}" for k, n in counts.items())
        for kind, why in inv.needed.items():
            if _present(inv, kind):
                continue
            path: str | None = None
            line: int | None = None
            if kind == "consumer":
                c = next(c for c in ctx.index.kafka_clients if c.role == "consumer")
                path, line = c.path, c.line
            elif kind == "router" and ctx.index.routes:
                path, line = ctx.index.routes[0].file, ctx.index.routes[0].line
            label = "integration or end-to-end" if kind == "integration" else kind
            message = f"No {label} tests, though the project has {why}"
            severity = None
            if kind == "integration" and not any(
                k != "integration" and not _present(inv, k) for k in inv.needed
            ):
                # every kind that runs without infrastructure is there: the gap is real but
                # smaller than a missing layer of tests
                severity = Severity.MEDIUM
                message += " (MEDIUM: every other kind of test it needs is present)"
            yield self.finding(
                ctx,
                path,
                line,
                message,
                evidence=f"tests by kind: {summary}",
                severity=severity,
            )


class AsyncTestNeverAwaited(Rule):
    id = "TST002"
    name = "async-test-without-runner"
    category = "tests.async-misuse"
    what = """
        An `async def` test with no pytest-asyncio / anyio marker, in a project whose pytest
        configuration does not set `asyncio_mode = auto`.
    """
    why = """
        Without a runner pytest calls the test, gets a coroutine back, and passes it (with only a
        warning) without running a single line: the test proves nothing.
    """
    fix = 'Mark the test `@pytest.mark.asyncio` (or anyio), or set `asyncio_mode = "auto"`.'
    bad: ClassVar[list[Example]] = [
        {
            "tests/test_service.py": """
                async def test_total() -> None:  # expect
                    assert 1 == 2
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "tests/test_service.py": """
                import pytest

                @pytest.mark.asyncio
                async def test_total() -> None:
                    assert 1 == 1
            """,
        },
        {
            "pyproject.toml": """
                [tool.pytest.ini_options]
                asyncio_mode = "auto"
            """,
            "tests/test_service.py": """
                async def test_total() -> None:
                    assert 1 == 1
            """,
        },
        {
            "tests/conftest.py": """
                import pytest

                @pytest.fixture
                async def test_user(pool):
                    return await pool.create_user("u")
            """,
            "tests/test_users.py": """
                import pytest

                @pytest.fixture
                async def test_order(test_user):
                    return {"user": test_user}

                pytestmark = pytest.mark.asyncio

                async def test_login(test_user) -> None:
                    assert test_user
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        mode, _ = _pytest_conf(ctx.index)
        if mode is not None and mode.strip().strip("\"'").lower() == "auto":
            return
        for tf in pytest_tests(ctx.index):
            if not tf.is_async or set(tf.markers) & (ASYNC_MARKERS | SKIP_MARKERS):
                continue
            if any("anyio" in str(f) for f in tf.fixtures):
                continue
            yield self.finding(
                ctx,
                tf.module.path,
                tf.function.line,
                f"async test {tf.function.name} has no asyncio/anyio marker and asyncio_mode is not auto: it never runs",
            )


class TestWithoutAssertion(Rule):
    id = "TST003"
    name = "test-without-assertion"
    category = "tests.weak-assertions"
    what = """
        A test function with no `assert`, no `pytest.raises`, no mock assertion and no call to an
        asserting helper.
    """
    why = """
        A test that asserts nothing passes whenever the code does not crash; it keeps coverage
        high while proving none of the behaviour.
    """
    fix = "Assert on the result (status code, body, stored state, published event)."
    bad: ClassVar[list[Example]] = [
        {
            "tests/test_orders.py": """
                def test_create_order() -> None:  # expect
                    result = {"id": 1}
                    print(result)
            """
        },
    ]
    good: ClassVar[list[Example]] = [
        {
            "tests/test_orders.py": """
                import pytest

                def check_ok(value: int) -> None:
                    assert value == 1

                def test_create_order() -> None:
                    assert {"id": 1}["id"] == 1

                def test_raises() -> None:
                    with pytest.raises(KeyError):
                        {}["x"]

                def test_helper() -> None:
                    check_ok(1)

                def test_mock(mocker) -> None:
                    m = mocker.Mock()
                    m()
                    m.assert_called_once()
            """
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for tf in pytest_tests(ctx.index):
            if set(tf.markers) & SKIP_MARKERS or _has_assertion(ctx.index, tf):
                continue
            if _NO_ERROR_NAME.search(tf.function.name) and _calls_project_code(ctx.index, tf):
                continue
            yield self.finding(
                ctx,
                tf.module.path,
                tf.function.line,
                f"test {tf.function.name} asserts nothing",
            )


# --- error paths -------------------------------------------------------------------------
_DLQ = re.compile(r"dlq|dead[_\-. ]?letter", re.IGNORECASE)
_RETRY = re.compile(r"retr(y|ies)|backoff", re.IGNORECASE)
_FAILURE_IN_TEST = re.compile(r"side_effect|raise |Error\(|Exception\(|fail", re.IGNORECASE)
_STATUS_500 = re.compile(
    r"\b500\b|HTTP_500|INTERNAL_SERVER_ERROR|raise_server_exceptions\s*=\s*False"
)


@dataclass
class _Handler:
    exc: str
    path: str
    line: int


def _exception_handlers(index: ProjectIndex) -> list[_Handler]:
    out: list[_Handler] = []
    for reg in exception_handlers(index):
        exc = dotted(reg.exc) if reg.exc is not None else None
        if exc:
            out.append(_Handler(exc.rsplit(".", 1)[-1], reg.module.path, reg.line))
    return out


def _is_project_class(index: ProjectIndex, name: str) -> bool:
    return any(c.name == name for c in index.classes.values())


def _first_match(
    index: ProjectIndex, pattern: re.Pattern[str], paths: set[str]
) -> tuple[str, int] | None:
    # the same pattern without IGNORECASE, for the lower-case text (several times faster):
    # the patterns are written in lower case
    low = _case_sensitive(pattern)
    for m in index.source_modules:
        if paths and m.path not in paths:
            continue
        if not low.search(index.lower_text(m)):
            continue  # no line has it, comments included (the patterns ignore case)
        for no, line in enumerate(m.lines, start=1):
            code = line.split("#", 1)[0]
            if pattern.search(code):
                return m.path, no
    return None


@functools.cache
def _case_sensitive(pattern: re.Pattern[str]) -> re.Pattern[str]:
    assert pattern.pattern == pattern.pattern.lower()
    return re.compile(pattern.pattern, pattern.flags & ~re.IGNORECASE)


class UntestedErrorPath(Rule):
    id = "TST004"
    name = "untested-error-path"
    category = "tests.error-paths"
    what = """
        An error path no test exercises: a catch-all exception handler (500) with no test that
        expects a 500, a handler for a library exception no test raises, a dead-letter path or
        a retry loop of the Kafka code that no test mentions, a producer that no test makes fail.
    """
    why = """
        Error paths are where services lose data: a DLQ that was never exercised may not work,
        a retry loop may never stop, a 500 handler may leak internals. The standard asks for
        every error path, producer failures, consumer retries and DLQ handling to be tested.
    """
    fix = "Add a test that drives the failure (a mock raising, a malformed message) and asserts the outcome."
    bad: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                from fastapi import FastAPI
                from fastapi.responses import JSONResponse

                app = FastAPI()

                async def unexpected(request, exc):
                    return JSONResponse({"detail": "internal error"}, status_code=500)

                app.add_exception_handler(Exception, unexpected)  # expect
            """,
            "tests/test_api.py": """
                def test_ok(client) -> None:
                    assert client.get("/items").status_code == 200
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                from fastapi import FastAPI
                from fastapi.responses import JSONResponse

                app = FastAPI()

                async def unexpected(request, exc):
                    return JSONResponse({"detail": "internal error"}, status_code=500)

                app.add_exception_handler(Exception, unexpected)
            """,
            "tests/test_api.py": """
                def test_boom(client) -> None:
                    assert client.get("/boom").status_code == 500
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        if not index.tests:
            return  # no tests at all is a missing-kind / coverage problem, not this one
        test_text = "\n".join("\n".join(m.lines) for m in index.test_modules)
        for h in _exception_handlers(index):
            if h.exc == "Exception" and not _STATUS_500.search(test_text):
                yield self.finding(
                    ctx,
                    h.path,
                    h.line,
                    "the catch-all exception handler (500) is never exercised by a test",
                )
            elif (
                h.exc not in FRAMEWORK_ERRORS
                and not _is_project_class(index, h.exc)
                and h.exc not in test_text
            ):
                yield self.finding(
                    ctx,
                    h.path,
                    h.line,
                    f"the {h.exc} handler is never exercised: no test raises {h.exc}",
                )
        kafka_paths = {c.path for c in index.kafka_clients} | {s.path for s in index.kafka_sends}
        kafka_paths |= {
            m.path for m in index.source_modules if layer_of(m.path, ctx.config) == "kafka"
        }
        if not kafka_paths:
            return
        dlq = _first_match(index, _DLQ, kafka_paths)
        if dlq and not _DLQ.search(test_text):
            yield self.finding(
                ctx, dlq[0], dlq[1], "the dead-letter path is never exercised by a test"
            )
        retry = _first_match(index, _RETRY, kafka_paths)
        if retry and not re.search(r"retr(y|ies)|backoff|attempt", test_text, re.IGNORECASE):
            yield self.finding(
                ctx, retry[0], retry[1], "the retry path is never exercised by a test"
            )
        producers = [c for c in index.kafka_clients if c.role == "producer"]
        if producers and not _producer_failure_tested(index):
            p = producers[0]
            yield self.finding(ctx, p.path, p.line, "no test makes the Kafka producer fail")


def _producer_failure_tested(index: ProjectIndex) -> bool:
    for m in index.test_modules:
        text = "\n".join(m.lines)
        if re.search(r"produc|publish|send", text, re.IGNORECASE) and _FAILURE_IN_TEST.search(text):
            return True
    return False
