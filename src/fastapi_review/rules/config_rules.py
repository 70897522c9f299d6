"""Configuration rules: settings that do not come from the environment."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import ClassVar

from fastapi_review.index.project import ProjectIndex
from fastapi_review.index.symbols import Module, dotted
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


def _env_reads(module: Module) -> Iterator[ast.AST]:
    """`os.getenv(...)`, `os.environ[...]`, `os.environ.get(...)`, `getenv(...)`."""
    for node in ast.walk(module.tree):
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
        if URL.match(v) or HOST_PORT.match(v):
            return v
    return None


class NotEnvBased(Rule):
    id = "CFG001"
    name = "configuration-not-from-environment"
    category = "config.not-env-based"
    what = """
        Configuration that does not come from environment-based settings: an application
        with no pydantic-settings class at all; `os.getenv` / `os.environ` read outside the
        settings module (scattered configuration); a connection target (URL, `host:port`)
        written as a literal into a client constructor (`create_async_engine("postgresql://…")`,
        `AIOKafkaProducer(bootstrap_servers="localhost:9092")`). Settings defaults and
        migrations are not reported.
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
                for node in _env_reads(module):
                    line = getattr(node, "lineno", None)
                    yield self.finding(
                        ctx,
                        module.path,
                        line,
                        "Environment variable read outside the settings class: "
                        f"`{ast.unparse(node)[:80]}`",
                    )
            for node in ast.walk(module.tree):
                if not isinstance(node, ast.Call):
                    continue
                name = (dotted(node.func) or "").rsplit(".", 1)[-1]
                if name not in CLIENT_CALLS:
                    continue
                values = [*node.args[:1]] + [
                    k.value for k in node.keywords if k.arg in CONNECTION_KEYWORDS
                ]
                for value in values:
                    literal = _connection_literal(value)
                    if literal is None:
                        continue
                    shown = re.sub(r"://([^:/@]*):[^@]*@", r"://\1:***@", literal)
                    yield self.finding(
                        ctx,
                        module.path,
                        value.lineno,
                        f"`{name}` connects to a hard-coded `{shown}` instead of a setting",
                    )
