"""Configuration rules: settings that do not come from the environment."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.nodes import walk
from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import Module, dotted, unparse
from fastapi_review.models import Finding
from fastapi_review.rules.base import Context, Example, Rule

# clients whose connection target is configuration
CLIENT_CALLS = {
    "create_async_engine",
    "create_engine",
    "AIOKafkaProducer",
    "AIOKafkaConsumer",
    "KafkaProducer",
    "KafkaConsumer",
    "Producer",
    "Consumer",
    "AdminClient",
    "AsyncClient",
    "Client",
    "Redis",
    "from_url",
    "connect",
    "create_pool",
}
CONNECTION_KEYWORDS = {"bootstrap_servers", "url", "base_url", "dsn", "host", "hosts", "uri"}
URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")
HOST_PORT = re.compile(r"^[A-Za-z0-9.-]+:\d{2,5}(,[A-Za-z0-9.-]+:\d{2,5})*$")
GENERATED_DIRS = ("migrations/", "alembic/")
# URL schemes of infrastructure a service connects to (a module constant with one is config)
INFRA_SCHEMES = {
    "postgres",
    "postgresql",
    "mysql",
    "mariadb",
    "mssql",
    "oracle",
    "cockroachdb",
    "redis",
    "rediss",
    "amqp",
    "amqps",
    "kafka",
    "mongodb",
    "nats",
    "memcached",
}


def _env_reads(module: Module, low: str) -> Iterator[ast.AST]:
    """`os.getenv(...)`, `os.environ[...]`, `os.environ.get(...)`, `getenv(...)` (`low`:
    the module's text in lower case)."""
    if "getenv" not in low and "environ" not in low:
        return  # each shape (or the import that renames it) spells one of the two
    for node in walk(module.tree, (ast.Call, ast.Subscript)):
        if isinstance(node, ast.Call):
            text = dotted(node.func) or ""
            head, _, rest = text.partition(".")
            qname = module.imports.get(head, head) + (f".{rest}" if rest else "")
            if qname in {"os.getenv", "os.environ.get", "os.environ.setdefault"}:
                yield node
        elif isinstance(node, ast.Subscript):
            text = dotted(node.value) or ""
            head, _, rest = text.partition(".")
            qname = module.imports.get(head, head) + (f".{rest}" if rest else "")
            if qname == "os.environ" and isinstance(node.ctx, ast.Load):
                yield node


def _settings_modules(index: ProjectIndex) -> set[str]:
    return {s.cls.path for s in index.settings.values()}


def _is_generated(path: str) -> bool:
    return path.startswith(GENERATED_DIRS) or any(f"/{d}" in path for d in GENERATED_DIRS)


def _connection_literal(value: ast.expr) -> str | None:
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        v = value.value.strip()
        if URL.match(v) or _host_port(v):
            return v
    return None


def _host_port(v: str) -> bool:
    """`kafka:9092`, `10.0.0.5:5432,10.0.0.6:5432` (not a time such as `09:30`)."""
    return bool(HOST_PORT.match(v)) and any(c.isalpha() or c == "." for c in v.split(":")[0])


def _infra_literal(value: ast.expr) -> str | None:
    """A database / broker / cache URL or a `host:port` (not an http(s) link)."""
    literal = _connection_literal(value)
    if literal is None:
        return None
    scheme = literal.split("://", 1)[0].lower() if "://" in literal else ""
    if scheme and scheme.split("+", 1)[0] not in INFRA_SCHEMES:
        return None
    return literal


def _module_constants(module: Module) -> dict[str, ast.Constant]:
    """Module-level `NAME = "..."` / `NAME: str = "..."` string constants."""
    out: dict[str, ast.Constant] = {}
    for stmt in module.tree.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            for t in targets:
                if isinstance(t, ast.Name):
                    out[t.id] = value
    return out


def _shown(literal: str) -> str:
    return re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", literal)


class NotEnvBased(Rule):
    id = "CFG001"
    name = "configuration-not-from-environment"
    category = "config.not-env-based"
    what = """
        Configuration that does not come from environment-based settings: an application
        with no pydantic-settings class at all; `os.getenv` / `os.environ` read outside the
        settings module (scattered configuration); a connection target (URL, `host:port`)
        written as a literal into a client constructor (`create_async_engine("postgresql://…")`,
        `AIOKafkaProducer(bootstrap_servers="localhost:9092")`), also through a module
        constant (`DB_URL = "postgresql://…"`; any database, broker or cache URL or
        `host:port` constant outside the settings module is reported). Settings defaults
        and migrations are not reported.
    """
    why = """
        Configuration spread over the code cannot be validated at start-up, differs between
        environments only by editing code, and hides what a deployment must provide.
    """
    fix = """
        Declare every setting once in a `pydantic_settings.BaseSettings` class (with an
        `env_prefix`), read it at start-up, and pass the values to the clients.
    """
    bad: ClassVar[list[Example]] = [
        {
            "app/settings.py": """
                from pydantic_settings import BaseSettings

                class Settings(BaseSettings):
                    database_url: str
            """,
            "app/kafka.py": """
                import os

                from aiokafka import AIOKafkaProducer

                TOPIC = os.getenv("TOPIC", "orders")  # expect

                def make_producer() -> AIOKafkaProducer:
                    return AIOKafkaProducer(bootstrap_servers="localhost:9092")  # expect
            """,
            "app/db.py": """
                import httpx
                from sqlalchemy.ext.asyncio import create_async_engine

                DB_URL = "postgresql+asyncpg://app@db.internal:5432/app"  # expect
                CACHE_URL = "redis://cache:6379/0"  # expect
                PAYMENTS_API = "http://payments:8080"  # expect

                engine = create_async_engine(DB_URL)

                def payments() -> httpx.AsyncClient:
                    return httpx.AsyncClient(base_url=PAYMENTS_API)
            """,
        },
        {
            "app/main.py": """
                import os

                from fastapi import FastAPI

                app = FastAPI()  # expect
                DATABASE_URL = os.environ["DATABASE_URL"]
            """
        },
    ]
    good: ClassVar[list[Example]] = [
        {
            "app/settings.py": """
                import os

                from pydantic_settings import BaseSettings, SettingsConfigDict

                class Settings(BaseSettings):
                    model_config = SettingsConfigDict(env_prefix="APP_")
                    database_url: str
                    kafka_bootstrap_servers: str = "localhost:9092"

                ENV_NAME = os.getenv("APP_ENV", "local")
            """,
            "app/main.py": """
                from aiokafka import AIOKafkaProducer
                from fastapi import FastAPI

                from app.settings import Settings

                settings = Settings()
                app = FastAPI(docs_url="/docs")

                def make_producer() -> AIOKafkaProducer:
                    return AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap_servers)
            """,
            "migrations/env.py": """
                import os

                url = os.environ["DATABASE_URL"]
            """,
            "app/links.py": """
                DOCS_URL = "https://docs.example.com/orders"
                OPENS_AT = "09:30"
                DEFAULT_PAGE = "/orders"
            """,
        }
    ]

    def check(self, ctx: Context) -> Iterator[Finding]:
        index = ctx.index
        if not index.settings:
            if index.apps:
                app = index.apps[0]
                yield self.finding(
                    ctx,
                    app.path,
                    app.line,
                    "The application has no pydantic-settings class: configuration is not "
                    "read and validated from the environment in one place",
                )
            return
        settings_paths = _settings_modules(index)
        for module in index.source_modules:
            if _is_generated(module.path):
                continue
            if module.path not in settings_paths:
                for node in _env_reads(module, index.lower_text(module)):
                    line = getattr(node, "lineno", None)
                    yield self.finding(
                        ctx,
                        module.path,
                        line,
                        "Environment variable read outside the settings class: "
                        f"`{unparse(node)[:80]}`",
                    )
            constants = _module_constants(module)
            reported: set[int] = set()
            for node in module.calls_named(CLIENT_CALLS):
                if not isinstance(node, ast.Call):
                    continue
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if name not in CLIENT_CALLS:
                    continue
                values = [*node.args[:1]] + [
                    k.value for k in node.keywords if k.arg in CONNECTION_KEYWORDS
                ]
                for value in values:
                    via = ""
                    if isinstance(value, ast.Name) and value.id in constants:
                        via, value = f" (through `{value.id}`)", constants[value.id]
                    literal = _connection_literal(value)
                    if literal is None or value.lineno in reported:
                        continue
                    reported.add(value.lineno)
                    yield self.finding(
                        ctx,
                        module.path,
                        value.lineno,
                        f"`{name}` connects to a hard-coded `{_shown(literal)}`{via} "
                        "instead of a setting",
                    )
            if module.path in settings_paths:
                continue  # constants next to the settings class are its defaults
            for const_name, const in constants.items():
                literal = _infra_literal(const)
                if literal is None or const.lineno in reported:
                    continue
                reported.add(const.lineno)
                yield self.finding(
                    ctx,
                    module.path,
                    const.lineno,
                    f"`{const_name}` hard-codes the connection target `{_shown(literal)}` "
                    "instead of reading it from the settings",
                )
