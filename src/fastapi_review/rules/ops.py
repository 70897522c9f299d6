"""Operations rules: health checks, logging, docker-compose, stack versions."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import yaml

from fastapi_review.index.nodes import NAME_OR_ATTRIBUTE, walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import Function, Module, dotted, unparse
from fastapi_review.models import Finding, Severity
from fastapi_review.rules.base import Context, Example, Rule
from fastapi_review.rules.pydantic_rules import declared_version
from fastapi_review.rules.types import LOG_LEVELS, is_migration

HEALTH_WORDS = (
    "health",
    "healthz",
    "live",
    "livez",
    "liveness",
    "ready",
    "readyz",
    "readiness",
    "ping",
    "status",
)
READY_WORDS = ("ready", "readiness", "readyz")
DB_WORDS = ("session", "engine", "database", "db", "execute", "scalar", "sql", "select", "pg")
KAFKA_WORDS = ("kafka", "producer", "consumer", "broker", "bootstrap", "partitions", "topic")
DB_MODULES = ("sqlalchemy", "asyncpg", "psycopg", "databases", "sqlmodel", "tortoise")
KAFKA_MODULES = ("aiokafka", "kafka", "confluent_kafka", "faststream")
CLI_MODULES = ("typer", "click", "argparse")
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml")
REQUIRED_VERSIONS: dict[str, tuple[tuple[int, int], str]] = {
    "python": ((3, 11), "Python 3.11+"),
    "fastapi": ((0, 104), "FastAPI 0.104+"),
    "pydantic": ((2, 0), "Pydantic 2"),
    "sqlalchemy": ((2, 0), "SQLAlchemy 2"),
}


# unions `isinstance` tests, built once (see `index.nodes.FUNCTION_NODES`)
_MOD_ADD = ast.Mod | ast.Add


def _imports_any(index: ProjectIndex, prefixes: tuple[str, ...]) -> bool:
    return any(
        q.split(".", 1)[0] in prefixes for m in index.source_modules for q in m.imports.values()
    )


def uses_database(index: ProjectIndex) -> bool:
    return bool(index.orm_models) or _imports_any(index, DB_MODULES)


def uses_kafka(index: ProjectIndex) -> bool:
    return bool(index.kafka_clients) or _imports_any(index, KAFKA_MODULES)


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[/_.-]+", path.lower()) if s]


def _words(fn: Function) -> set[str]:
    out: set[str] = set()
    for node in walk(fn.node):
        text = ""
        if isinstance(node, ast.Name):
            text = node.id
        elif isinstance(node, ast.Attribute):
            text = node.attr
        elif isinstance(node, ast.arg):
            text = node.arg + " " + (unparse(node.annotation) if node.annotation else "")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
        out.update(w for w in re.split(r"[^a-z0-9]+", text.lower()) if w)
        if isinstance(node, NAME_OR_ATTRIBUTE):
            out.add(text.lower())
    return out


def _reach(index: ProjectIndex, fn: Function, depth: int = 3) -> list[Function]:
    """The function and the project functions it calls (also through Depends), a few levels deep."""
    seen: dict[str, Function] = {fn.fqname: fn}
    frontier = [fn]
    for _ in range(depth):
        nxt: list[Function] = []
        for f in frontier:
            targets = [c.target for c in f.calls]
            module = index.modules.get(f.path)
            for node in walk(f.node, ast.Call):
                if (
                    module is not None
                    and isinstance(node, ast.Call)
                    and (dotted(node.func) or "").endswith("Depends")
                    and node.args
                ):
                    text = dotted(node.args[0]) or ""
                    head, _, rest = text.partition(".")
                    base = module.imports.get(head, f"{module.name}.{head}")
                    targets.append(f"{base}.{rest}" if rest else base)
            for t in targets:
                callee = index.function(t)
                if callee is not None and callee.fqname not in seen:
                    seen[callee.fqname] = callee
                    nxt.append(callee)
        frontier = nxt
    return list(seen.values())


def _mentions(words: set[str], vocabulary: tuple[str, ...]) -> bool:
    return any(w in vocabulary or any(v in w for v in vocabulary if len(v) > 3) for w in words)


class NoHealthCheck(Rule):
    id = "OPS001"
    name = "missing-health-check"
    category = "ops.no-health-check"
    what = """
        An application without any health endpoint (`/health`, `/live`, `/ready`, ...);
        one with only a liveness probe while it depends on a database or Kafka; or a
        readiness endpoint that checks none of the database / Kafka the application uses
        (looked up through the functions and dependencies it calls).
    """
    why = """
        Orchestrators route traffic and restart containers by these probes; a readiness
        probe that does not look at its dependencies reports "ready" while every request
        fails.
    """
    fix = """
        Add `GET /health/live` (process up) and `GET /health/ready` that pings the database
        (`SELECT 1`) and the Kafka client, answering 503 when one is down.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://db/app")
                app = FastAPI()  # expect

                @app.get("/items")
                async def items() -> list[int]:
                    return []
            """
        },
        {
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://db/app")
                app = FastAPI()

                @app.get("/health/ready")  # expect
                async def ready() -> dict[str, str]:
                    return {"status": "ok"}
            """
        },
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://db/app")
                app = FastAPI()

                async def ping_database() -> bool:
                    async with engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                    return True

                @app.get("/health/live")
                async def live() -> dict[str, str]:
                    return {"status": "ok"}

                @app.get("/health/ready")
                async def ready() -> dict[str, str]:
                    ok = await ping_database()
                    return {"database": "up" if ok else "down"}
            """
        },
        {
            "app/main.py": """
                from fastapi import FastAPI
                from sqlalchemy import text
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://db/app")
                app = FastAPI()

                @app.get("/healthz")
                async def healthz() -> dict[str, str]:
                    return {"status": "ok"}

                @app.get("/readyz")
                async def readyz() -> dict[str, str]:
                    async with engine.connect() as conn:
                        await conn.execute(text("SELECT 1"))
                    return {"database": "up"}
            """
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        if not index.apps or not index.routes:
            return
        health = [r for r in index.routes if set(_segments(r.path)) & set(HEALTH_WORDS)]
        app = index.apps[0]
        if not health:
            yield self.finding(
                ctx, app.path, app.line, "The application exposes no health or readiness endpoint"
            )
            return
        deps = {"database": uses_database(index), "Kafka": uses_kafka(index)}
        needed = [name for name, used in deps.items() if used]
        if not needed:
            return
        ready = [r for r in health if set(_segments(r.path)) & set(READY_WORDS)]
        if not ready:
            ready = [
                r
                for r in health
                if not set(_segments(r.path)) & {"live", "liveness", "ping", "livez"}
            ]
        if not ready:
            first = health[0]
            yield self.finding(
                ctx,
                first.file,
                first.line,
                f"Only a liveness probe ({first.path}); no readiness endpoint checks the "
                f"{' and '.join(needed)}",
            )
            return
        done: set[tuple[str, int]] = set()
        for route in ready:
            if (route.file, route.line) in done:
                continue
            done.add((route.file, route.line))
            words: set[str] = set()
            for fn in _reach(index, route.function):
                words |= _words(fn)
            checked = {
                "database": _mentions(words, DB_WORDS),
                "Kafka": _mentions(words, KAFKA_WORDS),
            }
            if not any(checked[n] for n in needed):
                yield self.finding(
                    ctx,
                    route.file,
                    route.line,
                    f"{route.method} {route.path} checks neither of its dependencies "
                    f"({' nor '.join(needed)})",
                )


def _main_guard_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in tree.body:
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Compare)
            and isinstance(node.test.left, ast.Name)
            and node.test.left.id == "__name__"
        ):
            for sub in walk(node):
                if hasattr(sub, "lineno"):
                    lines.add(sub.lineno)
    return lines


class PrintLogging(Rule):
    id = "OPS002"
    name = "print-instead-of-logging"
    category = "ops.logging"
    what = """
        `print()` in application source (tests, `if __name__ == "__main__":` blocks and
        command-line modules built on typer/click/argparse are not reported).
    """
    why = """
        `print` output has no level, no logger name, no timestamp and no correlation id, is
        not structured, and cannot be filtered or routed by the logging configuration.
    """
    fix = "Use a module logger (`logger = logging.getLogger(__name__)` or structlog) instead."
    bad: ClassVar[list[Example]] = [
        """
        async def handle(event: dict[str, str]) -> None:
            print(f"handling {event['id']}")  # expect
        """
    ]
    good: ClassVar[list[Example]] = [
        """
        import logging

        logger = logging.getLogger(__name__)

        async def handle(event: dict[str, str]) -> None:
            logger.info("handling event", extra={"event_id": event["id"]})

        if __name__ == "__main__":
            print("run me with uvicorn")
        """
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        for module in ctx.index.source_modules:
            if not ctx.index.mentions(module, "print"):
                continue  # the builtin is called by its name
            if any(q.split(".", 1)[0] in CLI_MODULES for q in module.imports.values()):
                continue
            guarded = _main_guard_lines(module.tree)
            for node in module.calls_named(("print",)):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "print"
                    and "print" not in module.imports
                    and node.lineno not in guarded
                ):
                    yield self.finding(
                        ctx, module.path, node.lineno, "`print()` used instead of a logger"
                    )


# libraries that produce structured (JSON / key-value) records
STRUCTURED_LOGGING = (
    "structlog",
    "pythonjsonlogger",
    "json_log_formatter",
    "ecs_logging",
    "loguru",
    "logfmter",
    "logstash",
    "opentelemetry",
    "aws_lambda_powertools",
)


def _log_calls(module: Module) -> Iterator[ast.Call]:
    """`logger.info(...)`, `log.error(...)`, `logging.warning(...)`, `self._logger.debug(...)`."""
    for node in module.calls_named(LOG_LEVELS):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in LOG_LEVELS
            and "log" in (dotted(node.func.value) or "").rsplit(".", 1)[-1].lower()
        ):
            yield node


def _formatted_message(call: ast.Call) -> str | None:
    """How the message is built when the values are baked into the text, else None."""
    index = 1 if isinstance(call.func, ast.Attribute) and call.func.attr == "log" else 0
    if len(call.args) <= index:
        return None
    msg = call.args[index]
    if isinstance(msg, ast.JoinedStr) and any(
        isinstance(v, ast.FormattedValue) for v in msg.values
    ):
        return "an f-string"
    if isinstance(msg, ast.BinOp) and isinstance(msg.op, _MOD_ADD):
        return "string formatting"
    if (
        isinstance(msg, ast.Call)
        and isinstance(msg.func, ast.Attribute)
        and msg.func.attr == "format"
        and isinstance(msg.func.value, ast.Constant)
    ):
        return "`str.format()`"
    return None


def _last_name(func: ast.expr) -> str:
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


# every shape `structured_logging` looks for has one of these in its text
_LOGGING_SETUP_WORDS = ("formatter", "fileconfig", "dictconfig", "jsonlogger")


def structured_logging(index: ProjectIndex) -> bool:
    """Whether the project configures structured logging: a structured-logging library, a
    Formatter class of its own, a JSON formatter in `dictConfig`, or an external config file."""
    for m in index.source_modules:
        if is_migration(m):
            continue  # alembic's env.py configures alembic's own logging (`fileConfig`)
        if any(q.split(".", 1)[0] in STRUCTURED_LOGGING for q in m.imports.values()):
            return True
        if not index.mentions(m, *_LOGGING_SETUP_WORDS):
            continue  # none of the shapes below can be in this module
        for node in walk(m.tree, (ast.ClassDef, ast.Call, ast.Constant)):
            if isinstance(node, ast.ClassDef) and any(
                (dotted(b) or "").endswith("Formatter") for b in node.bases
            ):
                return True
            if isinstance(node, ast.Call):
                name = _last_name(node.func)  # cheap test first: few calls are either
                if name.endswith("fileConfig") and (dotted(node.func) or "").endswith("fileConfig"):
                    return True  # the format lives in a file we do not read
                if name.endswith("dictConfig") and (dotted(node.func) or "").endswith("dictConfig"):
                    text = unparse(node).lower()
                    if "json" in text or (
                        len(node.args) == 1 and isinstance(node.args[0], ast.Name)
                    ):
                        return True  # JSON formatter, or a config built elsewhere
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                low = node.value.lower()
                if "jsonformatter" in low or "jsonlogger" in low or "json_formatter" in low:
                    return True
    return False


def _json_shaped_format(modules: list[Module]) -> tuple[str, int] | None:
    """`basicConfig(format='{"level": "%(levelname)s", ...}')` or a `Formatter` built on such
    a string: JSON lines by intent, made by hand."""
    for m in modules:
        formats = [n for n in m.call_names() if n == "basicConfig" or n.endswith("Formatter")]
        for node in m.calls_named(formats):
            if not isinstance(node, ast.Call):
                continue
            last = _last_name(node.func)  # cheap test first: few calls are either
            if last != "basicConfig" and not last.endswith("Formatter"):
                continue
            name = (dotted(node.func) or "").rsplit(".", 1)[-1]
            if name == "basicConfig":
                exprs = [k.value for k in node.keywords if k.arg == "format"]
            elif name.endswith("Formatter"):
                exprs = [*node.args[:1], *(k.value for k in node.keywords if k.arg == "fmt")]
            else:
                continue
            for e in exprs:
                if isinstance(e, ast.Constant) and isinstance(e.value, str):
                    text = e.value.strip()
                    if text.startswith("{") and text.endswith("}") and '":' in text:
                        return m.path, node.lineno
    return None


class UnstructuredLogging(Rule):
    id = "OPS005"
    name = "unstructured-logging"
    category = "ops.logging"
    what = """
        The application logs, but no structured logging is configured anywhere: no
        structlog / python-json-logger / loguru / ECS logging, no Formatter class of its own,
        no JSON formatter in `dictConfig`, no `fileConfig`. One finding for the project, at
        `logging.basicConfig(...)` when there is one, else at the first log call. In a
        project that does configure structured logging, a log message built with an
        f-string, `%` or `.format()` is reported at LOW: its values are not separate fields.
    """
    why = """
        Plain-text lines cannot be queried by field (order id, correlation id, status):
        log search, alerting and tracing across services need one JSON record per event.
    """
    fix = """
        Configure structlog (or a JSON formatter) once at start-up and log constant messages
        with the values as fields: `logger.info("order created", order_id=order.id)`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/main.py": """
                import logging

                from fastapi import FastAPI

                logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")  # expect
                logger = logging.getLogger(__name__)
                app = FastAPI()

                @app.get("/orders/{order_id}")
                async def get_order(order_id: int) -> dict[str, int]:
                    logger.info(f"fetching order {order_id}")
                    return {"id": order_id}
            """
        },
        {
            "app/logs.py": """
                import structlog

                structlog.configure(processors=[structlog.processors.JSONRenderer()])
            """,
            "app/worker.py": """
                import structlog

                log = structlog.get_logger()

                def handle(order_id: int) -> None:
                    log.info(f"handled order {order_id}")  # expect
                    log.info("handled %s" % order_id)  # expect
            """,
        },
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/logs.py": """
                import json
                import logging

                class JsonFormatter(logging.Formatter):
                    def format(self, record: logging.LogRecord) -> str:
                        return json.dumps({"message": record.getMessage()})

                def setup() -> None:
                    handler = logging.StreamHandler()
                    handler.setFormatter(JsonFormatter())
                    logging.basicConfig(handlers=[handler], level=logging.INFO)
            """,
            "app/worker.py": """
                import logging

                logger = logging.getLogger(__name__)

                def handle(order_id: int) -> None:
                    logger.info("handled order", extra={"order_id": order_id})
                    logger.info("handled %s", order_id)
            """,
        },
        {
            "app/main.py": """
                import logging.config

                logging.config.dictConfig({
                    "version": 1,
                    "formatters": {"json": {"()": "pythonjsonlogger.jsonlogger.JsonFormatter"}},
                })
            """
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        modules = [m for m in index.source_modules if not is_migration(m)]
        calls = [(m, c) for m in modules if index.mentions(m, "log") for c in _log_calls(m)]
        if not calls:
            return
        if structured_logging(index):
            for module, call in calls:
                how = _formatted_message(call)
                if how is None:
                    continue
                yield self.finding(
                    ctx,
                    module.path,
                    call.lineno,
                    f"Log message built with {how}: its values are not separate fields "
                    "of the structured record",
                    severity=Severity.LOW,
                )
            return
        handmade = _json_shaped_format(
            [m for m in modules if index.mentions(m, "basicconfig", "formatter")]
        )
        if handmade is not None:
            yield self.finding(
                ctx,
                handmade[0],
                handmade[1],
                "Log records are JSON only by their format string: a message or value "
                "holding a quote or a newline makes an invalid record, and extra fields "
                "are dropped",
                severity=Severity.LOW,
            )
            return
        setup = next(
            (
                (m.path, node.lineno)
                for m in modules
                if index.mentions(m, "basicconfig")
                for node in walk(m.tree, ast.Call)
                if _last_name(node.func).endswith("basicConfig")
                and (dotted(node.func) or "").endswith("basicConfig")
            ),
            None,
        )
        path, line = setup or min((m.path, c.lineno) for m, c in calls)
        yield self.finding(
            ctx,
            path,
            line,
            f"Logging is plain text: {len(calls)} log call(s) and no structured (JSON) "
            "logging configured",
        )


def _service_line(text: str, name: str) -> int | None:
    in_services = False
    for no, line in enumerate(text.splitlines(), start=1):
        if re.match(r"^services\s*:", line):
            in_services = True
            continue
        if in_services and re.match(rf"^\s+['\"]?{re.escape(name)}['\"]?\s*:", line):
            return no
    return None


def _key_line(text: str, start: int | None, key: str) -> int | None:
    if start is None:
        return None
    lines = text.splitlines()
    indent = len(lines[start - 1]) - len(lines[start - 1].lstrip())
    for no in range(start + 1, len(lines) + 1):
        line = lines[no - 1]
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            return None
        if re.match(rf"^\s+{re.escape(key)}\s*:", line):
            return no
    return None


def _image(spec: dict[str, Any]) -> str:
    return str(spec.get("image") or "").lower()


def _is_postgres(spec: dict[str, Any]) -> bool:
    return "postgres" in _image(spec) or "postgis" in _image(spec)


def _is_broker(spec: dict[str, Any]) -> bool:
    image = _image(spec)
    if not any(w in image for w in ("kafka", "redpanda")) or "ui" in image.split("/")[-1]:
        return False
    command = str(spec.get("command") or "") + str(spec.get("entrypoint") or "")
    return "entrypoint" not in spec and "topics" not in command


class ComposeIncomplete(Rule):
    id = "OPS003"
    name = "docker-compose-incomplete"
    category = "ops.compose"
    what = """
        In docker-compose.yml / compose.yaml: PostgreSQL or Kafka used by the code but no
        such service; a PostgreSQL or Kafka service without a `healthcheck` when another
        service (built or depending on others) runs next to it; an application
        service (one with `build:`) that does not wait for them with
        `depends_on: {service: {condition: service_healthy}}`.
    """
    why = """
        Without health-gated start-up the application starts before its database or broker
        accepts connections and crashes or serves errors; without the service the local
        and integration environment cannot run at all.
    """
    fix = """
        Add the missing service with a healthcheck (`pg_isready`, `kafka-broker-api-versions`)
        and make the application depend on it with `condition: service_healthy`.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine
                from aiokafka import AIOKafkaProducer

                engine = create_async_engine("postgresql+asyncpg://db/app")
                producer = AIOKafkaProducer()
            """,
            "docker-compose.yml": """
                services:
                  api:
                    build: .
                    depends_on:  # expect
                      - db
                  db:  # expect
                    image: postgres:16
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://db/app")
            """,
            "docker-compose.yml": """
                services:
                  api:
                    build: .
                    depends_on:
                      db:
                        condition: service_healthy
                  db:
                    image: postgres:16
                    healthcheck:
                      test: ["CMD-SHELL", "pg_isready"]
            """,
        },
        {
            "app/db.py": """
                from sqlalchemy.ext.asyncio import create_async_engine

                engine = create_async_engine("postgresql+asyncpg://localhost/app")
            """,
            "docker-compose.yml": """
                services:
                  postgres_db:
                    image: postgres:16
                    ports:
                      - "5432:5432"
            """,
        },
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        for path in COMPOSE_FILES:
            text = index.extra_files.get(path)
            if text is None:
                continue
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError:
                continue
            services = data.get("services") if isinstance(data, dict) else None
            if not isinstance(services, dict):
                continue
            yield from self._check_services(ctx, path, text, services)

    def _check_services(
        self, ctx: Context, path: str, text: str, services: dict[str, Any]
    ) -> Iterator[Finding]:
        specs = {str(k): v for k, v in services.items() if isinstance(v, dict)}
        infra = {n: "PostgreSQL" for n, s in specs.items() if _is_postgres(s)}
        infra.update({n: "Kafka" for n, s in specs.items() if _is_broker(s)})
        top = _service_line(text, next(iter(specs), "")) or 1
        if uses_postgres(ctx.index) and "PostgreSQL" not in infra.values():
            yield self.finding(
                ctx, path, top, f"{path} has no PostgreSQL service, but the code uses one"
            )
        if uses_kafka(ctx.index) and "Kafka" not in infra.values():
            yield self.finding(
                ctx, path, top, f"{path} has no Kafka service, but the code uses one"
            )
        # a healthcheck matters when another service waits for the database or broker; a
        # compose file that only runs the infrastructure for local development needs none
        waiters = [
            n for n, s in specs.items() if n not in infra and ("build" in s or "depends_on" in s)
        ]
        for name, kind in infra.items():
            if waiters and "healthcheck" not in specs[name]:
                yield self.finding(
                    ctx,
                    path,
                    _service_line(text, name),
                    f"{kind} service `{name}` has no healthcheck",
                )
        for name, spec in specs.items():
            if "build" not in spec:
                continue
            deps = spec.get("depends_on")
            line = _service_line(text, name)
            dep_line = _key_line(text, line, "depends_on") or line
            if deps is None:
                if infra:
                    yield self.finding(
                        ctx,
                        path,
                        line,
                        f"Service `{name}` does not depend on {', '.join(sorted(infra))}",
                    )
                continue
            conditions: dict[str, str] = {}
            if isinstance(deps, dict):
                for dep, cond in deps.items():
                    conditions[str(dep)] = (
                        str(cond.get("condition", "")) if isinstance(cond, dict) else ""
                    )
            elif isinstance(deps, list):
                conditions = {str(d): "" for d in deps}
            missing = [d for d in sorted(infra) if conditions.get(d) != "service_healthy"]
            if missing:
                yield self.finding(
                    ctx,
                    path,
                    dep_line,
                    f"Service `{name}` does not wait for {', '.join(missing)} to be healthy "
                    "(`condition: service_healthy`)",
                )


def uses_postgres(index: ProjectIndex) -> bool:
    """PostgreSQL drivers imported or declared, or a postgres URL among the settings defaults."""
    imports = {q.split(".", 1)[0] for m in index.source_modules for q in m.imports.values()}
    if imports & {"asyncpg", "psycopg", "psycopg2"}:
        return True
    pyproject = index.extra_files.get("pyproject.toml", "").lower()
    if any(d in pyproject for d in ("asyncpg", "psycopg")):
        return True
    return any(
        isinstance(v, str) and v.startswith("postgres")
        for s in index.settings.values()
        for v in s.fields.values()
    )


_REQUIRES_PYTHON = re.compile(r"""^\s*requires-python\s*=\s*["']([^"']*)["']""")
_DOCKER_FROM = re.compile(r"^\s*FROM\s+(?:\S+/)?python:(\d+)\.(\d+)", re.IGNORECASE)


class StackVersion(Rule):
    id = "OPS004"
    name = "stack-below-required-versions"
    category = "ops.stack-version"
    what = """
        pyproject.toml declares (as its lower bound) Python below 3.11, FastAPI below
        0.104, Pydantic below 2 or SQLAlchemy below 2; or the Dockerfile builds from a
        `python:` image below 3.11.
    """
    why = """
        The review standard targets Python 3.11+, FastAPI 0.104+, Pydantic 2 and SQLAlchemy 2
        async: older versions lack the APIs the rest of the standard expects (Pydantic v2
        validation, SQLAlchemy 2 typed async ORM, TaskGroup) and are out of support.
    """
    fix = "Raise the lower bounds (and the lock file / base image) to the required versions."
    bad: ClassVar[list[Example]] = [
        {
            "pyproject.toml": """
                [tool.poetry.dependencies]
                python = "^3.9"  # expect
                fastapi = "^0.95.0"  # expect
                pydantic = "^1.10"  # expect
                sqlalchemy = {version = "^1.4", extras = ["asyncio"]}  # expect
            """,
            "Dockerfile": """
                FROM python:3.9-slim  # expect
            """,
        }
    ]
    good: ClassVar[list[Example]] = [
        {
            "pyproject.toml": """
                [project]
                requires-python = ">=3.11"
                dependencies = [
                    "fastapi>=0.110",
                    "pydantic>=2.6",
                    "pydantic-settings>=2.2",
                    "sqlalchemy[asyncio]>=2.0.30",
                ]
            """,
            "Dockerfile": """
                FROM python:3.12-slim AS base
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        text = ctx.index.extra_files.get("pyproject.toml", "")
        for package, (minimum, label) in REQUIRED_VERSIONS.items():
            found = declared_version(text, package)
            if package == "python":
                found = self._requires_python(text) or found
            if found is None or found[0] >= minimum:
                continue
            (major, minor), line = found
            yield self.finding(
                ctx,
                "pyproject.toml",
                line,
                f"{package} {major}.{minor} is below the required {label}",
            )
        docker = ctx.index.extra_files.get("Dockerfile", "")
        for no, line_text in enumerate(docker.splitlines(), start=1):
            m = _DOCKER_FROM.match(line_text)
            if m is not None and (int(m.group(1)), int(m.group(2))) < (3, 11):
                yield self.finding(
                    ctx,
                    "Dockerfile",
                    no,
                    f"The image builds on Python {m.group(1)}.{m.group(2)}, below 3.11",
                )

    @staticmethod
    def _requires_python(text: str) -> tuple[tuple[int, int], int] | None:
        for no, line in enumerate(text.splitlines(), start=1):
            m = _REQUIRES_PYTHON.match(line)
            if m is None:
                continue
            bound = re.search(r"(>=|==|~=|>|\^|~)\s*(\d+)\.(\d+)", m.group(1))
            if bound is not None:
                return (int(bound.group(2)), int(bound.group(3))), no
        return None
